#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Churn soak: the agent running while a "container" comes and goes every
# second: a new cgroup, a new copy of a workload binary (a new file, so
# new symbol and unwind tables) started in it; the previous one killed and
# its cgroup removed. The agent's resident memory and open descriptors
# are sampled along the way: they must stay flat (not a test: figures).
#
#   bench/soak.sh [OUTPUT]     OUTPUT: build dir with sysscope, workloads
#
# Environment: SOAK_SECONDS=600, WINDOW=5 (the agent's --window),
# RETENTION=60 (its --retention: the window store is full after that, so
# what grows after is not windows), SAMPLE_EVERY=30 (seconds between
# RSS/fd samples).
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
SOAK_SECONDS=${SOAK_SECONDS:-600}
WINDOW=${WINDOW:-5}
RETENTION=${RETENTION:-60}
SAMPLE_EVERY=${SAMPLE_EVERY:-30}
BDIR=$OUTPUT/bench
REPORT=$BDIR/soak.md
SYSSCOPE=$OUTPUT/sysscope
BURN=$OUTPUT/workloads/burn

require_root
require_tools "$SYSSCOPE" "$BURN" curl
require_positive SOAK_SECONDS WINDOW SAMPLE_EVERY
bench_init
cgroup_v2_mount
mkdir -p "$BDIR"

CG=$V2/sysscope-soak.$$
mkdir "$CG"
trap 'bench_cleanup; for d in "$CG"/c*; do [ -d "$d" ] && rmdir "$d"; done; rmdir "$CG" 2>/dev/null; true' EXIT

port=$((20000 + $$ % 20000))
bg_start "$BENCH_TMP/agent.log" "$SYSSCOPE" agent --listen "127.0.0.1:$port" \
	--window "$WINDOW" --retention "$RETENTION"
AGENT=$BG_PID
sleep 2
pid_alive "$AGENT" || die "the agent did not start: $(cat "$BENCH_TMP/agent.log")"

fds() { ls "/proc/$1/fd" | wc -l; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
windows() {
	curl -s "http://127.0.0.1:$port/metrics" |
		sed -n 's/^sysscope_windows_total{result="ok"} //p'
}

{
	echo "## Churn soak: one container a second for ${SOAK_SECONDS} s, agent --window $WINDOW --retention $RETENTION"
	echo
	echo "| t (s) | agent RSS (MiB) | open fds | windows | containers so far |"
	echo "|---:|---:|---:|---:|---:|"
} >"$BENCH_TMP/report.md"

prev=""
start=$(date +%s)
next_sample=$start
i=0
while [ $(( $(date +%s) - start )) -lt "$SOAK_SECONDS" ]; do
	i=$((i + 1))
	mkdir "$CG/c$i"
	cp "$BURN" "$BENCH_TMP/burn.$i"
	sh -c "echo \$\$ > '$CG/c$i/cgroup.procs'; exec '$BENCH_TMP/burn.$i' -d 60" \
		>/dev/null 2>&1 &
	cur=$!
	if [ -n "$prev" ]; then
		kill "${prev%%:*}" 2>/dev/null || true
		wait "${prev%%:*}" 2>/dev/null || true
		rmdir "$CG/c${prev##*:}" 2>/dev/null || true
		rm -f "$BENCH_TMP/burn.${prev##*:}"
	fi
	prev="$cur:$i"
	pid_alive "$AGENT" || die "the agent died: $(tail -5 "$BENCH_TMP/agent.log")"
	now=$(date +%s)
	if [ "$now" -ge "$next_sample" ]; then
		printf '| %s | %s | %s | %s | %s |\n' $((now - start)) \
			"$(rss_mib "$AGENT")" "$(fds "$AGENT")" "$(windows)" "$i" \
			>>"$BENCH_TMP/report.md"
		log "t=$((now - start)) s: RSS $(rss_mib "$AGENT") MiB, $(fds "$AGENT") fds"
		next_sample=$((now + SAMPLE_EVERY))
	fi
	sleep 1
done
kill "${prev%%:*}" 2>/dev/null || true
printf '| %s | %s | %s | %s | %s |\n' $(( $(date +%s) - start )) \
	"$(rss_mib "$AGENT")" "$(fds "$AGENT")" "$(windows)" "$i" >>"$BENCH_TMP/report.md"
finish_report "figures"
