# SPDX-License-Identifier: MIT
"""Whole user stacks through distribution binaries built without frame
pointers (Debian's python3.11 and xz, glibc), checked two ways: the walk
reaches the outermost frame (_start), and --validate-unwind, which walks
copies of the same stacks again with elfutils' libdwfl, agrees frame for
frame."""
import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import read_folded, run_sysscope

PYTHON = "/usr/bin/python3.11"
PY_WORK = """
import hashlib, json, time
def encode(d): return json.dumps(d)
def digest(s): return hashlib.sha256(s.encode()).hexdigest()
d = {"k%d" % i: list(range(20)) for i in range(200)}
end = time.time() + 20
while time.time() < end:
    digest(encode(d))
"""


def counter(summary, name):
    m = re.search(r"^\s*" + re.escape(name) + r"\s+(\d+)$", summary, re.M)
    assert m, f"no counter {name!r} in summary.txt"
    return int(m.group(1))


def user_frames(stack):
    """A folded stack's user frames: after the process name, before the
    kernel's (_[k]) frames."""
    return [f for f in stack[1:] if not f.endswith("_[k]")]


def start_share(stacks):
    """Share of samples (with any user frame) whose first user frame is
    _start: the walk went all the way out."""
    total = outer = 0
    for s, n in stacks.items():
        u = user_frames(s)
        if not u:
            continue
        total += n
        outer += n if u[0] == "_start" else 0
    assert total, "no sample with a user stack"
    return outer / total


def profile(spawn, tmp_path, argv, *extra):
    w = spawn(argv, stdout=subprocess.DEVNULL)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "4", "-f", "199", "-o", out,
                  *extra])
    return read_folded(out / "stacks.folded"), (out / "summary.txt").read_text()


def test_python_stacks_reach_start_and_agree_with_libdw(tmp_path, spawn):
    assert Path(PYTHON).exists(), f"{PYTHON} is missing (Debian's python3.11)"
    stacks, summary = profile(spawn, tmp_path, [PYTHON, "-c", PY_WORK],
                              "--validate-unwind", "4")
    assert start_share(stacks) >= 0.95, summary
    depths = sorted(len(user_frames(s)) for s, n in stacks.items()
                    for _ in range(n))
    assert depths[len(depths) // 2] >= 12, depths[len(depths) // 2]
    checked = counter(summary, "unwind check: samples")
    frames = counter(summary, "unwind check: frames compared")
    agree = counter(summary, "unwind check: frames agreeing")
    assert checked >= 30, summary
    # Deep enough to mean something (libdw stops where the 16 KiB copy ends).
    assert frames >= 5 * checked, summary
    assert agree >= 0.99 * frames, summary


def test_frame_pointers_alone_lose_python_stacks(tmp_path, spawn):
    """The same process with --unwind fp: the walk stops in glibc or
    CPython's frames (no frame pointers there): the check above is one
    that fails without the tables."""
    stacks, summary = profile(spawn, tmp_path, [PYTHON, "-c", PY_WORK],
                              "--unwind", "fp")
    assert start_share(stacks) < 0.5, summary


def test_xz_stacks_reach_start(tmp_path, spawn, cgroup_dir):
    """xz's work is in liblzma, stripped and without frame pointers; each
    xz is a new process, read when it is first sampled."""
    xz = shutil.which("xz")
    assert xz, "xz is missing (Debian's xz-utils)"
    data = tmp_path / "data"
    data.write_bytes(Path("/usr/bin/bash").read_bytes() * 2)
    cg = cgroup_dir(f"sysscope-xz-{os.getpid()}")
    sh = spawn(["sh", "-c", f"while :; do {xz} -9 -T1 -c {data} >/dev/null; done"])
    (cg / "cgroup.procs").write_text(str(sh.pid))
    out = tmp_path / "out"
    run_sysscope(["profile", "--cgroup", "/" + cg.name, "-d", "4", "-f", "199",
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    summary = (out / "summary.txt").read_text()
    xz = {s: n for s, n in stacks.items() if s[0] == "xz"}
    total = sum(xz.values())
    # xz is stripped: its _start has no name, glibc's __libc_start_main
    # has. A new xz is walked by frame pointers until its tables are in
    # (counted): a few samples per process.
    outer = sum(n for s, n in xz.items()
                if any(f.startswith("__libc_start_main") for f in s))
    assert total >= 200, summary
    assert outer >= 0.9 * total, summary
    assert any("lzma_code" in s for s in xz), xz
    # liblzma's static functions have no symbol: named by the start of
    # their function (from its CFI), one box each, not one per address.
    lz = [f for s in xz for f in s if f.startswith("liblzma")]
    assert lz and all("!func+0x" in f for f in lz), sorted(set(lz))[:5]


def test_copies_of_one_binary_share_a_table(tmp_path, spawn):
    """Two inodes of one file (as two containers' layers have): one table,
    found by build-id, and both processes' stacks whole."""
    pids = []
    for name in ("py_a", "py_b"):
        copy = tmp_path / name
        shutil.copy(PYTHON, copy)
        pids.append(str(spawn([copy, "-c", PY_WORK]).pid))
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", ",".join(pids), "-d", "3", "-f", "199",
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    summary = (out / "summary.txt").read_text()
    assert counter(summary, "unwind: files sharing a table (build-id)") >= 1, summary
    for name in ("py_a", "py_b"):
        mine = {s: n for s, n in stacks.items() if s[0] == name}
        assert mine and start_share(mine) >= 0.95, (name, summary)


def test_code_mapped_after_the_start_gets_its_tables(tmp_path, spawn):
    """A process that loads its libraries after the profiler read its maps
    (import: dlopen of _json, _hashlib, libcrypto): BPF sees pcs outside
    the maps it was given and asks once to read them again."""
    late = "import time; time.sleep(1.5)\n" + PY_WORK
    w = spawn([PYTHON, "-c", late], stdout=subprocess.DEVNULL)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "5", "-f", "199", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    summary = (out / "summary.txt").read_text()
    assert counter(summary, "maps read again (code mapped since)") >= 1, summary
    hashing = {s: n for s, n in stacks.items()
               if any("libcrypto" in f or "sha256" in f.lower() for f in s)}
    assert sum(hashing.values()) >= 20, summary
    assert start_share(hashing) >= 0.9, summary
