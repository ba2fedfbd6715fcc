# SPDX-License-Identifier: MIT
"""On-CPU profiling end to end: real BPF sampler, real workloads, real readers.

The workload `burn` runs main -> run -> stage_one -> stage_two -> leaf_hot |
leaf_cold, with RATIO units of the same loop in leaf_hot per unit in
leaf_cold, so the true CPU split is RATIO:1.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (WORKLOADS, copy_workload, go_pprof, process_of,
                      read_folded, run_sysscope, samples_where,
                      start_sysscope, wait_for)

CHAIN = ("main", "run", "stage_one", "stage_two")


def has_chain(stack, leaf):
    """The stack holds main..stage_two..leaf contiguously, leaf last."""
    want = CHAIN + (leaf,)
    n = len(want)
    return any(stack[i:i + n] == want and i + n == len(stack)
               for i in range(len(stack) - n + 1))


def parse_tags(text, tag):
    """{value: share} from `go tool pprof -tags` for one tag."""
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\s*(\w+): Total", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"\s*\S+ \(\s*([\d.]+)%\): (.+)$", line)
        if m and current == tag:
            out[m.group(2).strip()] = float(m.group(1))
    return out


def test_pid_profile_shows_chain_and_ratio(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30", "-r", "3"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "5", "-f", "99", "-o", out])

    stacks = read_folded(out / "stacks.folded")
    hot = samples_where(stacks, lambda s: has_chain(s, "leaf_hot"))
    cold = samples_where(stacks, lambda s: has_chain(s, "leaf_cold"))
    total = sum(stacks.values())
    # 5 s at 99 Hz on one busy thread is ~495 samples; other load on the
    # machine can take CPU from it, not the ratio.
    assert total > 150, f"too few samples: {total}"
    assert all(s[0] == "burn" for s in stacks), "root frame is the process name"
    # Most samples sit exactly on the full chain ending in a leaf.
    assert hot + cold > 0.9 * total, stacks
    # True ratio 3 in expectation; with ~60..120 cold samples (fewer on a
    # loaded machine) the 3-sigma band is about +-1.3.
    assert 2.0 < hot / cold < 4.5, f"hot {hot} cold {cold}"


def test_whole_node_finds_workload(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-d", "3", "-f", "99", "-o", out])

    stacks = read_folded(out / "stacks.folded")
    mine = samples_where(stacks, lambda s: s[:2] == ("[host]", "burn") and
                         has_chain(s, "leaf_hot"))
    assert mine > 50, f"burn pid {w.pid} not found under [host]"
    assert (out / "node.svg").exists()
    summary = (out / "summary.txt").read_text()
    assert re.search(rf"\b{w.pid}\s+burn\b", summary), summary


def test_user_stacks_only(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-U", "-p", w.pid, "-d", "3", "-f", "199",
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    assert samples_where(stacks, lambda s: has_chain(s, "leaf_hot")) > 60
    kernel = [s for s in stacks if any(f.endswith("_[k]") for f in s)]
    assert not kernel, f"-U left kernel frames: {kernel[:3]}"


def test_kernel_stacks_only(tmp_path, spawn, burn):
    # A workload that spends time in the kernel: write() to /dev/null.
    w = spawn(["dd", "if=/dev/zero", "of=/dev/null", "bs=64k"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-K", "-p", w.pid, "-d", "3", "-f", "199",
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    assert any(f.endswith("_[k]") for s in stacks for f in s), stacks
    for s in stacks:
        for f in s[1:]:
            assert f.endswith("_[k]") or f.startswith("["), \
                f"-K left a user frame {f!r} in {s}"


def test_tid_filter(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30", "-t", "2"])
    task = Path(f"/proc/{w.pid}/task")

    def names():
        try:
            return {(t / "comm").read_text().strip() for t in task.iterdir()}
        except FileNotFoundError:
            return set()
    # Threads are named just after they start: wait for the names.
    assert wait_for(lambda: names() == {"burn-0", "burn-1"})
    tid = next(t.name for t in task.iterdir()
               if (t / "comm").read_text().strip() == "burn-1")
    out = tmp_path / "out"
    run_sysscope(["profile", "-t", tid, "-d", "3", "-f", "99", "-o", out])
    tags = go_pprof(["-tags", out / "profile.pb.gz"], tmp_path)
    assert parse_tags(tags, "tid") == {tid: 100.0}, tags
    assert parse_tags(tags, "thread") == {"burn-1": 100.0}, tags


def test_cgroup_filter_includes_subtree(tmp_path, spawn, burn, cgroup_dir):
    parent = cgroup_dir(f"sysscope-e2e-{os.getpid()}")
    child = parent / "child"
    child.mkdir()
    inside = spawn([copy_workload(burn, tmp_path / "burn_in"), "-d", "30"])
    spawn([copy_workload(burn, tmp_path / "burn_out"), "-d", "30"])
    (child / "cgroup.procs").write_text(str(inside.pid))

    out = tmp_path / "out"
    # Relative to the v2 mount: the cgroup and everything below it.
    run_sysscope(["profile", "--cgroup", "/" + parent.name, "-d", "3",
                  "-f", "99", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    roots = {s[0] for s in stacks}
    assert roots == {"burn_in"}, roots
    assert samples_where(stacks, lambda s: has_chain(s, "leaf_hot")) > 30


def test_cpu_filter(tmp_path, spawn, burn):
    if os.cpu_count() < 2:
        pytest.fail("needs 2 CPUs")
    w = spawn(["taskset", "-c", "0", burn, "-d", "30"])
    other, same = tmp_path / "cpu1", tmp_path / "cpu0"
    run_sysscope(["profile", "-p", w.pid, "-c", "1", "-d", "2", "-o", other])
    run_sysscope(["profile", "-p", w.pid, "-c", "0", "-d", "2", "-o", same])
    assert sum(read_folded(other / "stacks.folded").values()) == 0
    assert sum(read_folded(same / "stacks.folded").values()) > 30


def test_sigint_writes_complete_outputs(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    p = start_sysscope(["profile", "-p", w.pid, "-f", "99", "-o", out])
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    for name in ("stacks.folded", "flamegraph.svg", "profile.pb.gz",
                 "summary.txt"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.tmp*")), "a temporary file was left behind"
    stacks = read_folded(out / "stacks.folded")
    # 2 s at 99 Hz, ~150 in leaf_hot on an idle machine.
    assert samples_where(stacks, lambda s: has_chain(s, "leaf_hot")) > 40
    assert "leaf_hot" in go_pprof(["-top", out / "profile.pb.gz"], tmp_path)
    subprocess.run(["xmllint", "--noout", out / "flamegraph.svg"], check=True)


def test_sigterm_writes_outputs(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    p = start_sysscope(["profile", "-p", w.pid, "-o", out])
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    assert p.returncode == 0
    assert samples_where(read_folded(out / "stacks.folded"),
                         lambda s: has_chain(s, "leaf_hot")) > 20


def test_pprof_readable_by_go_tool(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "3", "-f", "99", "-o", out])
    top = go_pprof(["-top", "-sample_index=samples", out / "profile.pb.gz"],
                   tmp_path)
    flat = {}
    for line in top.splitlines():
        m = re.match(r"\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(\S+)",
                     line)
        if m:
            flat[m.group(2)] = int(m.group(1))
    assert flat.get("leaf_hot", 0) > flat.get("leaf_cold", 0) > 0, top
    raw = go_pprof(["-raw", out / "profile.pb.gz"], tmp_path)
    assert "samples/count cpu/nanoseconds" in raw
    assert f"pid:[{w.pid}]" in raw.replace(" ", ""), raw[:2000]


def test_exited_process_keeps_symbols(tmp_path, spawn, burn):
    binary = copy_workload(burn, tmp_path / "burn_exit")
    out = tmp_path / "out"
    p = start_sysscope(["profile", "-d", "4", "-f", "99", "-o", out])
    w = spawn([binary, "-d", "1.5"])
    w.popen.wait(timeout=10)
    binary.unlink()  # gone from disk too: only the early snapshot can help
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    stacks = read_folded(out / "stacks.folded")
    mine = {s: c for s, c in stacks.items() if process_of(s) == "burn_exit"}
    # Presence is the point: ~110 on an idle machine, fewer under load.
    assert samples_where(mine, lambda s: has_chain(s, "leaf_hot")) > 10, mine


def test_svg_is_wellformed_and_names_leaves(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "3", "-f", "99", "-o", out])
    svg = out / "flamegraph.svg"
    subprocess.run(["xmllint", "--noout", svg], check=True)
    text = svg.read_text()
    assert "leaf_hot" in text and "leaf_cold" in text and "stage_two" in text


def test_full_map_is_counted_and_reported(tmp_path, spawn, burn):
    # 32 threads x 2 leaves at 999 Hz make well over 64 distinct keys.
    # Long-lived: it must outlast a slow start; teardown kills it.
    w = spawn([burn, "-d", "120", "-t", "32"])
    out = tmp_path / "out"
    res = run_sysscope(["profile", "-p", w.pid, "-d", "3", "-f", "999",
                        "--max-entries", "64", "-o", out])
    assert w.popen.poll() is None, "the workload exited early"
    summary = (out / "summary.txt").read_text()
    assert "raise --max-entries" in res.stderr, res.stderr + summary
    m = re.search(r"lost: counts map full\s+(\d+)",
                  (out / "summary.txt").read_text())
    assert m and int(m.group(1)) > 0
    m2 = re.search(r"lost\s+(\d+) samples", (out / "summary.txt").read_text())
    assert m2 and int(m2.group(1)) == int(m.group(1))
    assert len(read_folded(out / "stacks.folded")) <= 64


def test_default_output_dir(tmp_path, spawn, burn):
    w = spawn([burn, "-d", "4"])
    res = subprocess.run([str(Path(os.environ.get("SYSSCOPE", "build/sysscope"))
                              .resolve()), "profile", "-p", str(w.pid),
                          "-d", "1"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    dirs = list(tmp_path.glob("sysscope-profile-*"))
    assert len(dirs) == 1 and re.fullmatch(r"sysscope-profile-\d{8}-\d{6}",
                                           dirs[0].name)
    assert (dirs[0] / "flamegraph.svg").exists()
