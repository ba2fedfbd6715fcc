# SPDX-License-Identifier: MIT
"""The agent's one cache budget (src/cache/mem_budget.c) end to end, with
the real agent and real processes:

- a binary started again after its process exited (and the agent forgot
  that process) is not read again: its symbols and unwind table stay
  cached (the agent's -vv log names each file it reads, by inode);
- tenants that map many distinct libraries, one after another, never
  push the cache's bytes in /metrics over the budget, and the
  least recently used files no process maps any more are evicted.
"""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SYSSCOPE, WORKLOADS, wait_for
from test_agent import Agent, free_port, metric

# Above what the node's live processes pin (a few MiB), below the flood.
BUDGET_MIB = 12
COPIES, PER_TENANT = 40, 10
LIB = Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
GNU_BUILD_ID = b"\x04\x00\x00\x00\x14\x00\x00\x00\x03\x00\x00\x00GNU\x00"


class LoggedAgent(Agent):
    """The agent at -vv, its log in a file (a pipe nobody reads fills)."""

    def __init__(self, args, log):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "w") as f:
            self.proc = subprocess.Popen(
                [str(SYSSCOPE), "agent", "-vv", "--listen",
                 f"127.0.0.1:{self.port}", *map(str, args)], stderr=f)
        if not wait_for(lambda: self.try_get("/healthz") is not None, 20):
            self.stop()
            raise AssertionError(f"agent did not serve: {self.stderr[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = Path(self.log).read_text(errors="replace")
        return self.proc.returncode


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    log = tmp_path_factory.mktemp("agent-cache") / "agent.log"
    # No DWARF: its megabytes would make the tests depend on which
    # libraries the node's processes use.
    a = LoggedAgent(["--window", 1, "--cache-budget", f"{BUDGET_MIB}M",
                     "--dwarf-budget", "0"], log)
    # Past its first windows, which read every process on the node.
    wait_windows(a, 2, timeout=90)
    yield a
    assert a.stop() == 0, a.stderr[-2000:]


def windows(agent):
    return metric(agent.metrics(), "sysscope_windows_total", result="ok")


def wait_windows(agent, n, timeout=30):
    """n more windows closed: what exited before is forgotten."""
    w0 = windows(agent)
    assert wait_for(lambda: windows(agent) >= w0 + n, timeout), \
        "windows stopped closing"


def reads_of(agent, path):
    """How often the agent read the file at path (its -vv log, by inode)."""
    st = os.stat(path)
    want = (f"{os.major(st.st_dev)}:{os.minor(st.st_dev)} "
            f"inode {st.st_ino} ")
    return Path(agent.log).read_text(errors="replace").count(want)


def cache_totals(m):
    held = sum(v for (n, _), v in m.items() if n == "sysscope_cache_bytes")
    return held, metric(m, "sysscope_cache_budget_bytes")


def test_restarted_binary_reuses_cached_tables(agent, tmp_path):
    exe = tmp_path / "burn-again"
    shutil.copy(WORKLOADS / "burn", exe)
    hits0 = metric(agent.metrics(), "sysscope_cache_hits_total", kind="unwind")
    for run in range(2):
        subprocess.run([exe, "-d", "3"], check=True,
                       stdout=subprocess.DEVNULL, timeout=30)
        # Its process exits, is forgotten, its file is left idle.
        wait_windows(agent, 2)
        assert reads_of(agent, exe) == 1, \
            f"run {run + 1}: read {reads_of(agent, exe)} times"
    m = agent.metrics()
    assert metric(m, "sysscope_cache_hits_total", kind="unwind") > hits0
    held, budget = cache_totals(m)
    assert held <= budget


def distinct_copy(src, dst, i):
    """src with its own build-id: nothing shared with other copies."""
    data = bytearray(Path(src).read_bytes())
    at = data.find(GNU_BUILD_ID)
    assert at > 0, f"{src}: no GNU build-id note"
    data[at + 16:at + 36] = i.to_bytes(4, "little") + bytes(16)
    Path(dst).write_bytes(data)
    return dst


def test_flood_of_libraries_stays_in_budget(agent, tmp_path):
    """Tenants one after another, each mapping 10 libraries of its own
    (~0.4 MiB of symbols each): 16 MiB in all through a 12 MiB budget."""
    assert LIB.exists(), f"{LIB} is needed (libstdc++6)"
    copies = [distinct_copy(LIB, tmp_path / f"libflood{i}.so", i)
              for i in range(COPIES)]
    ev0 = metric(agent.metrics(), "sysscope_cache_evictions_total",
                 kind="symbols")
    peak = 0
    for first in range(0, COPIES, PER_TENANT):
        argv = [WORKLOADS / "hostile", "-u", "5", "-d", "1"]
        for lib in copies[first:first + PER_TENANT]:
            argv += ["-m", lib]
        tenant = subprocess.Popen(argv)
        while tenant.poll() is None:
            held, budget = cache_totals(agent.metrics())
            peak = max(peak, held)
            assert held <= budget, f"cache {held} B over its budget {budget} B"
            time.sleep(0.2)
        assert tenant.returncode == 0
        wait_windows(agent, 1)
        held, budget = cache_totals(agent.metrics())
        assert held <= budget, f"cache {held} B over its budget {budget} B"
        peak = max(peak, held)
    m = agent.metrics()
    assert metric(m, "sysscope_cache_budget_bytes") == BUDGET_MIB << 20
    assert sum(reads_of(agent, c) for c in copies) >= 1, "no copy was read"
    # Idle tenants' files made room for the next ones.
    assert metric(m, "sysscope_cache_evictions_total", kind="symbols") > ev0
    print(f"cache peak {peak / 2**20:.2f} MiB of {BUDGET_MIB} MiB")
