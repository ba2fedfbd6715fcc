# SPDX-License-Identifier: MIT
"""--cpu-budget: the agent records a share of off-CPU switch-outs, adapted to
what its BPF programs and its own process cost, and still gets the time
right. Ground truth from tests/workloads/offcpu_work.c, next to a neighbour
of 32 threads that each switch about 950 times a second.

The agent here is the build without sanitizers: the budget counts the
agent's own CPU time, which ASan multiplies."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, WORKLOADS, run_sysscope, wait_for
from test_agent import Agent, metric

WORK = WORKLOADS / "offcpu_work"
PLAIN = Path(os.environ.get("SYSSCOPE_PLAIN", ROOT / "build/sysscope"))
NS = 1e9
WINDOW = 5
SPAN = 12		# windows the budgeted checks read


def folded(text):
    """[(frames, value)] of a folded page."""
    out = []
    for line in text.decode().splitlines():
        stack, _, value = line.rpartition(" ")
        out.append((stack.split(";"), int(value)))
    return out


def seconds(stacks, pred):
    return sum(v for f, v in stacks if pred(f)) / NS


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cost_now(agent, workload):
    """Now: time, the agent's BPF and process seconds, its metrics, and the
    CPU seconds of the workload whose share is checked."""
    m = agent.metrics()
    bpf = (metric(m, "sysscope_bpf_run_seconds_total", program="oncpu") +
           metric(m, "sysscope_bpf_run_seconds_total", program="offcpu"))
    return (time.monotonic(), bpf, cpu_seconds(agent.proc.pid), m,
            cpu_seconds(workload.pid))


def test_oncpu_frequency_comes_down_and_seconds_stay():
    """Samples costing more than the budget can hold: -f 997 on a thread
    that never sleeps, against a budget of 0.2% of a core. The frequency
    comes down (in /metrics and in the windows), and the thread's on-CPU
    seconds in windows sampled at the lowered frequency are still its CPU
    time from /proc: each sample counts its own period. Runs before the
    fixture below starts its neighbours."""
    spinner = subprocess.Popen([str(WORKLOADS / "burn"), "-d", "90", "-r", "3"],
                               stdout=subprocess.DEVNULL)
    agent = Agent(["--window", WINDOW, "-f", 997, "--cpu-budget", 0.2],
                  binary=PLAIN)

    def windows():
        return agent.json("/api/workloads?windows=0")["windows"]

    try:
        assert wait_for(lambda: any(w["oncpu_hz"] < 997 for w in windows()),
                        8 * WINDOW), f"never lowered: {windows()}"
        n0 = len(windows())
        assert wait_for(lambda: len(windows()) > n0, 2 * WINDOW, interval=0.1)
        c0 = cpu_seconds(spinner.pid)
        assert wait_for(lambda: len(windows()) >= n0 + 4, 4 * WINDOW,
                        interval=0.1)
        c1 = cpu_seconds(spinner.pid)
        wins = windows()[-3:]
        hz = metric(agent.metrics(), "sysscope_oncpu_frequency_hertz")
        stacks = folded(agent.get("/node.folded?windows=3")[1])
    finally:
        agent.stop()
        spinner.kill()
        spinner.wait()
    assert all(w["oncpu_hz"] < 997 for w in wins), wins
    assert 5 <= hz < 997
    on = seconds(stacks, lambda f: f[:2] == ["[host]", "burn"] and
                 f[-1].endswith("_[c]"))
    truth = c1 - c0
    assert truth > 5, f"the spinner ran {truth:.2f} s"
    assert abs(on - truth) <= 0.2 * truth, \
        f"on-CPU {on:.2f} s at {[w['oncpu_hz'] for w in wins]} Hz, true {truth:.2f} s"


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    """The agent at its default budget, a switch-heavy neighbour, a thread
    that spins 30% and sleeps 70%, and one that blocks 3:1 in two places:
    SPAN windows merged once the budget has settled (2 windows in), and its
    cost measured over those windows. Twelve, not four: at the record rate
    the budget leaves (10 a second a thread here), the 3:1 split rests on
    some 600 intervals, a spread of about 0.016; on 4 windows it was 0.027,
    and the band of +-0.05 failed about one run in 15."""
    procs = [
        subprocess.Popen([str(WORK), "switchy", "120", "32"]),
        subprocess.Popen([str(WORK), "spin-sleep", "120"]),
        subprocess.Popen([str(WORK), "split", "120"]),
    ]
    agent = Agent(["--window", WINDOW, "--retention", 120], binary=PLAIN)
    try:
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= 2, 4 * WINDOW)
        # Right after a window closed: SPAN windows from here.
        n0 = len(agent.json("/api/workloads?windows=0")["windows"])
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) > n0, 2 * WINDOW)
        t0, b0, p0, m0, w0 = cost_now(agent, procs[1])
        # Asked once a second: each answer is the agent's CPU time too.
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= n0 + SPAN + 1,
                        (SPAN + 3) * WINDOW,
                        interval=1.0)
        t1, b1, p1, m1, w1 = cost_now(agent, procs[1])
        wins = agent.json(f"/api/workloads?windows={SPAN}")["windows"]
        stacks = folded(agent.get(f"/node.folded?windows={SPAN}")[1])
        yield {"bpf": (b1 - b0) / (t1 - t0), "process": (p1 - p0) / (t1 - t0),
               "t0": t0, "t1": t1,
               "m0": m0, "m1": m1, "windows": wins, "stacks": stacks,
               "spin_sleep_share": (w1 - w0) / (t1 - t0)}
    finally:
        agent.stop()
        for p in procs:
            p.kill()
            p.wait()


def test_sampling_happens_and_is_reported(budgeted):
    m = budgeted["m1"]
    assert metric(m, "sysscope_cpu_budget_ratio") == pytest.approx(0.01)
    rate = metric(m, "sysscope_offcpu_record_rate")
    # ~30,000 switches a second: the record rate falls from where it starts.
    assert 10 <= rate < 100, f"record rate {rate}/s a thread"
    probs = [w["offcpu_sample_probability"] for w in budgeted["windows"]]
    assert all(0 < p < 0.5 for p in probs), probs
    assert all(w["oncpu_hz"] == 49 for w in budgeted["windows"])
    recorded = (metric(m, "sysscope_offcpu_recorded_switches_total") -
                metric(budgeted["m0"], "sysscope_offcpu_recorded_switches_total"))
    switches = (metric(m, "sysscope_offcpu_switches_total") -
                metric(budgeted["m0"], "sysscope_offcpu_switches_total"))
    assert 0 < recorded < switches / 2


def test_on_cpu_share_holds_under_sampling(budgeted):
    """The thread spins 30% and sleeps 70% of its cycles; next to the
    neighbour it also waits for a CPU, so its true share is its CPU time
    (from /proc) over wall time. The profile's share is its on-CPU seconds
    over the SPAN windows' time. Its off-CPU seconds, sampled, fill most of
    the rest: not all of it, as blocks shorter than -m (1 ms), such as the
    neighbour preempting it mid-spin, are not recorded (one CI run: 4.73 s
    on, 10.35 s off in 20 s, true share 0.227), but never more than all."""
    stacks = budgeted["stacks"]
    on = seconds(stacks, lambda f: "spin_sleep_loop" in f and
                 f[-1].endswith("_[c]"))
    off = seconds(stacks, lambda f: "spin_sleep_loop" in f and
                  f[-1].endswith("_[o]"))
    slept = seconds(stacks, lambda f: "nap" in f and
                    f[-1] == "[off-cpu: sleep]_[o]")
    assert on > 1 and slept > 1, (on, slept)
    covered = sum(w["duration_s"] for w in budgeted["windows"])
    share, truth = on / covered, budgeted["spin_sleep_share"]
    assert 0.1 < truth <= 0.35, f"the spinner got {truth:.3f} of a CPU"
    print(f"on-CPU share {share:.3f}, true {truth:.3f}; on {on:.2f} s, "
          f"off {off:.2f} s in {covered:.1f} s")
    assert abs(share - truth) <= 0.06, \
        f"on-CPU share {share:.3f}, true {truth:.3f} ({on:.2f} s on in {covered:.1f} s)"
    assert 0.5 * covered <= on + off <= 1.1 * covered, (on, off, covered)


def test_off_cpu_split_holds_under_sampling(budgeted):
    stacks = budgeted["stacks"]
    three = seconds(stacks, lambda f: "block_three" in f and f[-1].endswith("_[o]"))
    one = seconds(stacks, lambda f: "block_one" in f and f[-1].endswith("_[o]"))
    assert three > 1 and one > 0.3, (three, one)
    share = three / (three + one)
    print(f"3:1 split {share:.3f} ({three:.2f} s, {one:.2f} s) at "
          f"{metric(budgeted['m1'], 'sysscope_offcpu_record_rate')}/s a thread")
    assert 0.70 <= share <= 0.80, f"3:1 split read as {share:.3f} ({three:.2f} s, {one:.2f} s)"
    # Seconds stay seconds: the splitter sleeps all along, SPAN windows.
    # Its sum is sampled too: ~15,000 sleeps of 6 and 2 ms in 60 s, each
    # kept with chance 1/P (P ~25 at 10 a second) and counted P times,
    # spread by sqrt(7,500 x (36 + 4) ms^2 x 25) = 2.7 s, 4.6% (one CI-like
    # run on a loaded machine read 66.6 s in 60). 15% is over 3 of those.
    covered = sum(w["duration_s"] for w in budgeted["windows"])
    assert 0.8 * covered <= three + one <= 1.15 * covered, (three + one, covered)


def test_cost_stays_near_the_budget(budgeted):
    """BPF run time and the agent's CPU over SPAN windows, against a budget of
    1% of a core. What the record rate governs, recording, stays within
    the budget, or the rate is at its floor (each thread that switches
    still records 10 a second, so a node running many threads can pass
    the budget by recording alone). The whole, BPF and process, stays
    under twice the budget: the part no rate can lower (every switch-out
    still runs the tracepoint, 140-190 ns here) moves with the machine,
    whose speed moved by 30% between two days, and the process part with
    what else the node runs (each new process is read). On an idle node
    here: 0.90% BPF + 0.22% process at ~45,000 switches a second;
    bench/budget.py and bench/switch_cost.sh have the figures."""
    span = budgeted["t1"] - budgeted["t0"]
    record = (metric(budgeted["m1"], "sysscope_offcpu_record_seconds_total") -
              metric(budgeted["m0"], "sysscope_offcpu_record_seconds_total"))
    rate = metric(budgeted["m1"], "sysscope_offcpu_record_rate")
    total = budgeted["bpf"] + budgeted["process"]
    print(f"cost: BPF {budgeted['bpf'] * 100:.2f}% (recording "
          f"{record / span * 100:.2f}%), process "
          f"{budgeted['process'] * 100:.2f}% of a core")
    assert record / span <= 0.01 or rate == 10, \
        f"recording {record / span * 100:.2f}% of a core at {rate}/s a thread"
    assert total <= 0.02, \
        f"BPF and process {total * 100:.2f}% of a core, budget 1%"


def test_one_shot_run_takes_the_budget(tmp_path, spawn):
    w = spawn([WORK, "split", "8"])
    out = tmp_path / "out"
    run_sysscope(["offcputime", "-p", w.pid, "-d", "4", "--cpu-budget", "0.5",
                  "-o", out])
    summary = (out / "summary.txt").read_text()
    assert "off-CPU: switches recorded" in summary
    bad = run_sysscope(["profile", "-d", "1", "--cpu-budget", "1"], check=False)
    assert bad.returncode != 0 and "--cpu-budget" in bad.stderr
