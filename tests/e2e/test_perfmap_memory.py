# SPDX-License-Identifier: MIT
"""JIT perf maps cost memory by their line count, not their size: four
processes whose /tmp/perf-PID.map hold ~50 MiB each (the hot JIT function
and ~650k other lines) and a whole-node run of the plain build stays
under 160 MiB of peak RSS, with the hot JIT frame still named."""
import os
import re
import subprocess
from pathlib import Path

from conftest import ROOT, WORKLOADS, read_folded, wait_for

# Peak RSS of the plain build: ASan's shadow memory is not sysscope's.
PLAIN = Path(os.environ.get("SYSSCOPE_PLAIN", ROOT / "build/sysscope"))

MAP_MIB = 50
LIMIT_MIB = 160


def filler(path):
    """~MAP_MIB of plausible JIT lines far from any real code."""
    with open(path, "w") as f:
        size = i = 0
        while size < MAP_MIB << 20:
            line = (f"{0x100000000 + i * 0x100:x} 80 "
                    f"LazyCompile:~handler_{i} /srv/app/routes/r{i % 97}.js:{i % 4000}\n")
            f.write(line)
            size += len(line)
            i += 1


def test_huge_perf_maps_bounded_memory(tmp_path, spawn):
    fill = tmp_path / "filler.map"
    filler(fill)
    pids = []
    for _ in range(4):
        w = spawn([WORKLOADS / "hostile", "-j", "-u", "1", "-d", "60"])
        pids.append(w.pid)
    for pid in pids:
        m = Path(f"/tmp/perf-{pid}.map")
        # The workload writes its own line first.
        assert wait_for(lambda: m.exists() and
                        "hostile_jit_spin" in m.read_text()[:4096], 10), m
        with open(m, "ab") as dst, open(fill, "rb") as src:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        assert m.stat().st_size >= MAP_MIB << 20
    out = tmp_path / "out"
    try:
        res = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M",
                              PLAIN, "profile", "-d", "4", "-f", "199",
                              "-o", out], capture_output=True, text=True,
                             timeout=120)
    finally:
        for pid in pids:
            Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)
    assert res.returncode == 0, res.stderr
    rss = int(re.search(r"maxrss_kib=(\d+)", res.stderr).group(1)) >> 10
    summary = (out / "summary.txt").read_text()
    stacks = read_folded(out / "stacks.folded")
    named = sum(n for s, n in stacks.items()
                if "hostile" in s and "hostile_jit_spin" in s)
    assert named > 0, summary
    print(f"peak RSS {rss} MiB")
    assert rss <= LIMIT_MIB, f"peak RSS {rss} MiB (limit {LIMIT_MIB})"
