# SPDX-License-Identifier: MIT
"""Window edges in the agent: a thread's on- plus off-CPU time adds up to
the time its windows cover, window after window (an interval across a
window's end counted once, up to the end and from the next start; one
that ends and starts again while a window is read is not lost). A module
of its own: no other test's workloads may share the process names."""
import os
from pathlib import Path

from conftest import ROOT, WORKLOADS, wait_for
from test_agent import Agent
from test_cpu_budget import folded, seconds

WORK = WORKLOADS / "offcpu_work"
PLAIN = Path(os.environ.get("SYSSCOPE_PLAIN", ROOT / "build/sysscope"))


def test_on_plus_off_adds_up_across_windows(spawn):
    busy = spawn([WORKLOADS / "burn", "-d", "120"])
    sleepy = spawn([WORK, "spin-sleep", "120"])
    agent = Agent(["--window", 2, "--retention", 60, "--cpu-budget", 0,
                   "-f", 199], binary=PLAIN)
    try:
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= 2, 90)
        n = len(agent.json("/api/workloads?windows=0")["windows"])
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= n + 5, 40)
        # Right after a window closed: the next one is 2 s away.
        n = len(agent.json("/api/workloads?windows=0")["windows"])
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) > n, 10)
        wins = agent.json("/api/workloads?windows=5")["windows"]
        stacks = folded(agent.get("/node.folded?windows=5")[1])
    finally:
        agent.stop()
    covered = sum(w["duration_s"] for w in wins)
    assert 9.5 < covered < 13, wins
    for name, proc in (("burn", busy), ("offcpu_work", sleepy)):
        mine = [(f, v) for f, v in stacks if len(f) > 1 and f[1] == name]
        on = seconds(mine, lambda f: f[-1].endswith("_[c]"))
        off = seconds(mine, lambda f: f[-1].endswith("_[o]"))
        # 199 Hz: on-CPU time is samples x 5 ms (+-2% for the busy one).
        assert abs(on + off - covered) <= 0.05 * covered, \
            f"{name}: {on:.2f} s on + {off:.2f} s off, {covered:.2f} s covered"
        if name == "burn":
            # Busy: off the CPU only while preempted (the machine decides
            # how long), never asleep.
            asleep = seconds(mine, lambda f: f[-1].endswith("_[o]") and
                             "runqueue" not in f[-1])
            assert asleep <= 0.02 * covered, f"busy thread asleep {asleep:.2f} s"


def test_a_wait_that_ends_while_a_window_is_read_keeps_its_kernel_path(spawn):
    """The reader waits in one read() call on a pipe (wait_pipe) and on a
    socket (wait_socket) in turn, 3 ms each. A wait that ends after a
    window's end, before the window is read, is counted up to the end when
    the window is read; by then the thread waits on the other fd. Its
    kernel stack must be the one it slept with (walked as it woke), not
    the one it sleeps with when the window is read. With 1 s windows,
    about every window end has such a wait."""
    spawn([WORK, "two-reads", "60"])
    agent = Agent(["--window", 1, "--retention", 60, "--cpu-budget", 0],
                  binary=PLAIN)
    try:
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= 2, 90)
        n = len(agent.json("/api/workloads?windows=0")["windows"])
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= n + 10, 40)
        stacks = folded(agent.get("/node.folded?windows=10")[1])
    finally:
        agent.stop()

    def waited(fn, kernel):
        return seconds(stacks, lambda f: fn in f and
                       any(x.endswith("_[k]") and kernel in x for x in f))
    pipe_ok, sock_ok = waited("wait_pipe", "pipe_read"), \
        waited("wait_socket", "unix_stream")
    pipe_bad, sock_bad = waited("wait_pipe", "unix_stream"), \
        waited("wait_socket", "pipe_read")
    # Walked when the window was read (before the fix), a wait took the
    # other fd's path at most window ends: 6.8 ms in 10 windows. One such
    # wait (about 3 ms) fails this.
    assert pipe_bad + sock_bad < 0.001, \
        f"kernel path of the other fd: {pipe_bad:.4f} s, {sock_bad:.4f} s"
    # About half of 10 s each.
    assert pipe_ok > 3 and sock_ok > 3, (pipe_ok, sock_ok)
