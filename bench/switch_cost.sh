#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What a context switch costs the off-CPU tracer when the agent lets it go
# (the sampled mode of --cpu-budget), against a program that does nothing
# on the same tracepoint (bench/switch_floor.bpf.c). A benchmark, not a
# test: it prints a Markdown table (also OUTPUT/bench/switch_cost.md) and
# never fails on a figure. See bench/README-budget.md.
#
#   bench/switch_cost.sh [OUTPUT]     OUTPUT: build dir with sysscope and
#                                     workloads/offcpu_work
#
# Per round, in random order, beside offcpu_work switchy (THREADS threads
# of ~950 switches a second), after WARM seconds and over MEASURE seconds:
#   floor   run_time_ns / run_cnt of the empty program (bpf_stats)
#   agent   the agent at its default budget, from its /metrics: (BPF run
#           time of the off-CPU program - the time its recording paths
#           took) / its runs: the cost of a switch let go, both halves
#           (switch-out and switch-in), the recorded ones taken out; and
#           the agent's whole cost, % of a core: switches let go,
#           recording, on-CPU samples (their BPF run time) and its
#           process (utime + stime from /proc/PID/stat)
#
# Environment: ROUNDS=3 THREADS=32 WARM=WINDOW+20 (at least 25)
# MEASURE=15 WINDOW=5 (QUICK=1: 1 round). WINDOW is the agent's --window:
# each window's end costs the process a reading of the maps; the agent's
# default is 60 (then measure over a whole window: WINDOW=60 MEASURE=60).
# The first window's end also reads every binary's files once (symbols,
# line tables): WARM past it measures the steady state; WARM=25 with
# WINDOW=60 measures that start-up too.
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
else
	ROUNDS=${ROUNDS:-3}
fi
THREADS=${THREADS:-32}
WINDOW=${WINDOW:-5}
WARM=${WARM:-$((WINDOW + 20 > 25 ? WINDOW + 20 : 25))}
MEASURE=${MEASURE:-15}
SYSSCOPE_BIN=$OUTPUT/sysscope
WORK=$OUTPUT/workloads/offcpu_work
REPORT=$OUTPUT/bench/switch_cost.md

require_root
require_tools clang cc bpftool curl shuf awk
require_positive ROUNDS THREADS WARM MEASURE WINDOW
[ -x "$SYSSCOPE_BIN" ] || die "no $SYSSCOPE_BIN: run make first"
[ -x "$WORK" ] || die "no $WORK: run make workloads first"
bench_init

case $(uname -m) in
x86_64) ARCH=x86 ;;
aarch64) ARCH=arm64 ;;
*) die "no vmlinux.h for $(uname -m)" ;;
esac
FLOOR_OBJ=$BENCH_TMP/switch_floor.bpf.o
ATTACH=$BENCH_TMP/bpf_attach
clang -O2 -g -target bpf "-D__TARGET_ARCH_$ARCH" \
	-I "$BENCH_DIR/../bpf/vmlinux/$ARCH" \
	-c "$BENCH_DIR/switch_floor.bpf.c" -o "$FLOOR_OBJ" ||
	die "cannot build bench/switch_floor.bpf.c"
cc -O2 -Wall -Wextra -Werror "$BENCH_DIR/bpf_attach.c" -lbpf -o "$ATTACH" ||
	die "cannot build bench/bpf_attach.c"

# metric FILE NAME: the value of the series NAME (with its labels) in FILE.
metric() {
	awk -v n="$2" '$1 == n { print $2; found = 1 } END { exit !found }' "$1" ||
		die "no $2 in the agent's /metrics"
}

start_neighbour() {
	bg_start "$BENCH_TMP/switchy.log" "$WORK" switchy \
		$((WARM + MEASURE + 10)) "$THREADS"
	NEIGHBOUR=$BG_PID
}

stop_neighbour() {
	stop_pid "$NEIGHBOUR" 5
	untrack_pid "$NEIGHBOUR"
}

# run_floor: ns per run of the empty program, in RESULT.
run_floor() {
	local id ns0 cnt0

	bpf_stats_on
	start_neighbour
	bg_start "$BENCH_TMP/attach.log" "$ATTACH" "$FLOOR_OBJ" \
		$((WARM + MEASURE + 5))
	ATTACHED=$BG_PID
	wait_for_log "$BG_PID" "$BENCH_TMP/attach.log" attached 10
	sleep "$WARM"
	id=$(bpftool prog show name switch_floor | awk -F: 'NR == 1 { print $1 }')
	[ -n "$id" ] || die "switch_floor not loaded"
	prog_stats "$id"
	ns0=$PROG_NS cnt0=$PROG_CNT
	sleep "$MEASURE"
	prog_stats "$id"
	RESULT=$(calc "($PROG_NS - $ns0) / ($PROG_CNT - $cnt0)")
	RUNS=$(calc "($PROG_CNT - $cnt0) / $MEASURE")
	stop_pid "$ATTACHED" 5
	untrack_pid "$ATTACHED"
	stop_neighbour
}

# run_agent: ns per switch let go, in RESULT; recorded/s and µs each too.
run_agent() {
	local port m0=$BENCH_TMP/m0 m1=$BENCH_TMP/m1 runs bpf rec n oncpu
	local cpu0 cpu1

	port=$(free_port)
	start_neighbour
	bg_start "$BENCH_TMP/agent.log" "$SYSSCOPE_BIN" agent \
		--listen "127.0.0.1:$port" --window "$WINDOW"
	sleep "$WARM"
	curl -fsS "http://127.0.0.1:$port/metrics" >"$m0" ||
		die "the agent does not answer: $(tail -3 "$BENCH_TMP/agent.log")"
	cpu0=$(proc_cpu_ticks "$BG_PID")
	sleep "$MEASURE"
	cpu1=$(proc_cpu_ticks "$BG_PID")
	curl -fsS "http://127.0.0.1:$port/metrics" >"$m1" ||
		die "the agent does not answer: $(tail -3 "$BENCH_TMP/agent.log")"
	stop_pid "$BG_PID" 10
	untrack_pid "$BG_PID"
	stop_neighbour
	delta() { calc "$(metric "$m1" "$1") - $(metric "$m0" "$1")"; }
	runs=$(delta 'sysscope_bpf_runs_total{program="offcpu"}')
	bpf=$(delta 'sysscope_bpf_run_seconds_total{program="offcpu"}')
	rec=$(delta sysscope_offcpu_record_seconds_total)
	n=$(delta sysscope_offcpu_recorded_switches_total)
	RESULT=$(calc "($bpf - $rec) * 1e9 / $runs")
	RUNS=$(calc "$runs / $MEASURE")
	RECORDED=$(calc "$n / $MEASURE")
	RECORD_US=$(calc "($n > 0 ? $rec * 1e6 / $n : 0)")
	SHARE=$(calc "$bpf * 100 / $MEASURE")
	oncpu=$(delta 'sysscope_bpf_run_seconds_total{program="oncpu"}')
	LETGO_PCT=$(calc "($bpf - $rec) * 100 / $MEASURE")
	RECORD_PCT=$(calc "$rec * 100 / $MEASURE")
	ONCPU_PCT=$(calc "$oncpu * 100 / $MEASURE")
	PROCESS_PCT=$(calc "($cpu1 - $cpu0) / $CLK_TCK * 100 / $MEASURE")
	TOTAL_PCT=$(calc "$SHARE + $ONCPU_PCT + $PROCESS_PCT")
}

# proc_cpu_ticks PID: the process's utime + stime, in clock ticks.
proc_cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" ||
		die "no /proc/$1/stat: the agent died"
}
CLK_TCK=$(getconf CLK_TCK)

floor_ns="" floor_runs="" agent_ns="" agent_runs="" recorded="" record_us="" share=""
letgo_pct="" record_pct="" oncpu_pct="" process_pct="" total_pct=""
for round in $(seq "$ROUNDS"); do
	for what in $(printf '%s\n' floor agent | shuf); do
		log "round $round/$ROUNDS: $what"
		wait_quiet 15 10 || log "CPUs still busy: measuring anyway"
		if [ "$what" = floor ]; then
			run_floor
			floor_ns="$floor_ns $RESULT" floor_runs="$floor_runs $RUNS"
		else
			run_agent
			agent_ns="$agent_ns $RESULT" agent_runs="$agent_runs $RUNS"
			recorded="$recorded $RECORDED" record_us="$record_us $RECORD_US"
			share="$share $SHARE"
			letgo_pct="$letgo_pct $LETGO_PCT"
			record_pct="$record_pct $RECORD_PCT"
			oncpu_pct="$oncpu_pct $ONCPU_PCT"
			process_pct="$process_pct $PROCESS_PCT"
			total_pct="$total_pct $TOTAL_PCT"
		fi
		log "  $RESULT ns a run, $RUNS runs/s"
	done
done

# shellcheck disable=SC2086 # word lists
{
	echo "Off-CPU tracer: cost of a switch let go, $ROUNDS round(s), $THREADS switchy threads, ${MEASURE} s after ${WARM} s, ${WINDOW} s windows, medians (min-max)."
	echo
	echo "| program | ns a run | runs/s | recorded/s | µs a recorded one | BPF % of a core |"
	echo "|---|---:|---:|---:|---:|---:|"
	printf '| empty program (floor) | %.0f (%.0f-%.0f) | %.0f | – | – | – |\n' \
		"$(median $floor_ns)" "$(min_of $floor_ns)" "$(max_of $floor_ns)" \
		"$(median $floor_runs)"
	printf '| agent, switch let go | %.0f (%.0f-%.0f) | %.0f | %.0f | %.1f | %.2f |\n' \
		"$(median $agent_ns)" "$(min_of $agent_ns)" "$(max_of $agent_ns)" \
		"$(median $agent_runs)" "$(median $recorded)" "$(median $record_us)" \
		"$(median $share)"
	echo
	echo "The agent's whole cost, % of a core, medians (min-max):"
	echo
	echo "| switches let go | recording | on-CPU samples | process | total |"
	echo "|---:|---:|---:|---:|---:|"
	printf '| %.2f | %.2f | %.2f | %.2f | %.2f (%.2f-%.2f) |\n' \
		"$(median $letgo_pct)" "$(median $record_pct)" \
		"$(median $oncpu_pct)" "$(median $process_pct)" \
		"$(median $total_pct)" "$(min_of $total_pct)" "$(max_of $total_pct)"
} | tee "$REPORT"
