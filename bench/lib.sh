# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are results for callers
#
# Shared helpers for sysscope's benchmarks (bash; source it, then call
# bench_init). A benchmark measures, it never asserts on timing: helpers
# die only when something is broken (tool missing, profiler crashed).
#
# Background processes started with bg_start are tracked and stopped by
# bench_cleanup (installed on EXIT/INT/TERM by bench_init), which also
# restores kernel.bpf_stats_enabled if bpf_stats_on changed it. Needs
# flock (util-linux) for bpf_stats_on.

BENCH_PIDS=""		# tracked background processes, "pid pid ..."
BENCH_TMP=""		# scratch directory, removed on exit
BENCH_FAILURES=""	# profilers that failed after a valid run, one a line

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- setup

require_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (BPF, perf -a, sysctl)"
}

# require_tools TOOL...: every TOOL must be an executable (path or $PATH).
require_tools() {
	local t missing=""

	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing tools:$missing (run scripts/install-deps.sh)"
}

# require_positive VAR...: every VAR must hold a positive integer.
require_positive() {
	local v

	for v in "$@"; do
		case "${!v}" in
		'' | *[!0-9]* | 0) die "$v must be a positive integer, not '${!v}'" ;;
		esac
	done
}

# bench_init: scratch dir in $BENCH_TMP, traps for cleanup.
bench_init() {
	BENCH_TMP=$(mktemp -d /tmp/sysscope-bench.XXXXXX)
	trap bench_cleanup EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "terminated"; exit 143' TERM
}

bench_cleanup() {
	local pid

	set +e
	for pid in $BENCH_PIDS; do
		stop_pid "$pid" 5
	done
	BENCH_PIDS=""
	bpf_stats_restore
	[ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
}

# ---------------------------------------------------------------- numbers

# median [X...]: the median (mean of the middle two for an even count) of
# the arguments, or of stdin's lines without arguments. min_of, max_of: same.
values() { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi | sort -g; }

median() {
	values "$@" | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

min_of() { values "$@" | head -n 1; }
max_of() { values "$@" | tail -n 1; }

# pct_change X BASE: "+0.31%" (X relative to BASE).
pct_change() {
	awk -v x="$1" -v b="$2" 'BEGIN { printf "%+.2f%%\n", (x / b - 1) * 100 }'
}

# calc EXPR: floating-point arithmetic with awk, e.g. calc '3 / 7'.
calc() { awk "BEGIN { print $1 }"; }

# free_port: a TCP port on 127.0.0.1 free right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- processes

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
	local state

	state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) ||
		return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

track_pid() { BENCH_PIDS="$BENCH_PIDS $1"; }
untrack_pid() {
	local p kept=""

	for p in $BENCH_PIDS; do
		[ "$p" = "$1" ] || kept="$kept $p"
	done
	BENCH_PIDS=$kept
}

# bg_start LOG CMD...: run CMD in the background, stdout+stderr to LOG.
# Sets BG_PID. (Bash runs it with SIGINT ignored unless CMD installs a
# handler; perf, bpftrace and sysscope all do.)
bg_start() {
	local log_file=$1

	shift
	"$@" >"$log_file" 2>&1 &
	BG_PID=$!
	track_pid "$BG_PID"
}

# wait_exit PID TIMEOUT_S: poll until PID has exited; false on timeout.
wait_exit() {
	local pid=$1 deadline

	deadline=$(($(date +%s) + $2))
	while pid_alive "$pid"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# stop_pid PID TIMEOUT_S [SIGNAL_PID]: SIGINT to SIGNAL_PID (default PID),
# wait up to TIMEOUT_S for PID, then SIGTERM, then SIGKILL. Reaps PID; its
# exit status is left in STOP_RC. (Not for $(...): wait needs this shell.)
stop_pid() {
	local pid=$1 timeout=$2 sig_pid=${3:-$1}

	STOP_RC=0
	if pid_alive "$pid"; then
		kill -INT "$sig_pid" 2>/dev/null || true
		if ! wait_exit "$pid" "$timeout"; then
			log "pid $pid ignored SIGINT for ${timeout}s: SIGTERM"
			kill -TERM "$sig_pid" "$pid" 2>/dev/null || true
			if ! wait_exit "$pid" 5; then
				kill -KILL "$sig_pid" "$pid" 2>/dev/null || true
			fi
		fi
	fi
	wait "$pid" 2>/dev/null || STOP_RC=$?
	untrack_pid "$pid"
}

# child_pid PID: PID's first child (e.g. the command under /usr/bin/time).
child_pid() {
	local deadline child

	deadline=$(($(date +%s) + 10))
	while :; do
		child=$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null || true)
		[ -n "$child" ] && { echo "$child"; return 0; }
		pid_alive "$1" || return 1
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}

# wait_for_log PID LOG REGEX TIMEOUT_S: wait until LOG matches REGEX; dies
# (showing the log) if PID exits first or on timeout.
wait_for_log() {
	local pid=$1 log_file=$2 re=$3 deadline

	deadline=$(($(date +%s) + $4))
	until grep -qE "$re" "$log_file" 2>/dev/null; do
		pid_alive "$pid" ||
			die "pid $pid exited before printing '$re':$(echo; tail -n 20 "$log_file")"
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "no '$re' from pid $pid after ${4}s:$(echo; tail -n 20 "$log_file")"
		sleep 0.02
	done
}

# perf_event_fds PID: how many perf events PID holds open.
perf_event_fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'anon_inode:\[perf_event\]' \
		2>/dev/null | wc -l
}

# wait_perf_events PID N TIMEOUT_S: until PID holds >= N perf events (one
# per CPU at least: the sampling events are open and attached).
wait_perf_events() {
	local deadline

	deadline=$(($(date +%s) + $3))
	until [ "$(perf_event_fds "$1")" -ge "$2" ]; do
		pid_alive "$1" || die "pid $1 exited before opening its perf events"
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "pid $1 holds $(perf_event_fds "$1") perf events after ${3}s, expected $2"
		sleep 0.02
	done
}

# proc_cpu_s PID: user+sys CPU seconds PID has used so far.
proc_cpu_s() {
	local hz

	hz=$(getconf CLK_TCK)
	# Fields after "(comm) ": state is $1, utime $12, stime $13.
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%.3f\n", ($12 + $13) / hz }'
}

# cpu_ticks: "BUSY TOTAL" clock ticks of all CPUs so far (/proc/stat).
cpu_ticks() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

# wait_quiet MAX_BUSY_PCT MAX_WAIT_S: on a shared machine, wait until the
# CPUs were at most MAX_BUSY_PCT busy over the last half second; gives up
# (returns false) after MAX_WAIT_S.
wait_quiet() {
	local deadline b0 t0 b1 t1

	deadline=$(($(date +%s) + $2))
	while :; do
		read -r b0 t0 < <(cpu_ticks)
		sleep 0.5
		read -r b1 t1 < <(cpu_ticks)
		[ $((t1 - t0)) -gt 0 ] && [ $(((b1 - b0) * 100)) -le $(($1 * (t1 - t0))) ] &&
			return 0
		[ "$(date +%s)" -lt "$deadline" ] || return 1
	done
}

# proc_hwm_kib PID: peak resident set size (VmHWM) in KiB.
proc_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- profilers

# run_with_profiler LOG READY_REGEX SETTLE_S OK_CODES CMD...
#
# Starts profiler CMD in the background, waits until it is sampling (LOG
# matches READY_REGEX unless that is empty, and it holds a perf event per
# CPU, then SETTLE_S more seconds), runs the workload "${WORKLOAD[@]}"
# (see run_workload), stops the profiler with SIGINT and waits for it;
# its exit status must be in OK_CODES (e.g. "0 130"). It dies if the
# profiler is not running when the workload ends; if it fails only on its
# way out (writing outputs), the timing stands: the failure is logged and
# appended to BENCH_FAILURES for the caller to report. A CMD of
# "none" runs the workload alone. PROFILER_CPU_S: the profiler process's
# user+sys seconds while the workload ran. Optional, set by the caller:
#   AFTER_READY, BEFORE_STOP  functions called with the profiler's pid
#                             just before / just after the workload
#   PROFILER_TIME_FILE        run CMD under /usr/bin/time, which writes
#                             "elapsed user sys maxrss_kib" there
run_with_profiler() {
	local log_file=$1 ready=$2 settle=$3 ok=$4 wrapper pid cpu0

	shift 4
	PROFILER_CPU_S=0
	if [ "$1" = none ]; then
		run_workload
		return
	fi
	if [ -n "${PROFILER_TIME_FILE:-}" ]; then
		bg_start "$log_file" /usr/bin/time -f '%e %U %S %M' \
			-o "$PROFILER_TIME_FILE" "$@"
		wrapper=$BG_PID
		pid=$(child_pid "$wrapper") || die "$1 did not start"
		track_pid "$pid"
	else
		bg_start "$log_file" "$@"
		wrapper=$BG_PID
		pid=$wrapper
	fi
	[ -z "$ready" ] || wait_for_log "$pid" "$log_file" "$ready" 60
	wait_perf_events "$pid" "$(nproc)" 30
	[ "$settle" = 0 ] || sleep "$settle"
	[ -z "${AFTER_READY:-}" ] || "$AFTER_READY" "$pid"
	cpu0=$(proc_cpu_s "$pid")
	run_workload
	pid_alive "$pid" ||
		die "$1 died while the workload ran:$(echo; tail -n 20 "$log_file")"
	PROFILER_CPU_S=$(calc "$(proc_cpu_s "$pid") - $cpu0")
	[ -z "${BEFORE_STOP:-}" ] || "$BEFORE_STOP" "$pid"
	stop_pid "$wrapper" 300 "$pid"
	untrack_pid "$pid"
	case " $ok " in
	*" $STOP_RC "*) ;;
	*)
		log "error: ${1##*/} exited with status $STOP_RC after the run:$(echo; tail -n 5 "$log_file")"
		BENCH_FAILURES="$BENCH_FAILURES${1##*/} (log ${log_file##*/}): exit status $STOP_RC: $(grep -m1 -i error "$log_file" || tail -n 1 "$log_file")
"
		;;
	esac
}

# run_workload: "${WORKLOAD[@]}" in the background (so a signal to the
# benchmark is handled at once, not after it), output in $WORKLOAD_OUT.
# RUN_BUSY_S: CPU-seconds all CPUs were busy meanwhile (any process).
run_workload() {
	local pid rc=0 b0 b1 t

	read -r b0 t < <(cpu_ticks)
	"${WORKLOAD[@]}" >"$WORKLOAD_OUT" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait "$pid" || rc=$?
	untrack_pid "$pid"
	read -r b1 t < <(cpu_ticks)
	RUN_BUSY_S=$(calc "($b1 - $b0) / $(getconf CLK_TCK)")
	[ "$rc" = 0 ] || die "workload failed ($rc):$(echo; cat "$WORKLOAD_OUT")"
}

# field NAME FILE: the value of NAME=value in a key=value line of FILE.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | head -n 1; }

# ---------------------------------------------------------------- BPF stats

# kernel.bpf_stats_enabled is one switch for the whole node, and several
# benchmarks may measure at once. Each user registers its pid in
# $BPF_STATS_DIR/users under a lock: the first one records the value it
# found, the last one to leave puts it back. Dead users (SIGKILL) are
# pruned, so the next benchmark to leave still restores the value.
BPF_STATS_DIR=${BPF_STATS_DIR:-/run/lock/sysscope-bench-bpf-stats}
BPF_STATS_HELD=""	# non-empty while this shell holds bpf stats on

# _bpf_stats_live: the registered users still alive, minus pid $1.
_bpf_stats_live() {
	local p

	[ -f "$BPF_STATS_DIR/users" ] || return 0
	while read -r p; do
		[ -z "$p" ] || [ "$p" = "$1" ] || ! [ -d "/proc/$p" ] || echo "$p"
	done <"$BPF_STATS_DIR/users"
}

# bpf_stats_on: enable kernel.bpf_stats_enabled; bpf_stats_restore (also
# run by bench_cleanup) leaves it as it was found once nobody measures.
bpf_stats_on() {
	local users

	[ -z "$BPF_STATS_HELD" ] || return 0
	mkdir -p "$BPF_STATS_DIR" || die "cannot create $BPF_STATS_DIR"
	{
		flock -x 9 || die "cannot lock $BPF_STATS_DIR/lock"
		users=$(_bpf_stats_live $$)
		# Alone: record the value found, unless a crashed user left
		# its record (and the switch on).
		if [ -z "$users" ] && ! [ -s "$BPF_STATS_DIR/orig" ]; then
			sysctl -n kernel.bpf_stats_enabled >"$BPF_STATS_DIR/orig"
		fi
		{ [ -z "$users" ] || echo "$users"; echo $$; } >"$BPF_STATS_DIR/users"
		BPF_STATS_HELD=1
		sysctl -q -w kernel.bpf_stats_enabled=1 ||
			die "cannot set kernel.bpf_stats_enabled=1"
	} 9>"$BPF_STATS_DIR/lock"
}

bpf_stats_restore() {
	local users orig

	[ -n "$BPF_STATS_HELD" ] || return 0
	{
		flock -x 9
		users=$(_bpf_stats_live $$)
		{ [ -z "$users" ] || echo "$users"; } >"$BPF_STATS_DIR/users"
		if [ -z "$users" ]; then
			orig=$(cat "$BPF_STATS_DIR/orig" 2>/dev/null || true)
			sysctl -q -w kernel.bpf_stats_enabled="${orig:-0}" ||
				log "could not restore kernel.bpf_stats_enabled=${orig:-0}"
			rm -f "$BPF_STATS_DIR/orig"
		else
			log "kernel.bpf_stats_enabled stays on for pids: $(echo "$users" | tr '\n' ' ')"
		fi
	} 9>"$BPF_STATS_DIR/lock"
	BPF_STATS_HELD=""
}

# perf_event_prog_ids PID: ids of the perf_event BPF programs PID holds
# (from its fds, so other profilers on the node are never mixed in).
perf_event_prog_ids() {
	local f

	for f in /proc/"$1"/fdinfo/*; do
		awk '/^prog_type:/ { t = $2 } /^prog_id:/ { id = $2 }
		     END { if (t == 7 && id != "") print id }' "$f" 2>/dev/null
	done | sort -un
}

# prog_stats ID: PROG_NAME, PROG_NS (run_time_ns) and PROG_CNT (run_cnt)
# of BPF program ID, from bpftool prog show -j.
prog_stats() {
	local json

	json=$(bpftool prog show id "$1" -j) || die "bpftool prog show id $1 failed"
	PROG_NAME=$(printf '%s' "$json" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
	PROG_NS=$(printf '%s' "$json" | sed -n 's/.*"run_time_ns":\([0-9]*\).*/\1/p')
	PROG_CNT=$(printf '%s' "$json" | sed -n 's/.*"run_cnt":\([0-9]*\).*/\1/p')
	# bpftool leaves both out while run_time_ns is 0.
	PROG_NS=${PROG_NS:-0}
	PROG_CNT=${PROG_CNT:-0}
}

# ---------------------------------------------------------------- sysscope

# source_id: the commit of $ROOT (set by the caller), and whether the tree
# had changes: results belong to a version.
source_id() {
	local rev

	rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "an unknown commit"; return; }
	if [ -n "$(git -C "$ROOT" status --porcelain -- src cgroup container bpf 2>/dev/null)" ]; then
		echo "commit $rev + uncommitted changes"
	else
		echo "commit $rev"
	fi
}

# snapshot_sysscope: others may rebuild $SYSSCOPE while this runs: every
# run uses one copy, $SYSSCOPE_RUN (in $BENCH_TMP: after bench_init).
snapshot_sysscope() {
	cp "$SYSSCOPE" "$BENCH_TMP/sysscope" || die "cannot copy $SYSSCOPE"
	SYSSCOPE_RUN=$BENCH_TMP/sysscope
}

# finish_report WHAT: $BENCH_TMP/report.md, with BENCH_FAILURES appended
# ("their runs' WHAT are kept above"), saved as $REPORT and printed; then
# dies if a profiler failed.
finish_report() {
	if [ -n "$BENCH_FAILURES" ]; then
		{
			echo
			echo "## Profiler failures (their runs' $1 are kept above)"
			echo
			printf '%s' "$BENCH_FAILURES" | sed 's/^/- /'
		} >>"$BENCH_TMP/report.md"
	fi
	cp "$BENCH_TMP/report.md" "$REPORT"
	cat "$REPORT"
	log "saved $REPORT"
	[ -z "$BENCH_FAILURES" ] ||
		die "a profiler failed on exit:$(echo; printf '%s' "$BENCH_FAILURES")"
}

# ---------------------------------------------------------------- containers

# cgroup_v2_mount: the writable cgroup v2 mount point, in V2 (dies without).
cgroup_v2_mount() {
	V2=$(awk '{
		split($0, half, " - ")
		split(half[2], post, " ")
		if (post[1] == "cgroup2") { split(half[1], pre, " "); print pre[5]; exit }
	}' /proc/self/mountinfo)
	[ -n "$V2" ] || die "no cgroup v2 hierarchy in /proc/self/mountinfo"
	V2=$(printf '%b' "$V2")	# mountinfo escapes spaces as \040
	[ -w "$V2" ] || die "cannot write to the cgroup v2 mount $V2"
}

# remove_stale PREFIX: leftovers $V2/PREFIX.<pid> of a run that was killed
# (SIGKILL: no trap ran), removed when empty. Processes still in them are
# reported, never killed from here.
remove_stale() {
	local d pid left

	for d in "$V2/$1".*; do
		[ -d "$d" ] || continue
		pid=${d##*.}
		[ ! -e "/proc/$pid" ] || continue	# that run is still going
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		if [ -d "$d" ]; then
			left=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
			log "warning: $d is left from a killed run, with processes: ${left:-none}"
		else
			log "removed $d, left from a killed run"
		fi
	done
}

# remove_cgroup DIR TRIES [HOOK]: rmdir cgroup DIR and all below it (no-op
# when DIR is "" or gone). A killed process leaves its cgroup a moment after
# it is reaped: up to TRIES tries 0.2 s apart, HOOK (if given) run before
# each wait. Logs the processes still in DIR if it stays.
remove_cgroup() {
	local dir=$1 tries=$2 hook=${3:-} left

	[ -d "$dir" ] || return 0	# also when DIR is ""
	for _ in $(seq 1 "$tries"); do
		find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$dir" ] || break
		[ -z "$hook" ] || "$hook"
		sleep 0.2
	done
	if [ -d "$dir" ]; then
		left=$(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
		log "could not remove $dir (processes still in it: ${left:-none})"
	fi
}

# hex_id: a random 64-hex-digit container id.
hex_id() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
