#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The container resolver on a node of many containers: time to resolve
# every cgroup id to its container and pod, cold (a new resolver: by id
# with resolver__get, or by walking the tree with resolver__scan) and warm
# (ids already known), and the memory it keeps. A benchmark, not a test:
# it prints a Markdown table (also saved to OUTPUT/bench/containers.md) and
# never fails on timing; it fails when a result is wrong or a tool is
# missing. See bench/README-containers.md.
#
#   bench/containers.sh [OUTPUT]          OUTPUT: build dir (default build)
#
# It builds, under the cgroup v2 mount, in a private directory
#   <v2>/sysscope-bench-ctr.<pid>/kubepods/besteffort/pod<uid>/<64 hex id>
# (the kubelet's cgroupfs layout, one level down so that it never meets
# another user's /kubepods), and a fake host root (a temp dir) holding
# containerd's bundles with the CRI annotations a kubelet sets:
#   run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json
# Each pod has a sandbox (pause) container and PER_POD-1 app containers.
# One `sleep` runs in each of the first BUSY containers. All of it is
# removed on exit, interrupt or error.
#
# Environment:
#   CONTAINERS=200  containers (cgroups with an id), PER_POD=2 per pod
#   BUSY=50         containers that get a sleep process
#   ROUNDS=7        runs of each mode (each a new process)
#   LOOKUPS=1000000 warm lookups per repetition, WARM_REPS=7 per run
#   QUIET_PCT=25    before each run, wait (up to QUIET_WAIT=5 s) until the
#                   CPUs are at most this % busy: other jobs on a shared node
#   MOCK_FILES=80   files per directory in the tmpfs copy scanned as an
#                   estimate for a node whose cgroups have all controllers
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# lib.sh is shared and may change: fail loudly if a helper went away.
for f in log die require_root require_tools bench_init bench_cleanup median \
	min_of max_of calc cpu_ticks wait_quiet source_id cgroup_v2_mount remove_stale \
	remove_cgroup hex_id require_positive; do
	declare -F "$f" >/dev/null ||
		{ echo "bench/containers.sh: bench/lib.sh has no function $f" >&2; exit 1; }
done

OUTPUT=$(realpath -m "${1:-build}")
CONTAINERS=${CONTAINERS:-200}
PER_POD=${PER_POD:-2}
BUSY=${BUSY:-50}
ROUNDS=${ROUNDS:-7}
LOOKUPS=${LOOKUPS:-1000000}
WARM_REPS=${WARM_REPS:-7}
MOCK_FILES=${MOCK_FILES:-80}
QUIET_PCT=${QUIET_PCT:-25}
QUIET_WAIT=${QUIET_WAIT:-5}
QUIET_RUNS=0 TOTAL_RUNS=0
BENCH_BIN=$OUTPUT/bench/resolver_bench
REPORT=$OUTPUT/bench/containers.md
TASK_DIR=run/containerd/io.containerd.runtime.v2.task/k8s.io

TARGET_WARM_NS=1000	# warm resolution of a known id
TARGET_COLD_MS=200	# the whole cold scan

BASE=""		# our cgroup subtree, removed on exit
SLEEP_PIDS=""	# the sleep processes in it
MOCK_DIR=""	# tmpfs copies of the tree, removed on exit

require_positive CONTAINERS PER_POD BUSY ROUNDS LOOKUPS WARM_REPS MOCK_FILES QUIET_PCT \
	QUIET_WAIT
[ "$PER_POD" -le "$CONTAINERS" ] || die "PER_POD ($PER_POD) > CONTAINERS ($CONTAINERS)"
[ "$BUSY" -le "$CONTAINERS" ] || die "BUSY ($BUSY) > CONTAINERS ($CONTAINERS)"

# ------------------------------------------------------------ set-up

containers_cleanup() {
	local pid

	set +e
	for pid in $SLEEP_PIDS; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in $SLEEP_PIDS; do
		wait "$pid" 2>/dev/null
	done
	SLEEP_PIDS=""
	remove_cgroup "$BASE" 10
	BASE=""
	[ -z "$MOCK_DIR" ] || rm -rf "$MOCK_DIR"
	MOCK_DIR=""
	bench_cleanup
}

preflight() {
	require_tools id cc make realpath awk sed od tr sleep find rmdir getconf seq paste wc tee sha256sum cut xargs touch
	require_root
	[ -r /proc/sys/kernel/random/uuid ] || die "no /proc/sys/kernel/random/uuid"
	[ -r /usr/include/linux/openat2.h ] || die "no linux/openat2.h (linux-libc-dev)"
	cgroup_v2_mount
}

build_bench() {
	mkdir -p "$OUTPUT/bench"
	make -C "$ROOT" --no-print-directory OUTPUT="$OUTPUT" "$OUTPUT/libsysscope.a" >&2 ||
		die "cannot build $OUTPUT/libsysscope.a"
	cc -O2 -g -std=gnu11 -Wall -Wextra -Werror \
		-I"$ROOT/src" -I"$ROOT/cgroup" -I"$ROOT/container" -I"$ROOT/bpf" -I"$OUTPUT" \
		"$BENCH_DIR/resolver_bench.c" "$OUTPUT/libsysscope.a" \
		-lbpf -lelf -lz -lcap -ljson-c -lseccomp -o "$BENCH_BIN" ||
		die "cannot build $BENCH_BIN"
}

# A syscall list for the spec's seccomp profile: real bundles carry the
# runtime's default profile, which is most of config.json's size.
syscall_names() {
	sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/"\1"/p' \
		/usr/include/x86_64-linux-gnu/asm/unistd_64.h 2>/dev/null | head -n 300 |
		paste -sd, -
}

# config_json ID POD_UID POD_NAME NAMESPACE CONTAINER|"" SANDBOX_ID
# An OCI spec shaped like containerd 1.6's for a CRI container: process,
# mounts, namespaces, masked paths, seccomp, and the io.kubernetes.cri.*
# annotations. The sandbox (CONTAINER "") has no container-name.
config_json() {
	local id=$1 uid=$2 pod=$3 ns=$4 name=$5 sb=$6 ann m i

	if [ -z "$name" ]; then
		ann="\"io.kubernetes.cri.container-type\": \"sandbox\",
    \"io.kubernetes.cri.sandbox-id\": \"$id\",
    \"io.kubernetes.cri.sandbox-log-directory\": \"/var/log/pods/${ns}_${pod}_$uid\","
	else
		ann="\"io.kubernetes.cri.container-name\": \"$name\",
    \"io.kubernetes.cri.container-type\": \"container\",
    \"io.kubernetes.cri.image-name\": \"registry.example.com/team/$name:1.2.3\",
    \"io.kubernetes.cri.sandbox-id\": \"$sb\","
	fi
	m=""
	for i in $(seq 1 12); do
		m="$m{\"destination\": \"/var/lib/data$i\", \"type\": \"bind\", \"source\": \"/var/lib/kubelet/pods/$uid/volumes/kubernetes.io~empty-dir/v$i\", \"options\": [\"rbind\", \"rprivate\", \"rw\"]},
    "
	done
	cat <<EOF
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "user": {"uid": 65535, "gid": 65535, "additionalGids": [65535]},
    "args": ["/app/server", "--listen=:8080", "--log-level=info"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=$pod", "KUBERNETES_SERVICE_HOST=10.96.0.1",
            "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_PORT=tcp://10.96.0.1:443"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "oomScoreAdj": 1000
  },
  "root": {"path": "rootfs"},
  "mounts": [
    $m{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}
  ],
  "annotations": {
    $ann
    "io.kubernetes.cri.sandbox-name": "$pod",
    "io.kubernetes.cri.sandbox-namespace": "$ns",
    "io.kubernetes.cri.sandbox-uid": "$uid"
  },
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}], "cpu": {"shares": 2}},
    "cgroupsPath": "/kubepods/besteffort/pod$uid/$id",
    "namespaces": [{"type": "pid"}, {"type": "ipc", "path": "/proc/1/ns/ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}],
    "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": [$SYSCALLS], "action": "SCMP_ACT_ALLOW"}]},
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
}

# make_node: the cgroups, the bundles, IDS_FILE (see resolver_bench.c).
make_node() {
	local p c npods uid pod ns id sb name dir expect n=0 cfg

	BASE=$V2/sysscope-bench-ctr.$$
	HOST=$BENCH_TMP/host
	IDS_FILE=$BENCH_TMP/ids
	SYSCALLS=$(syscall_names)
	[ -n "$SYSCALLS" ] || SYSCALLS=$(seq -f '"syscall_%g"' 1 300 | paste -sd, -)
	mkdir "$BASE" || die "cannot create $BASE"
	mkdir -p "$BASE/kubepods/besteffort" "$HOST/$TASK_DIR"
	: >"$IDS_FILE"
	npods=$(((CONTAINERS + PER_POD - 1) / PER_POD))
	for p in $(seq 0 $((npods - 1))); do
		uid=$(cat /proc/sys/kernel/random/uuid)
		pod=$(printf 'web-%03d-7d9f8c6b5-x%04d' "$p" "$p")
		ns=team-$((p % 8))
		mkdir "$BASE/kubepods/besteffort/pod$uid"
		sb=""
		for c in $(seq 0 $((PER_POD - 1))); do
			[ "$n" -lt "$CONTAINERS" ] || break
			id=$(hex_id)
			[ "${#id}" = 64 ] || die "bad random id '$id'"
			if [ "$c" = 0 ]; then	# the pod's sandbox: named by its short id
				sb=$id name="" expect=${id:0:12}
			else
				name=app-$c expect=app-$c
			fi
			dir=$BASE/kubepods/besteffort/pod$uid/$id
			mkdir "$dir" "$HOST/$TASK_DIR/$id"
			config_json "$id" "$uid" "$pod" "$ns" "$name" "$sb" \
				>"$HOST/$TASK_DIR/$id/config.json"
			echo "$dir $expect $ns/$pod" >>"$IDS_FILE"
			n=$((n + 1))
		done
	done
	chmod -R go-rwx "$HOST/run"	# as containerd leaves it
	REAL_FILES=$(find "$dir" -mindepth 1 -maxdepth 1 | wc -l)
	cfg=$(find "$HOST/$TASK_DIR" -name config.json | head -n 1)
	CONFIG_BYTES=$(wc -c <"$cfg")
	NCGROUPS=$(find "$BASE" -type d | wc -l)
	NPODS=$npods
}

# start_sleepers: one sleep in each of the first BUSY containers, moved in
# by writing its pid to cgroup.procs before it execs.
start_sleepers() {
	local dir pid

	while read -r dir _; do
		# shellcheck disable=SC2016 # $BASHPID: the subshell's, at run time
		(echo "$BASHPID" >"$dir/cgroup.procs" && exec sleep 1000000) &
		pid=$!
		SLEEP_PIDS="$SLEEP_PIDS $pid"
	done < <(head -n "$BUSY" "$IDS_FILE")
	# Each must be in its cgroup (the write could fail: no such cgroup...).
	sleep 0.2
	while read -r dir _; do
		pid=$(cat "$dir/cgroup.procs")
		[ -n "$pid" ] || die "no process in $dir"
		[ "$(cat "/proc/$pid/comm")" = sleep ] || die "pid $pid in $dir is not sleep"
	done < <(head -n "$BUSY" "$IDS_FILE")
}

# make_mock N: a copy of the tree on tmpfs ($MOCK_DIR/mockN) with N empty
# files in each directory, and its ids file. resolver__scan walks any tree
# (ids are inode numbers; metadata comes from the path), so this shows what
# the walk costs when each cgroup has as many files as on a node with the
# cpu, memory, io, pids... controllers enabled, which this hybrid machine's
# v2 mount cannot have (its controllers are in v1 hierarchies).
make_mock() {
	local root=$MOCK_DIR/mock$1 d

	mkdir "$root"
	while read -r d; do
		mkdir -p "$root${d#"$BASE"}"
		seq -f "$root${d#"$BASE"}/file%g" 1 "$1" | xargs touch
	done < <(find "$BASE" -type d)
	sed "s|^$BASE/|$root/|" "$IDS_FILE" >"$BENCH_TMP/ids.mock$1"
}

# ------------------------------------------------------------ runs

declare -A VALS=()

# run_mode KEY ROUND: one resolver_bench process for configuration KEY
# (get, scan: the real cgroups; mock<N>: scan of a tmpfs copy with N files
# per directory). Its key=value lines are appended to VALS[KEY.key].
run_mode() {
	local out=$BENCH_TMP/$1.$2.out mode=scan root=$BASE ids=$IDS_FILE k v

	case $1 in
	get) mode="get" ;;
	mock*) root=$MOCK_DIR/$1 ids=$BENCH_TMP/ids.$1 ;;
	esac
	TOTAL_RUNS=$((TOTAL_RUNS + 1))
	if wait_quiet "$QUIET_PCT" "$QUIET_WAIT"; then
		QUIET_RUNS=$((QUIET_RUNS + 1))
	fi
	"$BENCH_BIN" -n "$LOOKUPS" -r "$WARM_REPS" "$mode" "$root" "$HOST" "$ids" \
		>"$out" 2>"$out.err" ||
		die "resolver_bench $mode $root failed:$(echo; cat "$out.err")"
	while IFS='=' read -r k v; do
		VALS["$1.$k"]="${VALS["$1.$k"]:-} $v"
	done <"$out"
	if [ "$mode" = get ]; then
		log "round $2 $1: cold $(calc "$(field1 cold_ns "$out") / 1e6") ms, warm $(field1 warm_ns_per_lookup "$out") ns/lookup"
	else
		log "round $2 $1: cold scan $(calc "$(field1 cold_ns "$out") / 1e6") ms, $(field1 count "$out") cgroups"
	fi
}

field1() { sed -n "s/^$1=//p" "$2" | head -n 1; }

# vals KEY: the values gathered for KEY, one per line.
# shellcheck disable=SC2086 # split on purpose: the values are numbers
vals() { printf '%s\n' ${VALS["$1"]:-}; }

# stat_row LABEL KEY SCALE UNIT DIGITS [TARGET]: wall median, min, max and
# the CPU-time median (KEY with _ns -> _cpu_ns, when there is one) / SCALE;
# with TARGET (in UNIT), whether each median is under it.
stat_row() {
	local med mn mx cpu="" ckey verdict="" tgt=${6:-}

	med=$(vals "$2" | median) || die "no values for $2"
	mn=$(vals "$2" | min_of)
	mx=$(vals "$2" | max_of)
	ckey=${2/%_ns/_cpu_ns}
	ckey=${ckey/%_ns_per_lookup/_cpu_ns_per_lookup}
	[ "$ckey" = "$2" ] || [ -z "${VALS["$ckey"]:-}" ] || cpu=$(vals "$ckey" | median)
	if [ -n "$tgt" ]; then
		verdict="wall: $(verdict "$(calc "$med / $3")" "$tgt")"
		[ -z "$cpu" ] || verdict="$verdict; CPU: $(verdict "$(calc "$cpu / $3")" "$tgt")"
		tgt="< $tgt $4"
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
		"$(fmt "$med" "$3" "$5") $4" "$(fmt "$mn" "$3" "$5")" "$(fmt "$mx" "$3" "$5")" \
		"${cpu:+$(fmt "$cpu" "$3" "$5") $4}" "$tgt" "$verdict"
}

# estimate: the walk on cgroupfs with MOCK_FILES files per directory, from
# CPU medians: the metadata reads (M, from get), plus the tmpfs walk of
# MOCK_FILES scaled by how much slower cgroupfs was than tmpfs at the real
# size. A model, not a measurement: printed as such.
estimate() {
	local m real tmp big

	[ "$MOCK_FILES" != "$REAL_FILES" ] || return 0
	m=$(calc "$(vals get.meta_cpu_ns | median) / 1e6")
	real=$(calc "$(vals scan.cold_cpu_ns | median) / 1e6")
	tmp=$(calc "$(vals "mock$REAL_FILES.cold_cpu_ns" | median) / 1e6")
	big=$(calc "$(vals "mock$MOCK_FILES.cold_cpu_ns" | median) / 1e6")
	awk -v m="$m" -v r="$real" -v t="$tmp" -v b="$big" -v n="$MOCK_FILES" -v k="$REAL_FILES" 'BEGIN {
		if (t - m <= 0 || r - m <= 0) { print "(no estimate: the walk is lost in the metadata time)"; exit }
		f = (r - m) / (t - m)
		printf "Estimate (model, CPU time): metadata %.1f ms + walk; cgroupfs walked %.1fx slower than tmpfs at %d files per dir,\n", m, f, k
		printf "so a cold scan with %d files per dir would take about %.0f ms of CPU on cgroupfs.\n", n, m + (b - m) * f
	}'
}

# What the resolver did with unknown ids (it changed between versions).
miss_behaviour() {
	local nulls added

	nulls=$(vals get.miss_null | max_of)
	added=$(vals get.miss_count_added | max_of)
	if [ "$nulls" -gt 0 ]; then
		echo "returned NULL ($nulls of 7 per run): the resolver does not remember unknown ids"
	else
		echo "returned a \"no container\" entry, remembered ($added entries added per run of 7 ids)"
	fi
}

mock_row() {
	[ "$MOCK_FILES" != "$REAL_FILES" ] || return 0
	stat_row "&nbsp;&nbsp;same walk, tmpfs copy with $MOCK_FILES files per dir (a node with every controller)" \
		"mock$MOCK_FILES.cold_ns" 1e6 ms 1 "$TARGET_COLD_MS"
}

fmt() { awk -v x="$1" -v s="$2" -v d="$3" 'BEGIN { printf "%.*f", d, x / s }'; }

verdict() {	# verdict VALUE LIMIT
	awk -v x="$1" -v l="$2" 'BEGIN { print (x < l) ? "met" : "**not met**" }'
}

report() {
	local busy per_ws

	busy=$(calc "100 * $BUSY_TICKS / $TOTAL_TICKS")
	per_ws=$(calc "$(vals get.heap_delta | median) / $CONTAINERS")
	cat <<EOF
## Container resolver: $CONTAINERS containers

$(uname -srm), $(nproc) CPUs; sysscope library built $(date -u -r "$OUTPUT/libsysscope.a" '+%Y-%m-%d %H:%M UTC')
from $(source_id) (container/resolver.c sha256 $(sha256sum "$ROOT/container/resolver.c" | cut -c1-12)).
Load average before: $LOAD_BEFORE; after: $LOAD_AFTER. CPUs $(printf '%.0f' "$busy")% busy
during the runs (all processes; this is a shared machine).

Node: $CONTAINERS containers in $NPODS pods (1 sandbox + $((PER_POD - 1)) app per pod),
cgroupfs layout kubepods/besteffort/pod<uid>/<id> under \`$BASE\`
($NCGROUPS cgroups with the parents), one \`sleep\` in each of $BUSY of them.
Host root: a temp dir with containerd bundles, config.json $CONFIG_BYTES bytes each
(CRI annotations, mounts, seccomp). Resolver rooted at that subtree.
$ROUNDS runs per mode, each a new process; warm: median of $WARM_REPS x $LOOKUPS lookups per run.
Every id was checked to resolve to its container name and namespace/pod.

| measure | wall: median | min | max | CPU time: median | target | |
|---|---:|---:|---:|---:|---|---|
$(stat_row "cold, resolver__new + resolver__get of every id (total)" get.cold_ns 1e6 ms 1)
$(stat_row "cold, resolver__get, per id" get.cold_ns "$((CONTAINERS * 1000))" µs 1)
$(stat_row "&nbsp;&nbsp;of which open_by_handle_at + readlink, per id" get.handle_ns "$((CONTAINERS * 1000))" µs 1)
$(stat_row "&nbsp;&nbsp;of which container_meta__read, per id" get.meta_ns "$((CONTAINERS * 1000))" µs 1)
$(stat_row "cold, resolver__new + resolver__scan ($(vals scan.count | head -n 1) cgroups)" scan.cold_ns 1e6 ms 1 "$TARGET_COLD_MS")
$(stat_row "&nbsp;&nbsp;same walk, tmpfs copy with $REAL_FILES files per dir (as here: control)" "mock$REAL_FILES.cold_ns" 1e6 ms 1)
$(mock_row)
$(stat_row "warm, resolver__get of a known id" get.warm_ns_per_lookup 1 ns 1 "$TARGET_WARM_NS")
$(stat_row "miss: resolver__get of an unknown id (no such cgroup), first time" get.miss_ns 1000 µs 1)
$(stat_row "miss: the same unknown id again (mean of 1000)" get.miss_repeat_ns_per_lookup 1 ns 1)
$(stat_row "memory kept, heap (mallinfo2) after cold get" get.heap_delta 1024 KiB 0)
$(stat_row "memory kept, RSS delta after cold get" get.rss_delta 1024 KiB 0)
$(stat_row "memory kept, heap (mallinfo2) after scan" scan.heap_delta 1024 KiB 0)
$(stat_row "memory kept, RSS delta after scan" scan.rss_delta 1024 KiB 0)

Wall time is what a caller waits, CPU time what the resolver itself used
(CLOCK_PROCESS_CPUTIME_ID): on this shared machine the gap between them is
mostly time spent waiting for a CPU. $QUIET_RUNS of $TOTAL_RUNS runs started after a
quiet half second (CPUs <= $QUIET_PCT% busy; waited up to $QUIET_WAIT s each).
$(estimate)
A miss $(miss_behaviour).
Heap per workload: $(printf '%.0f' "$per_ws") bytes (sizeof(struct workload) = $(vals get.sizeof_workload | head -n 1)).
"Cold" is a new resolver, not cold kernel caches: the cgroupfs dentries and the
bundles are in the page cache after the set-up (no drop_caches on a shared machine).
EOF
}

# ------------------------------------------------------------ main

main() {
	local r b0 t0 b1 t1 configs i n

	preflight
	bench_init
	trap containers_cleanup EXIT
	build_bench
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	log "load average: $LOAD_BEFORE; cgroup v2 at $V2"
	remove_stale sysscope-bench-ctr
	make_node
	log "$CONTAINERS containers in $NPODS pods, $NCGROUPS cgroups under $BASE"
	start_sleepers
	log "$BUSY sleep processes started"
	MOCK_DIR=$(mktemp -d /dev/shm/sysscope-bench-ctr.XXXXXX)
	configs=(get scan "mock$REAL_FILES")
	make_mock "$REAL_FILES"
	if [ "$MOCK_FILES" != "$REAL_FILES" ]; then
		make_mock "$MOCK_FILES"
		configs+=("mock$MOCK_FILES")
	fi
	log "tmpfs copies with $REAL_FILES and $MOCK_FILES files per directory in $MOCK_DIR"
	read -r b0 t0 < <(cpu_ticks)
	n=${#configs[@]}
	for r in $(seq 1 "$ROUNDS"); do
		# A different configuration goes first each round.
		for i in $(seq 0 $((n - 1))); do
			run_mode "${configs[$(((r + i) % n))]}" "$r"
		done
	done
	read -r b1 t1 < <(cpu_ticks)
	BUSY_TICKS=$((b1 - b0)) TOTAL_TICKS=$((t1 - t0))
	LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
	mkdir -p "${REPORT%/*}"
	report | tee "$REPORT"
	log "table saved to $REPORT"
}

main "$@"
