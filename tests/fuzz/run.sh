#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Builds the libFuzzer targets of tests/fuzz/ and runs them (see README.md).
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# For each target (all of them by default):
#   1. build build/fuzz/fuzz_TARGET with clang 14, ASan + UBSan + libFuzzer,
#      from the sources under test themselves (not build/libsysscope.a);
#   2. run every input of tests/fuzz/regressions/TARGET/ once;
#   3. fuzz for SECONDS (default 60) from a copy of tests/fuzz/corpus/TARGET/
#      (and, for elf, of ELF files compiled here), so the repository is
#      never written to.
# One line per target, then "fuzz: N passed, M failed"; the exit status is
# non-zero if any target failed to build, crashed, leaked or hung.
# Crash inputs are kept in build/fuzz/artifacts/TARGET/, logs in
# build/fuzz/logs/.
#
# Environment: FUZZ_CC (default clang-14), FUZZ_SEED_CC (default cc, builds
# the ELF seeds), TMPDIR.
set -eu

cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang-14}
SEED_CC=${FUZZ_SEED_CC:-cc}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-std=gnu11 -D_GNU_SOURCE $(for d in src/*/ cgroup container; do printf -- "-I%s " "${d%/}"; done) -Ibpf -Ibuild
	-Wall -Wextra"
LIBS="-ldw -lelf -llzma -lz -ljson-c -lpthread -ldl"
OUT=build/fuzz
FUZZ_DIR=tests/fuzz

# name, -max_len, the sources it needs (one target a line).
TARGETS="
procmaps	4096	src/symbols/procmaps.c
cgroup_path	8192	cgroup/cgroup_path.c cgroup/cgroup.c
container_meta	16384	src/symbols/inroot.c cgroup/cgroup_path.c container/meta.c container/oci.c container/docker.c container/podman.c container/containerd.c container/crio.c
elf		16384	src/symbols/elfsyms.c src/symbols/minidebug.c
dwarf		65536	src/symbols/dwarf_frames.c src/symbols/dwarf_image.c src/symbols/elfsyms.c src/symbols/minidebug.c
ksyms		8192	src/symbols/ksyms.c
perfmap		16384	src/symbols/perfmap.c
python		16384	src/lang/python_layout.c src/lang/python_lines.c src/lang/python_dwarf.c src/symbols/elfsyms.c src/symbols/minidebug.c
demangle_rust	4200	src/symbols/demangle_rust.c src/symbols/demangle_rust_v0.c src/symbols/rust_text.c src/symbols/punycode.c
ch_rows		65536	src/store/ch_rows.c src/store/ch_batch.c src/store/ch_query.c src/store/ch_http.c src/profile/profile.c
"

all=$(echo "$TARGETS" | awk 'NF { printf "%s ", $1 }')

usage() {
	echo "usage: $0 [SECONDS [TARGET...]]; targets: $all" >&2
	exit 2
}

secs=${1:-60}
case $secs in
'' | *[!0-9]* | 0) usage ;;
esac
[ $# -gt 0 ] && shift
selected=${*:-$all}
for t in $selected; do
	case " $all " in
	*" $t "*) ;;
	*) usage ;;
	esac
done

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found (apt-get install clang-14)" >&2
	echo "fuzz: 0 passed, $(echo "$selected" | wc -w) failed"
	exit 1
fi

mkdir -p "$OUT/logs" "$OUT/artifacts"
# One run at a time: they share the binaries, logs and artifacts.
exec 9>"$OUT/.lock"
if ! flock -n 9; then
	echo "fuzz: waiting for another tests/fuzz/run.sh to finish" >&2
	flock 9
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sysscope-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Sanitizer reports go to the logs; LeakSanitizer is on (libFuzzer's default).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# Small real ELF files for the elf target, from the unit tests' fixtures:
# PIE, non-PIE, shared object, stripped (.dynsym only), 32-bit, compressed
# debug sections, relocatable, libc-linked with and without .symtab. One
# that does not build (no -m32 libraries...) is skipped.
elf_seeds() {
	dir=$1 fx=tests/unit/elf_fixtures
	rm -rf "$dir"
	small="-O0 -nostdlib -Wl,-z,noseparate-code"
	mkdir -p "$dir"
	while read -r seed seed_flags; do
		# shellcheck disable=SC2086
		$SEED_CC $seed_flags -o "$dir/$seed" </dev/null >/dev/null 2>&1 ||
			echo "fuzz: elf seed $seed not built (skipped)" >&2
	done <<EOF
prog-pie	$small -fPIE -pie -Wl,-e,main -Wl,--build-id=sha1 $fx/fx_prog.c
prog-nopie	$small -fno-pie -no-pie -Wl,-e,main -Wl,--build-id=none $fx/fx_prog.c
lib.so		$small -shared -fPIC -Wl,--build-id=md5 $fx/fx_lib.c
lib-stripped.so	$small -shared -fPIC -s -Wl,--build-id=0x0123456789abcdef $fx/fx_lib.c
lib32.so	$small -m32 -shared -fPIC -Wl,--build-id=sha1 $fx/fx_lib.c
lib-gz.so	$small -g -gz -shared -fPIC $fx/fx_lib.c
prog.o		-O0 -c $fx/fx_prog.c
prog-libc	-Os -Wl,-z,noseparate-code $fx/fx_prog.c
prog-libc-stripped	-Os -s -Wl,-z,noseparate-code $fx/fx_prog.c
prog-g		$small -g -O1 -fPIE -pie -Wl,-e,main $fx/fx_prog.c
prog-g4		$small -gdwarf-4 -O1 -fPIE -pie -Wl,-e,main $fx/fx_prog.c
lib-g.so	$small -g -O2 -shared -fPIC $fx/fx_lib.c
EOF
}

# "runs=... exec/s=... cov=... ft=... corpus=..." from a libFuzzer log.
stats() {
	awk '
	function d(v) { return v == "" ? "-" : v }
	/^stat::number_of_executed_units:/ { runs = $2 }
	/^stat::average_exec_per_sec:/ { eps = $2 }
	/ cov: / {
		for (i = 1; i < NF; i++) {
			if ($i == "cov:") cov = $(i + 1)
			if ($i == "ft:") ft = $(i + 1)
			if ($i == "corp:") corp = $(i + 1)
		}
	}
	END {
		printf "runs=%s exec/s=%s cov=%s ft=%s corpus=%s", d(runs),
		       d(eps), d(cov), d(ft), d(corp)
	}' "$1"
}

# The end of a log, where the sanitizer report is.
show_log() {
	echo "---- $1 (last 60 lines)" >&2
	tail -n 60 "$1" >&2
	echo "----" >&2
}

# run_target NAME MAXLEN SOURCES...: prints the summary line; 0 on pass.
run_target() {
	name=$1 maxlen=$2
	shift 2
	bin=$OUT/fuzz_$name
	log=$OUT/logs/$name.log
	artifacts=$OUT/artifacts/$name
	regressions=$FUZZ_DIR/regressions/$name

	# shellcheck disable=SC2086
	if ! $CC $CFLAGS "$FUZZ_DIR/fuzz_$name.c" "$@" $LIBS -o "$bin" \
		</dev/null >"$OUT/logs/$name.build.log" 2>&1; then
		show_log "$OUT/logs/$name.build.log"
		echo "FAIL  $name: build failed ($OUT/logs/$name.build.log)"
		return 1
	fi

	if [ -d "$regressions" ]; then
		for input in "$regressions"/*; do
			[ -f "$input" ] || continue
			if ! "$bin" "$input" </dev/null \
				>"$OUT/logs/$name.regression.log" 2>&1
			then
				show_log "$OUT/logs/$name.regression.log"
				echo "FAIL  $name: regression $input crashes"
				return 1
			fi
		done
	fi

	work=$tmp/$name
	rm -rf "$artifacts"
	mkdir -p "$work/corpus" "$artifacts"
	if [ -d "$FUZZ_DIR/corpus/$name" ]; then
		cp -R "$FUZZ_DIR/corpus/$name/." "$work/corpus/"
	fi
	if [ "$name" = elf ] || [ "$name" = dwarf ]; then
		elf_seeds "$OUT/seeds/$name"
		cp -R "$OUT/seeds/$name/." "$work/corpus/"
	fi
	set -- -max_total_time="$secs" -max_len="$maxlen" -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/"
	if [ -f "$FUZZ_DIR/dict/$name.dict" ]; then
		set -- "$@" -dict="$FUZZ_DIR/dict/$name.dict"
	fi
	# timeout: a last guard should libFuzzer itself not stop.
	if ! timeout -k 10 $((secs + 120)) "$bin" "$@" "$work/corpus" \
		</dev/null >"$log" 2>&1; then
		show_log "$log"
		crash=$(sed -n 's/^.*Test unit written to \(.*\)$/\1/p' "$log" |
			tail -n 1)
		echo "FAIL  $name: $(stats "$log") crash input: ${crash:-none} (log: $log)"
		return 1
	fi
	rm -rf "$work"
	echo "PASS  $name: $(stats "$log")"
}

passed=0
failed=0
echo "$TARGETS" | awk NF >"$tmp/targets"
while read -r name maxlen srcs; do
	case " $selected " in
	*" $name "*) ;;
	*) continue ;;
	esac
	echo "fuzz: $name ($secs s)..." >&2
	# shellcheck disable=SC2086
	if run_target "$name" "$maxlen" $srcs; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done <"$tmp/targets"

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
