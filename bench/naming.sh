#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What naming frames costs (bench/README-naming.md): the symbolizer on a
# live python3.11 (glibc's debug file from libc6-dbg, DWARF lines from it;
# python3.11 has only its .dynsym), N addresses spread over its code:
#   - load: reading the process's maps and every file's symbols
#   - cold / warm: ns per address, first time (with lines: opening each
#     file's DWARF) and again; RSS the symbolizer added
#   with source lines and inlined frames, and without;
# side by side with perf report on a perf record of the same process,
# with and without srcline (perf's own addr2line).
# A benchmark, not a test: it prints a Markdown table (also saved to
# OUTPUT/bench/naming.md) and never fails on timing.
#
#   bench/naming.sh [OUTPUT]          OUTPUT: build dir (libsysscope.a)
# Figures and what they say: bench/README-naming.md.
#
# Environment: ROUNDS=5, N=20000 (addresses).
# shellcheck disable=SC2119 # median reads stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
ROUNDS=${ROUNDS:-5}
N=${N:-20000}
BDIR=$OUTPUT/bench
REPORT=$BDIR/naming.md
BIN=$BDIR/naming_bench
PYTHON=/usr/bin/python3.11

require_root
require_tools "$PYTHON" perf cc
require_positive ROUNDS N
bench_init

mkdir -p "$BDIR"
make -C "$ROOT" --no-print-directory OUTPUT="$OUTPUT" "$OUTPUT/libsysscope.a" >&2 ||
	die "cannot build $OUTPUT/libsysscope.a"
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/src/symbols" \
	"$BENCH_DIR/naming_bench.c" "$OUTPUT/libsysscope.a" \
	-lbpf -ldw -lelf -lz -lcap -ljson-c -lseccomp -llzma -lstdc++ -lpthread \
	-o "$BIN" ||
	die "cannot build $BIN"

bg_start "$BENCH_TMP/py.log" "$PYTHON" -c '
import hashlib, json, time
d = {"k%d" % i: list(range(20)) for i in range(200)}
while True:
    hashlib.sha256(json.dumps(d).encode()).hexdigest()
'
PY=$BG_PID
sleep 1
pid_alive "$PY" || die "python3.11 did not start"

for r in $(seq "$ROUNDS"); do
	for mode in nolines lines; do
		"$BIN" "$mode" "$PY" "$N" >"$BENCH_TMP/$mode.$r" ||
			die "naming_bench $mode failed"
	done
	log "round $r/$ROUNDS"
done

# perf's own naming of the same process's samples.
perf record -q -F 199 -g -p "$PY" -o "$BENCH_TMP/perf.data" -- sleep 3 \
	>/dev/null 2>&1 || die "perf record failed"
nsamples=$(perf report -i "$BENCH_TMP/perf.data" --stdio -F overhead,sym 2>/dev/null |
	sed -n 's/^# Samples: \([0-9]*\).*/\1/p' | head -n 1)
for r in $(seq "$ROUNDS"); do
	for f in sym sym,srcline; do
		t0=$(date +%s%N)
		perf report -i "$BENCH_TMP/perf.data" --stdio --no-children \
			-F "$f" >/dev/null 2>&1 || die "perf report -F $f failed"
		echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$BENCH_TMP/perf.$f"
	done
done

med() { # med MODE KEY: the median of KEY over the rounds
	local r

	for r in $(seq "$ROUNDS"); do
		sed -n "s/^$2=//p" "$BENCH_TMP/$1.$r"
	done | median
}

{
	echo "## Naming cost: python3.11 + glibc (libc6-dbg), $N addresses, medians of $ROUNDS"
	echo
	echo "| | load (ms) | cold ns/address | warm ns/address | RSS added (MiB) | frames with a line (%) | inlined frames added |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for mode in nolines lines; do
		addrs=$(med "$mode" addresses)
		printf '| sysscope, %s | %s | %s | %s | %s | %s | %s |\n' \
			"$( [ "$mode" = lines ] && echo "source lines + inlined" || echo "names only")" \
			"$(calc "$(med "$mode" load_ns) / 1e6")" \
			"$(med "$mode" cold_ns_per_addr)" "$(med "$mode" warm_ns_per_addr)" \
			"$(calc "$(med "$mode" rss_kib) / 1024")" \
			"$(calc "100 * $(med "$mode" with_line) / (2 * $addrs)")" \
			"$(med "$mode" inlined)"
	done
	echo
	echo "| perf report on $nsamples samples of the same process | ms |"
	echo "|---|---:|"
	echo "| \`-F sym\` | $(median <"$BENCH_TMP/perf.sym") |"
	echo "| \`-F sym,srcline\` | $(median <"$BENCH_TMP/perf.sym,srcline") |"
} >"$BENCH_TMP/report.md"
finish_report "figures"
