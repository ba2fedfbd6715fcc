#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What pushing to ClickHouse costs (bench/README-clickhouse.md), against a
# clickhouse-server of its own (scripts/clickhouse-dev.sh, a temporary
# folder, free ports):
#   - synthetic: one node-hour of CONTAINERS containers (default 50), each
#     STACKS stacks DEPTH frames deep, in WINDOW_S windows (default 60 s),
#     encoded and inserted as the agent does (bench/ch_bench.c): bytes per
#     window per pod on the wire, insert latency, then the rows and the
#     disk ClickHouse holds for that node-hour (before and after merges);
#   - query: `sysscope query --pod` for one pod over that hour, wall time
#     (SQL and writing every output), median of ROUNDS;
#   - real: the agent on this node for a few windows: gzip'd bytes per
#     window and per pod as it pushed them.
# A benchmark, not a test: prints a Markdown table (also saved to
# OUTPUT/bench/clickhouse.md) and never fails on timing.
#
#   bench/clickhouse.sh [OUTPUT]      OUTPUT: build dir (default build)
#
# Environment: CONTAINERS=50 STACKS=200 DEPTH=24 WINDOW_S=60 ROUNDS=5
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
CONTAINERS=${CONTAINERS:-50}
STACKS=${STACKS:-200}
DEPTH=${DEPTH:-24}
WINDOW_S=${WINDOW_S:-60}
ROUNDS=${ROUNDS:-5}
BDIR=$OUTPUT/bench
# shellcheck disable=SC2034 # finish_report (lib.sh) saves to it
REPORT=$BDIR/clickhouse.md
BIN=$BDIR/ch_bench
SYSSCOPE=$OUTPUT/sysscope

require_root
require_tools cc curl clickhouse-server
require_positive CONTAINERS STACKS DEPTH WINDOW_S ROUNDS
bench_init

mkdir -p "$BDIR"
make -C "$ROOT" --no-print-directory OUTPUT="$OUTPUT" "$OUTPUT/libsysscope.a" \
	"$SYSSCOPE" >&2 || die "cannot build $OUTPUT"
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	$(for d in "$ROOT"/src/*/ "$ROOT/cgroup" "$ROOT/container"; do printf -- '-I%s ' "${d%/}"; done) \
	-I"$OUTPUT" -I"$ROOT/bpf" \
	"$BENCH_DIR/ch_bench.c" "$OUTPUT/libsysscope.a" \
	-lbpf -ldw -lelf -lz -lcap -ljson-c -lseccomp -llzma -lstdc++ -lpthread -ldl \
	-o "$BIN" || die "cannot build $BIN"

export CLICKHOUSE_DIR=$BENCH_TMP/clickhouse
export CLICKHOUSE_HTTP_PORT; CLICKHOUSE_HTTP_PORT=$(free_port)
export CLICKHOUSE_TCP_PORT; CLICKHOUSE_TCP_PORT=$(free_port)
URL=http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/
"$ROOT/scripts/clickhouse-dev.sh" start >&2
stop_server() { "$ROOT/scripts/clickhouse-dev.sh" stop >&2 || true; bench_cleanup; }
trap stop_server EXIT

sql() { curl -fsS "$URL" --data-binary "$1"; }
# parts DB: rows and bytes on disk of the database's active parts.
parts() {
	sql "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = '$1' AND active FORMAT TSV"
}

# ---- synthetic node-hour
WINDOWS=$((3600 / WINDOW_S))
log "synthetic: $CONTAINERS containers x $STACKS stacks x $DEPTH frames, $WINDOWS windows of $WINDOW_S s"
"$BIN" "$URL" bench "$CONTAINERS" "$STACKS" "$DEPTH" "$WINDOWS" "$WINDOW_S" \
	>"$BENCH_TMP/gen.txt" || die "ch_bench failed"
val() { awk -v k="$1" '$1 == k { print $2 }' "$BENCH_TMP/gen.txt"; }
read -r ROWS_BEFORE DISK_BEFORE <<<"$(parts bench)"
sql "OPTIMIZE TABLE bench.samples FINAL" >/dev/null
sql "OPTIMIZE TABLE bench.stacks FINAL" >/dev/null
sql "OPTIMIZE TABLE bench.windows FINAL" >/dev/null
read -r ROWS_AFTER DISK_AFTER <<<"$(parts bench)"

# ---- query: one pod over the hour
QTIMES=""
for r in $(seq "$ROUNDS"); do
	t0=$(date +%s%N)
	"$SYSSCOPE" query --clickhouse "$URL" --clickhouse-db bench \
		--pod prod/svc-07-7d9f8b6c5-x07 --from "$(val from_s)" --to "$(val to_s)" \
		-o "$BENCH_TMP/q$r" >"$BENCH_TMP/q.out" 2>&1 || die "query failed: $(cat "$BENCH_TMP/q.out")"
	QTIMES="$QTIMES $((($(date +%s%N) - t0) / 1000000))"
done
SQL_MS=$(curl -fsS -o /dev/null -w '%{time_total}' "$URL" --data-binary \
	"SELECT stack_hash, kind, sum(value_ns) FROM (SELECT node, window_id, namespace, pod, container, kind, reason, stack_hash, any(value_ns) AS value_ns FROM bench.samples WHERE pod = 'svc-07-7d9f8b6c5-x07' GROUP BY node, window_id, namespace, pod, container, kind, reason, stack_hash) GROUP BY stack_hash, kind FORMAT RowBinary")

# ---- the real agent on this node
log "real: the agent on this node, 5 s windows, 22 s"
APORT=$(free_port)
"$SYSSCOPE" agent --listen "127.0.0.1:$APORT" --window 5 -d 22 \
	--clickhouse "$URL" --clickhouse-db real >"$BENCH_TMP/agent.log" 2>&1 &
APID=$!
track_pid "$APID"
sleep 19
curl -fsS "http://127.0.0.1:$APORT/metrics" >"$BENCH_TMP/metrics.txt" || true
wait "$APID" || true
untrack_pid "$APID"
m() { awk -v k="$1" 'index($0, k) == 1 { print $2 }' "$BENCH_TMP/metrics.txt"; }
REAL_WIN=$(m 'sysscope_clickhouse_encoded_windows_total{result="ok"}')
REAL_GZ=$(m 'sysscope_clickhouse_encoded_bytes_total{stage="gzip"}')
REAL_RAW=$(m 'sysscope_clickhouse_encoded_bytes_total{stage="rowbinary"}')
REAL_INS=$(m 'sysscope_clickhouse_insert_seconds_total')
REAL_SENT=$(m 'sysscope_clickhouse_sent_windows_total')
REAL_GROUPS=$(sql "SELECT uniqExact(namespace, pod, container) FROM real.samples FORMAT TSV")

{
	echo "## sysscope agent --clickhouse: cost of the push and the query"
	echo
	echo "clickhouse-server $(sql 'SELECT version()'), $(nproc) CPUs; synthetic node: $CONTAINERS containers x $STACKS stacks x $DEPTH frames, $WINDOWS windows of $WINDOW_S s (one node-hour)."
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| wire bytes per window per pod (gzip RowBinary) | $(val wire_bytes_per_window_per_pod) |"
	echo "| RowBinary bytes per window per pod (before gzip) | $(val raw_bytes_per_window_per_pod) |"
	echo "| wire bytes per window (node) | $(val wire_bytes_per_window) |"
	echo "| insert latency per window, median / p95 (3 inserts) | $(val insert_ms_median) ms / $(val insert_ms_p95) ms |"
	echo "| rows per node-hour, as inserted / after merges | $ROWS_BEFORE / $ROWS_AFTER |"
	echo "| disk per node-hour, before / after merges | $((DISK_BEFORE / 1024)) KiB / $((DISK_AFTER / 1024)) KiB |"
	# shellcheck disable=SC2086 # one number per round, split on purpose
	echo "| sysscope query, one pod over the hour (all outputs), median of $ROUNDS | $(median $QTIMES) ms |"
	echo "| its SQL alone (curl) | $(calc "$SQL_MS * 1000") ms |"
	if [ -n "$REAL_WIN" ] && [ "$REAL_WIN" != 0 ]; then
		echo "| real node: windows encoded / sent | $REAL_WIN / $REAL_SENT |"
		echo "| real node: wire bytes per window (RowBinary before gzip) | $(calc "$REAL_GZ / $REAL_WIN") ($(calc "$REAL_RAW / $REAL_WIN")) |"
		echo "| real node: groups (pod/container or host) per window; wire bytes per group | $REAL_GROUPS; $(calc "$REAL_GZ / $REAL_WIN / ($REAL_GROUPS > 0 ? $REAL_GROUPS : 1)") |"
		echo "| real node: insert time per window | $(calc "$REAL_INS * 1000 / ($REAL_SENT > 0 ? $REAL_SENT : 1)") ms |"
	fi
} >"$BENCH_TMP/report.md"
finish_report "figures"
