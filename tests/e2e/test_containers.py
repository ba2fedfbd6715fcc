# SPDX-License-Identifier: MIT
"""Containers and pods end to end: real containerd and podman containers on
this node, the real binary, real BPF.

The module's node runs three containers, each burning 40% of a CPU (10 ms
periods) in a workload built with its own function names, at /bin/app in
its own root only:

    containerd  pod shop/web-0  container nginx-a   alpha_main_loop -> alpha_stage -> alpha_leaf
    containerd  pod shop/api-0  container api-b     beta_...
    podman      (no pod)        container pm-gamma  gamma_...

Tolerances: a 3 s run at 99 Hz sees ~120 samples of a 40% workload on an
idle machine; the floors below (30) leave room for a loaded 2-CPU machine.
Attribution checks are exact: not one sample of a workload may be under
another container's frames or under [host].
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (go_pprof, process_of, read_folded, run_sysscope,
                      start_sysscope, wait_for)
from containers import (Podman, SystemdLayout, build_static_workload,
                        make_rootfs, nspid, parse_ps, parse_tags, v1_cpu_mount)

FREQ = "99"
MIN_SAMPLES = 30


def chain(tag):
    return (f"{tag}_main_loop", f"{tag}_stage", f"{tag}_leaf")


def ends_in_chain(stack, tag):
    """The stack ends main_loop -> stage -> leaf: fully symbolized."""
    return stack[-3:] == chain(tag)


def of_tag(stack, tag):
    """A sample of workload tag: any frame of its own code."""
    return any(f.startswith(tag + "_") for f in stack)


def count(stacks, pred):
    return sum(c for s, c in stacks.items() if pred(s))


def roots_of(stacks, tag):
    """{root frames before the process frame: samples} of tag's samples."""
    out = {}
    for s, c in stacks.items():
        if of_tag(s, tag):
            i = s.index(process_of(s))
            out[s[:i]] = out.get(s[:i], 0) + c
    return out


# ---- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def bins(tmp_path_factory):
    d = tmp_path_factory.mktemp("static")
    return lambda tag: build_static_workload(tag, d)


@pytest.fixture(scope="module")
def podman(tmp_path_factory, exclusive):
    p = Podman(tmp_path_factory.mktemp("podman"))
    try:
        yield p
    finally:
        p.close()


class Node:
    pass


@pytest.fixture(scope="module")
def node(tmp_path_factory, bins, containerd, podman):
    d = tmp_path_factory.mktemp("rootfs")
    n = Node()
    n.web = containerd.run("nginx-a", "web-0", "shop",
                           make_rootfs(d / "a", bins("alpha")),
                           ["/bin/app", "-u", "40"])
    n.api = containerd.run("api-b", "api-0", "shop",
                           make_rootfs(d / "b", bins("beta")),
                           ["/bin/app", "-u", "40"])
    image = podman.image_from_rootfs(make_rootfs(d / "g", bins("gamma")),
                                     "gamma")
    n.pm = podman.run("pm-gamma", image, ["/bin/app", "-u", "40"])
    n.all = {"alpha": n.web, "beta": n.api, "gamma": n.pm}
    time.sleep(0.3)     # past the workloads' 50 ms calibration
    for c in n.all.values():
        assert c.pids(), f"{c.name} is not running"
    return n


@pytest.fixture(scope="module")
def whole_node(node, tmp_path_factory):
    """One whole-node profile of the module's node, shared by the tests
    that read it."""
    out = tmp_path_factory.mktemp("whole") / "out"
    run_sysscope(["profile", "-d", "3", "-f", FREQ, "-o", out])
    return out


# ---- 1. whole node ---------------------------------------------------------------

def test_whole_node_puts_each_workload_under_its_container(node, whole_node):
    stacks = read_folded(whole_node / "stacks.folded")
    for tag, c in node.all.items():
        roots = roots_of(stacks, tag)
        # Exact: every sample of the workload is under its own frames.
        assert set(roots) == {c.frames}, f"{tag} ({c.name}): {roots}"
        mine = {s: n for s, n in stacks.items() if of_tag(s, tag)}
        assert all(process_of(s) == "app" for s in mine), list(mine)[:3]
        # Symbols of /bin/app read through the container's root: each
        # container's /bin/app is a different file with other names.
        full = count(mine, lambda s: ends_in_chain(s, tag))
        assert full > MIN_SAMPLES, f"{c.name}: {full} symbolized samples"
    # Nothing of any container's code is attributed to the host.
    host = {s for s in stacks if s[0] == "[host]" and
            any(of_tag(s, t) for t in node.all)}
    assert not host, list(host)[:3]
    # Every stack has a root frame: [host], [pod ...] or [container ...].
    bad = [s for s in stacks if not (s[0] == "[host]" or
                                     s[0].startswith(("[pod ", "[container ")))]
    assert not bad, bad[:3]


def test_whole_node_writes_per_pod_and_per_container_files(node, whole_node):
    stacks = read_folded(whole_node / "stacks.folded")

    def subset(prefix):
        return {s: c for s, c in stacks.items() if s[:len(prefix)] == prefix}

    for c in (node.web, node.api):
        base = whole_node / "pods" / c.namespace / c.pod
        for ext in ("svg", "folded"):
            assert (base / f"{c.name}.{ext}").stat().st_size > 0
            assert (base / f"pod.{ext}").stat().st_size > 0
        # Each file is exactly that group's part of the node's profile.
        assert read_folded(base / f"{c.name}.folded") == subset(c.frames)
        assert read_folded(base / "pod.folded") == subset(c.frames[:1])
        svg = (base / f"{c.name}.svg").read_text()
        assert f"{c.frames[-1]}" in svg and "_leaf" in svg
    pm = node.pm
    assert read_folded(whole_node / f"containers/{pm.name}.folded") == \
        subset(pm.frames)
    assert (whole_node / f"containers/{pm.name}.svg").stat().st_size > 0
    subprocess.run(["xmllint", "--noout", whole_node / "node.svg"],
                   check=True)
    node_svg = (whole_node / "node.svg").read_text()
    for c in node.all.values():
        assert c.frames[0] in node_svg


def test_whole_node_pprof_labels(node, whole_node, tmp_path):
    prof = whole_node / "profile.pb.gz"
    tags = parse_tags(go_pprof(["-tags", prof], tmp_path))
    for c in node.all.values():
        assert c.name in tags.get("container", {}), tags.get("container")
    assert {"web-0", "api-0"} <= set(tags.get("pod", {})), tags.get("pod")
    assert "shop" in tags.get("namespace", {}), tags.get("namespace")
    # Per sample: a container's samples carry its own pod and namespace.
    for tag, c in node.all.items():
        focus = parse_tags(go_pprof(["-tags", f"-tagfocus=container=^{c.name}$",
                                     prof], tmp_path))
        assert focus.get("container") == {c.name: 100.0}, focus
        if c.pod:
            assert focus.get("pod") == {c.pod: 100.0}, focus
            assert focus.get("namespace") == {c.namespace: 100.0}, focus
        else:
            assert "pod" not in focus and "namespace" not in focus, focus
        top = go_pprof(["-top", f"-tagfocus=container=^{c.name}$", prof],
                       tmp_path)
        assert f"{tag}_leaf" in top
        others = [t for t in node.all if t != tag and f"{t}_" in top]
        assert not others, top


# ---- 2. selections ---------------------------------------------------------

@pytest.mark.parametrize("args,want", [
    (["--container", "nginx-a"], {"alpha"}),
    (["--pod", "shop/api-0"], {"beta"}),
    (["-n", "shop"], {"alpha", "beta"}),
])
def test_selection_records_exactly_its_targets(node, tmp_path, args, want):
    out = tmp_path / "out"
    run_sysscope(["profile", *args, "-d", "3", "-f", FREQ, "-o", out])
    stacks = read_folded(out / "stacks.folded")
    assert stacks, "nothing recorded"
    for tag, c in node.all.items():
        n = count(stacks, lambda s: of_tag(s, tag))
        if tag in want:
            assert set(roots_of(stacks, tag)) == {c.frames}
            assert count(stacks, lambda s: ends_in_chain(s, tag)) > \
                MIN_SAMPLES, f"{c.name}: too few samples"
        else:
            assert n == 0, f"{args} recorded {n} samples of {c.name}"
    # Only the selected cgroups: no [host], no other pod or container.
    if args[0] == "-n":
        # Other pods of the namespace may run on the node; no other pod.
        bad = [s for s in stacks if not s[0].startswith(f"[pod {args[1]}/")]
    else:
        target = next(node.all[t] for t in want)
        bad = [s for s in stacks if s[:2] != target.frames]
    assert not bad, bad[:3]


@pytest.mark.parametrize("mode", ["wallclock", "offcputime"])
def test_offcpu_selection_records_only_its_target(node, tmp_path, mode):
    """Off-CPU time too: the workload sleeps 60% of each 10 ms period, and
    nothing outside the container may show up (threads asleep during the
    whole run included)."""
    c = node.web
    out = tmp_path / "out"
    run_sysscope([mode, "--container", c.name, "-d", "2", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    assert count(stacks, lambda s: "alpha_nap" in s) > 0, stacks
    bad = [s for s in stacks if s[:2] != c.frames]
    assert not bad, f"{len(bad)} stacks outside {c.name}: {bad[:3]}"


# ---- 3. ps -------------------------------------------------------------------

def test_ps_skips_cgroups_removed_mid_scan():
    """Cgroups made and removed all along while `ps` walks the tree (pods
    coming and going): a cgroup gone mid-walk is skipped, never an error.
    (The walk once failed on one as "Cannot allocate memory".)"""
    base = Path("/sys/fs/cgroup/sysscope-churn")
    churn = subprocess.Popen(["bash", "-c", f"""
        mkdir -p {base}
        while :; do
            for i in $(seq 100); do mkdir {base}/c$i 2>/dev/null; done
            for i in $(seq 100); do rmdir {base}/c$i 2>/dev/null; done
        done"""], start_new_session=True)
    try:
        for _ in range(30):
            res = run_sysscope(["ps"], check=False)
            assert res.returncode == 0, res.stderr
            assert "RUNTIME" in res.stdout
    finally:
        os.killpg(churn.pid, 9)
        churn.wait()
        time.sleep(0.2)		# a mkdir already forked finishes
        for d in sorted(base.glob("c*")):
            d.rmdir()
        base.rmdir()


def test_ps_lists_the_containers(node):
    res = run_sysscope(["ps"])
    rows = parse_ps(res.stdout)
    for c in node.all.values():
        row = rows.get(c.short_id)
        assert row, f"{c.name} ({c.short_id}) missing:\n{res.stdout}"
        assert row["RUNTIME"] == c.runtime
        assert row["CONTAINER"] == c.name
        assert row["POD"] == (c.pod or "-")
        assert row["NAMESPACE"] == (c.namespace or "-")
        assert int(row["CGROUP-ID"]) == os.stat(c.cgroup_dir).st_ino
        assert int(row["PROCS"]) == len(c.pids()) == 1
        # 40% of a CPU since the module started: some CPU time is counted.
        assert float(row["CPU-SEC"]) > 0.05, row


def test_ps_host_root_reads_metadata_there(node, tmp_path):
    """--host-root DIR: the runtimes' files are read under DIR (a node
    agent mounts the host's / at /host), never from /."""
    c = node.web
    task = "run/containerd/io.containerd.runtime.v2.task/k8s.io"
    spec = json.loads((Path("/") / task / c.id / "config.json").read_text())
    spec["annotations"]["io.kubernetes.cri.container-name"] = "renamed-a"
    spec["annotations"]["io.kubernetes.cri.sandbox-name"] = "moved-0"
    bundle = tmp_path / "host" / task / c.id
    bundle.mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps(spec))

    res = run_sysscope(["ps", "--host-root", tmp_path / "host"])
    rows = parse_ps(res.stdout)
    assert rows[c.short_id]["CONTAINER"] == "renamed-a", res.stdout
    assert rows[c.short_id]["POD"] == "moved-0"
    assert rows[c.short_id]["NAMESPACE"] == "shop"
    # No metadata under DIR for the others: known by their short id only.
    for other in (node.api, node.pm):
        row = rows[other.short_id]
        assert (row["RUNTIME"], row["CONTAINER"], row["POD"]) == \
            (other.runtime, other.short_id, "-"), row


# ---- 4. a container that exits during the run -----------------------------

def test_container_killed_mid_run_keeps_its_name(bins, containerd, tmp_path):
    c = containerd.run("doomed", "job-0", "batch",
                       make_rootfs(tmp_path / "rootfs", bins("epsilon")),
                       ["/bin/app"])
    out = tmp_path / "out"
    p = start_sysscope(["profile", "-d", "4", "-f", FREQ, "-o", out])
    try:
        time.sleep(1.0)
        assert p.poll() is None
        containerd.remove(c)    # task and container deleted, cgroup gone
        assert not c.cgroup_dir.exists()
        assert not Path("/run/containerd/io.containerd.runtime.v2.task/"
                        f"k8s.io/{c.id}").exists()
    finally:
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    stacks = read_folded(out / "stacks.folded")
    roots = roots_of(stacks, "epsilon")
    assert set(roots) == {c.frames}, roots
    # ~1 s of one busy thread at 99 Hz: up to 99 samples, ~20 when the
    # machine runs 7 busy threads on its 2 CPUs.
    assert count(stacks, lambda s: ends_in_chain(s, "epsilon")) >= 10, roots
    assert read_folded(out / "pods/batch/job-0/doomed.folded")


def test_container_started_mid_run_is_named(bins, containerd, tmp_path):
    rootfs = make_rootfs(tmp_path / "rootfs", bins("eta"))
    out = tmp_path / "out"
    # Starting a container can take seconds on a loaded machine: 6 s.
    p = start_sysscope(["profile", "-d", "6", "-f", FREQ, "-o", out])
    c = None
    try:
        time.sleep(0.5)
        c = containerd.run("latecomer", "late-0", "batch", rootfs,
                           ["/bin/app"])
    finally:
        _, err = p.communicate(timeout=60)
        if c:
            containerd.remove(c)
    assert p.returncode == 0, err
    stacks = read_folded(out / "stacks.folded")
    roots = roots_of(stacks, "eta")
    assert set(roots) == {c.frames}, roots
    # A few seconds of one busy thread at 99 Hz; a fraction when loaded.
    assert count(stacks, lambda s: ends_in_chain(s, "eta")) >= 20, roots


# ---- 5. names that match several containers, or none ----------------------

@pytest.fixture
def twins(tmp_path, bins, containerd):
    """Two containers named "worker", in pods dup/p-one and dup/p-two, each
    burning 10% of a CPU."""
    cs = []
    try:
        for pod in ("p-one", "p-two"):
            cs.append(containerd.run(
                "worker", pod, "dup",
                make_rootfs(tmp_path / pod, bins("zeta")),
                ["/bin/app", "-u", "10"]))
        yield cs
    finally:
        for c in cs:
            containerd.remove(c)


def one_line_error(res):
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    return res.stderr.strip()


def test_ambiguous_container_name_lists_both(twins, tmp_path):
    out = tmp_path / "out"
    res = run_sysscope(["profile", "--container", "worker", "-d", "1",
                        "-o", out], check=False)
    err = one_line_error(res)
    assert "container 'worker' is ambiguous" in err, err
    for c in twins:
        assert f"dup/{c.pod}/worker (id {c.short_id})" in err, err
    assert "give an id prefix" in err
    assert not out.exists()
    # The id prefix it asks for picks exactly one of them.
    one = twins[0]
    run_sysscope(["profile", "--container", one.id[:10], "-d", "2", "-f",
                  FREQ, "-o", out])
    stacks = read_folded(out / "stacks.folded")
    # 2 s of 10% at 99 Hz: ~20 samples, at least a few on a loaded machine.
    assert count(stacks, lambda s: ends_in_chain(s, "zeta")) >= 3, stacks
    assert all(s[:2] == one.frames for s in stacks), list(stacks)[:3]


def test_unknown_names_suggest_close_matches(node, tmp_path):
    res = run_sysscope(["profile", "--container", "ngnix-a", "-d", "1",
                        "-o", tmp_path / "o"], check=False)
    err = one_line_error(res)
    assert "no container 'ngnix-a' on this node; close matches: " in err, err
    assert "nginx-a" in err.split("close matches: ")[1]
    assert "api-b" not in err
    res = run_sysscope(["profile", "--pod", "shop/web-1", "-d", "1",
                        "-o", tmp_path / "o"], check=False)
    err = one_line_error(res)
    assert "no pod 'shop/web-1' on this node; close matches: " in err, err
    assert "shop/web-0" in err.split("close matches: ")[1]
    res = run_sysscope(["profile", "-n", "nosuchns", "-d", "1",
                        "-o", tmp_path / "o"], check=False)
    assert "no namespace 'nosuchns' on this node" in one_line_error(res)
    assert not (tmp_path / "o").exists()


# ---- 6. systemd cgroup driver layout --------------------------------------

@pytest.fixture
def systemd_layout():
    s = SystemdLayout()
    try:
        yield s
    finally:
        s.close()


def test_systemd_driver_layout_named_from_path(bins, tmp_path, spawn,
                                               systemd_layout):
    s = systemd_layout
    exe = tmp_path / "sd_app"
    exe.write_bytes(bins("delta").read_bytes())
    exe.chmod(0o755)
    w = spawn([exe, "-u", "40", "-d", "30"])
    s.add(w.pid)
    short = s.id[:12]
    frames = (f"[pod ?/pod{s.uid}]", f"[container {short}]")

    rows = parse_ps(run_sysscope(["ps"]).stdout)
    assert rows.get(short), f"{short} missing from ps"
    assert rows[short]["RUNTIME"] == "containerd"
    assert rows[short]["CONTAINER"] == short
    assert int(rows[short]["CGROUP-ID"]) == os.stat(s.dir).st_ino
    assert rows[short]["PROCS"] == "1"

    out = tmp_path / "out"
    time.sleep(0.2)
    run_sysscope(["profile", "-d", "3", "-f", FREQ, "-o", out])
    stacks = read_folded(out / "stacks.folded")
    assert set(roots_of(stacks, "delta")) == {frames}, \
        roots_of(stacks, "delta")
    assert count(stacks, lambda s: ends_in_chain(s, "delta")) > MIN_SAMPLES
    assert all(process_of(s) == "sd_app" for s in stacks
               if of_tag(s, "delta"))


# ---- 7. cgroup v1 ----------------------------------------------------------

def test_cgroup_v1_whole_node(node, tmp_path):
    v1 = v1_cpu_mount()
    for c in node.all.values():
        # The precondition: the same path in the v1 cpu hierarchy.
        assert (v1 / c.cgroup.lstrip("/")).is_dir(), c.cgroup
    out = tmp_path / "out"
    run_sysscope(["profile", "--cgroup-version", "1", "-d", "3", "-f", FREQ,
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    for tag, c in node.all.items():
        assert set(roots_of(stacks, tag)) == {c.frames}, \
            f"{c.name}: {roots_of(stacks, tag)}"
        assert count(stacks, lambda s: ends_in_chain(s, tag)) > MIN_SAMPLES
    assert (out / "pods/shop/web-0/nginx-a.folded").exists()


def test_ps_cgroup_v1(node):
    """The same containers, named by the v1 cpu hierarchy: its cgroup ids,
    and CPU time from cpuacct (mounted on its own here, as on many hybrid
    nodes, or together with cpu as "cpu,cpuacct")."""
    v1 = v1_cpu_mount()
    res = run_sysscope(["ps", "--cgroup-version", "1"])
    rows = parse_ps(res.stdout)
    for c in node.all.values():
        row = rows.get(c.short_id)
        assert row, f"{c.name} ({c.short_id}) missing:\n{res.stdout}"
        assert (row["RUNTIME"], row["CONTAINER"]) == (c.runtime, c.name)
        assert row["POD"] == (c.pod or "-")
        d = v1 / c.cgroup.lstrip("/")
        assert int(row["CGROUP-ID"]) == os.stat(d).st_ino
        assert row["PROCS"] == "1"
        assert row["CPU-SEC"] != "-" and float(row["CPU-SEC"]) > 0.05, \
            f"{c.name}: no CPU time in v1 mode:\n{res.stdout}"


# ---- 8. JIT code named by a perf map inside the container ------------------

@pytest.fixture
def jit_container(bins, containerd, tmp_path):
    c = containerd.run("jitter", "jit-0", "jit",
                       make_rootfs(tmp_path / "rootfs", bins("theta")),
                       ["/bin/app", "-j"])
    decoys = []
    try:
        pid = c.pid()
        inner = nspid(pid)
        perf_map = c.rootfs / f"tmp/perf-{inner}.map"
        assert wait_for(perf_map.exists, 5), "the workload wrote no perf map"
        c.extra.update(host_pid=pid, ns_pid=inner, perf_map=perf_map)
        # The host's /tmp names the same addresses otherwise: a reader
        # that looks there, by either pid, picks a decoy.
        start, size, _ = perf_map.read_text().split()
        for p, name in ((pid, "decoy_host_pid"), (inner, "decoy_ns_pid")):
            f = Path(f"/tmp/perf-{p}.map")
            if not f.exists():
                f.write_text(f"{start} {size} {name}\n")
                decoys.append(f)
        yield c
    finally:
        for f in decoys:
            f.unlink(missing_ok=True)
        containerd.remove(c)


def test_jit_frames_named_from_perf_map_in_container(jit_container, tmp_path):
    c = jit_container
    assert c.extra["ns_pid"] != c.extra["host_pid"], \
        "the workload should be in its own pid namespace"
    out = tmp_path / "out"
    run_sysscope(["profile", "--container", "jitter", "-d", "3", "-f", FREQ,
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    jit = {s: n for s, n in stacks.items() if "theta_jit_enter" in s}
    total = sum(jit.values())
    named = count(jit, lambda s: s[s.index("theta_jit_enter") + 1:][:1] ==
                  ("jit_spin_loop",))
    # One thread spinning all along: ~300 samples when idle, ~55 seen with
    # 7 busy threads on the 2 CPUs.
    assert total > MIN_SAMPLES, stacks
    # Every sample of the spinning thread is in the JIT code.
    assert named >= 0.95 * total, \
        f"{named} of {total} named jit_spin_loop: {list(jit)[:3]}"
    assert not any("decoy" in f for s in stacks for f in s)
    assert all(s[:2] == c.frames for s in stacks), list(stacks)[:3]
