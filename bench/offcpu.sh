#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Off-CPU / wall-clock tracing overhead: how much slower switch-heavy
# workloads run while sysscope traces every context switch of the node,
# against no profiler and an offcputime-style bpftrace script; plus the BPF
# run time per switch and sysscope's own CPU and memory. A benchmark, not a
# test: it prints Markdown tables (also saved to OUTPUT/bench/offcpu.md)
# and never fails on timing. See bench/README-offcpu.md.
#
#   bench/offcpu.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# Environment:
#   ROUNDS=7       interleaved rounds (each runs every condition once)
#   QUICK=1        ROUNDS defaults to 3
#   PIPE_LOOPS=N   perf bench sched pipe -l N (default: calibrated to ~3 s)
#   PIPE_SECONDS=3 the calibration's target
#   SERVER_ARGS    serverlike options (default: its own, ~3 s on 2 CPUs)
#   COST_REPS=3    runs per configuration for the BPF cost per switch
#   QUIET_PCT=15   before each run, wait (up to QUIET_WAIT=10 s) until the
#                  CPUs are at most this % busy: other jobs on a shared node
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
# shellcheck disable=SC2016 # awk expressions for cost_values, in single quotes
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# lib.sh is shared and may change: fail loudly if a helper went away.
for f in log die require_root require_tools bench_init bench_cleanup median \
	min_of max_of calc bg_start track_pid untrack_pid stop_pid pid_alive \
	wait_for_log child_pid proc_cpu_s cpu_ticks wait_quiet proc_hwm_kib \
	bpf_stats_on bpf_stats_restore prog_stats; do
	declare -F "$f" >/dev/null ||
		{ echo "bench/offcpu.sh: bench/lib.sh has no function $f" >&2; exit 1; }
done

OUTPUT=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${ROUNDS:-3}
else
	ROUNDS=${ROUNDS:-7}
fi
COST_REPS=${COST_REPS:-3}
PIPE_SECONDS=${PIPE_SECONDS:-3}
SERVER_ARGS=${SERVER_ARGS:-}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-10}
SYSSCOPE=$OUTPUT/sysscope
SERVERLIKE=$OUTPUT/bench/serverlike
REPORT=$OUTPUT/bench/offcpu.md

# The overhead rounds' conditions; the cost runs add the *-long ones.
CONDITIONS="none wallclock offcputime bpftrace"
COST_CONFIGS="wallclock wallclock-long wallclock-long-K
	      bpftrace bpftrace-floor"
WORKLOADS="pipe server"
NEVER_US=3600000000	# -m this: no interval is long enough to be recorded

TARGET_PIPE_PCT=5	# wallclock, default min-block: pipe slowdown, and < bpftrace's
TARGET_NS=150		# BPF ns per switch, intervals under min-block

TRACEFS_MOUNTED=""	# set when this script mounted tracefs (undone on exit)
WL_PGID=""		# the running workload's process group (killed on exit)
MY_SID=""

# ------------------------------------------------------------ set-up

offcpu_cleanup() {
	set +e
	# The workload and everything it forked (perf bench's processes).
	[ -z "$WL_PGID" ] || kill -KILL -- "-$WL_PGID" 2>/dev/null
	WL_PGID=""
	bench_cleanup
	if [ -n "$TRACEFS_MOUNTED" ]; then
		umount "$TRACEFS_MOUNTED" 2>/dev/null ||
			log "could not unmount $TRACEFS_MOUNTED (in use?)"
		TRACEFS_MOUNTED=""
	fi
}

# bpftrace's tracepoint: probes read its format from tracefs. Mount it if
# nobody has (and unmount it on exit).
ensure_tracefs() {
	local d

	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -e "$d/events/sched/sched_switch/format" ] && return 0
	done
	grep -qw tracefs /proc/filesystems || die "the kernel has no tracefs: bpftrace needs it"
	mount -t tracefs tracefs /sys/kernel/tracing ||
		die "cannot mount tracefs on /sys/kernel/tracing"
	TRACEFS_MOUNTED=/sys/kernel/tracing
	log "mounted tracefs on /sys/kernel/tracing (unmounted on exit)"
	[ -e /sys/kernel/tracing/events/sched/sched_switch/format ] ||
		die "tracepoint sched:sched_switch not found in tracefs"
}

preflight() {
	require_tools id nproc cc perf taskset setsid flock bpftrace bpftool sysctl shuf awk \
		sed ps getconf mount umount /usr/bin/time
	require_root
	NCPU=$(nproc)
	case "$ROUNDS" in
	'' | *[!0-9]* | 0) die "ROUNDS must be a positive integer, not '$ROUNDS'" ;;
	esac
	case "$COST_REPS" in
	'' | *[!0-9]* | 0) die "COST_REPS must be a positive integer, not '$COST_REPS'" ;;
	esac
	[ -x "$SYSSCOPE" ] || die "$SYSSCOPE not found: run 'make' first"
	SYSSCOPE_BUILT=$(date -u -r "$SYSSCOPE" '+%Y-%m-%d %H:%M UTC')
	[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
		die "kernel.bpf_stats_enabled missing: kernel too old"
	perf bench sched pipe -l 10 >/dev/null 2>&1 ||
		die "'perf bench sched pipe' does not run"
	MY_SID=$(ps -o sid= -p $$ | tr -d ' ')
}

build_serverlike() {
	mkdir -p "$OUTPUT/bench"
	# Frame pointers: the tracers walk real user stacks.
	cc -O2 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -Werror \
		"$BENCH_DIR/serverlike.c" -o "$SERVERLIKE" ||
		die "cannot build $SERVERLIKE"
}

# The peer: offcputime in bpftrace on the sched_switch tracepoint. Stacks
# at switch-out (prev is current), the interval at switch-in. At the end it
# prints the top 20 stacks only: symbolizing every stack of a whole node
# takes bpftrace minutes (not measured, but it stalls the benchmark).
write_bpftrace_script() {
	BT_SCRIPT=$BENCH_TMP/offcpu.bt
	cat >"$BT_SCRIPT" <<'EOF'
tracepoint:sched:sched_switch
{
	if (args->prev_pid != 0) {
		@start[args->prev_pid] = nsecs;
		@ks[args->prev_pid] = kstack;
		@us[args->prev_pid] = ustack;
	}
	$t = @start[args->next_pid];
	if ($t != 0) {
		$d = (nsecs - $t) / 1000;
		if ($d >= 1000) {
			@[@ks[args->next_pid], @us[args->next_pid]] = sum($d);
		}
		delete(@start[args->next_pid]);
		delete(@ks[args->next_pid]);
		delete(@us[args->next_pid]);
	}
}
END { clear(@start); clear(@ks); clear(@us); print(@, 20); clear(@); }
EOF
	# The floor: a program on the same tracepoint that walks nothing.
	BT_FLOOR=$BENCH_TMP/floor.bt
	echo 'tracepoint:sched:sched_switch { @ = count(); }' >"$BT_FLOOR"
}

# ------------------------------------------------------------ profilers

# profiler_cmd CONDITION: PROF_CMD (array), PROF_READY (log regex),
# PROF_PROG (its sched_switch BPF program's name).
profiler_cmd() {
	local out=$BENCH_TMP/sysscope-out

	PROF_READY='sampling at [0-9]+ Hz' PROF_PROG=on_switch_btf
	case "$1" in
	wallclock) PROF_CMD=("$SYSSCOPE" wallclock -m 1000 -o "$out") ;;
	wallclock-long) PROF_CMD=("$SYSSCOPE" wallclock -m "$NEVER_US" -o "$out") ;;
	# No user stacks: what the short path costs without the user-stack check.
	wallclock-long-K) PROF_CMD=("$SYSSCOPE" wallclock -m "$NEVER_US" -K -o "$out") ;;
	offcputime) PROF_CMD=("$SYSSCOPE" offcputime -m 1000 -o "$out") ;;
	bpftrace | bpftrace-floor)
		PROF_CMD=(bpftrace "$([ "$1" = bpftrace ] && echo "$BT_SCRIPT" || echo "$BT_FLOOR")")
		PROF_READY='^Attaching' PROF_PROG=sched_switch ;;
	*) die "unknown condition $1" ;;
	esac
}

# prog_id_of PID NAME: the id of BPF program NAME that PID holds (through
# its fds, so other engineers' profilers on the node are never mixed in).
prog_id_of() {
	local f id

	for f in /proc/"$1"/fdinfo/*; do
		awk '/^prog_id:/ { print $2 }' "$f" 2>/dev/null
	done | sort -un | while read -r id; do
		bpftool prog show id "$id" -j 2>/dev/null |
			grep -q "\"name\":\"$2\"" && echo "$id"
	done | head -n 1
}

prog_names_of() {
	local f id

	for f in /proc/"$1"/fdinfo/*; do
		awk '/^prog_id:/ { print $2 }' "$f" 2>/dev/null
	done | sort -un | while read -r id; do
		printf '%s=%s ' "$id" "$(bpftool prog show id "$id" -j 2>&1 |
			sed -n 's/.*"name":"\([^"]*\)".*/\1/p')"
	done
}

# bpftrace prints "Attaching" before it attaches: wait until the kernel
# shows its program attached to sched_switch.
wait_bpftrace_attached() {
	local pid=$1 deadline

	deadline=$(($(date +%s) + 30))
	until bpftool perf list -j 2>/dev/null | tr '}' '\n' |
		grep "\"pid\":$pid," | grep -q '"tracepoint":"sched_switch"'; do
		pid_alive "$pid" || die "bpftrace exited before attaching:$(echo; tail -n 20 "$PROF_LOG")"
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "bpftrace not attached to sched_switch after 30 s"
		sleep 0.05
	done
}

# start_profiler CONDITION [TIME_FILE]: start it and wait until it traces.
# PROF_PID (the profiler), PROF_WRAPPER (what to wait for: /usr/bin/time
# when TIME_FILE is given), PROF_ID (its sched_switch program's id).
start_profiler() {
	local deadline

	PROF_COND=$1 PROF_LOG=$BENCH_TMP/profiler.log
	profiler_cmd "$1"
	rm -rf "$BENCH_TMP/sysscope-out"
	if [ -n "${2:-}" ]; then
		bg_start "$PROF_LOG" /usr/bin/time -f '%e %U %S %M' -o "$2" "${PROF_CMD[@]}"
		PROF_WRAPPER=$BG_PID
		PROF_PID=$(child_pid "$PROF_WRAPPER") || die "$1 did not start"
		track_pid "$PROF_PID"
	else
		bg_start "$PROF_LOG" "${PROF_CMD[@]}"
		PROF_WRAPPER=$BG_PID PROF_PID=$BG_PID
	fi
	wait_for_log "$PROF_PID" "$PROF_LOG" "$PROF_READY" 60
	case "$1" in bpftrace*) wait_bpftrace_attached "$PROF_PID" ;; esac
	deadline=$(($(date +%s) + 10))
	until PROF_ID=$(prog_id_of "$PROF_PID" "$PROF_PROG") && [ -n "$PROF_ID" ]; do
		pid_alive "$PROF_PID" || die "$1 exited:$(echo; tail -n 20 "$PROF_LOG")"
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "$1: no BPF program '$PROF_PROG' in pid $PROF_PID after 10 s; it holds:" \
				"$(prog_names_of "$PROF_PID")"
		sleep 0.1
	done
}

# summary_count LABEL: the number after LABEL in sysscope's summary.txt
# ("" if it is not there).
summary_count() {
	sed -n "s/^ *$1  *\([0-9][0-9]*\)\$/\1/p" "$BENCH_TMP/sysscope-out/summary.txt" \
		2>/dev/null | head -n 1
}

# stop_profiler: SIGINT, wait (it writes its outputs), check it succeeded.
# A profiler that fails after the workload ran (writing its outputs) does
# not void the timing: the failure is logged, listed in the report, and
# the benchmark exits 1 after printing it. One that dies while the workload
# runs is fatal (see run_workload_once).
stop_profiler() {
	local err

	stop_pid "$PROF_WRAPPER" 300 "$PROF_PID"
	untrack_pid "$PROF_PID"
	if [ "$STOP_RC" != 0 ]; then
		err=$(grep -m 1 -iE 'error' "$PROF_LOG" || tail -n 1 "$PROF_LOG")
		log "ERROR: $PROF_COND exited with status $STOP_RC:$(echo; tail -n 20 "$PROF_LOG")"
		echo "$PROF_COND: exit status $STOP_RC: $err" >>"$BENCH_TMP/profiler-errors"
	fi
	# sysscope's own counters: switches seen, user stacks reused.
	PROF_SWITCHES=$(summary_count 'off-CPU: switches')
	PROF_REUSED=$(summary_count 'off-CPU: user stacks reused')
	# User stacks missing, by any cause (walk failed, collision, map full).
	PROF_UFAILED=$(summary_count 'off-CPU: user stack failed')
	if [ -n "$PROF_UFAILED" ]; then
		for c in 'hash collision' 'stack map full'; do
			n=$(summary_count "off-CPU: user stack lost, $c")
			PROF_UFAILED=$((PROF_UFAILED + ${n:-0}))
		done
	fi
	rm -rf "$BENCH_TMP/sysscope-out"
}

# ------------------------------------------------------------ workloads

# calibrate_pipe: PIPE_LOOPS for ~PIPE_SECONDS, from a warm-up run.
calibrate_pipe() {
	local us

	if [ -n "${PIPE_LOOPS:-}" ]; then
		case "$PIPE_LOOPS" in
		*[!0-9]* | 0) die "PIPE_LOOPS must be a positive integer" ;;
		esac
		return
	fi
	us=$(taskset -c 0 perf bench sched pipe -l 100000 | awk '/usecs\/op/ { print $1 }')
	[ -n "$us" ] || die "no usecs/op from perf bench sched pipe"
	PIPE_LOOPS=$(awk -v us="$us" -v s="$PIPE_SECONDS" \
		'BEGIN { n = int(s * 1e6 / us / 10000 + 0.5) * 10000; print n < 10000 ? 10000 : n }')
	log "pipe: $us usecs/op in a warm-up run: -l $PIPE_LOOPS for ~${PIPE_SECONDS} s"
}

workload_cmd() {
	case "$1" in
	pipe) WL_CMD=(taskset -c 0 perf bench sched pipe -l "$PIPE_LOOPS") ;;
	server)
		# shellcheck disable=SC2206 # SERVER_ARGS: options, split on spaces
		WL_CMD=("$SERVERLIKE" $SERVER_ARGS) ;;
	*) die "unknown workload $1" ;;
	esac
}

# run_workload_once NAME: runs it (in the background, so a signal is
# handled at once) under /usr/bin/time. Sets METRIC (pipe: usecs/op,
# server: elapsed s), WL_ELAPSED, WL_CPU (user+sys with children),
# RUN_BUSY (CPU-seconds all CPUs were busy meanwhile), OTHER_PCT (busy
# time outside the workload and the profiler process, % of all CPUs).
run_workload_once() {
	local name=$1 out=$BENCH_TMP/workload.out tf=$BENCH_TMP/workload.time
	local pid rc=0 b0 b1 p0=0 sum

	workload_cmd "$name"
	[ -z "${PROF_PID:-}" ] || p0=$(proc_cpu_s "$PROF_PID")
	read -r b0 _ < <(cpu_ticks)
	# In its own process group, so that an interrupted run is stopped whole.
	setsid -w /usr/bin/time -f '%e %U %S' -o "$tf" "${WL_CMD[@]}" >"$out" 2>&1 &
	pid=$!
	WL_PGID=$pid
	wait "$pid" || rc=$?
	WL_PGID=""
	read -r b1 _ < <(cpu_ticks)
	[ "$rc" = 0 ] || die "workload $name failed ($rc):$(echo; cat "$out")"
	[ -z "${PROF_PID:-}" ] || pid_alive "$PROF_PID" ||
		die "$PROF_COND exited while $name ran:$(echo; tail -n 20 "$PROF_LOG")"
	PROF_CPU=0
	[ -z "${PROF_PID:-}" ] || PROF_CPU=$(calc "$(proc_cpu_s "$PROF_PID") - $p0")
	read -r WL_ELAPSED WL_U WL_S <"$tf" || die "no /usr/bin/time output for $name"
	WL_CPU=$(calc "$WL_U + $WL_S")
	RUN_BUSY=$(calc "($b1 - $b0) / $(getconf CLK_TCK)")
	case "$name" in
	pipe)
		METRIC=$(awk '/usecs\/op/ { print $1 }' "$out")
		[ -n "$METRIC" ] || die "unexpected perf bench output: $(cat "$out")" ;;
	server)
		METRIC=$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' "$out")
		sum=$(sed -n 's/.*checksum=\([0-9a-f]*\).*/\1/p' "$out")
		if [ -z "$METRIC" ] || [ -z "$sum" ]; then
			die "unexpected serverlike output: $(cat "$out")"
		fi
		SERVER_SUM=${SERVER_SUM:-$sum}
		SERVER_SAID=$(sed 's/elapsed_s=[^ ]* cpu_s=[^ ]* checksum=[^ ]* //' "$out")
		[ "$sum" = "$SERVER_SUM" ] || die "serverlike checksum changed: $sum != $SERVER_SUM" ;;
	esac
	OTHER_PCT=$(awk -v b="$RUN_BUSY" -v c="$WL_CPU" -v p="$PROF_CPU" \
		-v e="$WL_ELAPSED" -v n="$NCPU" \
		'BEGIN { o = e > 0 ? (b - c - p) / (e * n) * 100 : 0; printf "%.1f\n", o < 0 ? 0 : o }')
}

# note_other_jobs: names of processes running right now outside this
# benchmark's session (other engineers' jobs), one per line, counted later.
note_other_jobs() {
	ps -e -o sid=,stat=,comm= 2>/dev/null |
		awk -v me="$MY_SID" '$1 != 0 && $1 != me && $2 ~ /^R/ { print $3 }' \
		>>"$BENCH_TMP/other-jobs" || true
}

quiet_then() {
	wait_quiet "$QUIET_PCT" "$QUIET_WAIT" ||
		log "CPUs still over $QUIET_PCT% busy after ${QUIET_WAIT}s: running anyway"
}

# ------------------------------------------------------------ rounds

run_rounds() {
	local round cond w

	log "warm-up: serverlike"
	PROF_PID=""
	run_workload_once server
	for round in $(seq "$ROUNDS"); do
		# shellcheck disable=SC2086 # one word per condition
		for cond in $(shuf -e $CONDITIONS); do
			PROF_PID=""
			[ "$cond" = none ] || start_profiler "$cond"
			# shellcheck disable=SC2086
			for w in $(shuf -e $WORKLOADS); do
				quiet_then
				run_workload_once "$w"
				note_other_jobs
				# Other benchmarks may hold bpf_stats on (it costs every BPF run).
				echo "$(sysctl -n kernel.bpf_stats_enabled)" >>"$BENCH_TMP/stats-during-rounds"
				echo "$METRIC" >>"$BENCH_TMP/m-$w-$cond"
				echo "$OTHER_PCT" >>"$BENCH_TMP/o-$w-$cond"
				echo "$PROF_CPU" >>"$BENCH_TMP/p-$w-$cond"
				log "round $round/$ROUNDS: $(printf '%-13s %-6s' "$cond" "$w") $METRIC" \
					"$([ "$w" = pipe ] && echo usecs/op || echo s)" \
					"(profiler cpu $PROF_CPU s, other load $OTHER_PCT%)"
			done
			[ "$cond" = none ] || stop_profiler
		done
	done
	PROF_PID=""
}

# ------------------------------------------------------------ BPF cost

# cost_run CONFIG REP: one profiler session with bpf_stats on; for each
# workload, the sched_switch program's run time and count over its run.
# Appends "config workload rep prog ns cnt elapsed ops" to cost.txt.
cost_run() {
	local cfg=$1 rep=$2 w ns0 cnt0 ns cnt ops tf="" cpu0 secs0

	[ "$cfg" != wallclock ] || [ "$rep" != 1 ] || tf=$BENCH_TMP/self.time
	bpf_stats_on
	start_profiler "$cfg" "$tf"
	[ -z "$tf" ] || { cpu0=$(proc_cpu_s "$PROF_PID"); secs0=$(date +%s.%N); }
	# shellcheck disable=SC2086
	for w in $(shuf -e $WORKLOADS); do
		quiet_then
		# Someone else may have turned bpf_stats off meanwhile.
		[ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] ||
			sysctl -q -w kernel.bpf_stats_enabled=1
		prog_stats "$PROF_ID"
		ns0=$PROG_NS cnt0=$PROG_CNT
		run_workload_once "$w"
		prog_stats "$PROF_ID"
		ns=$((PROG_NS - ns0)) cnt=$((PROG_CNT - cnt0))
		ops=0
		[ "$w" != pipe ] || ops=$PIPE_LOOPS
		echo "$cfg $w $rep $PROG_NAME $ns $cnt $WL_ELAPSED $ops $METRIC" >>"$BENCH_TMP/cost.txt"
		note_other_jobs
		log "cost $rep/$COST_REPS: $(printf '%-18s %-6s' "$cfg" "$w") $PROG_NAME:" \
			"$cnt runs, $(awk -v n="$ns" -v c="$cnt" 'BEGIN { printf "%.0f", c ? n / c : 0 }') ns/run"
	done
	if [ -n "$tf" ]; then
		SELF_SECS=$(calc "$(date +%s.%N) - $secs0")
		SELF_CPU_SAMPLING=$(calc "$(proc_cpu_s "$PROF_PID") - $cpu0")
		SELF_CPU_STARTUP=$cpu0
		SELF_HWM_KIB=$(proc_hwm_kib "$PROF_PID")
	fi
	stop_profiler
	[ -z "$PROF_SWITCHES" ] || [ -z "$PROF_REUSED" ] ||
		echo "$cfg $rep $PROF_SWITCHES $PROF_REUSED ${PROF_UFAILED:-0}" >>"$BENCH_TMP/cost-ss.txt"
	if [ -n "$tf" ]; then
		# (After "Command exited with non-zero status N" if it failed.)
		read -r _ SELF_USER SELF_SYS SELF_MAXRSS < <(tail -n 1 "$tf") ||
			die "no /usr/bin/time output"
		SELF_SAID=$(sed -n 's/^sysscope: //p' "$PROF_LOG" | grep -v '^sampling at' |
			paste -sd '|' | sed 's/|/ | /g')
	fi
	bpf_stats_restore
}

run_costs() {
	local rep cfg

	log "BPF cost per switch (kernel.bpf_stats_enabled=1 for these runs)"
	: >"$BENCH_TMP/cost.txt"
	: >"$BENCH_TMP/cost-ss.txt"
	for rep in $(seq "$COST_REPS"); do
		# shellcheck disable=SC2086
		for cfg in $(shuf -e $COST_CONFIGS); do
			PROF_PID=""
			cost_run "$cfg" "$rep"
		done
	done
	PROF_PID=""
}

# ------------------------------------------------------------ report

verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }

# pct X BASE: X relative to BASE in %, 4 decimals, for comparisons.
pct() { awk -v x="$1" -v b="$2" 'BEGIN { printf "%.4f\n", (x / b - 1) * 100 }'; }

cond_label() {
	case "$1" in
	none) echo "none (baseline)" ;;
	wallclock) echo "sysscope wallclock -m 1000" ;;
	wallclock-long) echo "sysscope wallclock -m $NEVER_US" ;;
	wallclock-long-K) echo "sysscope wallclock -m $NEVER_US -K (no user stacks)" ;;
	offcputime) echo "sysscope offcputime -m 1000" ;;
	bpftrace) echo "bpftrace offcputime (tracepoint, >= 1000 us)" ;;
	bpftrace-floor) echo "bpftrace \`@ = count()\` (floor: no stacks)" ;;
	esac
}

# cost_values CONFIG WORKLOAD COLUMN-EXPR: one value per rep from cost.txt
# ($5 ns, $6 count, $7 elapsed, $8 ops).
cost_values() {
	awk -v c="$1" -v w="$2" '$1 == c && $2 == w && $6 > 0 { print '"$3"' }' \
		"$BENCH_TMP/cost.txt"
}

overhead_table() {
	local w cond f med base noise unit bt_pct wc_pct target delta dns fmt paired

	for w in $WORKLOADS; do
		base=$(median <"$BENCH_TMP/m-$w-none")
		f=$BENCH_TMP/m-$w-none
		noise=$(awk -v lo="$(min_of <"$f")" -v hi="$(max_of <"$f")" -v b="$base" \
			'BEGIN { printf "%.2f\n", (hi - lo) / 2 / b * 100 }')
		bt_pct=$(pct "$(median <"$BENCH_TMP/m-$w-bpftrace")" "$base")
		if [ "$w" = pipe ]; then
			unit="usecs/op" fmt=%.3f
			echo "### \`taskset -c 0 perf bench sched pipe -l $PIPE_LOOPS\` (usecs/op, lower is better)"
		else
			unit="s" fmt=%.3f
			echo "### $SERVER_DESC: elapsed s, lower is better"
		fi
		echo
		echo "| profiler | runs | median $unit | slowdown | paired slowdown |$([ "$w" = pipe ] && echo " Δ ns/op |") min | max | profiler CPU s | other load med / max | target |"
		echo "|---|---:|---:|---:|---:|$([ "$w" = pipe ] && echo "---:|")---:|---:|---:|---:|---|"
		for cond in $CONDITIONS; do
			f=$BENCH_TMP/m-$w-$cond
			med=$(median <"$f")
			delta=- dns=- paired=-
			if [ "$cond" != none ]; then
				delta=$(awk -v x="$med" -v b="$base" 'BEGIN { printf "%+.2f%%", (x / b - 1) * 100 }')
				# Each round's run against that round's baseline run.
				paired=$(paste "$BENCH_TMP/m-$w-none" "$f" |
					awk '{ print ($2 / $1 - 1) * 100 }' | median | xargs printf '%+.2f%%')
				dns=$(awk -v x="$med" -v b="$base" 'BEGIN { printf "%+.0f", (x - b) * 1000 }')
			fi
			target=""
			if [ "$w" = pipe ] && [ "$cond" = wallclock ]; then
				wc_pct=$(pct "$med" "$base")
				target="≤ ${TARGET_PIPE_PCT}% and < bpftrace ($(printf '%+.2f' "$bt_pct")%): "
				if awk -v n="$noise" -v t="$TARGET_PIPE_PCT" 'BEGIN { exit !(n >= t) }'; then
					target="${target}not resolved (noise ±$noise%)"
				else
					target="$target$(verdict "$(awk -v s="$wc_pct" -v b="$bt_pct" \
						-v t="$TARGET_PIPE_PCT" 'BEGIN { print (s <= t && s < b) }')")"
				fi
				[ "$cond" = wallclock ] || target="($target)"
			fi
			# shellcheck disable=SC2059 # fmt is ours
			printf "| %s | %s | $fmt | %s | %s |%s $fmt | $fmt | %.3f | %s%% / %s%% | %s |\n" \
				"$(cond_label "$cond")" "$(wc -l <"$f")" "$med" "$delta" "$paired" \
				"$([ "$w" = pipe ] && echo " $dns |")" \
				"$(min_of <"$f")" "$(max_of <"$f")" \
				"$(median <"$BENCH_TMP/p-$w-$cond")" \
				"$(median <"$BENCH_TMP/o-$w-$cond")" "$(max_of <"$BENCH_TMP/o-$w-$cond")" \
				"$target"
		done
		echo
		echo "Noise: ±$noise% (half the min–max range of the baseline runs, of their median)."
		echo
	done
}

cost_table() {
	local cfg prog n pipe_ns pipe_rng sw_s per_op srv_ns srv_rng target walked failed

	echo "| tracer | program | runs | ns/switch, pipe: median (min–max) | switches/s, pipe | BPF ns per pipe op | ns/switch, serverlike: median (min–max) | user stacks walked / failed | target |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for cfg in $COST_CONFIGS; do
		prog=$(awk -v c="$cfg" '$1 == c { print $4; exit }' "$BENCH_TMP/cost.txt")
		n=$(cost_values "$cfg" pipe 1 | wc -l)
		if [ "$n" = 0 ]; then
			echo "| $(cond_label "$cfg") | ${prog:-?} | 0 | n/a (bpf_stats counted nothing) | | | | | |"
			continue
		fi
		pipe_ns=$(cost_values "$cfg" pipe '$5 / $6' | median)
		pipe_rng="$(cost_values "$cfg" pipe '$5 / $6' | min_of | xargs printf '%.0f')–$(cost_values "$cfg" pipe '$5 / $6' | max_of | xargs printf '%.0f')"
		sw_s=$(cost_values "$cfg" pipe '$6 / $7' | median)
		per_op=$(cost_values "$cfg" pipe '$5 / $8' | median)
		srv_ns=$(cost_values "$cfg" server '$5 / $6' | median)
		srv_rng="$(cost_values "$cfg" server '$5 / $6' | min_of | xargs printf '%.0f')–$(cost_values "$cfg" server '$5 / $6' | max_of | xargs printf '%.0f')"
		case "$cfg" in
		bpftrace) walked="every switch-out (ustack + kstack)" ;;
		bpftrace-floor | *-K) walked="none" ;;
		*)
			walked=$(awk -v c="$cfg" '$1 == c && $3 > 0 { print (1 - $4 / $3) * 100 }' \
				"$BENCH_TMP/cost-ss.txt" | median 2>/dev/null) &&
				failed=$(awk -v c="$cfg" '$1 == c && $3 > 0 { print $5 / $3 * 100 }' \
				"$BENCH_TMP/cost-ss.txt" | median 2>/dev/null) &&
				walked=$(printf '%.0f%% / %.0f%% of switches' "$walked" "$failed") ||
				walked="?" ;;
		esac
		target=""
		case "$cfg" in
		wallclock-long)
			target="≤ $TARGET_NS ns (under min-block): $(verdict "$(awk -v x="$pipe_ns" \
				-v t="$TARGET_NS" 'BEGIN { print (x <= t) }')")" ;;
		esac
		printf '| %s | %s | %s | %.0f (%s) | %.0f | %.0f | %.0f (%s) | %s | %s |\n' \
			"$(cond_label "$cfg")" "$prog" "$n" "$pipe_ns" "$pipe_rng" "$sw_s" \
			"$per_op" "$srv_ns" "$srv_rng" "$walked" "$target"
	done
}

report() {
	local model others all_other busy_runs

	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	all_other=$(cat "$BENCH_TMP"/o-*-* | median)
	busy_runs=$(cat "$BENCH_TMP"/o-*-* | awk '$1 > 10 { n++ } END { print n + 0 }')
	others=$(sort "$BENCH_TMP/other-jobs" 2>/dev/null | uniq -c | sort -rn | head -n 5 |
		awk '{ printf "%s%s (%d)", (NR > 1 ? ", " : ""), $2, $1 }')

	echo "# sysscope off-CPU / wall-clock tracing overhead"
	echo
	echo "Kernel $(uname -r), $NCPU CPUs (${model:-unknown}), $ROUNDS rounds," \
		"$COST_REPS cost runs per tracer, $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "$("$SYSSCOPE" --version 2>/dev/null | head -n 1) (built $SYSSCOPE_BUILT); $(bpftrace --version);" \
		"perf $(perf --version | awk '{ print $3 }'). Every profiler traces the whole node" \
		"(no -p), started and attached before the workload, stopped with SIGINT after it."
	echo "Other load (CPU busy outside the workload and the profiler process, % of all CPUs):" \
		"median $all_other% over all runs, $busy_runs of $(cat "$BENCH_TMP"/o-*-* | wc -l) runs above 10%."
	if [ -n "$others" ]; then
		echo "Other engineers' jobs were seen running between runs (times seen): $others."
		case "$others" in
		*bpftrace* | *sysscope* | *perf*)
			echo "Some are profilers of their own: while they ran, they traced or sampled" \
				"these workloads too." ;;
		esac
	else
		echo "No other jobs were seen running between runs."
	fi
	echo "kernel.bpf_stats_enabled was on (set by another benchmark) at the end of" \
		"$(grep -c '^1' "$BENCH_TMP/stats-during-rounds" || true) of" \
		"$(wc -l <"$BENCH_TMP/stats-during-rounds") slowdown runs."
	echo
	echo "## Slowdown"
	echo
	overhead_table
	echo "- Slowdown: median against the no-profiler median. Paired slowdown: median over rounds" \
		"of each run against the same round's no-profiler run (less sensitive to load that" \
		"comes and goes between rounds). Δ ns/op: the slowdown in ns per pipe round trip" \
		"(2 context switches). Negative values are noise. A target smaller than the noise" \
		"is reported as not resolved."
	echo "- Profiler CPU: user+sys of the profiler process while the workload ran" \
		"(BPF programs run in the switching tasks' context and are not in it)."
	echo "- Other load: per run, as above; runs are made after waiting up to ${QUIET_WAIT} s" \
		"for the CPUs to be under ${QUIET_PCT}% busy."
	echo
	echo "## BPF run time per context switch (kernel.bpf_stats_enabled=1)"
	echo
	cost_table
	echo
	echo "run_time_ns / run_cnt of the tracer's sched_switch program over each workload run" \
		"(bpf_stats: the program alone, not the tracepoint or trampoline around it), median" \
		"of $COST_REPS runs. Every switch of the node is counted, not only the workload's." \
		"With -m $NEVER_US no interval is long enough to be recorded: every switch takes the" \
		"short path (switch-out bookkeeping and user-stack check, switch-in compare)." \
		"The pipe's intervals are a few µs, so at -m 1000 it is nearly all short path too;" \
		"serverlike's 1 ms sleeps take the long path (kernel stack, counts map)." \
		"The -K row takes no user stack at switch-out: the difference to the row above is" \
		"the user-stack check and walk. User stacks walked / failed: sysscope's own" \
		"counters over the whole session, the share of switch-outs that walked the user" \
		"stack instead of reusing the last one, and that failed to store it."
	echo
	echo "## sysscope's own cost (one \`wallclock -m 1000\` run: pipe + serverlike)"
	echo
	echo "| traced s | CPU while tracing | CPU at start (load, attach) | CPU total (with outputs) | RSS peak while tracing | max RSS (with outputs) |"
	echo "|---:|---:|---:|---:|---:|---:|"
	printf '| %.2f | %.3f s (%.2f%% of a CPU) | %.3f s | %.3f s (user %.2f, sys %.2f) | %.1f MiB | %.1f MiB |\n' \
		"$SELF_SECS" "$SELF_CPU_SAMPLING" "$(calc "$SELF_CPU_SAMPLING / $SELF_SECS * 100")" \
		"$SELF_CPU_STARTUP" "$(calc "$SELF_USER + $SELF_SYS")" "$SELF_USER" "$SELF_SYS" \
		"$(calc "$SELF_HWM_KIB / 1024")" "$(calc "$SELF_MAXRSS / 1024")"
	echo
	echo "CPU from /proc/PID/stat (user+sys) and VmHWM; totals from /usr/bin/time," \
		"including symbolizing and writing the outputs after SIGINT. sysscope said:" \
		"\`$SELF_SAID\`"
	if [ -s "$BENCH_TMP/profiler-errors" ]; then
		echo
		echo "## Profiler failures"
		echo
		echo "These profiler runs exited with an error when stopped, after the workload" \
			"had run under them (their timings are kept):"
		echo
		sed 's/^/- /' "$BENCH_TMP/profiler-errors"
	fi
}

main() {
	preflight
	bench_init
	trap offcpu_cleanup EXIT
	ensure_tracefs
	# One binary for the whole run, even if OUTPUT is rebuilt meanwhile.
	cp "$SYSSCOPE" "$BENCH_TMP/sysscope" || die "cannot copy $SYSSCOPE"
	SYSSCOPE=$BENCH_TMP/sysscope
	build_serverlike
	write_bpftrace_script
	calibrate_pipe
	log "$ROUNDS rounds x $(echo "$CONDITIONS" | wc -w) conditions x 2 workloads;" \
		"then $COST_REPS x $(echo "$COST_CONFIGS" | wc -w) cost runs"
	run_rounds
	SERVER_DESC="\`serverlike${SERVER_ARGS:+ $SERVER_ARGS}\` ($SERVER_SAID)"
	run_costs
	report >"$BENCH_TMP/report.md"
	cp "$BENCH_TMP/report.md" "$REPORT"
	cat "$REPORT"
	log "saved $REPORT"
	if [ -s "$BENCH_TMP/profiler-errors" ]; then
		die "$(wc -l <"$BENCH_TMP/profiler-errors") profiler run(s) failed after the" \
			"workload (listed in the report)"
	fi
}

main "$@"
