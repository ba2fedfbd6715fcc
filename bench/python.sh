#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What walking Python frames costs: BPF run time per on-CPU sample of a
# CPython process (main -> outer -> inner -> hashlib,
# tests/e2e/lang/py_app.py) with the Python walk and without
# (--no-python), and Python frames per sample, for Debian's python3.11
# (_PyInterpreterFrame chains) and pyenv's python3.10 (PyFrameObject
# chains). A benchmark, not a test: it prints a Markdown table and never
# fails on timing.
#
#   bench/python.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# Environment: ROUNDS=3 interleaved rounds, COST_SECONDS=5 per window,
# PYTHONS="/usr/bin/python3.11 PYENV_3.10" the interpreters measured.
# shellcheck disable=SC2119 # median reads stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
ROUNDS=${ROUNDS:-3}
COST_SECONDS=${COST_SECONDS:-5}
SYSSCOPE=$OUTPUT/sysscope
PYENV_310=""
for f in /root/.pyenv/versions/3.10.*/bin/python3.10; do
	[ -x "$f" ] && PYENV_310=$f
done
PYTHONS=${PYTHONS:-/usr/bin/python3.11 ${PYENV_310:-/root/.pyenv/versions/3.10/bin/python3.10}}
APP=$ROOT/tests/e2e/lang/py_app.py

require_root
# shellcheck disable=SC2086 # a list of paths
require_tools "$SYSSCOPE" $PYTHONS bpftool
bench_init

start_app() {
	bg_start "$BENCH_TMP/app-$1.log" "$PYTHON" "$APP" digest
	APP_PID=$BG_PID
	wait_for_log "$APP_PID" "$BENCH_TMP/app-$1.log" '^ready' 30
}

# cost_run COND: one window; appends "ns/run frames/sample" to cost-COND.
cost_run() {
	local cond=$1 log_file=$BENCH_TMP/cost.log out=$BENCH_TMP/out pid ids
	local ns0 cnt0 frames walks extra=""

	rm -rf "$out"
	[ "$cond" = python ] || extra=--no-python
	bg_start "$log_file" "$SYSSCOPE" profile -p "$APP_PID" -f 999 -d 3600 \
		$extra -o "$out"
	pid=$BG_PID
	wait_for_log "$pid" "$log_file" 'sampling at' 60
	wait_perf_events "$pid" 1 30
	sleep 2		# tables built: the window times walks
	ids=$(perf_event_prog_ids "$pid")
	prog_stats "$ids"
	ns0=$PROG_NS cnt0=$PROG_CNT
	sleep "$COST_SECONDS"
	prog_stats "$ids"
	stop_pid "$pid" 60
	[ "$STOP_RC" = 0 ] || die "sysscope exited with $STOP_RC"
	frames=$(awk '/python: frames read/ { print $NF }' "$out/summary.txt")
	walks=$(awk '/python: walks/ { s += $NF } END { print s }' "$out/summary.txt")
	echo "$(calc "($PROG_NS - $ns0) / ($PROG_CNT - $cnt0)")" \
		"$(calc "${frames:-0} / (${walks:-0} + 0.000001)")" >>"$BENCH_TMP/cost-$cond"
	log "$cond: $(tail -n 1 "$BENCH_TMP/cost-$cond") (ns/sample, Python frames/walk)"
}

# measure PYTHON: the rounds, then one row of the table.
measure() {
	local py_ns nat_ns py_frames

	PYTHON=$1
	rm -f "$BENCH_TMP/cost-python" "$BENCH_TMP/cost-native"
	start_app cost
	for round in $(seq "$ROUNDS"); do
		for cond in $(shuf -e python native); do
			log "$PYTHON round $round/$ROUNDS: $cond"
			cost_run "$cond"
		done
	done
	stop_pid "$APP_PID" 5
	py_ns=$(awk '{ print $1 }' "$BENCH_TMP/cost-python" | median)
	nat_ns=$(awk '{ print $1 }' "$BENCH_TMP/cost-native" | median)
	py_frames=$(awk '{ print $2 }' "$BENCH_TMP/cost-python" | median)
	ROWS="$ROWS| ${PYTHON##*/} | $py_ns | $nat_ns | $(calc "$py_ns - $nat_ns") | $py_frames |
"
}

ROWS=""
bpf_stats_on
for python in $PYTHONS; do
	measure "$python"
done
bpf_stats_restore

echo "| BPF ns per on-CPU sample (median of $ROUNDS) | with the Python walk | --no-python | Python walk | Python frames per walk |"
echo "|---|---|---|---|---|"
printf '%s' "$ROWS"
