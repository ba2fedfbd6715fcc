#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The CFI unwinder's costs, side by side (bench/README-unwind.md):
#   1. BPF run time per on-CPU sample with ~45 user frames and no frame
#      pointers: sysscope --unwind cfi / fp, bpftrace ustack, bpftrace floor
#   2. table build time and table memory per MiB of executable text
#      (python3.11, a process that dlopen()s libLLVM, the 100 MiB binary)
#   3. first-window latency: how long until a new ~100 MiB binary's
#      samples are walked with its tables
#   4. slowdown of perf bench sched pipe and of a CPU-bound loop under
#      sysscope wallclock (cfi, fp), perf record --call-graph dwarf, bpftrace
# A benchmark, not a test: it prints a Markdown table (also saved to
# OUTPUT/bench/unwind.md) and never fails on timing.
#
#   bench/unwind.sh [OUTPUT]          OUTPUT: build dir holding sysscope
#
# Environment:
#   ROUNDS=5       interleaved rounds of every part (medians over them)
#   QUICK=1        ROUNDS defaults to 3
#   COST_SECONDS=5 length of each BPF cost window (part 1)
#   BIG_MIB=100    text of the generated binary (part 3); it is built once
#                  and kept in OUTPUT/bench/ (about 1-2 min on 2 CPUs)
#   PARTS="1 2 3 4" which parts to run (2 and 3 need the big binary)
#   BIG_TABLES=64M --unwind-tables of parts 2 and 3
#   REPORT_ONLY=1  no runs: the report again from the last run's data
#                  (kept in OUTPUT/bench/unwind-data/)
#   QUIET_PCT=15   before each run, wait (up to QUIET_WAIT=5 s) until the
#                  CPUs are at most this % busy: other jobs on a shared node
# shellcheck disable=SC2119 # median/min_of/max_of read stdin without args
set -eu

BENCH_DIR=$(cd "${0%/*}" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

OUTPUT=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${ROUNDS:-3}
else
	ROUNDS=${ROUNDS:-5}
fi
COST_SECONDS=${COST_SECONDS:-5}
BIG_MIB=${BIG_MIB:-100}
PARTS=${PARTS:-1 2 3 4}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-5}
SYSSCOPE=$OUTPUT/sysscope
BDIR=$OUTPUT/bench
REPORT=$BDIR/unwind.md
DEEP=$BDIR/unwind_deep
DLOPEN=$BDIR/unwind_dlopen
BIG=$BDIR/unwind_big
PYTHON=/usr/bin/python3.11
LIBLLVM=/usr/lib/llvm-14/lib/libLLVM-14.so.1
# The big binary needs more than the default 16M of tables (parts 2, 3).
BIG_TABLES=${BIG_TABLES:-64M}

TARGET_NS=2000		# BPF run time per sample, ~40 frames
TARGET_TABLE=0.15	# MiB of table per MiB of text

BT_USTACK='profile:hz:999 /pid == PID/ { @[ustack] = count(); }'
BT_FLOOR='profile:hz:999 /pid == PID/ { @ = count(); }'
BT_NODE='profile:hz:99 { @[ustack, kstack] = count(); }'

preflight() {
	require_tools id nproc cc perf bpftrace bpftool sysctl shuf awk sed \
		readelf size getconf find flock
	require_root
	require_positive ROUNDS COST_SECONDS BIG_MIB
	NCPU=$(nproc)
	[ -x "$SYSSCOPE" ] || die "$SYSSCOPE not found: run 'make' first"
	[ -r /proc/sys/kernel/bpf_stats_enabled ] ||
		die "kernel.bpf_stats_enabled missing: kernel too old"
}

quiet() {
	wait_quiet "$QUIET_PCT" "$QUIET_WAIT" ||
		log "CPUs still over $QUIET_PCT% busy after ${QUIET_WAIT}s: running anyway"
}

now() { date +%s.%N; }

# ------------------------------------------------------------ workloads

build_workloads() {
	mkdir -p "$BDIR"
	# No frame pointers: only a CFI walk sees the whole stack.
	cc -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror \
		"$BENCH_DIR/unwind_deep.c" -lpthread -o "$DEEP" ||
		die "cannot build $DEEP"
	cc -O2 -Wall -Wextra -Werror "$BENCH_DIR/unwind_dlopen.c" -ldl -o "$DLOPEN" ||
		die "cannot build $DLOPEN"
}

# gen_template N: a C file of N functions, each with a few calls through
# tab[] and two early returns (several epilogues: CFI rows like real code).
gen_template() {
	awk -v per="$1" 'BEGIN {
		print "typedef long (*fn)(long, long, long);"
		print "extern fn volatile tab[64];"
		for (i = 0; i < per; i++) {
			printf "long f%d(long a, long b, long c);\n", i
			printf "long f%d(long a, long b, long c)\n{\n", i
			printf "\tlong x = a ^ (b * %dL), y = c + %d, z;\n", (i * 7919 + 13) % 1000003, i
			printf "\tif (!(a & 3))\n\t\treturn tab[%d](x, y, a) + 1;\n", i % 64
			printf "\tz = tab[%d](x, y, c);\n", (i + 1) % 64
			printf "\tif (z == %d)\n\t\treturn z * y;\n", i
			printf "\ty ^= z * 31 + (x >> 3);\n"
			# Straight-line work: ~500 B of code between the calls, so
			# that functions are as large, and CFI rows as dense per
			# MiB, as in libLLVM (about 800 B a function).
			for (j = 0; j < 24; j++)
				printf "\t%s = %s * %dL + (%s >> %d) - %s;\n", \
					substr("xyz", j % 3 + 1, 1), substr("yzx", j % 3 + 1, 1), \
					(i * 31 + j * 97) % 65521 + 3, substr("zxy", j % 3 + 1, 1), \
					j % 13 + 1, substr("xyz", (j + 1) % 3 + 1, 1)
			printf "\tx += tab[%d](y, z, a);\n", (i + 2) % 64
			printf "\tz = tab[%d](z, x, y) ^ (a << 2);\n", (i + 3) % 64
			printf "\treturn x + y + z + (b - a) * c;\n}\n"
		}
	}'
}

# build_big: BIG_MIB MiB of text, from a 256-function template compiled
# once by gcc -O2 -fomit-frame-pointer -S and assembled as renamed copies
# (a gas macro), in two halves in parallel. Kept while its inputs match.
build_big() {
	local dir=$BDIR/unwind_big.d per=256 tmpl_bytes copies nobj stamp p

	stamp="$BIG_MIB $({ cat "$BENCH_DIR/unwind_big.c"; declare -f gen_template build_big; } |
		cksum)"
	if [ -x "$BIG" ] && [ "$(cat "$BIG.stamp" 2>/dev/null)" = "$stamp" ]; then
		log "big binary: $BIG is up to date"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	log "big binary: building about $BIG_MIB MiB of text (1-3 min)"
	BIG_BUILD_T0=$(now)
	gen_template "$per" >"$dir/tmpl.c"
	cc -O2 -fomit-frame-pointer -Wall -Werror -S "$dir/tmpl.c" -o "$dir/tmpl.s" ||
		die "cannot compile the big binary's template"
	{
		echo '.macro COPY k'
		# Every function and local label gets the copy's suffix.
		sed -n '/^[[:space:]]*\.text/,$p' "$dir/tmpl.s" |
			grep -vE '^[[:space:]]*\.(ident|file|section[[:space:]]+\.note)' |
			sed -E 's/\b(f[0-9]+)\b/\1_\\k/g; s/(\.L[A-Za-z]*[0-9]+)\b/\1_\\k/g'
		echo '.pushsection bigtab,"aw"'
		for ((p = 0; p < per; p++)); do echo "	.quad f${p}_\\k"; done
		echo '.popsection'
		echo '.endm'
		echo '.section .note.GNU-stack,"",@progbits'
	} >"$dir/head.s"
	# Text of one copy, from a one-copy object.
	{ cat "$dir/head.s"; echo '.text'; echo 'COPY 0'; } >"$dir/one.s"
	cc -c "$dir/one.s" -o "$dir/one.o" || die "cannot assemble $dir/one.s"
	tmpl_bytes=$(size -A "$dir/one.o" | awk '$1 == ".text" { print $2 }')
	copies=$((BIG_MIB * 1048576 / tmpl_bytes))
	nobj=$(((copies + 1) / 2))
	# Two copies per object: gas slows down more than linearly with the
	# size of one input (8 copies take 3x as long per copy as 2).
	# shellcheck disable=SC2016 # expanded by that sh
	seq 0 $((nobj - 1)) | xargs -P 2 -n 32 sh -c '
		dir=$1
		shift
		for i; do
			{ cat "$dir/head.s"; echo .text
			  echo "COPY $((2 * i))"; echo "COPY $((2 * i + 1))"; } |
				cc -c -x assembler - -o "$dir/o$i.o" || exit 255
		done' sh "$dir" || die "cannot assemble the big binary"
	# shellcheck disable=SC2046 # one word per object
	cc -O2 -fomit-frame-pointer -Wall -Wextra -Werror "$BENCH_DIR/unwind_big.c" \
		$(seq 0 $((nobj - 1)) | sed "s|.*|$dir/o&.o|") -lpthread -o "$BIG" ||
		die "cannot link $BIG"
	rm -f "$dir"/*.s "$dir"/*.o
	echo "$stamp" >"$BIG.stamp"
	BIG_BUILD_S=$(calc "$(now) - $BIG_BUILD_T0")
	log "big binary: $((nobj * 2)) copies of $per functions, built in ${BIG_BUILD_S}s"
}

# start_bg NAME CMD...: a workload process in the background; its pid in
# WPID (tracked, stopped on exit), its output in $BENCH_TMP/NAME.out.
start_bg() {
	local name=$1

	shift
	bg_start "$BENCH_TMP/$name.out" "$@"
	WPID=$BG_PID
	sleep 0.3
	pid_alive "$WPID" || die "$name exited at once:$(echo; cat "$BENCH_TMP/$name.out")"
}

# stop_bg PID: SIGTERM (a background job of this shell ignores SIGINT
# unless it installs a handler: python3 and the workloads do not).
stop_bg() {
	kill -TERM "$1" 2>/dev/null || true
	wait_exit "$1" 5 || kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	untrack_pid "$1"
}

# ------------------------------------------------------------ helpers

# procs_map_id PID: id of the unwind_procs map sysscope PID holds.
procs_map_id() {
	local f id

	for f in /proc/"$1"/fdinfo/*; do
		id=$(awk '/^map_id:/ { print $2 }' "$f" 2>/dev/null)
		[ -n "$id" ] || continue
		if bpftool map show id "$id" 2>/dev/null | grep -q 'name unwind_procs '; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# wait_tables SYSSCOPE_PID TARGET_PID TIMEOUT_S: until TARGET_PID has its
# mappings in sysscope's unwind_procs (its samples are walked with tables
# from then on); false on timeout.
wait_tables() {
	local id key deadline

	id=$(procs_map_id "$1") || die "no unwind_procs map in pid $1"
	key=$(printf '%08x' "$2" | sed -E 's/(..)(..)(..)(..)/0x\4 0x\3 0x\2 0x\1/')
	deadline=$(calc "$(now) + $3")
	# shellcheck disable=SC2086 # four byte words
	until bpftool map lookup id "$id" key $key >/dev/null 2>&1; do
		pid_alive "$1" || return 1
		awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n < d) }' || return 1
		sleep 0.005
	done
}

# counter NAME SUMMARY: a counter's value in summary.txt (0 if absent).
counter() {
	awk -v n="$1" 'index($0, n) { v = $NF } END { print v + 0 }' "$2"
}

# folded_frames FOLDED [COMM]: "median max total short" user frames per
# sample of a stacks.folded (fields after the process name, not kernel
# "_[k]" ones, weighted by count), of process COMM only if given; short:
# samples with fewer than 10 user frames.
folded_frames() {
	awk -v comm="${2:-}" '{
		cnt = $NF
		sub(/ [0-9]+$/, "")
		n = split($0, f, ";")
		i = 1
		while (i <= n && f[i] ~ /^\[.*\]$/) i++	# [host], [container]
		if (comm != "" && f[i] != comm) next
		u = 0
		for (i++; i <= n; i++) if (f[i] !~ /_\[k\]$/) u++
		print u, cnt
	}' "$1" | sort -n | awk '
		{ v[NR] = $1; c[NR] = $2; tot += $2; if ($1 < 10) short += $2 }
		END {
			if (!tot) { print "0 0 0 0"; exit }
			for (i = 1; i <= NR; i++) { acc += c[i]; if (acc * 2 >= tot) break }
			print v[i], v[NR], tot, short + 0
		}'
}

# bpftrace_frames OUT: the same for bpftrace's printed @[ustack] map.
bpftrace_frames() {
	awk '
		/^@\[/ { inmap = 1; n = 0; next }
		inmap && /^\]: [0-9]+/ { print n, $2; inmap = 0; next }
		inmap && NF { n++ }
	' "$1" | sort -n | awk '
		{ v[NR] = $1; c[NR] = $2; tot += $2 }
		END {
			if (!tot) { print "0 0"; exit }
			for (i = 1; i <= NR; i++) { acc += c[i]; if (acc * 2 >= tot) break }
			print v[i], v[NR]
		}'
}

# ------------------------------------------------------------ 1. BPF cost

# cost_snap PID: run_time_ns/run_cnt of PID's one perf_event program.
cost_snap() {
	local ids

	ids=$(perf_event_prog_ids "$1")
	[ "$(echo "$ids" | wc -w)" = 1 ] ||
		die "expected one perf_event BPF program in pid $1, found: ${ids:-none}"
	prog_stats "$ids"
}

# cost_run COND: one COST_SECONDS window of COND on the deep workload.
cost_run() {
	local cond=$1 log_file=$BENCH_TMP/cost-$1.log out=$BENCH_TMP/cost-out pid prog
	local ns0 cnt0 t0 ns1 cnt1 t1 frames

	rm -rf "$out"
	case "$cond" in
	cfi | fp)
		bg_start "$log_file" "$SYSSCOPE_RUN" profile -p "$DEEP_PID" -f 999 \
			-d 3600 --unwind "$cond" -o "$out"
		pid=$BG_PID
		wait_for_log "$pid" "$log_file" 'sampling.* at [0-9]+ Hz' 60
		# Tables in place before the window (cfi), so it times walks.
		[ "$cond" = fp ] || wait_tables "$pid" "$DEEP_PID" 30 ||
			die "the deep workload got no tables in 30 s"
		;;
	bt-ustack | bt-floor)
		prog=$BT_USTACK
		[ "$cond" = bt-ustack ] || prog=$BT_FLOOR
		bg_start "$log_file" bpftrace -e "${prog/PID/$DEEP_PID}"
		pid=$BG_PID
		wait_for_log "$pid" "$log_file" '^Attaching' 60
		;;
	esac
	wait_perf_events "$pid" "$NCPU" 30
	cost_snap "$pid"
	ns0=$PROG_NS cnt0=$PROG_CNT t0=$(now)
	sleep "$COST_SECONDS"
	cost_snap "$pid"
	ns1=$PROG_NS cnt1=$PROG_CNT t1=$(now)
	[ "$cond" != cfi ] && [ "$cond" != fp ] || [ "$PROG_NAME" = do_sample ] ||
		die "sysscope's perf_event program is '$PROG_NAME', expected do_sample"
	stop_pid "$pid" 120
	[ "$STOP_RC" = 0 ] || die "$cond exited with $STOP_RC:$(echo; tail -n 5 "$log_file")"
	[ $((cnt1 - cnt0)) -gt 0 ] || die "$cond: the BPF program did not run"
	case "$cond" in
	cfi | fp)
		frames=$(folded_frames "$out/stacks.folded" | awk '{ print $1, $2 }')
		cp "$out/summary.txt" "$BENCH_TMP/summary-$cond.txt"
		;;
	bt-ustack) frames=$(bpftrace_frames "$log_file") ;;
	bt-floor) frames="- -" ;;
	esac
	# ns/run runs expected frames(median max) program
	echo "$(calc "($ns1 - $ns0) / ($cnt1 - $cnt0)") $((cnt1 - cnt0))" \
		"$(calc "999 * $NCPU * ($t1 - $t0)") $frames $PROG_NAME" >>"$BENCH_TMP/cost-$cond"
	log "cost: $(printf '%-9s' "$cond") $(calc "($ns1 - $ns0) / ($cnt1 - $cnt0)") ns/run," \
		"$((cnt1 - cnt0)) runs, user frames (median max) $frames"
	rm -rf "$out" "$log_file"
}

part_cost() {
	local round cond

	log "part 1: BPF cost per sample, $NCPU threads of $DEEP (40 deep)"
	start_bg deep "$DEEP" -t "$NCPU"
	DEEP_PID=$WPID
	bpf_stats_on
	for round in $(seq "$ROUNDS"); do
		for cond in $(shuf -e cfi fp bt-ustack bt-floor); do
			quiet
			log "round $round/$ROUNDS"
			cost_run "$cond"
		done
	done
	bpf_stats_restore
	stop_bg "$DEEP_PID"
}

# ------------------------------------------------------------ 2. tables

# exec_text PID: "files MiB span_pages" of PID's file-backed executable
# mappings: the summed MemSiz of their executable PT_LOADs, and the 64 KiB
# pages those segments span (the page index has one entry each, plus one).
exec_text() {
	local path bytes=0 pages=0 files=0 lo hi va ms flg

	while read -r path; do
		[ -r "$path" ] || continue
		lo="" hi=0
		while read -r _ _ va _ _ ms flg; do
			case "$flg" in *E*) ;; *) continue ;; esac
			bytes=$((bytes + ms))
			[ -n "$lo" ] && [ "$lo" -le "$((va))" ] || lo=$((va))
			[ "$hi" -ge $((va + ms)) ] || hi=$((va + ms))
		done < <(readelf -lW "$path" 2>/dev/null |
			awk '$1 == "LOAD" { f = $7; if ($8 !~ /^0x/) f = f $8; print $1, $2, $3, $4, $5, $6, f }')
		[ -n "$lo" ] || continue
		files=$((files + 1))
		pages=$((pages + (hi >> 16) - (lo >> 16) + 2))
	done < <(awk '$2 ~ /x/ && $6 ~ /^\// { print $6 }' "/proc/$1/maps" | sort -u)
	echo "$files $(calc "$bytes / 1048576") $pages"
}

# build_run NAME PID MODE: wall time of a short profile of PID (its
# tables are built at its first sample, and before the run ends).
build_run() {
	local name=$1 pid=$2 mode=$3 out=$BENCH_TMP/build-out t0 t1

	rm -rf "$out"
	t0=$(now)
	"$SYSSCOPE_RUN" profile --unwind "$mode" --unwind-tables "$BIG_TABLES" \
		-p "$pid" -f 199 -d 0.2 -o "$out" >"$BENCH_TMP/build.log" 2>&1 ||
		die "sysscope failed on $name:$(echo; tail -n 5 "$BENCH_TMP/build.log")"
	t1=$(now)
	calc "$t1 - $t0" >>"$BENCH_TMP/build-$name-$mode"
	if [ "$mode" = cfi ]; then
		echo "$(counter 'unwind: table rows in use' "$out/summary.txt")" \
			"$(counter 'unwind: files with tables' "$out/summary.txt")" \
			"$(counter 'unwind: files over the table budget or caps' "$out/summary.txt")" \
			"$(counter 'unwind: files failed' "$out/summary.txt")" \
			"$(counter 'unwind: files without CFI' "$out/summary.txt")" \
			>"$BENCH_TMP/rows-$name"
	fi
	rm -rf "$out"
}

# shellcheck disable=SC2034 # PID_<name>: read through ${!pid_var}
part_tables() {
	local name round mode pid_var

	log "part 2: table build time and size per MiB of text"
	TABLE_PROCS="deep python"
	start_bg deep "$DEEP"
	PID_deep=$WPID
	if [ -x "$PYTHON" ]; then
		start_bg python "$PYTHON" -c 'while True: pass'
		PID_python=$WPID
	else
		log "no $PYTHON: skipped"
		TABLE_PROCS="deep"
	fi
	if [ -r "$LIBLLVM" ]; then
		start_bg llvm "$DLOPEN" "$LIBLLVM"
		PID_llvm=$WPID
		TABLE_PROCS="$TABLE_PROCS llvm"
	else
		log "no $LIBLLVM: the libLLVM row is skipped"
	fi
	start_bg big "$BIG"
	PID_big=$WPID
	TABLE_PROCS="$TABLE_PROCS big"
	sleep 1		# dlopen done, big binary's first pages in
	for name in $TABLE_PROCS; do
		pid_var=PID_$name
		exec_text "${!pid_var}" >"$BENCH_TMP/text-$name"
	done
	for round in $(seq "$ROUNDS"); do
		for name in $TABLE_PROCS; do
			pid_var=PID_$name
			for mode in $(shuf -e cfi fp); do
				build_run "$name" "${!pid_var}" "$mode"
			done
		done
		log "round $round/$ROUNDS: $(for name in $TABLE_PROCS; do
			printf '%s %s/%s s ' "$name" "$(tail -n 1 "$BENCH_TMP/build-$name-cfi")" \
				"$(tail -n 1 "$BENCH_TMP/build-$name-fp")"; done)(cfi/fp)"
	done
	for name in $TABLE_PROCS; do
		pid_var=PID_$name
		stop_bg "${!pid_var}"
	done
}

# ------------------------------------------------------------ 3. first window

# The case with a delay: a node-wide sysscope (as the agent runs) and a
# process started after it. (With -p PID, sysscope reads PID and builds
# its tables before it starts sampling: no first window without tables.)
part_latency() {
	local round log_file=$BENCH_TMP/lat.log out=$BENCH_TMP/lat-out pid id key t0 big s

	log "part 3: first-window latency, $BIG started under a node-wide sysscope"
	for round in $(seq "$ROUNDS"); do
		quiet
		rm -rf "$out"
		bg_start "$log_file" "$SYSSCOPE_RUN" profile -f 199 -d 3600 \
			--unwind-tables "$BIG_TABLES" -o "$out"
		pid=$BG_PID
		wait_for_log "$pid" "$log_file" 'sampling.* at [0-9]+ Hz' 60
		wait_perf_events "$pid" "$NCPU" 30
		id=$(procs_map_id "$pid") || die "no unwind_procs map in pid $pid"
		# A new process each round; its file stays in the page cache.
		t0=$(now)
		start_bg big "$BIG" "$NCPU"
		big=$WPID
		key=$(printf '%08x' "$big" | sed -E 's/(..)(..)(..)(..)/0x\4 0x\3 0x\2 0x\1/')
		# shellcheck disable=SC2086 # four byte words
		until bpftool map lookup id "$id" key $key >/dev/null 2>&1; do
			pid_alive "$pid" || die "sysscope exited:$(echo; tail -n 5 "$log_file")"
			awk -v t="$t0" -v n="$(now)" 'BEGIN { exit !(n - t < 60) }' ||
				die "the big binary got no tables in 60 s"
			sleep 0.005
		done
		calc "$(now) - $t0" >>"$BENCH_TMP/latency"
		sleep 2		# samples with tables
		stop_bg "$big"
		stop_pid "$pid" 120
		[ "$STOP_RC" = 0 ] || die "sysscope failed:$(echo; tail -n 5 "$log_file")"
		s=$out/summary.txt
		echo "$(counter 'unwind: files failed' "$s") $(counter 'unwind: files over the table budget or caps' "$s")" \
			"$(folded_frames "$out/stacks.folded" unwind_big)" >>"$BENCH_TMP/lat-counters"
		log "round $round/$ROUNDS: tables $(tail -n 1 "$BENCH_TMP/latency") s after exec;" \
			"unwind_big samples: $(tail -n 1 "$BENCH_TMP/lat-counters" |
			awk '{ print $6 " of " $5 " with < 10 user frames, median " $3 " frames" }')"
		rm -rf "$out"
	done
}

# ------------------------------------------------------------ 4. slowdown

# run_slow COND: the two workloads, one after the other, under COND.
run_slow() {
	local cond=$1 log_file=$BENCH_TMP/slow-$1.log

	case "$cond" in
	none)
		run_with_profiler "$log_file" '' 0 0 none ;;
	cfi | fp)
		run_with_profiler "$log_file" 'sampling.* at [0-9]+ Hz' 0 0 \
			"$SYSSCOPE_RUN" wallclock -f 99 --unwind "$cond" -d 3600 \
			-o "$BENCH_TMP/slow-out" ;;
	perf)
		run_with_profiler "$log_file" '' 1 "0 130" \
			perf record -e cpu-clock -F 99 -a --call-graph dwarf,16384 \
			-o "$BENCH_TMP/perf.data" ;;
	bpftrace)
		run_with_profiler "$log_file" '^Attaching' 0 0 bpftrace -e "$BT_NODE" ;;
	esac
	rm -rf "$BENCH_TMP/slow-out" "$BENCH_TMP/perf.data" "$log_file"
	PIPE_S=$(sed -n 's/.*Total time: *\([0-9.]*\).*/\1/p' "$WORKLOAD_OUT")
	LOOP_S=$(field elapsed_s "$WORKLOAD_OUT")
	{ [ -n "$PIPE_S" ] && [ -n "$LOOP_S" ]; } ||
		die "unexpected workload output: $(cat "$WORKLOAD_OUT")"
	echo "$PIPE_S" >>"$BENCH_TMP/pipe-$cond"
	echo "$LOOP_S" >>"$BENCH_TMP/loop-$cond"
}

part_slowdown() {
	local round cond iters

	log "part 4: slowdown"
	# The loop: as many iterations as $NCPU threads do in about 3 s.
	"$DEEP" -t "$NCPU" -s 3 >"$BENCH_TMP/calib.out"
	iters=$(($(field iterations "$BENCH_TMP/calib.out") / NCPU))
	LOOP_CMD="$DEEP -t $NCPU -n $iters"
	WORKLOAD=(sh -c "perf bench sched pipe -l 200000 && exec $LOOP_CMD")
	WORKLOAD_OUT=$BENCH_TMP/slow.out
	for round in $(seq "$ROUNDS"); do
		for cond in $(shuf -e none cfi fp perf bpftrace); do
			quiet
			run_slow "$cond"
			log "round $round/$ROUNDS: $(printf '%-8s' "$cond") pipe $PIPE_S s, loop $LOOP_S s"
		done
	done
}

# ------------------------------------------------------------ report

verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }

# col FILE N: column N of FILE's lines.
col() { awk -v n="$2" '{ print $n }' "$1"; }

report_cost() {
	local cond label med

	echo "## 1. BPF run time per on-CPU sample, ~40 user frames without frame pointers"
	echo
	echo "\`$DEEP -t $NCPU\` ($NCPU threads, each 40 calls deep: ${DEEP##*/}, main or" \
		"start_thread, libc, deep_0..deep_39, leaf), built \`-O2 -fomit-frame-pointer\`." \
		"Each run: sampling at 999 Hz on the workload's pid, bpf_stats on, a" \
		"${COST_SECONDS} s window (sysscope: after the workload's tables are in place);" \
		"$ROUNDS runs per row, interleaved."
	echo
	echo "| profiler | program | ns/sample median | min | max | runs/window | expected | user frames/sample (median, max) | target |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for cond in cfi fp bt-ustack bt-floor; do
		f=$BENCH_TMP/cost-$cond
		med=$(col "$f" 1 | median)
		case "$cond" in
		cfi) label="sysscope \`--unwind cfi\`" ;;
		fp) label="sysscope \`--unwind fp\`" ;;
		bt-ustack) label="bpftrace \`@[ustack] = count()\`" ;;
		bt-floor) label="bpftrace \`@ = count()\` (floor)" ;;
		esac
		target=""
		[ "$cond" != cfi ] || target="<= $TARGET_NS ns: $(verdict "$(awk -v m="$med" \
			-v t="$TARGET_NS" 'BEGIN { print (m <= t) }')")"
		printf '| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s, %s | %s |\n' "$label" \
			"$(col "$f" 6 | head -n 1)" "$med" "$(col "$f" 1 | min_of)" \
			"$(col "$f" 1 | max_of)" "$(col "$f" 2 | median)" "$(col "$f" 3 | median)" \
			"$(col "$f" 4 | head -n 1)" "$(col "$f" 5 | max_of)" "$target"
	done
	echo
	echo "ns/sample: run_time_ns / run_cnt of the program over the window (the" \
		"program alone, not the interrupt around it). The program also runs for" \
		"samples that its pid filter drops (another task on the CPU); with one" \
		"busy thread per CPU those are few: compare runs with expected (999 x" \
		"CPUs x s). User frames: median (max) over the samples of the last run," \
		"from stacks.folded (sysscope) or the printed map (bpftrace)."
	echo
	echo "Walk counters of the last sysscope runs (summary.txt):"
	echo
	echo '```'
	for cond in cfi fp; do
		echo "--unwind $cond:"
		grep -E 'unwind:|counted|user stack (walk failed|lost)' "$BENCH_TMP/summary-$cond.txt" |
			sed 's/^ */  /'
	done
	echo '```'
	echo
}

report_tables() {
	local name files mib pages rows tfiles nobudget failed nocfi cfi fp build label tab

	echo "## 2. Table build time and size per MiB of text"
	echo
	echo "Each process busy in its main loop; \`sysscope profile -p PID -f 199 -d 0.2" \
		"--unwind cfi|fp --unwind-tables $BIG_TABLES\`, $ROUNDS runs each, interleaved." \
		"Build time = median wall time with cfi minus median with fp (the same" \
		"run without tables; sysscope prints no build time). Table = rows x 4 B" \
		"+ 4 B per 64 KiB page of each file's text span (the page index); the" \
		"shared rule array (16 B per distinct rule) is left out."
	echo
	echo "| process | files (with tables) | text MiB | rows | table MiB | table/text | cfi s | fp s | build s | build s per MiB | target |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for name in $TABLE_PROCS; do
		read -r files mib pages <"$BENCH_TMP/text-$name"
		read -r rows tfiles nobudget failed nocfi <"$BENCH_TMP/rows-$name"
		cfi=$(median <"$BENCH_TMP/build-$name-cfi")
		fp=$(median <"$BENCH_TMP/build-$name-fp")
		build=$(calc "$cfi - $fp")
		tab=$(calc "($rows * 4 + $pages * 4) / 1048576")
		case "$name" in
		deep) label="unwind_deep (libc, ld.so)" ;;
		python) label="$PYTHON" ;;
		llvm) label="dlopen ${LIBLLVM##*/}" ;;
		big) label="unwind_big (~$BIG_MIB MiB, generated)" ;;
		esac
		[ "$nobudget$failed$nocfi" = 000 ] ||
			label="$label (files: $nobudget over budget, $failed failed, $nocfi no CFI)"
		printf '| %s | %s | %.1f | %s | %.2f | %.3f | %.3f | %.3f | %.3f | %.3f | <= %s: %s |\n' \
			"$label" "$files ($tfiles)" "$mib" "$rows" "$tab" "$(calc "$tab / $mib")" "$cfi" "$fp" \
			"$build" "$(calc "$build / $mib")" "$TARGET_TABLE" \
			"$(verdict "$(awk -v t="$tab" -v m="$mib" -v g="$TARGET_TABLE" \
				'BEGIN { print (t / m <= g) }')")"
	done
	echo
	echo "Text: MemSiz of the executable PT_LOAD segments (readelf -lW) of every" \
		"file the process maps executable (/proc/PID/maps), as the rows cover" \
		"them all (sysscope also counts the vDSO, not in the text). With -p, sysscope" \
		"reads the process and builds its tables before it starts sampling. The build time includes reading .eh_frame and placing the" \
		"table in the BPF arrays; a small difference is within the noise of" \
		"sysscope's start-up (see min/max in the log)."
	echo
}

report_latency() {
	local sz

	sz=$(awk '{ print $2 }' "$BENCH_TMP/text-big" 2>/dev/null || echo "")
	echo "## 3. First-window latency for a new ~$BIG_MIB MiB binary"
	echo
	echo "\`sysscope profile -f 199 --unwind-tables $BIG_TABLES\` on the whole node;" \
		"once it samples, \`$BIG $NCPU\` is started" \
		"(${sz:+$(printf '%.1f' "$sz") MiB of executable text with libc and ld.so, }copies of" \
		"gcc -O2 -fomit-frame-pointer code, see bench/README-unwind.md; a new process" \
		"each round, its file in the page cache)." \
		"Latency: from its start until its mappings are in sysscope's unwind_procs" \
		"map (bpftool lookup every ~10 ms): from then on its samples are walked" \
		"with its tables. Its first sample makes sysscope read it and build the tables." \
		"${BIG_BUILD_S:+This run built the binary in ${BIG_BUILD_S} s.}"
	echo
	echo "| | median | min | max |"
	echo "|---|---:|---:|---:|"
	printf '| latency s | %.3f | %.3f | %.3f |\n' "$(median <"$BENCH_TMP/latency")" \
		"$(min_of <"$BENCH_TMP/latency")" "$(max_of <"$BENCH_TMP/latency")"
	printf '| unwind_big samples per run (2 s after the tables, + the latency) | %s | %s | %s |\n' \
		"$(col "$BENCH_TMP/lat-counters" 5 | median)" "$(col "$BENCH_TMP/lat-counters" 5 | min_of)" \
		"$(col "$BENCH_TMP/lat-counters" 5 | max_of)"
	printf '| of which < 10 user frames (walked before the tables, or cut short) | %s | %s | %s |\n' \
		"$(col "$BENCH_TMP/lat-counters" 6 | median)" "$(col "$BENCH_TMP/lat-counters" 6 | min_of)" \
		"$(col "$BENCH_TMP/lat-counters" 6 | max_of)"
	printf '| user frames per sample (median of run medians; max) | %s | | %s |\n' \
		"$(col "$BENCH_TMP/lat-counters" 3 | median)" "$(col "$BENCH_TMP/lat-counters" 4 | max_of)"
	echo
	echo "Expected depth: 45 user frames (20 hops through the generated code, then" \
		"the leaf). Files whose table failed in these runs: median" \
		"$(col "$BENCH_TMP/lat-counters" 1 | median); over the table budget:" \
		"$(col "$BENCH_TMP/lat-counters" 2 | median) (whole node: every process's files count)."
	echo
}

report_slowdown() {
	local cond label pb lb pf lf

	pb=$(median <"$BENCH_TMP/pipe-none")
	lb=$(median <"$BENCH_TMP/loop-none")
	pf=$BENCH_TMP/pipe-none lf=$BENCH_TMP/loop-none
	echo "## 4. Slowdown (whole node, 99 Hz)"
	echo
	echo "Each round runs, under each profiler in a new random order," \
		"\`perf bench sched pipe -l 200000\` then \`$LOOP_CMD\` (the part 1" \
		"workload, fixed work). Profilers trace the whole node, started before" \
		"and stopped (SIGINT) after the workloads. $ROUNDS rounds."
	echo
	echo "| profiler | pipe median s | pipe ratio | pipe min-max s | loop median s | loop ratio | loop min-max s |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for cond in none cfi fp perf bpftrace; do
		case "$cond" in
		none) label="none" ;;
		cfi) label="sysscope wallclock -f 99 (cfi)" ;;
		fp) label="sysscope wallclock -f 99 --unwind fp" ;;
		perf) label="perf record -e cpu-clock -F 99 -a --call-graph dwarf,16384" ;;
		bpftrace) label="bpftrace \`$BT_NODE\`" ;;
		esac
		printf '| %s | %.3f | %.3f | %.3f-%.3f | %.3f | %.3f | %.3f-%.3f |\n' "$label" \
			"$(median <"$BENCH_TMP/pipe-$cond")" \
			"$(calc "$(median <"$BENCH_TMP/pipe-$cond") / $pb")" \
			"$(min_of <"$BENCH_TMP/pipe-$cond")" "$(max_of <"$BENCH_TMP/pipe-$cond")" \
			"$(median <"$BENCH_TMP/loop-$cond")" \
			"$(calc "$(median <"$BENCH_TMP/loop-$cond") / $lb")" \
			"$(min_of <"$BENCH_TMP/loop-$cond")" "$(max_of <"$BENCH_TMP/loop-$cond")"
	done
	echo
	echo "Noise: pipe ±$(awk -v lo="$(min_of <"$pf")" -v hi="$(max_of <"$pf")" -v b="$pb" \
		'BEGIN { printf "%.1f", (hi - lo) / 2 / b * 100 }')%, loop" \
		"±$(awk -v lo="$(min_of <"$lf")" -v hi="$(max_of <"$lf")" -v b="$lb" \
		'BEGIN { printf "%.1f", (hi - lo) / 2 / b * 100 }')% (half the baseline's" \
		"min-max range): ratios closer to 1 than that are not resolved."
	echo
}

report() {
	local model

	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "# sysscope CFI unwinder: cost, tables, latency, slowdown"
	echo
	echo "Kernel $(uname -r), $NCPU CPUs (${model:-unknown}), $ROUNDS rounds," \
		"$RUN_DATE; $SYSSCOPE_VERSION ($SOURCE_ID); perf $(perf --version |
		awk '{ print $3 }'); $(bpftrace --version)."
	echo
	! has_part 1 || report_cost
	! has_part 2 || report_tables
	! has_part 3 || report_latency
	! has_part 4 || report_slowdown
}

has_part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# The variables the report needs besides the data files.
REPORT_VARS="NCPU ROUNDS PARTS COST_SECONDS BIG_MIB BIG_TABLES BIG_BUILD_S TABLE_PROCS LOOP_CMD SOURCE_ID SYSSCOPE_VERSION RUN_DATE"

save_data() {
	local v

	rm -rf "$BDIR/unwind-data"
	mkdir -p "$BDIR/unwind-data"
	find "$BENCH_TMP" -maxdepth 1 -type f ! -name sysscope ! -name '*.log' \
		-exec cp {} "$BDIR/unwind-data/" \;
	for v in $REPORT_VARS; do
		printf '%s=%q\n' "$v" "${!v:-}"
	done >"$BDIR/unwind-data/vars.sh"
}

main() {
	if [ "${REPORT_ONLY:-0}" = 1 ]; then
		[ -r "$BDIR/unwind-data/vars.sh" ] || die "no data of a previous run in $BDIR/unwind-data"
		bench_init
		cp "$BDIR/unwind-data"/* "$BENCH_TMP/"
		# shellcheck disable=SC1091
		. "$BENCH_TMP/vars.sh"
		report >"$BENCH_TMP/report.md"
		finish_report figures
		return
	fi
	preflight
	bench_init
	ROOT=$(cd "$BENCH_DIR/.." && pwd)
	snapshot_sysscope
	SOURCE_ID=$(source_id)
	SYSSCOPE_VERSION=$("$SYSSCOPE_RUN" --version 2>/dev/null | head -n 1)
	RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	build_workloads
	if has_part 2 || has_part 3; then
		build_big
	fi
	T_START=$(date +%s)
	! has_part 1 || part_cost
	! has_part 2 || part_tables
	! has_part 3 || part_latency
	! has_part 4 || part_slowdown
	log "all parts took $(($(date +%s) - T_START)) s"
	save_data
	report >"$BENCH_TMP/report.md"
	finish_report figures
}

main "$@"
