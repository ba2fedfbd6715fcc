# SPDX-License-Identifier: MIT
"""A pid given to a second process (tests/workloads/pid_reuse.c) while
sysscope runs: each process's stacks are named from its own binary, not
from the maps of the other that had its pid (bpf/proc_exit.bpf.h)."""
import subprocess

from conftest import (WORKLOADS, copy_workload, process_of, read_folded,
                      samples_where, start_sysscope)

BURN_FRAMES = {"leaf_hot", "leaf_cold", "stage_two", "stage_one"}
REUSE_FRAMES = {"reuse_hot", "reuse_run"}


def test_reused_pid_is_named_from_its_own_binary(tmp_path, burn):
    first = copy_workload(burn, tmp_path / "reuse_first")
    second = copy_workload(WORKLOADS / "pid_reuse", tmp_path / "reuse_second")
    out = tmp_path / "out"
    p = start_sysscope(["profile", "-d", "8", "-f", "99", "-o", out])
    res = subprocess.run([second, "2", first, "-d", "2"], capture_output=True,
                         text=True, timeout=30)
    _, err = p.communicate(timeout=60)
    assert res.returncode == 0, res.stderr
    a, b = res.stdout.split()
    assert a == b, "the second child did not get the first one's pid"
    assert p.returncode == 0, err
    stacks = read_folded(out / "stacks.folded")
    firsts = {s: c for s, c in stacks.items() if process_of(s) == "reuse_first"}
    seconds = {s: c for s, c in stacks.items()
               if process_of(s) == "reuse_second"}
    # ~200 samples each on an idle machine: presence is the point.
    assert samples_where(firsts, lambda s: "leaf_hot" in s) > 10, firsts
    assert samples_where(seconds, lambda s: "reuse_hot" in s) > 10, seconds
    # Neither is named from the other's binary.
    assert not samples_where(firsts, lambda s: REUSE_FRAMES & set(s)), firsts
    assert not samples_where(seconds, lambda s: BURN_FRAMES & set(s)), seconds
