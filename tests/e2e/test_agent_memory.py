# SPDX-License-Identifier: MIT
"""The agent under tenants that write what costs it memory: four JIT
processes with ~50 MiB perf maps, processes that map a 64 MiB sparse
file as code and a 64 MiB sparse ELF claiming a million sections
(extended numbering: e_shnum 0, the count in section 0), and a cgroup tree 2,000 cgroups wide and 30 deep, all
created and removed again while it runs. Its resident memory stays under
--memory-limit window after window, the bytes of its cache budget stay
under the budget, it keeps serving, and the hot JIT frame is still named."""
import os
import shutil
import struct
import time
from pathlib import Path

from conftest import ROOT, WORKLOADS, cgroup2_mount, wait_for
from test_agent import Agent, metric
from test_perfmap_memory import MAP_MIB, filler

PLAIN = Path(os.environ.get("SYSSCOPE_PLAIN", ROOT / "build/sysscope"))
LIMIT_MIB = 128


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) >> 10
    raise AssertionError("no VmRSS")


def extended_numbering_elf(src, dst, size=64 << 20):
    """src with e_shnum 0 and section 0 claiming every 64-byte slot from
    1 MiB to size as a section header (about a million), size sparse."""
    shutil.copy(src, dst)
    shoff = 1 << 20
    with open(dst, "r+b") as f:
        f.seek(0x28)
        f.write(struct.pack("<Q", shoff))               # e_shoff
        f.seek(0x3c)
        f.write(struct.pack("<HH", 0, 0xffff))          # e_shnum, SHN_XINDEX
        f.truncate(size)
        f.seek(shoff)                                   # sh_size, sh_link
        f.write(struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0,
                            (size - shoff) // 64, 5, 0, 0, 0))
    return dst


def cgroup_tree(root, wide, deep):
    """wide sibling cgroups and a chain deep levels down, under root."""
    root.mkdir()
    for i in range(wide):
        (root / f"w{i}").mkdir()
    d = root
    for i in range(deep):
        d = d / f"d{i}"
        d.mkdir()


def remove_tree(root):
    for dirpath, dirnames, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        for d in dirnames:
            try:
                os.rmdir(Path(dirpath) / d)
            except OSError:
                pass
    try:
        os.rmdir(root)
    except OSError:
        pass


def test_agent_rss_stays_under_its_limit_with_hostile_tenants(tmp_path, spawn):
    fill = tmp_path / "filler.map"
    filler(fill)
    sparse = tmp_path / "sparse.so"
    # A real shared object stretched to 64 MiB of holes: only its pages
    # are real, the size is what a careless reader would allocate for.
    shutil.copy("/usr/lib/x86_64-linux-gnu/libz.so.1", sparse)
    os.truncate(sparse, 64 << 20)
    agent = Agent(["--window", 3, "--retention", 600,
                   "--memory-limit", f"{LIMIT_MIB}M"], binary=PLAIN)
    tree = cgroup2_mount() / f"sysscope-hostile-{os.getpid()}"
    jits = []
    try:
        for _ in range(4):
            w = spawn([WORKLOADS / "hostile", "-j", "-u", "1", "-d", "120"])
            jits.append(w.pid)
        spawn([WORKLOADS / "hostile", "-m", sparse, "-u", "5", "-d", "120"])
        xnum = extended_numbering_elf("/usr/lib/x86_64-linux-gnu/libz.so.1",
                                      tmp_path / "xnum.so")
        spawn([WORKLOADS / "hostile", "-m", xnum, "-u", "5", "-d", "120"])
        for pid in jits:
            m = Path(f"/tmp/perf-{pid}.map")
            assert wait_for(lambda: m.exists() and
                            "hostile_jit_spin" in m.read_text()[:4096], 10), m
            with open(m, "ab") as dst, open(fill, "rb") as src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        cgroup_tree(tree, 2000, 30)
        peak, start = 0, time.monotonic()
        n0 = metric(agent.metrics(), "sysscope_windows_total", result="ok")
        # Eight windows with it all in place, then the tree goes and comes.
        cache_peak = 0
        while metric(m := agent.metrics(), "sysscope_windows_total",
                     result="ok") < n0 + 8:
            assert time.monotonic() - start < 180, "windows stopped closing"
            peak = max(peak, rss_mib(agent.proc.pid))
            held = sum(v for (n, _), v in m.items()
                       if n == "sysscope_cache_bytes")
            budget = metric(m, "sysscope_cache_budget_bytes")
            assert 0 < budget <= LIMIT_MIB << 20
            assert held <= budget, f"cache {held} B over its budget {budget} B"
            cache_peak = max(cache_peak, held)
            if tree.exists() and time.monotonic() - start > 12:
                remove_tree(tree)
                cgroup_tree(tree, 2000, 30)
            time.sleep(0.5)
        _, body, _ = agent.get("/node.folded?windows=0")
        m = agent.metrics()
    finally:
        remove_tree(tree)
        for pid in jits:
            Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)
        assert agent.stop() == 0, agent.stderr
    print(f"agent peak RSS {peak} MiB (limit {LIMIT_MIB}), cache peak "
          f"{cache_peak / 2**20:.1f} MiB of {budget / 2**20:.0f} MiB")
    assert peak <= LIMIT_MIB, f"agent RSS {peak} MiB over --memory-limit {LIMIT_MIB}M"
    assert metric(m, "sysscope_agent_resident_bytes") <= LIMIT_MIB << 20
    assert b"hostile_jit_spin" in body, "the hot JIT frame lost its name"
