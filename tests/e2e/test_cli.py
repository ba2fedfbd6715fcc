# SPDX-License-Identifier: MIT
"""Command-line errors: one clear line, a non-zero status, nothing written."""
import os
import subprocess

import pytest

from conftest import SYSSCOPE, run_sysscope


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["-f", "0"], "invalid frequency '0'"),
    (["-f", "10001"], "invalid frequency '10001'"),
    (["-d", "-3"], "invalid duration"),
    (["-p", "abc"], "invalid pid 'abc'"),
    (["-U", "-K"], "exclude each other"),
    (["bogusmode"], "unknown mode 'bogusmode'"),
    (["-d"], "needs a value"),
])
def test_usage_errors(tmp_path, args, message):
    res = run_sysscope([*args, "-o", tmp_path / "out"] if args != ["-d"]
                       else args, check=False)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "out").exists()


def free_pid():
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


def test_unknown_pid(tmp_path):
    pid = free_pid()
    res = run_sysscope(["-p", pid, "-d", "1", "-o", tmp_path / "o"],
                       check=False)
    assert res.returncode == 1
    assert f"no process {pid}" in res.stderr


def test_unprivileged_names_missing_capability(tmp_path):
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                          "--clear-groups", "--inh-caps=-all",
                          "--bounding-set=-all", str(SYSSCOPE), "profile",
                          "-d", "1", "-o", tmp_path / "o"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1, res.stderr
    assert "missing capability CAP_BPF, CAP_PERFMON" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_help_and_version():
    res = run_sysscope(["--help"])
    assert "--frequency" in res.stdout and "--cgroup" in res.stdout
    res = run_sysscope(["--version"])
    assert res.stdout.startswith("sysscope ")
