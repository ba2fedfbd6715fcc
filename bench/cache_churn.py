#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The agent's process CPU beside a neighbour that starts ~20 short
processes a second of the same few binaries (issue 14: a build starting
compilers): tables and symbols of files no process maps any more stay
cached (the cache budget) instead of being rebuilt for every new process.

A benchmark, not a test: it prints a Markdown table (stdout, and
OUTPUT/bench/cache_churn.md) and never fails on a figure; it fails when
not run as root or when an agent dies.

The neighbour, from private copies of gcc's cc1 (33 MB, 2.3 MB of
.eh_frame; sleep(1) where there is no gcc 12) and python3 (no other process
on the node maps them), starts one process every 50 ms, in turn `cc1` on a
one-line C file and `python3 -c pass`, each waited for: between two windows
the binaries are often mapped by no process, as in a build whose compiler
runs are short. The agent (plain build, WINDOW s windows, default 2: a
file no process maps is dropped, before the cache, at each window's end)
warms up for WARM seconds and two windows, then over MEASURE seconds:
  cpu %       the agent process's CPU time (utime + stime), % of one core
  built       unwind tables built (sysscope_unwind_files_total loaded)
  build s     seconds spent building them (sysscope_unwind_build_seconds)
  hits        cache hits of unwind tables (0 where there is no cache)
Medians over ROUNDS rounds (default 3), configurations alternated.

  bench/cache_churn.py build                  # this build only
  BEFORE=/path/to/old/sysscope bench/cache_churn.py build   # side by side
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROUNDS = int(os.environ.get("ROUNDS", "3"))
WARM = float(os.environ.get("WARM", "15"))
MEASURE = float(os.environ.get("MEASURE", "30"))
WINDOW = float(os.environ.get("WINDOW", "2"))
CC1 = "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"
PERIOD = 0.05


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def wait_windows(port, n):
    key = 'sysscope_windows_total{result="ok"}'
    end = metrics(port).get(key, 0) + n
    while metrics(port).get(key, 0) < end:
        time.sleep(0.2)


def neighbour(tmp, stop_at):
    """Starts the short processes until stop_at; returns how many."""
    py = tmp / "churn-python3"
    shutil.copy(os.path.realpath(shutil.which("python3")), py)
    argvs = [[str(py), "-c", "pass"]]
    if Path(CC1).exists():
        src = tmp / "churn.c"
        src.write_text("int twice(int x) { return 2 * x; }\n")
        shutil.copy(CC1, tmp / "churn-cc1")
        argvs.append([str(tmp / "churn-cc1"), "-quiet", str(src), "-o", "/dev/null"])
    else:
        shutil.copy(shutil.which("sleep"), tmp / "churn-sleep")
        argvs.append([str(tmp / "churn-sleep"), "0.01"])
    n = 0
    next_at = time.monotonic()
    while time.monotonic() < stop_at:
        subprocess.run(argvs[n % 2], stdout=subprocess.DEVNULL, check=True)
        n += 1
        next_at += PERIOD
        time.sleep(max(0, next_at - time.monotonic()))
    return n


def one_run(binary, tmp):
    port = free_port()
    agent = subprocess.Popen([str(binary), "agent", "--listen",
                              f"127.0.0.1:{port}", "--window", f"{WINDOW:g}"],
                             stderr=subprocess.DEVNULL)
    try:
        time.sleep(WARM)
        if agent.poll() is not None:
            raise SystemExit("bench: error: the agent exited")
        wait_windows(port, 2)
        m0, c0, t0 = metrics(port), cpu_s(agent.pid), time.monotonic()
        started = neighbour(tmp, t0 + MEASURE)
        c1, t1 = cpu_s(agent.pid), time.monotonic()
        wait_windows(port, 1)      # the last processes' counters
        m1 = metrics(port)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)

    def delta(key):
        return m1.get(key, 0) - m0.get(key, 0)
    return {
        "cpu": 100 * (c1 - c0) / (t1 - t0),
        "built": delta('sysscope_unwind_files_total{result="loaded"}'),
        "build_s": delta("sysscope_unwind_build_seconds_total"),
        "hits": delta('sysscope_cache_hits_total{kind="unwind"}'),
        "rate": started / (t1 - t0),
    }


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench: error: run as root (BPF)")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
    configs = {"this build": out / "sysscope"}
    if os.environ.get("BEFORE"):
        configs = {"before": Path(os.environ["BEFORE"]), **configs}
    rows = {name: [] for name in configs}
    with tempfile.TemporaryDirectory(prefix="sysscope-churn-") as tmp:
        for r in range(ROUNDS):
            names = list(configs) if r % 2 == 0 else list(configs)[::-1]
            for name in names:
                log(f"round {r + 1}/{ROUNDS}: {name}")
                rows[name].append(one_run(configs[name], Path(tmp)))
    lines = ["| agent | processes/s | agent CPU % of a core | tables built | "
             "s building | unwind cache hits |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        lines.append(f"| {name} | {med['rate']:.1f} | {med['cpu']:.2f} | "
                     f"{med['built']:.0f} | {med['build_s']:.2f} | "
                     f"{med['hits']:.0f} |")
    table = "\n".join(lines)
    print(f"Medians of {ROUNDS} rounds, {MEASURE:.0f} s each:\n\n{table}")
    (out / "bench").mkdir(exist_ok=True)
    (out / "bench/cache_churn.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
