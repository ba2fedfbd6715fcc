# SPDX-License-Identifier: MIT
"""A stalled mount never holds the collector: a workload runs from a FUSE
mount (bindfs) whose daemon is then stopped (SIGSTOP), so any open() of
its files blocks until the daemon runs again. sysscope does not open
files on FUSE and network filesystems by default (it tells them from
mountinfo, without touching the file) and counts them; with
--read-remote-fs the agent does get stuck, and /healthz says so."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import WORKLOADS, read_folded, run_sysscope, wait_for
from test_agent import Agent


def mounted(path):
    return any(line.split()[4] == str(path)
               for line in Path("/proc/self/mountinfo").read_text().splitlines())


@pytest.fixture
def stalled(tmp_path, spawn):
    """(workload, daemon): burn running from a bindfs mount whose daemon
    is stopped; continued and unmounted afterwards."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shutil.copy(WORKLOADS / "burn", src / "burn")
    daemon = subprocess.Popen(["bindfs", "-f", src, mnt],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: mounted(mnt), 10), "bindfs did not mount"
        w = spawn([mnt / "burn", "-d", "60"])
        time.sleep(0.3)
        assert w.popen.poll() is None, "the workload did not start"
        os.kill(daemon.pid, signal.SIGSTOP)
        yield w, daemon
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        subprocess.run(["umount", "-l", mnt], check=False)
        daemon.terminate()
        daemon.wait(timeout=10)


def counter(summary, name):
    for line in summary.splitlines():
        if line.strip().startswith(name):
            return int(line.split()[-1])
    raise AssertionError(f"no counter {name!r} in summary.txt")


def test_profile_skips_files_on_a_stalled_mount(tmp_path, stalled):
    w, _ = stalled
    out = tmp_path / "out"
    # It would block in open() for as long as the daemon is stopped.
    run_sysscope(["profile", "-p", w.pid, "-d", "2", "-o", out], timeout=60)
    summary = (out / "summary.txt").read_text()
    assert counter(summary, "files not read (FUSE or network filesystem)") >= 1
    stacks = read_folded(out / "stacks.folded")
    assert sum(n for s, n in stacks.items() if "burn" in s) > 0, summary


def test_healthz_fails_while_the_collector_is_stuck(stalled):
    """--read-remote-fs: the agent opens the workload's binary and waits
    on the stopped daemon; /healthz turns 503 within two windows, and
    ok again once the daemon runs."""
    _, daemon = stalled
    a = Agent(["--window", 1, "--read-remote-fs"])
    try:
        assert wait_for(lambda: a.get("/healthz", expect=None)[0] == 503, 20), \
            "the agent stayed healthy while stuck"
        status, body, _ = a.get("/healthz", expect=None)
        assert b"no window closed" in body, body
        os.kill(daemon.pid, signal.SIGCONT)
        assert wait_for(lambda: a.get("/healthz", expect=None)[0] == 200, 20)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        assert a.stop() == 0, a.stderr
