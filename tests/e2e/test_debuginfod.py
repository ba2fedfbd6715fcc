# SPDX-License-Identifier: MIT
"""Debug files fetched from a debuginfod server: a real elfutils
`debuginfod` on loopback serving a folder that holds only the debug file
of a stripped ground-truth binary (random build-id). The fetch runs in a
helper process (src/sandbox/fetcher.c), never in the sandboxed profiler: a
dead, slow or lying server costs names, never samples."""
import http.server
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import SYSSCOPE, read_folded, run_sysscope, wait_for
from test_debug_files import build, counter, named

NOBODY = 65534


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serves(url, build_id):
    try:
        with urllib.request.urlopen(f"{url}/buildid/{build_id}/debuginfo",
                                    timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def cache():
    """The helper's cache folder: below one nobody may enter (pytest's
    tmp_path is root's alone)."""
    top = Path(tempfile.mkdtemp(prefix="sysscope-debuginfod-", dir="/tmp"))
    top.chmod(0o755)
    yield top / "cache"
    shutil.rmtree(top)


@pytest.fixture
def debuginfod(tmp_path):
    """start(folder, build_id): (url, process) of a debuginfod serving
    folder, once it serves build_id (its first scan takes a few seconds)."""
    servers = []

    def start(folder, build_id):
        port = free_port()
        log = open(tmp_path / f"debuginfod-{port}.log", "w")
        p = subprocess.Popen(["debuginfod", "-p", str(port), "-F",
                              "-d", str(tmp_path / f"db-{port}.sqlite"),
                              "-t", "1", str(folder)],
                             stdout=log, stderr=subprocess.STDOUT)
        servers.append((p, log))
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: serves(url, build_id), timeout=60), \
            (tmp_path / f"debuginfod-{port}.log").read_text()
        return url, p

    yield start
    for p, log in servers:
        if p.poll() is None:
            p.terminate()
        p.wait(timeout=10)
        log.close()


class Http(threading.Thread):
    """A server on loopback: answers every request with body, or (body
    None) accepts and never answers."""

    def __init__(self, body):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.body = body
        self.held = []
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.body is None:
                self.held.append(c)
                continue
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(self.body) + self.body)
            c.close()

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()


def profile(spawn, tmp_path, prog, url, cache):
    w = spawn([prog, "30"])
    out = tmp_path / "out"
    t0 = time.monotonic()
    res = run_sysscope(["profile", "-p", w.pid, "-d", "2", "-f", "199",
                        "-o", out, "--debuginfod", url,
                        "--debuginfod-cache", cache])
    took = time.monotonic() - t0
    return (read_folded(out / "stacks.folded"),
            (out / "summary.txt").read_text(), took, res.stderr)


def test_named_by_debuginfod(tmp_path, spawn, debuginfod, cache):
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    served = tmp_path / "served"
    served.mkdir()
    os.rename(debug, served / "prog.debug")
    url, _ = debuginfod(served, bid)
    stacks, summary, _, _ = profile(spawn, tmp_path, prog, url, cache)
    assert named(stacks) >= 100, summary
    assert counter(summary, "user frames named by debuginfod") > 0, summary
    assert counter(summary, "debuginfod: files fetched") >= 1, summary
    assert counter(summary, "debuginfod: failures") == 0, summary
    # The helper made its cache as nobody; the debug file is in it.
    assert cache.stat().st_uid == NOBODY
    assert (cache / bid / "debuginfo").stat().st_uid == NOBODY


def test_environment_variable_is_enough(tmp_path, spawn, debuginfod, cache):
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    served = tmp_path / "served"
    served.mkdir()
    os.rename(debug, served / "prog.debug")
    url, _ = debuginfod(served, bid)
    w = spawn([prog, "30"])
    out = tmp_path / "out"
    res = subprocess.run([str(SYSSCOPE), "profile", "-p", str(w.pid), "-d",
                          "2", "-o", str(out), "--debuginfod-cache",
                          str(cache)],
                         env={**os.environ, "DEBUGINFOD_URLS": url},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert named(read_folded(out / "stacks.folded")) > 0
    summary = (out / "summary.txt").read_text()
    assert counter(summary, "user frames named by debuginfod") > 0, summary


def test_dead_server_costs_names_not_the_profile(tmp_path, spawn, cache):
    """A port nobody listens on: written, unnamed, the failure counted."""
    prog, _ = build(tmp_path, secrets.token_hex(20))
    stacks, summary, _, _ = profile(spawn, tmp_path, prog,
                                    f"http://127.0.0.1:{free_port()}", cache)
    assert named(stacks) == 0, summary
    assert sum(stacks.values()) >= 100, summary
    assert any(f.startswith("prog!func+0x") for s in stacks for f in s)
    assert counter(summary, "user frames named by debuginfod") == 0, summary
    assert counter(summary, "debuginfod: failures") >= 1, summary


def test_stopped_server(tmp_path, spawn, debuginfod, cache):
    """A server that served, then stopped before the run."""
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    served = tmp_path / "served"
    served.mkdir()
    os.rename(debug, served / "prog.debug")
    url, server = debuginfod(served, bid)
    server.terminate()
    server.wait(timeout=10)
    assert wait_for(lambda: not serves(url, bid), timeout=10)
    stacks, summary, _, _ = profile(spawn, tmp_path, prog, url, cache)
    assert named(stacks) == 0, summary
    assert counter(summary, "debuginfod: failures") >= 1, summary


def test_slow_server_delays_names_not_samples(tmp_path, spawn, cache):
    """A server that accepts and never answers: the run ends on time
    (its bounded wait for the helper), the request counted as timed out."""
    prog, _ = build(tmp_path, secrets.token_hex(20))
    silent = Http(None)
    try:
        stacks, summary, took, _ = profile(spawn, tmp_path, prog, silent.url,
                                           cache)
    finally:
        silent.stop()
    assert sum(stacks.values()) >= 100, summary
    assert named(stacks) == 0, summary
    assert counter(summary, "debuginfod: timed out") >= 1, summary
    # 2 s of sampling, loading, and at most 3 s waiting for the helper.
    assert took < 15, took


def test_garbage_answer_is_a_counted_failure(tmp_path, spawn, cache):
    """200 OK with a body that is not ELF, and one that is ELF but
    truncated: neither names anything nor stays in the cache."""
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    for body in (b"not an ELF file\n" * 64, debug.read_bytes()[:200]):
        liar = Http(body)
        try:
            stacks, summary, _, _ = profile(spawn, tmp_path, prog, liar.url, cache)
        finally:
            liar.stop()
        assert named(stacks) == 0, summary
        assert sum(stacks.values()) >= 100, summary
        assert counter(summary, "debuginfod: failures") >= 1, summary
        assert counter(summary, "debuginfod: files fetched") == 0, summary
    # Garbage does not stay in the cache.
    assert not (cache / bid / "debuginfo").exists() or \
        (cache / bid / "debuginfo").stat().st_size == 0


def status_fields(pid):
    text = Path(f"/proc/{pid}/status").read_text()
    return dict(line.split(":\t", 1) for line in text.splitlines()
                if ":\t" in line)


def test_helper_is_confined(tmp_path, spawn, cache):
    """The helper, seen from outside while it is busy: nobody, no
    capabilities in any set, no_new_privs, a seccomp filter. Its self-test
    (--sandbox-selftest) shows execve, ptrace, bpf and Unix sockets denied."""
    prog, _ = build(tmp_path, secrets.token_hex(20))
    w = spawn([prog, "30"])
    silent = Http(None)
    p = subprocess.Popen([str(SYSSCOPE), "profile", "-p", str(w.pid),
                          "-d", "4", "-o",
                          str(tmp_path / "out"), "--sandbox-selftest",
                          "--debuginfod", silent.url, "--debuginfod-cache",
                          str(cache)],
                         stderr=subprocess.PIPE, text=True)
    try:
        helper = None

        def find():
            nonlocal helper
            for d in Path("/proc").iterdir():
                try:
                    st = status_fields(d.name)
                except (OSError, ValueError):
                    continue
                # Once its filter is in: it confines itself in steps.
                if st.get("Name") == "sysscope-fetch" and \
                        st.get("PPid", "").strip() == str(p.pid) and \
                        st.get("Seccomp", "").strip() == "2":
                    helper = st
                    return True
            return False

        assert wait_for(find, timeout=10), "no confined helper seen"
        assert helper["Uid"].split() == [str(NOBODY)] * 4, helper
        assert helper["Gid"].split() == [str(NOBODY)] * 4, helper
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(helper[cap], 16) == 0, (cap, helper)
        assert helper["NoNewPrivs"].strip() == "1"
        assert helper["Seccomp"].strip() == "2"
    finally:
        _, err = p.communicate(timeout=60)
        silent.stop()
    assert p.returncode == 0, err
    lines = [line for line in err.splitlines()
             if line.startswith("sandbox: fetcher ")]
    for call in ("execve", r"ptrace", r"bpf\(BPF_PROG_LOAD\)",
                 r"socket\(AF_UNIX\)"):
        assert any(re.match(rf"^sandbox: fetcher {call}\s+denied \(EPERM\)$",
                            line) for line in lines), err


def debuginfod_metric(text, result):
    m = re.search(r'^sysscope_debuginfod_files_total\{result="%s"\} (\d+)$'
                  % result, text, re.M)
    assert m, text
    return int(m.group(1))


def test_agent_fetches_and_counts(tmp_path, spawn, debuginfod, cache):
    """The agent (whole node, 1 s windows): the stripped binary's debug
    file is fetched while it runs, and /metrics counts it."""
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    served = tmp_path / "served"
    served.mkdir()
    os.rename(debug, served / "prog.debug")
    url, _ = debuginfod(served, bid)
    spawn([prog, "60"])
    port = free_port()
    p = subprocess.Popen([str(SYSSCOPE), "agent", "--listen",
                          f"127.0.0.1:{port}", "--window", "1", "-d", "30",
                          "--debuginfod", url, "--debuginfod-cache",
                          str(cache)],
                         stderr=subprocess.PIPE, text=True)
    text = ""

    def fetched():
        nonlocal text
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                        timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return False
        return debuginfod_metric(text, "fetched") >= 1

    try:
        assert wait_for(fetched, timeout=25), text
        assert debuginfod_metric(text, "requested") >= 1
    finally:
        p.terminate()
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
