#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The agent's CPU budget: cost and accuracy at 5k, 20k and 50k switches/s.

A benchmark, not a test: it prints a Markdown table (stdout, and
OUTPUT/bench/budget.md) and never fails on a figure. It fails when it is
not run as root or when the agent dies.

For each switch rate (offcpu_work switchy with N threads, ~950 switches/s
each) and each configuration, in random order per round:
  none        no profiler (the neighbour's baseline rounds)
  exact       sysscope agent --cpu-budget 0 (every switch-out recorded)
  budget 2    sysscope agent --cpu-budget 2
  budget 1    sysscope agent (the default, 1% of one core)
a spin-sleep thread (30% spin, 70% sleep) runs beside it. After WARM
seconds, over MEASURE seconds:
  cost        BPF run time of the agent's programs (its /metrics, from the
              kernel's bpf_stats) + the agent's CPU time, % of one core
  slowdown    the neighbour's rounds against the no-profiler median
  share err   the spin-sleep thread's on-CPU share in the agent's merged
              windows minus its true share (CPU time from /proc)
Medians over ROUNDS rounds (default 3; QUICK=1: 1 round, shorter).

  bench/budget.py build          # OUTPUT dir with sysscope and workloads
"""
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

QUICK = os.environ.get("QUICK") == "1"
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "3"))
WARM = float(os.environ.get("WARM", "10" if QUICK else "15"))
MEASURE = float(os.environ.get("MEASURE", "15" if QUICK else "30"))
WINDOW = 5
RATES = {"5k": 5, "20k": 21, "50k": 53}      # threads of ~950 switches/s
CONFIGS = {"none": None, "exact": ["--cpu-budget", "0"],
           "budget 2": ["--cpu-budget", "2"], "budget 1": []}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return r.read()


def metrics(port):
    out = {}
    for line in get(port, "/metrics").decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def bpf_s(m):
    return (m.get('sysscope_bpf_run_seconds_total{program="oncpu"}', 0) +
            m.get('sysscope_bpf_run_seconds_total{program="offcpu"}', 0))


def windows(port):
    return json.loads(get(port, "/api/workloads?windows=0"))["windows"]


def share_in(folded):
    on = off = 0
    for line in folded.decode().splitlines():
        stack, _, v = line.rpartition(" ")
        if "spin_sleep_loop" not in stack:
            continue
        if stack.endswith("_[c]"):
            on += int(v)
        elif stack.endswith("_[o]"):
            off += int(v)
    return on / (on + off) if on + off else float("nan")


def one_run(out, threads, args):
    work = out / "workloads/offcpu_work"
    total = WARM + MEASURE + 5
    neighbour = subprocess.Popen([str(work), "switchy", str(total), str(threads)],
                                 stdout=subprocess.PIPE, text=True)
    spinner = subprocess.Popen([str(work), "spin-sleep", str(total)])
    agent = port = None
    row = {}
    try:
        if args is not None:
            port = free_port()
            agent = subprocess.Popen(
                [str(out / "sysscope"), "agent", "--listen", f"127.0.0.1:{port}",
                 "--window", str(WINDOW), "--retention", "600", *args],
                stderr=subprocess.DEVNULL)
        time.sleep(WARM)
        if agent:
            if agent.poll() is not None:
                raise SystemExit("bench: error: the agent exited")
            n0 = len(windows(port))
            while len(windows(port)) == n0:
                time.sleep(0.2)
            m0, a0, t0, s0 = metrics(port), cpu_s(agent.pid), time.monotonic(), cpu_s(spinner.pid)
            n0 += 1
            need = max(1, int(MEASURE // WINDOW))
            while len(windows(port)) < n0 + need:
                time.sleep(0.2)
            m1, a1, t1, s1 = metrics(port), cpu_s(agent.pid), time.monotonic(), cpu_s(spinner.pid)
            wall = t1 - t0
            row["cost"] = 100 * (bpf_s(m1) - bpf_s(m0) + a1 - a0) / wall
            row["bpf"] = 100 * (bpf_s(m1) - bpf_s(m0)) / wall
            row["rate"] = m1.get("sysscope_offcpu_record_rate", 0)
            row["prob"] = m1.get("sysscope_offcpu_sample_probability", 1)
            row["switches"] = (m1["sysscope_offcpu_switches_total"] -
                               m0["sysscope_offcpu_switches_total"]) / wall
            folded = get(port, f"/node.folded?windows={need}")
            row["err"] = share_in(folded) - (s1 - s0) / wall
    finally:
        if agent:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
        rounds = neighbour.communicate(timeout=total + 30)[0]
        spinner.wait(timeout=30)
    row["rounds"] = int(rounds.split()[-1])
    return row


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench: error: must run as root")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    results = {}
    for r in range(ROUNDS):
        plan = [(rate, cfg) for rate in RATES for cfg in CONFIGS]
        random.shuffle(plan)
        for rate, cfg in plan:
            log(f"round {r + 1}/{ROUNDS}: {rate} switches/s, {cfg}")
            results.setdefault((rate, cfg), []).append(
                one_run(out, RATES[rate], CONFIGS[cfg]))
    lines = [
        f"Agent cost under --cpu-budget: {ROUNDS} round(s), {MEASURE:.0f} s measured "
        f"after {WARM:.0f} s, {WINDOW} s windows, medians.",
        "",
        "| switches/s | config | measured switches/s | cost % of a core (BPF) "
        "| record rate /s/thread | recorded share | neighbour slowdown | share error |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate in RATES:
        base = statistics.median(x["rounds"] for x in results[(rate, "none")])
        for cfg in CONFIGS:
            rows = results[(rate, cfg)]
            med = lambda k: statistics.median(x[k] for x in rows)
            slow = base / med("rounds")
            if cfg == "none":
                lines.append(f"| {rate} | none | – | – | – | – | 1.000 | – |")
                continue
            lines.append(
                f"| {rate} | {cfg} | {med('switches'):,.0f} | {med('cost'):.2f} "
                f"({med('bpf'):.2f}) | {med('rate'):.0f} | {med('prob'):.4f} "
                f"| {slow:.3f} | {med('err'):+.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (out / "bench").mkdir(parents=True, exist_ok=True)
    (out / "bench/budget.md").write_text(text)


if __name__ == "__main__":
    main()
