#!/bin/bash
# SPDX-License-Identifier: MIT
#
# PID 1 of the kernel-matrix guest (scripts/test-kernels.sh): the rootfs is
# the initramfs. Runs the checks, prints one line per check on the serial
# console, then powers the machine off. Every step has a timeout: a hung
# step fails, the host's own timeout catches a hung kernel.
#
#   SYSSCOPE-CHECK PASS|FAIL NAME: DETAIL
#   SYSSCOPE-VERIFIER PROG_NAME loaded: N insns ... (one per program)
#   SYSSCOPE-MAP ...     (the stack maps as the kernel made them)
#   SYSSCOPE-CHECKS-DONE
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
T=/opt/sysscope
BIN=$T/sysscope
W=$T/workloads

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
ip link set lo up

check() {	# check NAME OK DETAIL
	if [ "$2" = 0 ]; then
		echo "SYSSCOPE-CHECK PASS $1: $3"
	else
		echo "SYSSCOPE-CHECK FAIL $1: $3"
	fi
}

# GET PATH from 127.0.0.1:PORT into FILE; status line on stdout.
http_get() {	# http_get PORT PATH FILE
	timeout 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1
		printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3
		cat <&3 >"$2"' "$1" "$2" "$3" || return 1
	head -n1 "$3"
}

echo "SYSSCOPE-GUEST kernel $(uname -r) arch $(uname -m) btf $([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"

done_and_off() {
	echo SYSSCOPE-CHECKS-DONE
	sync
	echo o >/proc/sysrq-trigger
	sleep 10
}

# A kernel older than the programs need (5.18): sysscope refuses it in one
# line that names what is missing, before any verifier log.
IFS=. read -r major minor _ <<<"$(uname -r)"
if [ "$major" -lt 5 ] || { [ "$major" = 5 ] && [ "$minor" -lt 18 ]; }; then
	timeout 60 $BIN wallclock -d 1 -o /tmp/old >/tmp/old.log 2>&1
	rc=$?
	lines=$(wc -l </tmp/old.log)
	[ $rc != 0 ] && [ "$lines" -le 2 ] && grep -q "lacks the BPF helper .* (Linux 5\.[0-9]*): sysscope needs Linux 5.18" /tmp/old.log
	check refuses-old-kernel $? "exit $rc, $lines lines: $(tail -n1 /tmp/old.log)"
	sed 's/^/  | /' /tmp/old.log | head -n 20
	done_and_off
fi

# Each mode loads its own BPF objects: a verifier refusal fails the run.
for mode in profile offcputime wallclock; do
	out=/tmp/mode-$mode
	timeout 240 $BIN $mode -d 2 -o $out >/tmp/$mode.log 2>&1
	rc=$?
	check "mode-$mode" $rc "exit $rc, $(grep -ci 'load failed' /tmp/$mode.log) load failures; $(tail -n1 /tmp/$mode.log)"
	[ $rc = 0 ] || sed 's/^/  | /' /tmp/$mode.log | tail -n 40
done

# Wall-clock on burn's 3:1 split (leaf_hot:leaf_cold), as tests/e2e/test_profile.py.
$W/burn -d 40 -r 3 >/dev/null &
burn=$!
sleep 2
timeout 240 $BIN wallclock -p $burn -d 6 -f 99 -o /tmp/wc >/tmp/wc.log 2>&1
rc=$?
kill $burn 2>/dev/null; wait $burn 2>/dev/null
if [ $rc = 0 ] && [ -s /tmp/wc/stacks.folded ]; then
	# On-CPU stacks through stage_two into each leaf; counts are ns.
	split=$(awk '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s)
		if (s !~ /_\[c\]$/ || s !~ /stage_two/) next
		if (s ~ /leaf_hot/) h += n; else if (s ~ /leaf_cold/) c += n }
		END { printf "%d %d", h / 1e6, c / 1e6 }' /tmp/wc/stacks.folded)
	set -- $split
	ok=$(awk -v h="$1" -v c="$2" 'BEGIN { print (c > 0 && h / c > 2.0 && h / c < 4.5) ? 0 : 1 }')
	check wallclock-3to1 "$ok" "leaf_hot ${1} ms, leaf_cold ${2} ms (want ratio 2.0..4.5)"
	if [ "$ok" != 0 ]; then
		sed 's/^/  | /' /tmp/wc.log | tail -n 20
		sort -t' ' -k2 -n -r /tmp/wc/stacks.folded 2>/dev/null |
			awk '{ print "  | " substr($0, length($0) > 300 ? length($0) - 300 : 1) }' | head -n 8
		sed 's/^/  | /' /tmp/wc/summary.txt | head -n 60
	fi
else
	check wallclock-3to1 1 "sysscope exited $rc"
	sed 's/^/  | /' /tmp/wc.log | tail -n 40
fi

# The same run kept its user stacks: none lost, for any cause, against the
# on-CPU samples counted (6.1 once lost nearly all, as a misread -EEXIST).
counted=$(awk '$1 == "counted" { print $2 }' /tmp/wc/summary.txt 2>/dev/null)
lost=$(awk '/user stack lost/ { n += $NF } END { print n + 0 }' /tmp/wc/summary.txt 2>/dev/null)
ok=$(awk -v l="$lost" -v c="$counted" 'BEGIN { print (c > 100 && l <= c / 100) ? 0 : 1 }')
check user-stacks-kept "$ok" "${lost:-?} user stacks lost of ${counted:-?} on-CPU samples (want <= 1%)"

# The agent serves /healthz and /metrics; while it runs, list the
# programs the kernel verified.
port=8089
$BIN agent --listen 127.0.0.1:$port >/tmp/agent.log 2>&1 &
agent=$!
status=
for _ in $(seq 240); do
	status=$(http_get $port /healthz /tmp/healthz 2>/dev/null) && break
	kill -0 $agent 2>/dev/null || break
	sleep 1
done
case "$status" in *" 200 "*) ok=0 ;; *) ok=1 ;; esac
check agent-healthz $ok "${status:-no answer}"
status=$(http_get $port /metrics /tmp/metrics 2>/dev/null)
n=$(grep -c '^sysscope_' /tmp/metrics 2>/dev/null)
case "$status" in *" 200 "*) [ "${n:-0}" -gt 0 ]; ok=$? ;; *) ok=1 ;; esac
check agent-metrics $ok "${status:-no answer}, ${n:-0} sysscope_ samples"
[ $ok = 0 ] || sed 's/^/  | /' /tmp/agent.log | tail -n 40

# Per program: the verifier accepted it (it is loaded), and its size.
# One program per line (its object may nest others: pids, map ids).
bpftool -j prog show 2>/dev/null | sed 's/},{"id"/}\n{"id"/g' >/tmp/progs.json
missing=
for name in $(cat $T/programs); do
	short=${name:0:15}
	line=$(grep "\"name\":\"$short\"" /tmp/progs.json | head -n1)
	if [ -z "$line" ]; then
		missing="$missing $name"
		echo "SYSSCOPE-VERIFIER $name not-loaded"
		continue
	fi
	xlated=$(echo "$line" | grep -o '"bytes_xlated":[0-9]*' | cut -d: -f2)
	jited=$(echo "$line" | grep -o '"bytes_jited":[0-9]*' | cut -d: -f2)
	echo "SYSSCOPE-VERIFIER $name loaded: $((${xlated:-0} / 8)) insns after the verifier, ${jited:-?} bytes JITed"
done
# The stack maps as the kernel made them (type, flags, size), a line each.
bpftool map show 2>/dev/null | awk '/^[0-9]+: / { if (l != "") print "SYSSCOPE-MAP" l
		l = ""; keep = / name (ustacks|stacks|kstacks) / }
	keep { l = l " " $0 } END { if (l != "") print "SYSSCOPE-MAP" l }' | tr -s ' \t' '  '
[ -z "$missing" ]
check programs-loaded $? "$(wc -w <$T/programs) expected, missing:${missing:- none}"

kill -TERM $agent 2>/dev/null
for _ in $(seq 60); do kill -0 $agent 2>/dev/null || break; sleep 1; done
kill -0 $agent 2>/dev/null && { kill -KILL $agent; check agent-stop 1 "no exit 60 s after SIGTERM"; } ||
	check agent-stop 0 "exited on SIGTERM"

done_and_off
