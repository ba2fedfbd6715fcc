# SPDX-License-Identifier: MIT
"""The CFI unwinder end to end: user stacks of code built without frame
pointers, against the ground truth of tests/workloads/unwind_truth.c.

unwind_truth is built four ways (Makefile): gcc and clang, dynamic (lazy
binding) and -static, all -O2 -fomit-frame-pointer; leaves keep no frame.
Each mode burns CPU (or blocks) in one known chain; see the source. A walk
by frame pointers gets these chains wrong: only the .eh_frame tables walk
them whole.

What is checked, per variant and mode, from one 3 s run at 199 Hz:
- of the samples whose leaf user frame is the mode's leaf, >= 95% carry the
  whole chain, contiguous and in order, ending in that leaf;
- >= 95% of the main thread's samples start at `_start` (the outermost
  frame of the executable, static or dynamic);
- "unwind: walks to the outermost frame" is > 90% of all walks counted in
  summary.txt.

Frames of the system's libc show as `libc.so.6+0xOFF` (its symbol table is
in a separate debug file, which sysscope does not read). When libc6-dbg is
installed, the tests name them from that file, so that `clone3`,
`start_thread`, `__restore_rt` and qsort's internals are checked by name;
without it such frames are only checked to be libc's.
"""
import bisect
import re
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import WORKLOADS, read_folded, run_sysscope

VARIANTS = ["gcc", "clang", "gcc-static", "clang-static"]
SHARE = 0.95            # of the samples in a leaf that carry its chain
OUTERMOST = 0.90        # of the walks that reach the outermost frame
RECURSE_DEPTH = 30      # as in unwind_truth.c
LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")

CLONE = {"clone3", "__clone3", "clone", "__clone", "__GI___clone3",
         "__GI___clone"}
QSORT_INTERNALS = {"qsort", "qsort_r", "__qsort_r", "msort_with_tmp",
                   "msort_with_tmp.part.0", "_quicksort", "__GI___qsort_r"}
CLOCK = {"clock_gettime", "__clock_gettime", "__GI___clock_gettime"}


def binary(variant):
    return WORKLOADS / f"unwind_truth-{variant}"


# ---- libc names from its debug file ---------------------------------------

@lru_cache(maxsize=None)
def libc_symbols():
    """(sorted starts, [(start, end, name)]) of libc's text symbols from
    the libc6-dbg file of the installed libc, or None."""
    try:
        notes = subprocess.run(["readelf", "-n", LIBC], capture_output=True,
                               text=True, timeout=30).stdout
    except FileNotFoundError:
        return None
    m = re.search(r"Build ID: ([0-9a-f]{2})([0-9a-f]+)", notes)
    if not m:
        return None
    debug = Path(f"/usr/lib/debug/.build-id/{m.group(1)}/{m.group(2)}.debug")
    if not debug.exists():
        return None
    out = subprocess.run(["nm", "-S", "--defined-only", debug],
                         capture_output=True, text=True, timeout=60).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3:             # no size: nm leaves the column out
            f = [f[0], "0", f[1], f[2]]
        if len(f) == 4 and f[2] in ("t", "T", "w", "W"):
            start, size = int(f[0], 16), int(f[1], 16)
            # Hand-written assembly without .size (__restore_rt): the
            # few bytes of a trampoline.
            syms.append((start, start + (size or 16), f[3]))
    syms.sort()
    return [s[0] for s in syms], syms


def canon(frame):
    """libc.so.6+0xOFF named from libc's debug file (libc's ELF addresses
    of text equal file offsets); any other frame as it is."""
    m = re.fullmatch(r"libc\.so\.6\+0x([0-9a-f]+)", frame)
    table = libc_symbols() if m else None
    if not table:
        return frame
    starts, syms = table
    off = int(m.group(1), 16)
    i = bisect.bisect_right(starts, off) - 1
    # Aliases share a start, and a short symbol may follow a long one.
    for start, end, name in reversed(syms[max(i - 8, 0):i + 1]):
        if start <= off < end:
            return name
    return frame


def is_libc(frame, names):
    """frame is one of names, or an unnamed libc frame when libc's debug
    file is not there to name it."""
    return frame in names or (libc_symbols() is None and
                              frame.startswith("libc.so.6+0x"))


# ---- reading a run --------------------------------------------------------

def user_frames(stack):
    """The user frames of a folded stack, outermost first: without the root
    frames ([pod], [container], process), the kernel frames, the off-CPU
    reason, and wall-clock's _[c]/_[o] leaf marks."""
    s = list(stack)
    if s and s[-1][-4:] in ("_[c]", "_[o]"):
        s[-1] = s[-1][:-4]
    i = 0
    while i < len(s) and (s[i] == "[host]" or s[i].startswith("[pod ") or
                          s[i].startswith("[container ")):
        i += 1
    return tuple(canon(f) for f in s[i + 1:]
                 if not f.endswith("_[k]") and not f.startswith("[off-cpu"))


def counters(summary):
    """{name: value} of summary.txt's "unwind: ..." lines."""
    out = {}
    for line in summary.splitlines():
        m = re.match(r"\s*(unwind: .*?)\s+(\d+)\s*$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


class Run:
    def __init__(self, pid, out):
        self.pid = pid
        self.out = out
        self.stacks = read_folded(out / "stacks.folded")
        self.summary = (out / "summary.txt").read_text()
        self.counters = counters(self.summary)
        self.threads = {}
        for f in (out / "threads").glob("*.folded"):
            self.threads[int(f.name.split("-", 1)[0])] = read_folded(f)

    def user(self, stacks=None, offcpu=None):
        """[(user frames, count)]; offcpu True/False keeps only off-CPU
        (_[o]) or on-CPU entries (wall-clock runs)."""
        out = []
        for s, c in (self.stacks if stacks is None else stacks).items():
            if offcpu is not None and s[-1].endswith("_[o]") != offcpu:
                continue
            uf = user_frames(s)
            if uf:
                out.append((uf, c))
        return out

    def walks(self):
        """(walks to the outermost frame, walks with tables): a walk made
        before the process's tables were in is counted apart."""
        w = {k: v for k, v in self.counters.items()
             if k.startswith("unwind: walks") and "before" not in k}
        return w.get("unwind: walks to the outermost frame", 0), \
            sum(w.values())

    def show(self, entries, n=6):
        top = sorted(entries, key=lambda e: -e[1])[:n]
        return "\n".join(f"  {';'.join(uf)} {c}" for uf, c in top)


def profile(spawn, tmp_path, variant, mode, command="profile"):
    w = spawn([binary(variant), mode, "30"])
    time.sleep(0.3)     # calibrated, threads started
    assert w.popen.poll() is None, f"{variant} {mode} exited early"
    out = tmp_path / "out"
    run_sysscope([command, "-p", w.pid, "-d", "3", "-f", "199", "-o", out])
    return Run(w.pid, out)


def share(entries, pred):
    total = sum(c for _, c in entries)
    good = sum(c for uf, c in entries if pred(uf))
    return good, total


def check_share(run, entries, pred, what, minimum):
    good, total = share(entries, pred)
    assert total >= minimum, \
        f"{what}: only {total} samples (want {minimum}):\n{run.show(entries)}"
    bad = [(uf, c) for uf, c in entries if not pred(uf)]
    assert good >= SHARE * total, \
        (f"{what}: {good}/{total} = {good / total:.1%} carry the chain "
         f"(want {SHARE:.0%}); the others:\n{run.show(bad)}\n"
         f"{run.counters}")
    return good / total


def check_outermost(run):
    end, total = run.walks()
    assert total > 0, f"no walks counted:\n{run.summary}"
    assert end > OUTERMOST * total, \
        (f"walks to the outermost frame {end}/{total} = {end / total:.1%} "
         f"(want > {OUTERMOST:.0%}): {run.counters}")


def check_start(run, offcpu=None):
    """The main thread's stacks start at _start."""
    main = run.threads.get(run.pid)
    assert main is not None, f"no per-thread file for {run.pid}"
    entries = run.user(main, offcpu)
    check_share(run, entries, lambda uf: uf[0] == "_start",
                "main thread starts at _start", 50)


def ends_with(chain):
    n = len(chain)
    return lambda uf: uf[-n:] == chain


def leaf_is(leaf):
    return lambda e: e[0][-1] == leaf


def contiguous(uf, chain):
    n = len(chain)
    return any(uf[i:i + n] == chain for i in range(len(uf) - n + 1))


# ---- on-CPU chains --------------------------------------------------------

CHAINS = {
    "leaf": ("main", "outer", "mid", "leaf_spin"),
    "recurse": ("main",) + ("recurse",) * RECURSE_DEPTH + ("recurse_leaf",),
    "alloca": ("main", "alloca_frame", "alloca_leaf"),
}


@pytest.mark.parametrize("mode", sorted(CHAINS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_chain(tmp_path, spawn, variant, mode):
    chain = CHAINS[mode]
    run = profile(spawn, tmp_path, variant, mode)
    entries = [e for e in run.user() if leaf_is(chain[-1])(e)]
    check_share(run, entries, ends_with(chain), f"{variant} {mode}", 200)
    check_start(run)
    check_outermost(run)


def qsort_chain(uf):
    """main;sort_outer, then qsort's own frames only, then cmp_callback."""
    if uf[-1] != "cmp_callback":
        return False
    for i in range(len(uf) - 2):
        if uf[i:i + 2] == ("main", "sort_outer"):
            middle = uf[i + 2:-1]
            return bool(middle) and all(is_libc(f, QSORT_INTERNALS)
                                        for f in middle)
    return False


@pytest.mark.parametrize("variant", VARIANTS)
def test_qsort_callback(tmp_path, spawn, variant):
    run = profile(spawn, tmp_path, variant, "qsort")
    entries = [e for e in run.user() if leaf_is("cmp_callback")(e)]
    check_share(run, entries, qsort_chain, f"{variant} qsort", 200)
    check_start(run)
    check_outermost(run)


def signal_chain(uf):
    """main;signal_wait_loop, then what the signal interrupted (nothing, or
    clock_gettime and the vDSO), the signal frame (__restore_rt, may be
    left out), then on_signal;handler_leaf."""
    if uf[-2:] != ("on_signal", "handler_leaf"):
        return False
    try:
        j = len(uf) - 1 - uf[::-1].index("signal_wait_loop")
    except ValueError:
        return False
    if j == 0 or uf[j - 1] != "main":
        return False
    middle = uf[j + 1:-2]
    if middle and is_libc(middle[-1], {"__restore_rt"}):
        middle = middle[:-1]
    return all(f in CLOCK or f.startswith("[vdso]") for f in middle)


@pytest.mark.parametrize("variant", VARIANTS)
def test_signal_handler(tmp_path, spawn, variant):
    run = profile(spawn, tmp_path, variant, "signal")
    entries = [e for e in run.user() if leaf_is("handler_leaf")(e)]
    check_share(run, entries, signal_chain, f"{variant} signal", 50)
    check_start(run)
    check_outermost(run)


@pytest.mark.parametrize("variant", VARIANTS)
def test_threads_end_at_clone(tmp_path, spawn, variant):
    run = profile(spawn, tmp_path, variant, "threads")
    others = {tid: st for tid, st in run.threads.items() if tid != run.pid}
    assert len(others) == 2, f"threads seen: {sorted(run.threads)}"

    def thread_chain(uf):
        return (len(uf) == 4 and is_libc(uf[0], CLONE) and
                is_libc(uf[1], {"start_thread"}) and
                uf[2:] == ("thread_main", "thread_leaf"))

    for tid, st in others.items():
        entries = [e for e in run.user(st) if leaf_is("thread_leaf")(e)]
        check_share(run, entries, thread_chain,
                    f"{variant} thread {tid}: clone3;start_thread;...", 50)
    main = [e for e in run.user(run.threads[run.pid])
            if leaf_is("thread_leaf")(e)]
    check_share(run, main, ends_with(("main", "thread_main", "thread_leaf")),
                f"{variant} main thread", 50)
    check_start(run)
    check_outermost(run)


@pytest.mark.parametrize("variant", VARIANTS)
def test_plt_calls_reach_main(tmp_path, spawn, variant):
    """Calls through the PLT (strlen; its GOT slot flushed from the cache
    so that samples land in the stub too): the share of all the process's
    samples whose stack holds main;plt_loop."""
    run = profile(spawn, tmp_path, variant, "plt")
    entries = run.user()
    check_share(run, entries, lambda uf: contiguous(uf, ("main", "plt_loop")),
                f"{variant} plt: samples under main;plt_loop", 200)
    strlen = sum(c for uf, c in entries
                 if uf[-1].startswith(("__strlen", "strlen")) or
                 (libc_symbols() is None and uf[-1].startswith("libc.so.6")))
    assert strlen > 0, f"no sample in strlen:\n{run.show(entries)}"
    check_start(run)
    check_outermost(run)


# ---- off-CPU --------------------------------------------------------------

BLOCK_CHAIN = ("main", "block_outer", "block_leaf")
OURS = {"main", "block_outer", "block_leaf", "block_a", "block_b"}


def blocked_in(chain):
    """chain contiguous, then only libc's frames (the syscall wrappers)."""
    n = len(chain)

    def pred(uf):
        for i in range(len(uf) - n + 1):
            if uf[i:i + n] == chain:
                return not any(f in OURS for f in uf[i + n:])
        return False
    return pred


@pytest.mark.parametrize("variant", VARIANTS)
def test_offcpu_chain(tmp_path, spawn, variant):
    """All the process's off-CPU time is in block_leaf's nanosleep and
    poll: >= 95% of it (ns) carries main;block_outer;block_leaf."""
    run = profile(spawn, tmp_path, variant, "block", "wallclock")
    entries = run.user(offcpu=True)
    check_share(run, entries, blocked_in(BLOCK_CHAIN),
                f"{variant} block: off-CPU ns", 2e9)
    check_start(run, offcpu=True)
    check_outermost(run)


@pytest.mark.parametrize("variant", VARIANTS)
def test_offcpu_twin_callers(tmp_path, spawn, variant):
    """main calls block_a and block_b in turn; each calls block_leaf, with
    the same frame size: both block at the same pc and sp. Each holds half
    the off-CPU time; a stack reused by where the thread blocked alone
    would put it all under one of them."""
    run = profile(spawn, tmp_path, variant, "blocksplit", "wallclock")
    entries = run.user(offcpu=True)
    a, total = share(entries, blocked_in(("main", "block_a", "block_leaf")))
    b, _ = share(entries, blocked_in(("main", "block_b", "block_leaf")))
    assert total > 2e9, f"off-CPU {total} ns:\n{run.show(entries)}"
    assert a + b >= SHARE * total, run.show(entries)
    assert 0.35 < a / total < 0.65, \
        (f"block_a {a / total:.1%}, block_b {b / total:.1%} of off-CPU "
         f"time (truth: 50% each):\n{run.show(entries)}")


# ---- in a container -------------------------------------------------------

def test_static_gcc_in_containerd(tmp_path, containerd):
    """The static gcc build as /bin/app of a containerd container (its own
    root only), profiled by container name."""
    from containers import make_rootfs
    c = containerd.run("unwind-truth", "unwind-0", "e2e",
                       make_rootfs(tmp_path / "rootfs",
                                   binary("gcc-static")),
                       ["/bin/app", "leaf", "30"])
    time.sleep(0.3)
    out = tmp_path / "out"
    run_sysscope(["profile", "--container", c.name, "-d", "3", "-f", "199",
                  "-o", out])
    run = Run(c.pid(), out)
    roots = {s[:len(c.frames)] for s in run.stacks}
    assert roots == {c.frames}, roots
    chain = CHAINS["leaf"]
    entries = [e for e in run.user() if leaf_is(chain[-1])(e)]
    check_share(run, entries, ends_with(chain), "container leaf", 200)
    check_share(run, run.user(), lambda uf: uf[0] == "_start",
                "container: starts at _start", 200)
    check_outermost(run)
