#!/bin/bash
# SPDX-License-Identifier: MIT
#
# On-CPU profiling overhead: how much slower a CPU-bound workload runs while
# sysscope, perf record and bpftrace sample every CPU. A benchmark, not a
# test: it prints a Markdown table (also saved to OUTPUT/bench/oncpu.md)
# and never fails on timing. See bench/README.md.
#
#   bench/oncpu.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# Environment:
#   ROUNDS=7     interleaved rounds (each runs every condition once)
#   QUICK=1      ROUNDS defaults to 3
#   COPIES=N     cpubench copies in parallel (default: one per CPU)
#   WORK=N       cpubench rounds of work (default: cpubench's, ~3 s)
#   QUIET_PCT=15 before each run, wait (up to QUIET_WAIT=10 s) until the
#                CPUs are at most this % busy: other jobs on a shared node
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${ROUNDS:-3}
else
	ROUNDS=${ROUNDS:-7}
fi
SYSSCOPE=$OUTPUT/sysscope
CPUBENCH=$OUTPUT/bench/cpubench
REPORT=$OUTPUT/bench/oncpu.md

# condition = "profiler:Hz"; "none:0" is the baseline.
CONDITIONS="none:0 sysscope:49 sysscope:99 sysscope:999
	    perf:49 perf:99 perf:999 bpftrace:99"
BPFTRACE_PROG='profile:hz:99 { @[ustack, kstack] = count(); }'
# Cost floor: a sampling program that walks no stack at all.
BPFTRACE_FLOOR='profile:hz:99 { @ = count(); }'

QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-10}
TARGET_SLOWDOWN=0.5	# % at 99 Hz, and below perf's
TARGET_NS=2000		# BPF run time per sample

preflight() {
	require_tools id nproc cc perf bpftrace bpftool sysctl shuf awk sed \
		getconf find flock /usr/bin/time
	require_root
	NCPU=$(nproc)
	COPIES=${COPIES:-$NCPU}
	case "$ROUNDS" in
	'' | *[!0-9]* | 0) die "ROUNDS must be a positive integer, not '$ROUNDS'" ;;
	esac
	[ -x "$SYSSCOPE" ] || die "$SYSSCOPE not found: run 'make' first"
	[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
		die "kernel.bpf_stats_enabled missing: kernel too old"
}

build_cpubench() {
	mkdir -p "$OUTPUT/bench"
	# Frame pointers: the profilers walk real user stacks, as on a node
	# built for profiling.
	cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
		"$BENCH_DIR/cpubench.c" -o "$CPUBENCH" ||
		die "cannot build $CPUBENCH"
	WORKLOAD=("$CPUBENCH" -j "$COPIES")
	[ -z "${WORK:-}" ] || WORKLOAD+=(-w "$WORK")
	WORKLOAD_OUT=$BENCH_TMP/cpubench.out
}

# run_condition PROFILER HZ: one workload run under PROFILER at HZ.
run_condition() {
	local prof=$1 hz=$2 log_file=$BENCH_TMP/$1-$2.log

	case "$prof" in
	none)
		run_with_profiler "$log_file" '' 0 0 none ;;
	sysscope)
		# "sampling at 99 Hz" or "sampling (MODE) at 99 Hz"
		run_with_profiler "$log_file" 'sampling.* at [0-9]+ Hz' 0 0 \
			"$SYSSCOPE_RUN" profile -d 3600 -f "$hz" -o "$BENCH_TMP/sysscope-out"
		rm -rf "$BENCH_TMP/sysscope-out" ;;
	perf)
		# perf prints nothing when ready: let it finish synthesizing
		# the existing tasks. SIGINT makes it exit with 130.
		run_with_profiler "$log_file" '' 1 "0 130" \
			perf record -F "$hz" -a -g -o "$BENCH_TMP/perf.data"
		rm -f "$BENCH_TMP/perf.data" ;;
	bpftrace | bpftrace-count)
		[ "$hz" = 99 ] || die "the bpftrace programs sample at 99 Hz only"
		run_with_profiler "$log_file" '^Attaching' 0 0 bpftrace -e \
			"$([ "$prof" = bpftrace ] && echo "$BPFTRACE_PROG" || echo "$BPFTRACE_FLOOR")" ;;
	*)
		die "unknown profiler $prof" ;;
	esac
	[ "$prof" != sysscope ] ||
		SYSSCOPE_SAID=$(grep -m1 -oE 'sampling.* at [0-9]+ Hz' "$log_file")
	rm -f "$log_file"
}

# workload_elapsed: the last run's elapsed seconds in ELAPSED, its CPU
# seconds in CPU; every run must have done the same work (same checksum).
workload_elapsed() {
	local sum

	sum=$(field checksum "$WORKLOAD_OUT")
	ELAPSED=$(field elapsed_s "$WORKLOAD_OUT")
	CPU=$(field cpu_s "$WORKLOAD_OUT")
	if [ -z "$sum" ] || [ -z "$ELAPSED" ] || [ -z "$CPU" ]; then
		die "unexpected cpubench output: $(cat "$WORKLOAD_OUT")"
	fi
	CHECKSUM=${CHECKSUM:-$sum}
	[ "$sum" = "$CHECKSUM" ] || die "cpubench checksum changed: $sum != $CHECKSUM"
}

run_rounds() {
	local round cond prof hz other

	log "warm-up run"
	run_condition none 0
	workload_elapsed
	for round in $(seq "$ROUNDS"); do
		# shellcheck disable=SC2086 # one word per condition
		for cond in $(shuf -e $CONDITIONS); do
			prof=${cond%:*} hz=${cond#*:}
			wait_quiet "$QUIET_PCT" "$QUIET_WAIT" ||
				log "CPUs still over $QUIET_PCT% busy after ${QUIET_WAIT}s: running anyway"
			run_condition "$prof" "$hz"
			workload_elapsed
			echo "$ELAPSED" >>"$BENCH_TMP/elapsed-$prof-$hz"
			echo "$CPU" >>"$BENCH_TMP/cpu-$prof-$hz"
			# Busy CPU time not spent in cpubench or the profiler
			# process: other jobs on the node, as % of all CPUs.
			other=$(awk -v b="$RUN_BUSY_S" -v c="$CPU" -v p="$PROFILER_CPU_S" \
				-v e="$ELAPSED" -v n="$NCPU" \
				'BEGIN { o = (b - c - p) / (e * n) * 100; printf "%.1f\n", o < 0 ? 0 : o }')
			echo "$other" >>"$BENCH_TMP/other-$prof-$hz"
			log "round $round/$ROUNDS: $(printf '%-8s %4s Hz' "$prof" "$hz") $ELAPSED s" \
				"(cpu $CPU s, profiler $PROFILER_CPU_S s, other load $other%)"
		done
	done
}

# ------------------------------------------------------------ BPF cost

snap_before() {
	local ids

	ids=$(perf_event_prog_ids "$1")
	[ "$(echo "$ids" | wc -w)" = 1 ] ||
		die "expected one perf_event BPF program in pid $1, found: ${ids:-none}"
	COST_PROG_ID=$ids
	prog_stats "$COST_PROG_ID"
	COST_NS0=$PROG_NS COST_CNT0=$PROG_CNT
	COST_T0=$(date +%s.%N)
	COST_CPU0=$(proc_cpu_s "$1")
}

snap_after() {
	COST_T1=$(date +%s.%N)
	COST_CPU1=$(proc_cpu_s "$1")
	prog_stats "$COST_PROG_ID"
	COST_NAME=$PROG_NAME COST_NS1=$PROG_NS COST_CNT1=$PROG_CNT
}

# measure_cost LABEL PROFILER HZ: one run with bpf stats on; appends a row
# "label hz name samples expected run_ms ns_per_sample" to cost.txt.
measure_cost() {
	local label=$1 prof=$2 hz=$3 n ns secs

	AFTER_READY=snap_before BEFORE_STOP=snap_after
	[ "$label" != "sysscope-self" ] || PROFILER_TIME_FILE=$BENCH_TMP/time.txt
	bpf_stats_on
	run_condition "$prof" "$hz"
	bpf_stats_restore
	AFTER_READY="" BEFORE_STOP="" PROFILER_TIME_FILE=""
	workload_elapsed

	if [ "$prof" = sysscope ] && [ "$COST_NAME" != do_sample ]; then
		die "sysscope's perf_event program is '$COST_NAME', expected do_sample"
	fi
	n=$((COST_CNT1 - COST_CNT0))
	ns=$((COST_NS1 - COST_NS0))
	[ "$n" -gt 0 ] || die "$prof's BPF program did not run (run_cnt $COST_CNT1)"
	secs=$(calc "$COST_T1 - $COST_T0")
	printf '%s %s %s %s %.0f %.2f %.0f\n' "$prof" "$hz" "$COST_NAME" "$n" \
		"$(calc "$hz * $NCPU * $secs")" "$(calc "$ns / 1e6")" \
		"$(calc "$ns / $n")" >>"$BENCH_TMP/cost.txt"
	log "cost: $prof $hz Hz: $n samples, $(calc "$ns / $n") ns/sample"
	if [ "$label" = sysscope-self ]; then
		SELF_SECS=$secs
		SELF_CPU_ALL=$COST_CPU1
		SELF_CPU_SAMPLING=$(calc "$COST_CPU1 - $COST_CPU0")
		# Last line: GNU time puts "Command exited with ..." before it.
		read -r _ SELF_USER SELF_SYS SELF_MAXRSS < <(tail -n 1 "$BENCH_TMP/time.txt") ||
			die "no /usr/bin/time output"
	fi
}

run_costs() {
	log "BPF cost per sample (kernel.bpf_stats_enabled=1 for these runs)"
	: >"$BENCH_TMP/cost.txt"
	measure_cost sysscope-self sysscope 99
	measure_cost sysscope sysscope 999
	measure_cost bpftrace bpftrace 99
	measure_cost bpftrace-count bpftrace-count 99
}

# ------------------------------------------------------------ report

verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }

# slowdown PROFILER HZ: "+0.31%" against the baseline median.
slowdown_pct() {
	awk -v x="$(median <"$BENCH_TMP/elapsed-$1-$2")" -v b="$BASE" \
		'BEGIN { printf "%.4f\n", (x / b - 1) * 100 }'
}

report() {
	local cond prof hz f med target name label ss99 perf99 cpu model delta cpu_delta

	BASE=$(median <"$BENCH_TMP/elapsed-none-0")
	BASE_CPU=$(median <"$BENCH_TMP/cpu-none-0")
	ss99=$(slowdown_pct sysscope 99)
	perf99=$(slowdown_pct perf 99)
	# Noise: half the baseline's min-max range, % of its median.
	f=$BENCH_TMP/elapsed-none-0
	NOISE=$(awk -v lo="$(min_of <"$f")" -v hi="$(max_of <"$f")" -v b="$BASE" \
		'BEGIN { printf "%.2f\n", (hi - lo) / 2 / b * 100 }')
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

	echo "# sysscope on-CPU profiling overhead"
	echo
	echo "Kernel $(uname -r), $NCPU CPUs (${model:-unknown}), $ROUNDS rounds," \
		"$(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "$("$SYSSCOPE_RUN" --version 2>/dev/null | head -n 1) \`profile\` (it logged:" \
		"\"$SYSSCOPE_SAID\"); perf $(perf --version | awk '{ print $3 }');" \
		"$(bpftrace --version)."
	echo "Workload: \`cpubench -j $COPIES$( [ -z "${WORK:-}" ] || echo " -w $WORK")\`" \
		"($COPIES single-threaded copies, one per CPU; elapsed wall time)."
	echo
	echo "| profiler | Hz | runs | median s | slowdown | min s | max s | CPU slowdown | other load | target |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for cond in $CONDITIONS; do
		prof=${cond%:*} hz=${cond#*:}
		f=$BENCH_TMP/elapsed-$prof-$hz
		med=$(median <"$f")
		target=""
		if [ "$cond" = sysscope:99 ]; then
			target="< ${TARGET_SLOWDOWN}% and < perf 99 Hz: "
			if awk -v n="$NOISE" -v t="$TARGET_SLOWDOWN" 'BEGIN { exit !(n >= t) }'; then
				target="${target}not resolved (noise ±$NOISE%)"
			else
				target="$target$(verdict "$(awk -v s="$ss99" -v p="$perf99" \
					-v t="$TARGET_SLOWDOWN" 'BEGIN { print (s < t && s < p) }')")"
			fi
		fi
		case "$prof" in
		none) name="none (baseline)" ;;
		perf) name="perf record -g" ;;
		bpftrace) name="bpftrace ustack+kstack" ;;
		*) name=$prof ;;
		esac
		delta=- cpu_delta=-
		if [ "$prof" != none ]; then
			delta=$(pct_change "$med" "$BASE")
			cpu_delta=$(pct_change "$(median <"$BENCH_TMP/cpu-$prof-$hz")" "$BASE_CPU")
		fi
		printf '| %s | %s | %s | %.3f | %s | %.3f | %.3f | %s | %s%% | %s |\n' "$name" \
			"${hz/#0/-}" "$(wc -l <"$f")" "$med" "$delta" \
			"$(min_of <"$f")" "$(max_of <"$f")" "$cpu_delta" \
			"$(median <"$BENCH_TMP/other-$prof-$hz")" "$target"
	done
	echo
	echo "- Noise: ±$NOISE% (half the min-max range of the baseline runs, of" \
		"their median). Slowdowns inside it are not resolved by $ROUNDS rounds;" \
		"a target smaller than it is reported as not resolved."
	echo "- CPU slowdown: median user+sys of the cpubench copies against the" \
		"baseline's. It includes the sampling interrupts and BPF programs (they" \
		"run in the sampled task's context; unless CONFIG_IRQ_TIME_ACCOUNTING)" \
		"and not time spent waiting for a CPU, but cache and host contention" \
		"still inflate it."
	echo "- Other load: median share of all CPUs busy outside cpubench and the" \
		"profiler process during the runs (other jobs on the node). Host-level" \
		"contention on a VM does not show here."
	echo
	echo "## BPF program cost per sample (kernel.bpf_stats_enabled=1, one run each, all CPUs busy)"
	echo
	echo "| profiler | Hz | program | samples | expected | run time ms | ns/sample | share of a CPU | target |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---|"
	while read -r prof hz name n expected ms ns; do
		target=""
		[ "$prof" != sysscope ] ||
			target="< $TARGET_NS ns: $(verdict "$([ "$ns" -lt "$TARGET_NS" ] && echo 1)")"
		case "$prof" in
		bpftrace) label="bpftrace \`@[ustack, kstack] = count()\`" ;;
		bpftrace-count) label="bpftrace \`@ = count()\` (floor: no stack walk)" ;;
		*) label=$prof ;;
		esac
		echo "| $label | $hz | $name | $n | $expected | $ms | $ns |" \
			"$(awk -v n="$ns" -v h="$hz" 'BEGIN { printf "%.3f%%", n * h / 1e7 }') | $target |"
	done <"$BENCH_TMP/cost.txt"
	echo
	echo "Samples and run time are counted while cpubench ran (expected = Hz x CPUs x seconds);" \
		"run time is the BPF program alone (bpf_stats), not the interrupt around it." \
		"Share of a CPU = ns/sample x Hz: the program's direct cost, a lower bound" \
		"of the slowdown that the noise above does not blur."
	echo
	echo "## sysscope's own cost at 99 Hz (the same 99 Hz run)"
	echo
	cpu=$(calc "$SELF_USER + $SELF_SYS")
	echo "| sampling s | CPU while sampling | CPU until stopped | CPU total (with outputs) | max RSS |"
	echo "|---:|---:|---:|---:|---:|"
	printf '| %.2f | %.3f s (%.2f%% of a CPU) | %.3f s | %.3f s (user %.2f, sys %.2f) | %.1f MiB |\n' \
		"$SELF_SECS" "$SELF_CPU_SAMPLING" "$(calc "$SELF_CPU_SAMPLING / $SELF_SECS * 100")" \
		"$SELF_CPU_ALL" "$cpu" "$SELF_USER" "$SELF_SYS" "$(calc "$SELF_MAXRSS / 1024")"
	echo
	echo "CPU while sampling: user+sys of the sysscope process over the workload" \
		"(/proc/PID/stat; the BPF program itself runs in the sampled tasks' context," \
		"not here). Until stopped: from start, with BPF loading. Total and max RSS:" \
		"/usr/bin/time, including symbolizing and writing outputs after SIGINT."
}

main() {
	preflight
	bench_init
	snapshot_sysscope
	build_cpubench
	log "$ROUNDS rounds x $(echo "$CONDITIONS" | wc -w) conditions, ${WORKLOAD[*]}"
	run_rounds
	run_costs
	report >"$BENCH_TMP/report.md"
	finish_report timings
}

main "$@"
