#!/bin/sh
# The main job: profile this whole node for DURATION seconds (default 10).
set -eu
bin=${1:?usage: run-node-profile.sh SYSSCOPE}
duration=${DURATION:-10}
out=${OUT:-sysscope-node-$(date +%Y%m%d-%H%M%S)}
echo "sysscope: profiling this node for ${duration}s ..."
"$bin" profile -d "$duration" -o "$out"
echo
echo "Outputs in $out/:"
ls -l "$out"
echo
echo "Open $out/flamegraph.svg in a browser; 'go tool pprof -http=: $out/profile.pb.gz' for pprof."
