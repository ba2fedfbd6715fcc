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
