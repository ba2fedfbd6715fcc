#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The node agent on a busy node: `sysscope agent` profiling 50 synthetic
# containers that run fixed amounts of varied work. Two measurements:
#
#  1. The agent's own cost over DURATION (5 min): its CPU time as % of one
#     core, its resident memory (sampled every SAMPLE_S), what /metrics says
#     (BPF run time, windows, lost samples), and whether /api/workloads
#     lists every container by name (a wrong or missing name fails the run).
#  2. The workloads' slowdown: the same batch of fixed work with the agent
#     off, with the agent on, and with `perf record -F HZ -a -g` as a peer,
#     in ROUNDS interleaved rounds (a new random order each round); medians
#     and on/off ratios.
#
# A benchmark, not a test: it prints a Markdown table (also saved to
# OUTPUT/bench/agent.md) and never fails on timing; it fails on a missing
# tool, when not root, when the agent dies or names a container wrong, or
# when a workload computes a different checksum. See bench/README-agent.md.
#
#   bench/agent.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# The node, under the cgroup v2 mount (found in /proc/self/mountinfo), in a
# private directory (never another user's /kubepods):
#   <v2>/sysscope-bench-agent.<pid>/kubepods/besteffort/pod<uid>/<64 hex id>
# and a fake host root (a temp dir, passed as --host-root) holding
# containerd's bundles with the CRI annotations a kubelet sets:
#   run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json
# Each pod has a sandbox container (a `sleep`, as pause) and PER_POD app
# containers. Every app container gets its own copy of its program (50
# "images"), and one of three kinds of fixed work (bench/cpubench.c,
# bench/serverlike.c): cpu-bound, periodic (wake every 10 ms, 1-5% duty),
# server (thread pairs over pipes, 2 ms sleeps). All of it is removed on
# exit, interrupt or error.
#
# Environment:
#   DURATION=300  seconds of the agent's cost run (measurement 1)
#   ROUNDS=5      interleaved rounds of the slowdown batches (measurement 2)
#   QUICK=1       a smoke run of the script itself: DURATION=40, ROUNDS=2,
#                 WINDOW=10, SCALE=25, SAMPLE_S=2 unless set
#   WINDOW=60     agent --window; HZ=49 agent -f and perf -F
#   CONTAINERS=50 app containers, PER_POD=2 per pod (+ a sandbox each)
#   SCALE=100     % of the default amount of work per batch (~25 s alone)
#   SAMPLE_S=5    agent CPU/RSS sampling period
#   PERF=1        0: no perf peer condition
#   QUIET_PCT=15  before each slowdown batch, wait (up to QUIET_WAIT=10 s)
#                 until the CPUs are at most this % busy: other jobs
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
# shellcheck disable=SC2153 # RUN_BUSY_S is set by run_workload (lib.sh)
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# lib.sh is shared and may change: fail loudly if a helper went away.
for f in log die require_root require_tools bench_init bench_cleanup median \
	min_of max_of calc bg_start track_pid untrack_pid stop_pid pid_alive \
	wait_for_log wait_perf_events proc_cpu_s cpu_ticks wait_quiet \
	proc_hwm_kib run_with_profiler run_workload field source_id \
	snapshot_sysscope finish_report cgroup_v2_mount remove_stale remove_cgroup \
	hex_id require_positive free_port; do
	declare -F "$f" >/dev/null ||
		{ echo "bench/agent.sh: bench/lib.sh has no function $f" >&2; exit 1; }
done

OUTPUT=$(realpath -m "${1:-build}")
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-40}
	ROUNDS=${ROUNDS:-2}
	WINDOW=${WINDOW:-10}
	SCALE=${SCALE:-25}
	SAMPLE_S=${SAMPLE_S:-2}
fi
DURATION=${DURATION:-300}
ROUNDS=${ROUNDS:-5}
WINDOW=${WINDOW:-60}
SCALE=${SCALE:-100}
SAMPLE_S=${SAMPLE_S:-5}
HZ=${HZ:-49}
CONTAINERS=${CONTAINERS:-50}
PER_POD=${PER_POD:-2}
PERF=${PERF:-1}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-10}
SYSSCOPE=$OUTPUT/sysscope
REPORT=$OUTPUT/bench/agent.md
TASK_DIR=run/containerd/io.containerd.runtime.v2.task/k8s.io

TARGET_CPU_PCT=1	# agent CPU, % of one core, at 49 Hz on 2 CPUs
TARGET_RSS_MIB=64
TARGET_SLOWDOWN=1	# %

# The work of one batch at SCALE=100 (about 25 s on the 2-CPU VM, alone).
CPU_WORK=700		# cpubench -w: rounds per copy (2 copies, one per CPU)
TICK_ITERS=2400		# serverlike -n for periodic: one 10 ms sleep each
SRV_ITERS=9000		# serverlike -n for server pairs: one 2 ms sleep each

BASE=""		# our cgroup subtree, removed on exit
PAUSE_PIDS=""	# the sandboxes' sleep processes
SAMPLER_PID=""

require_positive DURATION ROUNDS WINDOW SCALE SAMPLE_S HZ CONTAINERS PER_POD QUIET_PCT QUIET_WAIT
case "$PERF" in 0 | 1) ;; *) die "PERF must be 0 or 1, not '$PERF'" ;; esac
[ "$DURATION" -ge $((WINDOW + 10)) ] ||
	die "DURATION ($DURATION) must be at least WINDOW ($WINDOW) + 10 s: the check needs a closed window"

# ------------------------------------------------------------ set-up

agent_cleanup() {
	set +e
	[ -z "$SAMPLER_PID" ] || { kill -TERM "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; }
	SAMPLER_PID=""
	# Everything in our subtree is ours: workloads, pauses, their children.
	if [ -n "$BASE" ] && [ -d "$BASE" ]; then
		kill_subtree
	fi
	for pid in $PAUSE_PIDS; do
		wait "$pid" 2>/dev/null
	done
	PAUSE_PIDS=""
	# The agent, perf, a batch runner still going.
	bench_cleanup
	remove_cgroup "$BASE" 25 kill_subtree
	BASE=""
}

# kill_subtree: SIGKILL to every process in $BASE (cgroup.kill, or one by one).
kill_subtree() {
	local p

	if [ -e "$BASE/cgroup.kill" ]; then
		echo 1 >"$BASE/cgroup.kill" 2>/dev/null || true
	else
		find "$BASE" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
	fi
}

preflight() {
	require_tools id nproc cc curl python3 awk sed shuf getconf find od tr seq \
		realpath date sort paste rmdir cp sha256sum flock
	[ "$PERF" = 0 ] || require_tools perf
	require_root
	NCPU=$(nproc)
	[ -r /proc/sys/kernel/random/uuid ] || die "no /proc/sys/kernel/random/uuid"
	cgroup_v2_mount
	[ -x "$SYSSCOPE" ] || die "$SYSSCOPE not found: run 'make all' first"
	SYSSCOPE_BUILT=$(date -u -r "$SYSSCOPE" '+%Y-%m-%d %H:%M UTC')
}

build_workloads() {
	mkdir -p "$BENCH_TMP/bin"
	# Frame pointers: the profilers walk real user stacks.
	cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
		"$BENCH_DIR/cpubench.c" -o "$BENCH_TMP/bin/cpubench" ||
		die "cannot build cpubench"
	cc -O2 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -Werror \
		"$BENCH_DIR/serverlike.c" -o "$BENCH_TMP/bin/serverlike" ||
		die "cannot build serverlike"
}

# config_json ID POD_UID POD NAMESPACE CONTAINER|"" SANDBOX_ID: the CRI
# annotations of containerd's bundle (the sandbox has no container-name).
config_json() {
	local id=$1 uid=$2 pod=$3 ns=$4 name=$5 sb=$6 ann

	if [ -z "$name" ]; then
		ann="\"io.kubernetes.cri.container-type\": \"sandbox\",
    \"io.kubernetes.cri.sandbox-id\": \"$id\","
	else
		ann="\"io.kubernetes.cri.container-name\": \"$name\",
    \"io.kubernetes.cri.container-type\": \"container\",
    \"io.kubernetes.cri.image-name\": \"registry.example.com/bench/$name:1.0\",
    \"io.kubernetes.cri.sandbox-id\": \"$sb\","
	fi
	cat <<EOF
{
  "ociVersion": "1.0.2-dev",
  "process": {"args": ["/app"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "annotations": {
    $ann
    "io.kubernetes.cri.sandbox-name": "$pod",
    "io.kubernetes.cri.sandbox-namespace": "$ns",
    "io.kubernetes.cri.sandbox-uid": "$uid"
  },
  "linux": {"cgroupsPath": "/kubepods/besteffort/pod$uid/$id"}
}
EOF
}

# app_kind I: the kind of app container I (in APP_KIND): one in five is
# cpu-bound, two periodic, two server.
app_kind() {
	case $(($1 % 5)) in
	0) APP_KIND=cpu ;;
	1 | 3) APP_KIND=tick ;;
	*) APP_KIND=srv ;;
	esac
}

# app_command I NAME: the command line of app container I (in APP_ARGS),
# its program copied to its own "image" directory.
app_command() {
	local i=$1 img=$BENCH_TMP/images/$2 mib

	mkdir -p "$img"
	app_kind "$i"
	case $APP_KIND in
	cpu)	# 2 copies pinned one per CPU; 1, 4 or 8 MiB touched
		cp "$BENCH_TMP/bin/cpubench" "$img/app"
		mib=$(echo "1 4 8" | cut -d' ' -f$((i / 5 % 3 + 1)))
		APP_ARGS="$img/app -j 2 -w $((CPU_WORK * SCALE / 100)) -m $mib" ;;
	tick)	# 0.1-0.5 ms of work every 10 ms (1-5% of a CPU)
		cp "$BENCH_TMP/bin/serverlike" "$img/app"
		APP_ARGS="$img/app -t 1 -n $((TICK_ITERS * SCALE / 100)) -w $(((i % 10 / 2 + 1) * 40000)) -s 1 -S 10000" ;;
	srv)	# a request/response thread pair, a 2 ms wait per request
		cp "$BENCH_TMP/bin/serverlike" "$img/app"
		APP_ARGS="$img/app -t 2 -n $((SRV_ITERS * SCALE / 100)) -w $(((i % 4 + 1) * 4000)) -s 1 -S 2000" ;;
	esac
}

# make_node: cgroups, bundles, and the tables of apps and sandboxes:
#   APPS  "i kind dir name id ns pod" per line, CMDS[i] the command line
#   EXPECTED "kind id name ns pod" of every container the agent must list
make_node() {
	local p npods uid pod ns id sb dir i=0 pdir

	BASE=$V2/sysscope-bench-agent.$$
	HOST=$BENCH_TMP/host
	APPS=$BENCH_TMP/apps
	EXPECTED=$BENCH_TMP/expected
	mkdir "$BASE" || die "cannot create $BASE"
	mkdir -p "$BASE/kubepods/besteffort" "$HOST/$TASK_DIR"
	: >"$APPS"
	: >"$EXPECTED"
	SANDBOX_DIRS=""
	npods=$(((CONTAINERS + PER_POD - 1) / PER_POD))
	for p in $(seq 0 $((npods - 1))); do
		uid=$(cat /proc/sys/kernel/random/uuid)
		pod=$(printf 'svc-%02d-6f8d9c7b4-x%04d' "$p" "$p")
		ns=team-$((p % 5))
		pdir=$BASE/kubepods/besteffort/pod$uid
		mkdir "$pdir"
		sb=$(hex_id)
		[ "${#sb}" = 64 ] || die "bad random id '$sb'"
		mkdir "$pdir/$sb" "$HOST/$TASK_DIR/$sb"
		config_json "$sb" "$uid" "$pod" "$ns" "" "$sb" >"$HOST/$TASK_DIR/$sb/config.json"
		echo "sandbox $sb ${sb:0:12} $ns $pod" >>"$EXPECTED"
		SANDBOX_DIRS="$SANDBOX_DIRS $pdir/$sb"
		for _ in $(seq 1 "$PER_POD"); do
			[ "$i" -lt "$CONTAINERS" ] || break
			id=$(hex_id)
			dir=$pdir/$id
			app_kind "$i"
			name=$(printf '%s-%02d' "$APP_KIND" "$i")
			app_command "$i" "$name"
			CMDS[i]=$APP_ARGS
			mkdir "$dir" "$HOST/$TASK_DIR/$id"
			config_json "$id" "$uid" "$pod" "$ns" "$name" "$sb" \
				>"$HOST/$TASK_DIR/$id/config.json"
			echo "$i $APP_KIND $dir $name $id $ns $pod" >>"$APPS"
			echo "app $id $name $ns $pod" >>"$EXPECTED"
			i=$((i + 1))
		done
	done
	chmod -R go-rwx "$HOST/run"	# as containerd leaves it
	NPODS=$npods
	NCGROUPS=$(find "$BASE" -type d | wc -l)
	N_CPU=$(awk '$2 == "cpu"' "$APPS" | wc -l)
	N_TICK=$(awk '$2 == "tick"' "$APPS" | wc -l)
	N_SRV=$(awk '$2 == "srv"' "$APPS" | wc -l)
}

# start_pauses: a sleep in each sandbox, as the pause container.
start_pauses() {
	local dir pid

	for dir in $SANDBOX_DIRS; do
		# shellcheck disable=SC2016 # $BASHPID: the subshell's, at run time
		(echo "$BASHPID" >"$dir/cgroup.procs" && exec sleep 1000000) &
		PAUSE_PIDS="$PAUSE_PIDS $!"
	done
	sleep 0.2
	for dir in $SANDBOX_DIRS; do
		pid=$(cat "$dir/cgroup.procs")
		[ -n "$pid" ] || die "no pause process in $dir"
	done
}

# ------------------------------------------------------------ one batch

# run_batch: every app container runs its fixed work once, all at once;
# each one's output goes to $BATCH_DIR/I.out. Prints makespan_s=.
run_batch() {
	local i dir t0 t1 rc=0 pids=() cmd

	rm -rf "$BATCH_DIR"
	mkdir "$BATCH_DIR"
	t0=$(date +%s.%N)
	while read -r i _ dir _; do
		read -ra cmd <<<"${CMDS[i]}"
		# shellcheck disable=SC2016 # $BASHPID: the subshell's, at run time
		(echo "$BASHPID" >"$dir/cgroup.procs" && exec "${cmd[@]}") \
			>"$BATCH_DIR/$i.out" 2>&1 &
		pids+=("$!")
	done <"$APPS"
	for i in "${pids[@]}"; do
		wait "$i" || rc=1
	done
	t1=$(date +%s.%N)
	echo "makespan_s=$(calc "$t1 - $t0")"
	if [ "$rc" != 0 ]; then
		grep -L '^elapsed_s=' "$BATCH_DIR"/*.out | head -n 3 | xargs -r tail -n 5
		return 1
	fi
}

# collect_batch COND: checks the batch's checksums (the same work every
# time) and appends its figures to $RES/COND.<metric>.
collect_batch() {
	local cond=$1 line other

	awk -v dir="$BATCH_DIR" '
		{ kind[$1] = $2 }
		END {
			for (i in kind) {
				f = dir "/" i ".out"; el = cpu = sum = ""
				while ((getline l < f) > 0) {
					n = split(l, kv, " ")
					for (j = 1; j <= n; j++) {
						split(kv[j], p, "=")
						if (p[1] == "elapsed_s") el = p[2]
						if (p[1] == "cpu_s") cpu = p[2]
						if (p[1] == "checksum") sum = p[2]
					}
				}
				close(f)
				if (el == "" || cpu == "" || sum == "") { print "bad " i; continue }
				printf "%s %s %s %s %s\n", i, kind[i], el, cpu, sum
			}
		}' "$APPS" | sort -n >"$BENCH_TMP/batch.txt"
	if grep -q '^bad' "$BENCH_TMP/batch.txt"; then
		line=$(grep -m1 '^bad' "$BENCH_TMP/batch.txt")
		die "unexpected output of app ${line#bad }: $(cat "$BATCH_DIR/${line#bad }.out")"
	fi
	if [ ! -s "$BENCH_TMP/sums" ]; then
		awk '{ print $1, $5 }' "$BENCH_TMP/batch.txt" >"$BENCH_TMP/sums"
	elif ! awk '{ print $1, $5 }' "$BENCH_TMP/batch.txt" | cmp -s - "$BENCH_TMP/sums"; then
		die "a workload's checksum changed (different work done):$(echo;
			awk '{ print $1, $5 }' "$BENCH_TMP/batch.txt" | diff - "$BENCH_TMP/sums" | head)"
	fi
	BATCH_MAKESPAN=$(field makespan_s "$WORKLOAD_OUT")
	[ -n "$BATCH_MAKESPAN" ] || die "no makespan: $(cat "$WORKLOAD_OUT")"
	# Mean elapsed per kind, CPU seconds of all.
	read -r BATCH_CPU_EL BATCH_TICK_EL BATCH_SRV_EL BATCH_WL_CPU < <(awk '
		{ s[$2] += $3; n[$2]++; cpu += $4 }
		END { printf "%.4f %.4f %.4f %.4f\n", s["cpu"] / n["cpu"], s["tick"] / n["tick"],
			s["srv"] / n["srv"], cpu }' "$BENCH_TMP/batch.txt")
	# Busy CPU time not in the workloads or the profiler: other jobs.
	other=$(awk -v b="$RUN_BUSY_S" -v c="$BATCH_WL_CPU" -v p="${PROFILER_CPU_S:-0}" \
		-v e="$BATCH_MAKESPAN" -v n="$NCPU" \
		'BEGIN { o = (b - c - p) / (e * n) * 100; printf "%.1f\n", (o < 0 ? 0 : o) }')
	mkdir -p "$RES"
	echo "$BATCH_MAKESPAN" >>"$RES/$cond.makespan"
	echo "$BATCH_CPU_EL" >>"$RES/$cond.cpu_el"
	echo "$BATCH_TICK_EL" >>"$RES/$cond.tick_el"
	echo "$BATCH_SRV_EL" >>"$RES/$cond.srv_el"
	echo "$BATCH_WL_CPU" >>"$RES/$cond.wl_cpu"
	echo "$other" >>"$RES/$cond.other"
	echo "${PROFILER_CPU_S:-0}" >>"$RES/$cond.prof_cpu"
	BATCH_OTHER=$other
}

# ------------------------------------------------------------ the agent

ctxt() { awk '/^ctxt / { print $2 }' /proc/stat; }

agent_cmd() {	# agent_cmd PORT: the agent's command line in AGENT_CMD
	AGENT_CMD=("$SYSSCOPE_RUN" agent --listen "127.0.0.1:$1" --window "$WINDOW"
		   --host-root "$HOST" -f "$HZ")
}

http_get() {	# http_get PORT PATH: the body; fails on a non-2xx answer
	curl -fsS --max-time 60 "http://127.0.0.1:$1$2"
}

# metric NAME [LABELS]: its value in $BENCH_TMP/metrics.txt (or empty).
metric() {
	awk -v n="$1" -v l="${2:-}" 'BEGIN { if (l != "") n = n "{" l "}" }
		$1 == n { print $2; exit }' "$BENCH_TMP/metrics.txt"
}

# metric_sum NAME LABELS: the sum of NAME's series whose labels begin with LABELS.
metric_sum() {
	awk -v p="$1{$2" 'index($1, p) == 1 { s += $2 } END { print s + 0 }' \
		"$BENCH_TMP/metrics.txt"
}

# sampler PID FILE: every SAMPLE_S, "unix_s cpu_s rss_kib load1" of PID.
sampler() {
	local pid=$1 out=$2

	while pid_alive "$pid"; do
		printf '%s %s %s %s\n' "$(date +%s.%N)" "$(proc_cpu_s "$pid")" \
			"$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" \
			"$(cut -d' ' -f1 /proc/loadavg)" >>"$out" 2>/dev/null || break
		sleep "$SAMPLE_S"
	done
}

# check_listing WINDOWS: "apps_listed sandboxes_listed" in the agent's
# /api/workloads?windows=WINDOWS; dies on a container listed under a wrong
# name, pod or namespace. Missing ones are listed in $BENCH_TMP/missing.
check_listing() {
	http_get "$PORT" "/api/workloads?windows=$1" >"$BENCH_TMP/workloads-$1.json" ||
		die "GET /api/workloads?windows=$1 failed"
	python3 - "$EXPECTED" "$BENCH_TMP/workloads-$1.json" "$BENCH_TMP/missing" <<'EOF'
import json, sys

expected = [l.split() for l in open(sys.argv[1]) if l.strip()]
rows = json.load(open(sys.argv[2]))["workloads"]
by_id = {}
for r in rows:
    if r.get("kind") == "container" and r.get("id"):
        by_id[r["id"]] = r
found = {"app": 0, "sandbox": 0}
wrong, missing = [], []
for kind, cid, name, ns, pod in expected:
    r = by_id.get(cid) or next((v for k, v in by_id.items()
                                if cid.startswith(k) or k.startswith(cid)), None)
    if r is None:
        missing.append(f"{kind} {name} ({ns}/{pod})")
        continue
    if (r.get("container"), r.get("namespace"), r.get("pod")) != (name, ns, pod):
        wrong.append(f"{cid[:12]}: listed as {r.get('namespace')}/{r.get('pod')}/"
                     f"{r.get('container')}, expected {ns}/{pod}/{name}")
    else:
        found[kind] += 1
open(sys.argv[3], "w").write("\n".join(missing) + ("\n" if missing else ""))
if wrong:
    sys.stderr.write("containers listed under a wrong name:\n" + "\n".join(wrong[:10]) + "\n")
    sys.exit(1)
print(found["app"], found["sandbox"])
EOF
}

# check_folded KIND REGEX: the folded stacks of the first KIND container
# (all kept windows) must hold a frame matching REGEX (symbolized).
check_folded() {
	local name

	name=$(awk -v k="$1" '$2 == k { print $4; exit }' "$APPS")
	http_get "$PORT" "/containers/$name.folded?windows=0" >"$BENCH_TMP/$name.folded" ||
		die "GET /containers/$name.folded failed"
	grep -qE "$2" "$BENCH_TMP/$name.folded" ||
		die "the folded stacks of $name have no frame matching '$2':$(echo; head -c 600 "$BENCH_TMP/$name.folded")"
}

# agent_run: measurement 1. The agent runs DURATION seconds while batches
# run back to back; its CPU and RSS are sampled all along.
agent_run() {
	local log_file=$BENCH_TMP/agent-run.log pid t_start t_ready t_end cpu_ready \
		cpu_end b0 b1 tt0 tt1 n=0 wl_cpu=0 listed c0 x0

	PORT=$(free_port)
	agent_cmd "$PORT"
	LOAD_RUN_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	t_start=$(date +%s.%N)
	bg_start "$log_file" "${AGENT_CMD[@]}"
	pid=$BG_PID
	wait_for_log "$pid" "$log_file" 'agent: serving' 60
	wait_perf_events "$pid" "$NCPU" 30
	[ "$(http_get "$PORT" /healthz)" = ok ] || die "/healthz did not answer ok"
	t_ready=$(date +%s.%N)
	cpu_ready=$(proc_cpu_s "$pid")
	STARTUP_S=$(calc "$t_ready - $t_start")
	STARTUP_CPU=$cpu_ready
	log "agent pid $pid serving on 127.0.0.1:$PORT after ${STARTUP_S}s ($cpu_ready s CPU);" \
		"running batches for ${DURATION}s"
	: >"$BENCH_TMP/samples"
	sampler "$pid" "$BENCH_TMP/samples" &
	SAMPLER_PID=$!
	read -r b0 tt0 < <(cpu_ticks)
	x0=$(ctxt)
	while awk -v t="$t_ready" -v d="$DURATION" -v now="$(date +%s.%N)" \
		'BEGIN { exit !(now < t + d) }'; do
		c0=$(proc_cpu_s "$pid")
		run_workload
		pid_alive "$pid" || die "the agent died during the run:$(echo; tail -n 20 "$log_file")"
		PROFILER_CPU_S=$(calc "$(proc_cpu_s "$pid") - $c0")
		collect_batch run
		n=$((n + 1))
		wl_cpu=$(calc "$wl_cpu + $BATCH_WL_CPU")
		log "run: batch $n done in ${BATCH_MAKESPAN}s; agent $(proc_cpu_s "$pid") s CPU," \
			"RSS $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") KiB, other load $BATCH_OTHER%"
	done
	t_end=$(date +%s.%N)
	cpu_end=$(proc_cpu_s "$pid")
	read -r b1 tt1 < <(cpu_ticks)
	RUN_CTXT=$(awk -v a="$x0" -v b="$(ctxt)" -v e="$(calc "$t_end - $t_ready")" \
		'BEGIN { printf "%.0f\n", (b - a) / e }')
	kill -TERM "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=""
	LOAD_RUN_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
	RUN_SECS=$(calc "$t_end - $t_ready")
	RUN_CPU=$(calc "$cpu_end - $cpu_ready")
	RUN_BATCHES=$n
	RUN_OTHER=$(awk -v b="$((b1 - b0))" -v hz="$(getconf CLK_TCK)" -v c="$wl_cpu" \
		-v a="$RUN_CPU" -v e="$RUN_SECS" -v n="$NCPU" \
		'BEGIN { o = (b / hz - c - a) / (e * n) * 100; printf "%.1f\n", (o < 0 ? 0 : o) }')
	RUN_BUSY=$(awk -v b="$((b1 - b0))" -v t="$((tt1 - tt0))" 'BEGIN { printf "%.1f\n", 100 * b / t }')
	RUN_HWM=$(proc_hwm_kib "$pid")

	http_get "$PORT" /metrics >"$BENCH_TMP/metrics.txt" || die "GET /metrics failed"
	listed=$(check_listing 0) || die "wrong /api/workloads listing"
	read -r LISTED_APPS LISTED_SB <<<"$listed"
	MISSING=$(cat "$BENCH_TMP/missing")
	listed=$(check_listing 1) || die "wrong /api/workloads listing (newest window)"
	read -r LAST_APPS LAST_SB <<<"$listed"
	[ "$LISTED_APPS" = "$CONTAINERS" ] ||
		die "/api/workloads lists $LISTED_APPS of $CONTAINERS app containers; missing:$(echo; cat "$BENCH_TMP/missing")"
	check_folded cpu 'hash_burst|memory_pass|mix64'
	check_folded tick 'compute|timed_wait'
	check_folded srv 'compute|handoff|timed_wait'

	stop_pid "$pid" 60
	[ "$STOP_RC" = 0 ] || {
		log "error: the agent exited with status $STOP_RC:$(echo; tail -n 5 "$log_file")"
		BENCH_FAILURES="${BENCH_FAILURES}agent (cost run): exit status $STOP_RC: $(tail -n 1 "$log_file")
"
	}
	AGENT_SAID=$(grep -m1 -o 'agent: serving.*' "$log_file" || true)
	cp "$log_file" "$BENCH_TMP/agent-run.kept.log"
}

# ------------------------------------------------------------ slowdown rounds

# The agent condition starts its batch so that a window closes halfway
# through it: the batch pays for one window's collection (twice the rate
# of the steady state when the batch is half a window long).
agent_lead() {
	local lead

	[ "$(http_get "$SLOW_PORT" /healthz)" = ok ] || die "/healthz did not answer ok"
	lead=$(awk -v w="$WINDOW" -v m="$WARM_MAKESPAN" -v t0="$SLOW_T0" -v now="$(date +%s.%N)" \
		'BEGIN { l = w - m / 2 - (now - t0); printf "%.2f\n", (l < 0 ? 0 : l) }')
	sleep "$lead"
}

run_condition() {	# run_condition COND
	local log_file=$BENCH_TMP/$1.log

	case $1 in
	off)
		run_with_profiler "$log_file" '' 0 0 none ;;
	agent)
		SLOW_PORT=$(free_port)
		agent_cmd "$SLOW_PORT"
		SLOW_T0=$(date +%s.%N)
		AFTER_READY=agent_lead
		run_with_profiler "$log_file" 'agent: serving' 0 0 "${AGENT_CMD[@]}"
		AFTER_READY="" ;;
	perf)
		# perf prints nothing when ready: let it finish synthesizing
		# the existing tasks. SIGINT makes it exit with 130.
		run_with_profiler "$log_file" '' 1 "0 130" \
			perf record -F "$HZ" -a -g -o "$BENCH_TMP/perf.data"
		rm -f "$BENCH_TMP/perf.data" ;;
	*)
		die "unknown condition $1" ;;
	esac
	rm -f "$log_file"
}

slowdown_rounds() {
	local round cond conds="off agent" quiet=0 total=0

	[ "$PERF" = 0 ] || conds="$conds perf"
	for round in $(seq "$ROUNDS"); do
		# shellcheck disable=SC2086 # one word per condition
		for cond in $(shuf -e $conds); do
			total=$((total + 1))
			if wait_quiet "$QUIET_PCT" "$QUIET_WAIT"; then
				quiet=$((quiet + 1))
			else
				log "CPUs still over $QUIET_PCT% busy after ${QUIET_WAIT}s: running anyway"
			fi
			cut -d' ' -f1 /proc/loadavg >>"$RES/$cond.load1"
			run_condition "$cond"
			collect_batch "$cond"
			log "round $round/$ROUNDS: $(printf '%-5s' "$cond") makespan ${BATCH_MAKESPAN}s," \
				"cpu-bound ${BATCH_CPU_EL}s, periodic ${BATCH_TICK_EL}s, server ${BATCH_SRV_EL}s," \
				"workload CPU ${BATCH_WL_CPU}s, profiler CPU ${PROFILER_CPU_S}s, other load $BATCH_OTHER%"
		done
	done
	QUIET_RUNS=$quiet TOTAL_RUNS=$total
}

# ------------------------------------------------------------ report

# bpf_row PROGRAM LABEL: "&nbsp; of which" row from /metrics.
bpf_row() {
	local s n

	s=$(metric sysscope_bpf_run_seconds_total "program=\"$1\"")
	n=$(metric sysscope_bpf_runs_total "program=\"$1\"")
	awk -v s="${s:-0}" -v n="${n:-0}" -v c="$covered" -v l="$2" 'BEGIN {
		printf "| &nbsp;&nbsp;of which %s | %.3f%% of one core: %d runs, %.0f ns/run | |\n",
			l, (c > 0 ? 100 * s / c : 0), n, (n > 0 ? s * 1e9 / n : 0)
	}'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# verdict VALUE NOISE TARGET: met / **not met** / not resolved.
verdict() {
	awk -v x="$1" -v n="${2:-0}" -v t="$3" 'BEGIN {
		if (x - n >= t) print "**not met**"
		else if (x + n < t) print "met"
		else printf "not resolved (noise ±%.2f%%)\n", n
	}'
}

# slow_row LABEL METRIC DIGITS TARGETED: medians per condition, ratio
# on/off (and perf/off), per-round paired ratios, a verdict when TARGETED.
slow_row() {
	local label=$1 m=$2 d=$3 off on perf="" noise pct paired tgt="" prow=""

	off=$(median <"$RES/off.$m")
	on=$(median <"$RES/agent.$m")
	noise=$(awk -v lo="$(min_of <"$RES/off.$m")" -v hi="$(max_of <"$RES/off.$m")" -v b="$off" \
		'BEGIN { printf "%.2f\n", (hi - lo) / 2 / b * 100 }')
	pct=$(awk -v x="$on" -v b="$off" 'BEGIN { printf "%.2f\n", (x / b - 1) * 100 }')
	paired=$(paste "$RES/agent.$m" "$RES/off.$m" | awk '{ printf "%.4f\n", ($1 / $2 - 1) * 100 }')
	[ "$4" = 0 ] || tgt="< ${TARGET_SLOWDOWN}%: $(verdict "$pct" "$noise" "$TARGET_SLOWDOWN")"
	if [ "$PERF" = 1 ]; then
		perf=$(median <"$RES/perf.$m")
		prow=$(printf ' %.*f | %+.2f%% |' "$d" "$perf" "$(calc "($perf / $off - 1) * 100")")
	fi
	printf '| %s | %.*f | %.*f | **%+.2f%%** | %+.2f%% (%+.2f … %+.2f) | ±%.2f%% |%s %s |\n' \
		"$label" "$d" "$off" "$d" "$on" "$pct" "$(median <<<"$paired")" \
		"$(min_of <<<"$paired")" "$(max_of <<<"$paired")" "$noise" "$prow" "$tgt"
}

# info_row LABEL METRIC UNIT: medians only.
info_row() {
	local prow=""

	[ "$PERF" = 0 ] || prow=" $(median <"$RES/perf.$2")$3 | |"
	printf '| %s | %s%s | %s%s | | | |%s |\n' "$1" "$(median <"$RES/off.$2")" "$3" \
		"$(median <"$RES/agent.$2")" "$3" "$prow"
}

report() {
	local cpu_pct bpf_s bpf_pct covered rss_med rss_max peak_pct kept wbytes per_win est model \
		samples lost_on lost_off perf_hdr="" perf_sep="" agent_slow_pct

	covered=$(metric sysscope_window_covered_seconds_total)
	bpf_s=$(awk '$1 ~ /^sysscope_bpf_run_seconds_total\{/ { s += $2 } END { printf "%.6f\n", s }' \
		"$BENCH_TMP/metrics.txt")
	cpu_pct=$(calc "100 * $RUN_CPU / $RUN_SECS")
	bpf_pct=$(awk -v b="$bpf_s" -v c="$covered" 'BEGIN { printf "%.3f\n", (c > 0 ? 100 * b / c : 0) }')
	rss_med=$(awk '{ print $3 }' "$BENCH_TMP/samples" | median)
	rss_max=$(awk '{ print $3 }' "$BENCH_TMP/samples" | max_of)
	# The busiest sampling interval: window collections show up here.
	peak_pct=$(awk 'NR > 1 && $1 > t { p = 100 * ($2 - c) / ($1 - t); if (p > m) m = p }
		{ t = $1; c = $2 } END { printf "%.1f\n", m }' "$BENCH_TMP/samples")
	kept=$(metric sysscope_windows_kept)
	wbytes=$(metric sysscope_windows_bytes)
	per_win=$(awk -v b="$wbytes" -v k="$kept" 'BEGIN { printf "%.0f\n", (k > 0 ? b / k : 0) }')
	# Model: RSS now + the windows still to come until the retention (1 h).
	est=$(awk -v r="$RUN_HWM" -v p="$per_win" -v k="$kept" -v w="$WINDOW" \
		'BEGIN { n = 3600 / w - k; if (n < 0) n = 0; printf "%.1f\n", (r * 1024 + n * p) / 1048576 }')
	samples=$(metric sysscope_oncpu_samples_total)
	lost_on=$(metric_sum sysscope_lost_samples_total 'collector="oncpu"')
	lost_off=$(metric_sum sysscope_lost_samples_total 'collector="offcpu"')
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	agent_slow_pct=$(awk -v c="$(median <"$RES/agent.prof_cpu")" -v m="$(median <"$RES/agent.makespan")" \
		'BEGIN { printf "%.2f\n", 100 * c / m }')
	if [ "$PERF" = 1 ]; then
		perf_hdr=" perf -F $HZ -a -g | perf/off |"
		perf_sep="---:|---:|"
	fi

	cat <<EOF
# sysscope agent on a busy node

$(uname -srm), $NCPU CPUs (${model:-unknown}), $(date -u '+%Y-%m-%d %H:%M UTC').
sysscope built $SYSSCOPE_BUILT from $(source_id) (binary sha256 $SYSSCOPE_SHA).
\`sysscope agent --listen 127.0.0.1:PORT --window $WINDOW --host-root FAKE -f $HZ\`
(defaults otherwise: retention 1 h, memory limit 256M); it logged "$AGENT_SAID".

Node: $CONTAINERS app containers in $NPODS pods (+ one sandbox each running \`sleep\` as
pause), kubelet cgroupfs layout under \`$V2\`, containerd bundles in a fake host root.
Each app container runs its own copy of its program, one batch of fixed work at a time:
$N_CPU cpu-bound (\`cpubench -j 2\`, 1/4/8 MiB), $N_TICK periodic (\`serverlike -t 1\`: 0.1–0.5 ms
of work every 10 ms), $N_SRV server (\`serverlike -t 2\`: thread pairs over pipes, a 2 ms wait
per request). SCALE=$SCALE: a batch takes ${WARM_MAKESPAN}s on this node without a profiler.

## Agent cost over $(printf '%.0f' "$RUN_SECS") s ($RUN_BATCHES batches back to back)

| measure | value | target |
|---|---:|---|
| agent CPU (user+sys of the process / wall time, from serving to end) | **$(printf '%.3f' "$cpu_pct")% of one core** ($(printf '%.2f' "$RUN_CPU") s) | < ${TARGET_CPU_PCT}%: $(verdict "$cpu_pct" 0 "$TARGET_CPU_PCT") |
| its BPF programs (bpf run time / windowed time; run in the workloads' context) | $bpf_pct% of one core ($(printf '%.2f' "$bpf_s") s in $(printf '%.0f' "$covered") s) | |
$(bpf_row oncpu "on-CPU sampler (perf event, $HZ Hz per CPU)")
$(bpf_row offcpu "off-CPU tracer (every context switch; $RUN_CTXT switches/s on the node)")
| agent + BPF | $(calc "$cpu_pct + $bpf_pct" | awk '{ printf "%.3f", $1 }')% of one core | < ${TARGET_CPU_PCT}%: $(verdict "$(calc "$cpu_pct + $bpf_pct")" 0 "$TARGET_CPU_PCT") |
| busiest ${SAMPLE_S}-s interval (a window's collection) | $peak_pct% of one core | |
| start-up until serving (load BPF, kernel symbols) | $(printf '%.2f' "$STARTUP_CPU") s CPU in $(printf '%.2f' "$STARTUP_S") s | |
| RSS (VmRSS every ${SAMPLE_S} s): median / max | $(mib "$rss_med") / $(mib "$rss_max") MiB | |
| peak RSS (VmHWM at the end) | **$(mib "$RUN_HWM") MiB** | < ${TARGET_RSS_MIB} MiB: $(verdict "$(calc "$RUN_HWM / 1024")" 0 "$TARGET_RSS_MIB") |
| windows: ok / error; kept; estimated bytes per window | $(metric sysscope_windows_total 'result="ok"') / $(metric sysscope_windows_total 'result="error"'); $kept; $(awk -v b="$per_win" 'BEGIN { printf "%.0f KiB", b / 1024 }') | |
| RSS after 1 h of retention (model: peak + $((3600 / WINDOW)) − $kept windows × bytes per window) | ~$est MiB | |
| last window's collection; time between windows (not profiled) | $(printf '%.3f' "$(metric sysscope_last_collect_seconds)") s; $(printf '%.3f' "$(metric sysscope_window_gap_seconds_total)") s in total | |
| on-CPU samples; lost on-CPU / off-CPU | $samples ($(awk -v s="$samples" -v c="$covered" 'BEGIN { printf "%.1f", (c > 0 ? s / c : 0) }')/s; at most $((HZ * NCPU))/s); $lost_on / $lost_off | |
| off-CPU intervals | $(metric sysscope_offcpu_intervals_total) | |
| /api/workloads, all kept windows: app containers / sandboxes named right | **$LISTED_APPS / $CONTAINERS**; $LISTED_SB / $NPODS | all $CONTAINERS |
| the same, newest window only | $LAST_APPS / $CONTAINERS; $LAST_SB / $NPODS | |
| node meanwhile: CPUs busy (all processes); busy outside the workloads and the agent | $RUN_BUSY%; $RUN_OTHER% | |
| load average before; after | $LOAD_RUN_BEFORE; $LOAD_RUN_AFTER | |

$( [ -z "$MISSING" ] || printf 'Not listed: %s.\n' "$(echo "$MISSING" | paste -sd, - | sed 's/,/, /g')")
Agent CPU is the process alone; its BPF programs (the on-CPU sampler and the
sched_switch tracer) run in the interrupted or switching tasks and are counted in
\`sysscope_bpf_run_seconds_total\` (the agent holds BPF run-time stats on while it runs).

## Workloads' slowdown: agent off / on$( [ "$PERF" = 0 ] || echo " / perf") ($ROUNDS interleaved rounds)

| per batch (median of $ROUNDS) | agent off | agent on | on/off | per-round on/off: median (min … max) | noise (off) |$perf_hdr target |
|---|---:|---:|---:|---|---:|$perf_sep---|
$(slow_row "cpu-bound containers: mean elapsed s" cpu_el 3 1)
$(slow_row "periodic containers: mean elapsed s" tick_el 3 1)
$(slow_row "server containers: mean elapsed s" srv_el 3 1)
$(slow_row "batch makespan s (all $CONTAINERS done)" makespan 3 0)
$(slow_row "workloads' CPU time s (user+sys, all)" wl_cpu 2 0)
$(info_row "CPU busy outside the workloads and the profiler" other %)
$(info_row "load average (1 min) at the start" load1 "")

- on/off: the median with the agent against the median without it; +1% = 1% longer.
  Per-round: each round's pair, which cancels slow drift of the machine.
- Noise: half the min–max range of the agent-off runs, of their median. The target is
  met when slowdown + noise < ${TARGET_SLOWDOWN}%, not met when slowdown − noise ≥ ${TARGET_SLOWDOWN}%, else
  not resolved (more rounds on a quieter machine).
- Each agent-on batch starts so that a window closes halfway through it: it pays for a
  window's collection (symbolizing, reading the maps), about ${WINDOW} s / $(printf '%.0f' "$WARM_MAKESPAN") s = $(awk -v w="$WINDOW" -v m="$WARM_MAKESPAN" 'BEGIN { printf "%.1f", w / m }')× as
  often as in steady state. Agent CPU during the on-batches: $agent_slow_pct% of one core (median).
- The agent is started for each on-batch (start-up is before the batch); perf the same.
- Workloads' CPU time includes the sampling interrupts and BPF programs that run in
  their context; the periodic and server rows are mostly sleeping and waking, so they
  show wake-up latency more than CPU taken.
- $QUIET_RUNS of $TOTAL_RUNS batches started after a quiet half second (CPUs <= $QUIET_PCT% busy,
  waited up to $QUIET_WAIT s). Load average includes this benchmark's own $CONTAINERS workloads.
EOF
}

# ------------------------------------------------------------ main

main() {
	preflight
	bench_init
	trap agent_cleanup EXIT
	snapshot_sysscope
	SYSSCOPE_SHA=$(sha256sum "$SYSSCOPE_RUN" | cut -c1-12)
	build_workloads
	remove_stale sysscope-bench-agent
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	log "load average: $LOAD_BEFORE; cgroup v2 at $V2"
	declare -ga CMDS=()
	make_node
	start_pauses
	log "$CONTAINERS app containers ($N_CPU cpu, $N_TICK periodic, $N_SRV server) in $NPODS pods," \
		"$NCGROUPS cgroups under $BASE"
	BATCH_DIR=$BENCH_TMP/batch
	RES=$BENCH_TMP/res
	mkdir -p "$RES"
	WORKLOAD=(run_batch)
	WORKLOAD_OUT=$BENCH_TMP/batch.out
	log "warm-up batch, no profiler"
	PROFILER_CPU_S=0
	run_workload
	collect_batch warm
	WARM_MAKESPAN=$BATCH_MAKESPAN
	log "warm-up: makespan ${WARM_MAKESPAN}s, workload CPU ${BATCH_WL_CPU}s, other load $BATCH_OTHER%"
	agent_run
	log "agent: $(calc "100 * $RUN_CPU / $RUN_SECS")% of one core over ${RUN_SECS}s," \
		"peak RSS $(mib "$RUN_HWM") MiB, $LISTED_APPS/$CONTAINERS apps listed"
	slowdown_rounds
	mkdir -p "${REPORT%/*}"
	report >"$BENCH_TMP/report.md"
	finish_report figures
}

main "$@"
