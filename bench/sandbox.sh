#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What the sandbox costs: (a) startup time to the first sample, per mode,
# with the seccomp filter on (the default) and off (--no-seccomp); (b) the
# CPU sysscope itself uses in the run phase of a whole-node wallclock run
# under a steady switch- and exec-heavy workload, on vs off, interleaved.
# A benchmark, not a test: it prints Markdown tables (also saved to
# OUTPUT/bench/sandbox.md) and never fails on timing; it fails when
# sysscope fails, the sandbox is not in the state asked for, or a tool is
# missing. See bench/README-containers.md.
#
#   bench/sandbox.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# Environment:
#   STARTUP_RUNS=7   runs per mode and sandbox setting for (a)
#   MODES="profile offcputime wallclock"
#   ROUNDS=7         rounds for (b), each one run with and one without
#   RUN_SECONDS=10   the run phase measured in (b)
#   PIPE_LOOPS=2000  perf bench sched pipe -l N, looped (the workload: ~40 ms
#                    each, so dozens of new processes a second for sysscope)
#   WL_CPU=0         the CPU the workload is pinned to ("" = not pinned)
#   SYSCALLS=1       one extra run each way under perf stat, counting the
#                    run phase's system calls (0: skip)
#   FILTER_PROCS=5   (c): processes each way measuring the filter's cost
#
# Startup time: from just before the fork of `sysscope MODE -d 2 -o DIR` to
# the moment its "sampling at" line is read from its stderr (a pipe read by
# a loop that stamps each line), i.e. BPF load + attach + privilege drop
# (+ seccomp), plus fork/exec (~1 ms, the same in every run).
#
# Filter cost (c): a small program (built here, linked with libsysscope.a)
# times system calls (fastest of 7 x 200000) without and with sysscope's
# own filter (sandbox__install_seccomp, also timed), in alternating
# processes: calls allowed without argument rules, calls with them, and a
# denied call.
#
# Run-phase CPU: the sysscope process's user+sys (/proc/PID/stat, in clock
# ticks) and on-CPU time (the sum of /proc/PID/task/*/schedstat, ns) from
# the "sampling at" line to RUN_SECONDS later; then SIGINT. Collection and
# output writing, after that, are not counted. BPF programs run in the
# traced tasks' context and are not in these numbers either: the seccomp
# filter only sees sysscope's own system calls.
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
set -eu
export LC_ALL=C	# $EPOCHREALTIME with a '.'

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# lib.sh is shared and may change: fail loudly if a helper went away.
for f in log die require_root require_tools bench_init bench_cleanup median \
	min_of max_of calc bg_start track_pid untrack_pid stop_pid pid_alive \
	wait_for_log proc_cpu_s cpu_ticks source_id require_positive; do
	declare -F "$f" >/dev/null ||
		{ echo "bench/sandbox.sh: bench/lib.sh has no function $f" >&2; exit 1; }
done

OUTPUT=${1:-build}
STARTUP_RUNS=${STARTUP_RUNS:-7}
MODES=${MODES:-profile offcputime wallclock}
ROUNDS=${ROUNDS:-7}
RUN_SECONDS=${RUN_SECONDS:-10}
PIPE_LOOPS=${PIPE_LOOPS:-2000}
FILTER_PROCS=${FILTER_PROCS:-5}
WL_CPU=${WL_CPU-0}
SYSCALLS=${SYSCALLS:-1}
SYSSCOPE=$OUTPUT/sysscope
REPORT=$OUTPUT/bench/sandbox.md
READY='sampling at [0-9]+ Hz'
NO_SECCOMP_WARNING='--no-seccomp: running WITHOUT the seccomp filter'

WL_PGID=""	# the workload's process group, killed on exit

require_positive STARTUP_RUNS ROUNDS RUN_SECONDS PIPE_LOOPS FILTER_PROCS
case "$SYSCALLS" in 0 | 1) ;; *) die "SYSCALLS must be 0 or 1" ;; esac
for m in $MODES; do
	case $m in profile | offcputime | wallclock) ;; *) die "unknown mode '$m'" ;; esac
done

# ------------------------------------------------------------ set-up

sandbox_cleanup() {
	set +e
	[ -z "$WL_PGID" ] || kill -KILL -- "-$WL_PGID" 2>/dev/null
	WL_PGID=""
	bench_cleanup	# sysscope runs still going (tracked by bg_start)
}

preflight() {
	require_tools id nproc make realpath perf setsid awk sed getconf seq sort tee uname ps tr xargs cut sha256sum
	[ -z "$WL_CPU" ] || require_tools taskset
	require_root
	# Up to date with the tree, so the report's version is the one run.
	make -C "$ROOT" --no-print-directory OUTPUT="$(realpath -m "$OUTPUT")" \
		"$(realpath -m "$SYSSCOPE")" >&2 || die "cannot build $SYSSCOPE"
	[ -x "$SYSSCOPE" ] || die "$SYSSCOPE not found after make"
	"$SYSSCOPE" --help 2>&1 | grep -q -- --no-seccomp ||
		die "$SYSSCOPE has no --no-seccomp option"
	[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash 5 needed (\$EPOCHREALTIME)"
	perf bench sched pipe -l 10 >/dev/null 2>&1 ||
		die "'perf bench sched pipe' does not run"
	[ -z "$WL_CPU" ] || [ "$WL_CPU" -lt "$(nproc)" ] || die "no CPU $WL_CPU"
}

# Seccomp mode of PID from /proc: 0 none, 2 filter.
seccomp_mode() { awk '/^Seccomp:/ { print $2 }' "/proc/$1/status"; }

# cpu_ns PID: on-CPU ns of all of PID's threads so far.
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}

sandbox_args() { [ "$1" = on ] || echo --no-seccomp; }

# ------------------------------------------------------------ (c) filter

build_filter_bench() {
	FILTER_BIN=$BENCH_TMP/seccomp_cost
	make -C "$ROOT" --no-print-directory OUTPUT="$(realpath -m "$OUTPUT")" \
		"$(realpath -m "$OUTPUT")/libsysscope.a" >&2 || die "cannot build libsysscope.a"
	cat >"$BENCH_TMP/seccomp_cost.c" <<'EOF_C'
/* Cost per system call of sysscope's seccomp filter, by path through it. */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "sandbox.h"

#define CALLS 200000
#define REPS 7

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const struct call {
	const char *name;
	long nr, a0, a1;
} calls[] = {
	{ "getpid", SYS_getpid, 0, 0 },
	{ "read", SYS_read, -1, 0 },
	{ "ioctl", SYS_ioctl, -1, PERF_EVENT_IOC_DISABLE },
	{ "bpf", SYS_bpf, BPF_MAP_LOOKUP_ELEM, 0 },
	{ "getppid", SYS_getppid, 0, 0 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

/* The fastest of REPS loops of CALLS calls: ns per call. */
static double per_call(const struct call *c)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < REPS; r++) {
		uint64_t t0 = now_ns();

		for (int i = 0; i < CALLS; i++)
			syscall(c->nr, c->a0, c->a1, 0);
		t0 = now_ns() - t0;
		if (t0 < best)
			best = t0;
	}
	return (double)best / CALLS;
}

/* seccomp_cost on|off: with or without sysscope's filter. */
int main(int argc, char **argv)
{
	int on = argc == 2 && !strcmp(argv[1], "on");

	if (argc != 2 || (!on && strcmp(argv[1], "off")))
		return fprintf(stderr, "usage: seccomp_cost on|off\n"), 2;
	/* The same in both: only the filter differs. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return perror("no_new_privs"), 1;
	if (on) {
		uint64_t t0 = now_ns();
		int err = sandbox__install_seccomp();

		t0 = now_ns() - t0;
		if (err)
			return fprintf(stderr, "sandbox__install_seccomp: %s\n", strerror(-err)), 1;
		printf("install_us=%.1f\n", t0 / 1e3);
	}
	/* Proof of the state asked for: getppid is not on the list. */
	errno = 0;
	if ((syscall(SYS_getppid) == -1 && errno == EPERM) != on)
		return fprintf(stderr, "the filter is %s, expected %s\n",
			       on ? "off" : "on", argv[1]), 1;
	for (size_t i = 0; i < NCALLS; i++)
		printf("%s_%s=%.1f\n", calls[i].name, argv[1], per_call(&calls[i]));
	return 0;
}
EOF_C
	cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/src" -I"$ROOT/bpf" \
		"$BENCH_TMP/seccomp_cost.c" "$OUTPUT/libsysscope.a" \
		-lbpf -lelf -lz -lcap -ljson-c -lseccomp -o "$FILTER_BIN" ||
		die "cannot build the seccomp cost program"
}

run_filter_bench() {
	local k v r sb

	log "(c) filter cost per call: $FILTER_PROCS processes each way"
	build_filter_bench
	for r in $(seq 1 "$FILTER_PROCS"); do
		for sb in $([ $((r % 2)) = 1 ] && echo on off || echo off on); do
			"$FILTER_BIN" "$sb" >"$BENCH_TMP/filter.out" 2>&1 ||
				die "seccomp cost program ($sb) failed:$(echo; cat "$BENCH_TMP/filter.out")"
			while IFS='=' read -r k v; do
				add "f.$k" "$v"
			done <"$BENCH_TMP/filter.out"
		done
	done
}

# ------------------------------------------------------------ (a) startup

stamp() {
	local line

	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
	done
}

# startup MODE on|off: ms from fork to the "sampling at" line, in ST_MS.
startup() {
	local out=$BENCH_TMP/startup-out log=$BENCH_TMP/startup.log t0 t1 rc

	rm -rf "$out"
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2046 # no argument, or one
	"$SYSSCOPE" "$1" -d 2 -o "$out" $(sandbox_args "$2") 2>&1 >/dev/null | stamp >"$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || die "sysscope $1 ($2) exited $rc:$(echo; cut -d' ' -f2- "$log" | tail -n 20)"
	t1=$(awk -v re="$READY" '$0 ~ re { print $1; exit }' "$log")
	[ -n "$t1" ] || die "sysscope $1 ($2) printed no '$READY':$(echo; cut -d' ' -f2- "$log")"
	check_warning "$log" "$2" "$1"
	ST_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }')
}

# check_warning LOG on|off WHAT: the no-seccomp warning iff off.
check_warning() {
	if grep -qF -- "$NO_SECCOMP_WARNING" "$1"; then
		[ "$2" = off ] || die "$3: sandbox asked on, but sysscope ran without seccomp"
	else
		[ "$2" = on ] || die "$3: --no-seccomp given, but no warning about it"
	fi
}

declare -A VALS=()
add() { VALS["$1"]="${VALS["$1"]:-} $2"; }
# shellcheck disable=SC2086 # split on purpose: the values are numbers
vals() { printf '%s\n' ${VALS["$1"]:-}; }

run_startup() {
	local r m sb

	log "(a) startup: $STARTUP_RUNS runs x {$MODES} x {on, off}"
	for r in $(seq 1 "$STARTUP_RUNS"); do
		for m in $MODES; do
			# Alternate which setting goes first.
			for sb in $([ $((r % 2)) = 1 ] && echo on off || echo off on); do
				startup "$m" "$sb"
				add "st.$m.$sb" "$ST_MS"
				log "startup $r $m sandbox $sb: $ST_MS ms"
			done
		done
	done
}

# ------------------------------------------------------------ (b) run phase

start_workload() {
	local pin=()

	[ -z "$WL_CPU" ] || pin=(taskset -c "$WL_CPU")
	# Its own session: its process group is killed on exit, whatever it forked.
	setsid bash -c 'while :; do "$@" >/dev/null 2>&1 || exit 1; done' _ \
		"${pin[@]}" perf bench sched pipe -l "$PIPE_LOOPS" &
	WL_PGID=$!	# setsid did not fork: a background job leads no group
	disown "$WL_PGID"	# killed by group at the end; no "Killed" notice
	sleep 1
	pid_alive "$WL_PGID" || die "the workload (perf bench sched pipe) died"
	[ "$(ps -o pgid= -p "$WL_PGID" | tr -d ' ')" = "$WL_PGID" ] ||
		die "the workload is not its own process group"
}

# run_phase on|off [PERF_STAT_FILE]: RUN_TICK_S (user+sys from
# /proc/PID/stat), RUN_NS (schedstat), RUN_PROCS (processes sysscope read).
run_phase() {
	local out=$BENCH_TMP/run-out log=$BENCH_TMP/run.log pid c0 c1 n0 n1 mode ps_pid

	rm -rf "$out"
	# shellcheck disable=SC2046 # no argument, or one
	bg_start "$log" "$SYSSCOPE" wallclock -o "$out" $(sandbox_args "$1")
	pid=$BG_PID
	wait_for_log "$pid" "$log" "$READY" 60
	c0=$(proc_cpu_s "$pid")
	n0=$(cpu_ns "$pid")
	mode=$(seccomp_mode "$pid")
	case "$1.$mode" in
	on.2 | off.0) ;;
	*) die "sandbox $1 but /proc/$pid/status says Seccomp: $mode" ;;
	esac
	if [ -n "${2:-}" ]; then
		perf stat -x, -o "$2" -p "$pid" \
			-e raw_syscalls:sys_enter,syscalls:sys_enter_bpf,syscalls:sys_enter_ioctl \
			-- sleep "$RUN_SECONDS" >/dev/null 2>&1 &
		ps_pid=$!
		wait "$ps_pid" || die "perf stat -p $pid failed:$(echo; cat "$2")"
	else
		sleep "$RUN_SECONDS"
	fi
	c1=$(proc_cpu_s "$pid")
	n1=$(cpu_ns "$pid")
	stop_pid "$pid" 300
	[ "$STOP_RC" = 0 ] || die "sysscope wallclock ($1) exited $STOP_RC:$(echo; tail -n 20 "$log")"
	check_warning "$log" "$1" "wallclock run"
	RUN_TICK_S=$(calc "$c1 - $c0")
	RUN_NS=$((n1 - n0))
	RUN_PROCS=$(awk '/processes read/ { print $NF }' "$out/summary.txt")
}

run_phases() {
	local r sb on_ns off_ns

	log "(b) run phase: $ROUNDS rounds x {on, off}, ${RUN_SECONDS}s each, workload: perf bench sched pipe -l $PIPE_LOOPS in a loop${WL_CPU:+ on CPU $WL_CPU}"
	start_workload
	read -r RB0 RT0 < <(cpu_ticks)
	for r in $(seq 1 "$ROUNDS"); do
		for sb in $([ $((r % 2)) = 1 ] && echo on off || echo off on); do
			run_phase "$sb"
			add "run.tick.$sb" "$RUN_TICK_S"
			add "run.ns.$sb" "$RUN_NS"
			add "run.procs.$sb" "$RUN_PROCS"
			[ "$sb" = on ] && on_ns=$RUN_NS || off_ns=$RUN_NS
			log "run $r sandbox $sb: user+sys $RUN_TICK_S s, on-CPU $(calc "$RUN_NS / 1e6") ms, $RUN_PROCS processes read"
		done
		# Paired: the two runs of a round saw about the same node.
		add run.pair "$(calc "$on_ns / $off_ns")"
	done
	read -r RB1 RT1 < <(cpu_ticks)
	if [ "$SYSCALLS" = 1 ]; then
		for sb in on off; do
			run_phase "$sb" "$BENCH_TMP/perfstat.$sb"
			SC_ALL[$sb]=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$BENCH_TMP/perfstat.$sb")
			SC_BPF[$sb]=$(awk -F, '$3 == "syscalls:sys_enter_bpf" { print $1 }' "$BENCH_TMP/perfstat.$sb")
			SC_IOCTL[$sb]=$(awk -F, '$3 == "syscalls:sys_enter_ioctl" { print $1 }' "$BENCH_TMP/perfstat.$sb")
			[ -n "${SC_ALL[$sb]}" ] || die "perf stat counted nothing:$(echo; cat "$BENCH_TMP/perfstat.$sb")"
			log "syscalls in the run phase, sandbox $sb: ${SC_ALL[$sb]} (bpf ${SC_BPF[$sb]}, ioctl ${SC_IOCTL[$sb]})"
		done
	fi
	kill -KILL -- "-$WL_PGID" 2>/dev/null || true
	WL_PGID=""
}

declare -A SC_ALL=() SC_BPF=() SC_IOCTL=()

# ------------------------------------------------------------ report

fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }

# row3 KEY DIGITS SCALE: "median | min | max" of KEY's values / SCALE.
row3() {
	local med mn mx s=${3:-1}

	med=$(vals "$1" | median) || die "no values for $1"
	mn=$(vals "$1" | min_of)
	mx=$(vals "$1" | max_of)
	printf '%s | %s | %s' "$(fmt "$(calc "$med / $s")" "$2")" \
		"$(fmt "$(calc "$mn / $s")" "$2")" "$(fmt "$(calc "$mx / $s")" "$2")"
}

ratio() {	# ratio KEY_ON KEY_OFF
	awk -v a="$(vals "$1" | median)" -v b="$(vals "$2" | median)" \
		'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}

report() {
	local m busy

	busy=$(calc "100 * ($RB1 - $RB0) / ($RT1 - $RT0)")
	cat <<EOF
## Sandbox cost: seccomp on (default) vs off (\`--no-seccomp\`)

$(uname -srm), $(nproc) CPUs; sysscope built $(date -u -r "$SYSSCOPE" '+%Y-%m-%d %H:%M UTC')
from $(source_id) (src/sandbox/sandbox.c sha256 $(sha256sum "$ROOT/src/sandbox/sandbox.c" | cut -c1-12)).
Load average at start: $LOAD_BEFORE; after (a): $LOAD_MID; at end: $LOAD_AFTER.
CPUs $(printf '%.0f' "$busy")% busy during (b), all processes (this is a shared machine).
Both settings drop capabilities and apply whatever else the build's sandbox
does besides seccomp (Landlock, when built in): only the seccomp filter differs.

### (a) Startup: fork to "sampling at", ms ($STARTUP_RUNS runs each, \`-d 2\`, whole node)

| mode | on: median | min | max | off: median | min | max | on/off |
|---|---:|---:|---:|---:|---:|---:|---:|
EOF
	for m in $MODES; do
		printf '| %s | %s | %s | %s |\n' "$m" "$(row3 "st.$m.on" 1)" \
			"$(row3 "st.$m.off" 1)" "$(ratio "st.$m.on" "st.$m.off")"
	done
	cat <<EOF

### (b) Run phase: sysscope's own CPU in ${RUN_SECONDS} s of whole-node wallclock ($ROUNDS rounds, interleaved)

Workload: \`perf bench sched pipe -l $PIPE_LOOPS\` in a loop${WL_CPU:+, pinned to CPU $WL_CPU} (new
processes for sysscope to read all along, ping-pong context switches).

| sandbox | on-CPU ms (schedstat): median | min | max | user+sys s (/proc/PID/stat) | min | max | processes read (whole run) |
|---|---:|---:|---:|---:|---:|---:|---:|
| on | $(row3 run.ns.on 1 1e6) | $(row3 run.tick.on 2) | $(vals run.procs.on | median) |
| off | $(row3 run.ns.off 1 1e6) | $(row3 run.tick.off 2) | $(vals run.procs.off | median) |

Ratio on/off of the medians: on-CPU $(ratio run.ns.on run.ns.off), user+sys $(ratio run.tick.on run.tick.off).
Per-round ratio on/off (paired): median $(vals run.pair | median | xargs printf '%.3f'),
range $(vals run.pair | min_of | xargs printf '%.3f')–$(vals run.pair | max_of | xargs printf '%.3f').
/proc/PID/stat counts in ${CLK_TCK}-Hz ticks: ±$(calc "1 / $CLK_TCK") s per reading.
EOF
	filter_report
	if [ "$SYSCALLS" = 1 ]; then
		cat <<EOF

System calls sysscope made in ${RUN_SECONDS} s of run phase (one extra run each, under
\`perf stat -e raw_syscalls:sys_enter\`): on ${SC_ALL[on]} (bpf ${SC_BPF[on]}, ioctl ${SC_IOCTL[on]}),
off ${SC_ALL[off]} (bpf ${SC_BPF[off]}, ioctl ${SC_IOCTL[off]}). Only bpf, ioctl and tgkill have
argument rules; every other allowed call is answered from the kernel's seccomp
action cache (Linux 5.11+) without running the filter, but still takes the
seccomp entry path: the "read" difference in (c).
EOF
	fi
}

filter_report() {
	local c path on off

	cat <<EOF

### (c) The filter's cost per system call, measured directly

ns per call: fastest of 7 loops of 200000 calls in a process; $FILTER_PROCS processes each
way, alternating, without and with sysscope's filter (\`sandbox__install_seccomp\`).
The best of all processes is the call's own cost; the median shows the noise.

| call | path through the filter | without: best | with: best | difference | without: median | with: median |
|---|---|---:|---:|---:|---:|---:|
EOF
	for c in getpid read ioctl bpf getppid; do
		case $c in
		getpid | read) path="allowed, no argument rule: action cache, filter not run" ;;
		ioctl) path="allowed if PERF_EVENT_IOC_DISABLE: the filter runs" ;;
		bpf) path="allowed if a map-reading command: the filter runs" ;;
		getppid) path="not allowed: the filter runs, EPERM" ;;
		esac
		off=$(vals "f.${c}_off" | min_of)
		on=$(vals "f.${c}_on" | min_of)
		printf '| %s | %s | %s | %s | %+.1f | %s | %s |\n' "$c" "$path" "$off" "$on" \
			"$(calc "$on - $off")" "$(vals "f.${c}_off" | median)" "$(vals "f.${c}_on" | median)"
	done
	echo
	echo "Installing the filter: $(vals f.install_us | median) µs (median), part of the startup in (a)."
	[ "$SYSCALLS" = 1 ] || return 0
	awk -v n="${SC_ALL[on]}" -v b="${SC_BPF[on]}" -v i="${SC_IOCTL[on]}" \
	    -v dc="$(calc "$(vals f.read_on | min_of) - $(vals f.read_off | min_of)")" \
	    -v df="$(calc "$(vals f.bpf_on | min_of) - $(vals f.bpf_off | min_of)")" \
	    -v cpu="$(vals run.ns.on | median)" -v s="$RUN_SECONDS" 'BEGIN {
		if (dc < 0) dc = 0
		if (df < 0) df = 0
		e = (n - b - i) * dc + (b + i) * df
		share = cpu > 0 ? 100 * e / cpu : 0
		printf "Expected filter cost in a run phase: %d calls (counted below) x the best-case differences\n", n
		printf "(read for calls without argument rules, bpf for bpf/ioctl) = %.1f µs per %d s,\n", e / 1e3, s
		printf "%.2f%% of sysscope'"'"'s median run-phase CPU in (b).\n", share
	}'
}

# ------------------------------------------------------------ main

main() {
	preflight
	bench_init
	trap sandbox_cleanup EXIT
	CLK_TCK=$(getconf CLK_TCK)
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	log "load average: $LOAD_BEFORE"
	run_filter_bench
	run_startup
	LOAD_MID=$(cut -d' ' -f1-3 /proc/loadavg)
	run_phases
	LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
	mkdir -p "${REPORT%/*}"
	report | tee "$REPORT"
	log "table saved to $REPORT"
}

main "$@"
