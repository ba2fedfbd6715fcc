#!/bin/sh
# The main job: profile this whole node for DURATION seconds (default 10),
# wall-clock (on-CPU and off-CPU), every pod and container attributed.
set -eu
bin=${1:?usage: run-node-profile.sh SYSSCOPE}
duration=${DURATION:-10}
out=${OUT:-sysscope-node-$(date +%Y%m%d-%H%M%S)}
echo "sysscope: profiling this node for ${duration}s ..."
"$bin" wallclock -d "$duration" -o "$out"
echo
echo "Outputs in $out/:"
ls "$out"
echo
echo "  $out/node.svg              pods and containers as roots, host processes under [host]"
echo "  $out/flamegraph-oncpu.svg  on-CPU only;  flamegraph-offcpu.svg: off-CPU only"
echo "  $out/summary.txt, threads.txt; pods/ and containers/ per pod and container"
echo "  go tool pprof -http=: $out/profile.pb.gz"
