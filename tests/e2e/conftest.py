# SPDX-License-Identifier: MIT
"""Shared fixtures of the end-to-end tests: the real binary, real workloads,
real BPF in the running kernel. They need root; without it they fail."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSSCOPE = Path(os.environ.get("SYSSCOPE", ROOT / "build/sysscope"))
WORKLOADS = Path(os.environ.get("SYSSCOPE_WORKLOADS", ROOT / "build/workloads"))


def pytest_configure(config):
    if os.geteuid() != 0:
        pytest.exit("the end-to-end tests load BPF programs: run them as root",
                    returncode=1)
    if not SYSSCOPE.exists():
        pytest.exit(f"{SYSSCOPE} is missing: run make first", returncode=1)


class Proc:
    """A started workload, killed at teardown."""

    def __init__(self, argv, **kw):
        self.popen = subprocess.Popen(argv, **kw)
        self.pid = self.popen.pid

    def stop(self):
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)


@pytest.fixture
def spawn():
    procs = []

    def start(argv, **kw):
        p = Proc([str(a) for a in argv], **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def burn():
    return WORKLOADS / "burn"


def run_sysscope(args, timeout=60, check=True):
    res = subprocess.run([str(SYSSCOPE), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"sysscope {args} exited {res.returncode}:\n"
                             f"{res.stderr}")
    return res


def start_sysscope(args):
    """Starts sysscope and returns once it says it is sampling."""
    p = subprocess.Popen([str(SYSSCOPE), *map(str, args)],
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    if "sampling at" not in line:
        p.kill()
        raise AssertionError(f"sysscope did not start: {line}{p.stderr.read()}")
    return p


def read_folded(path):
    """{stack tuple: count} from a folded file; checks each line's shape."""
    stacks = {}
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), f"malformed folded line: {line!r}"
        key = tuple(stack.split(";"))
        stacks[key] = stacks.get(key, 0) + int(count)
    return stacks


def process_of(stack):
    """The process frame: below "[host]" or "[pod ...]", "[container ...]"."""
    for frame in stack:
        if not (frame == "[host]" or frame.startswith("[pod ") or
                frame.startswith("[container ")):
            return frame
    return None


def samples_where(stacks, pred):
    return sum(c for s, c in stacks.items() if pred(s))


def go_pprof(args, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), GOCACHE=str(tmp_path / "gocache"),
               GOPATH=str(tmp_path / "gopath"))
    res = subprocess.run(["go", "tool", "pprof", *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, f"go tool pprof {args}: {res.stderr}"
    return res.stdout


def cgroup2_mount():
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        if post.split()[0] == "cgroup2":
            return Path(pre.split()[4])
    raise AssertionError("no cgroup v2 hierarchy mounted")


@pytest.fixture
def cgroup_dir():
    """A fresh cgroup v2 directory; processes left in it are killed."""
    made = []

    def make(name):
        d = cgroup2_mount() / name
        d.mkdir()
        made.append(d)
        return d

    yield make
    for d in reversed(made):
        dirs = sorted((p for p in d.rglob("*") if p.is_dir()), reverse=True)
        for sub in dirs + [d]:
            for pid in (sub / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for sub in dirs:
            wait_for(lambda: not (sub / "cgroup.procs").read_text().strip())
            sub.rmdir()
        for _ in range(50):
            try:
                d.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def copy_workload(src, dst):
    shutil.copy2(src, dst)
    return dst


def wait_for(pred, timeout=5.0, interval=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(interval)
    return False


def sigint(p):
    p.send_signal(signal.SIGINT)


# ---- containers: one real containerd per test module, one module at a time ----

@pytest.fixture(scope="module")
def exclusive():
    """One run of the container tests at a time on the node: their names
    are fixed, and a second run would make them ambiguous."""
    from containers import node_lock
    with node_lock():
        yield


@pytest.fixture(scope="module")
def containerd(tmp_path_factory, exclusive):
    from containers import Containerd
    c = Containerd(tmp_path_factory.mktemp("containerd"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Where static workloads are built (build_static_workload)."""
    return tmp_path_factory.mktemp("builds")
