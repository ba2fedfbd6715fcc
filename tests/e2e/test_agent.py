# SPDX-License-Identifier: MIT
"""sysscope agent end to end: the real binary serving real windows of a real
containerd pod over HTTP, read with urllib, go tool pprof, a strict
Prometheus text parser and Prometheus's own (promtool check metrics).

The module's pod (shop-agent/web-agt-0, container agt-app) burns 60% of a
CPU in agt_main_loop -> agt_stage -> agt_leaf, in a binary that exists only
in its own root. The agent runs with 2 s windows so a test sees a few.
"""
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import (ROOT, SYSSCOPE, WORKLOADS, cgroup2_mount, go_pprof,
                      wait_for)
from containers import (build_static_workload, make_rootfs, remove_cgroup_dirs)

NS = "shop-agent"
WINDOW = 2
# The build without sanitizers, for memory figures (make test builds it).
PLAIN = Path(os.environ.get("SYSSCOPE_PLAIN", ROOT / "build/sysscope"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    def __init__(self, args, binary=SYSSCOPE):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(binary), "agent", "--listen", f"127.0.0.1:{self.port}",
             *map(str, args)],
            stderr=subprocess.PIPE, text=True)
        if not wait_for(lambda: self.try_get("/healthz") is not None, 20):
            self.stop()
            raise AssertionError(f"agent did not serve: {self.stderr}")

    def try_get(self, path):
        try:
            return self.get(path)
        except (urllib.error.URLError, ConnectionError):
            return None

    def get(self, path, expect=200):
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as r:
                status, body, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, body, ctype = e.code, e.read(), e.headers.get("Content-Type")
        if expect is not None:
            assert status == expect, f"GET {path}: {status} {body[:300]!r}"
        return status, body, ctype

    def json(self, path):
        return json.loads(self.get(path)[1])

    def workloads(self, windows=1):
        return self.json(f"/api/workloads?windows={windows}")["workloads"]

    def metrics(self):
        return parse_prometheus(self.get("/metrics")[1].decode())

    def stop(self):
        self.stderr = ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.proc.stderr.read()
        return self.proc.returncode


# ---- Prometheus text format (0.0.4), checked strictly ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")


def parse_prometheus(text):
    """{(name, labels-string): value}; raises on any malformed line, a
    sample without a TYPE, a TYPE after its samples or a duplicate."""
    assert text.endswith("\n"), "exposition must end with a newline"
    types, seen, out = {}, set(), {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            assert re.match(rf"^# HELP {NAME} .+$", line), f"line {n}: {line}"
            continue
        if line.startswith("# TYPE "):
            m = re.match(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$",
                         line)
            assert m, f"line {n}: {line}"
            assert m.group(1) not in types, f"line {n}: second TYPE"
            assert m.group(1) not in seen, f"line {n}: TYPE after samples"
            types[m.group(1)] = m.group(2)
            continue
        assert not line.startswith("#"), f"line {n}: stray comment {line}"
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert name in types, f"line {n}: {name} has no TYPE"
        v = float(value)
        assert not math.isnan(v), f"line {n}: NaN"
        if types[name] == "counter":
            assert v >= 0, f"line {n}: negative counter"
        key = (name, labels)
        assert key not in out, f"line {n}: duplicate series {key}"
        seen.add(name)
        out[key] = v
    return out


def metric(m, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for (n, l), v in m.items():
        if n == name and all(f'{k}="{v}"' in l for k, v in labels.items()):
            return v
    raise AssertionError(f"no {name}{{{want}}} in /metrics")


# ---- fixtures ----

def start_pod(containerd, builds, tmp, tag, pod, name, duty="60"):
    rootfs = make_rootfs(tmp / f"rootfs-{name}",
                         build_static_workload(tag, builds))
    return containerd.run(name, pod, NS, rootfs, ["/bin/app", "-u", duty])


@pytest.fixture(scope="module")
def pod(containerd, builds, tmp_path_factory):
    c = start_pod(containerd, builds, tmp_path_factory.mktemp("pod"), "agt",
                  "web-agt-0", "agt-app")
    yield c
    containerd.remove(c)


@pytest.fixture(scope="module")
def agent(pod):
    a = Agent(["--window", WINDOW, "--retention", "60"])
    # The first window that has the pod in it.
    assert wait_for(lambda: any(w["pod"] == "web-agt-0" for w in a.workloads()),
                    4 * WINDOW + 10), f"pod never listed: {a.workloads()}"
    yield a
    assert a.stop() == 0, a.stderr


# ---- the pod, in every format ----

def test_api_lists_the_pod_and_its_container(agent):
    rows = agent.workloads()
    pods = [r for r in rows if r["kind"] == "pod" and r["pod"] == "web-agt-0"]
    ctrs = [r for r in rows if r["kind"] == "container" and
            r["container"] == "agt-app"]
    assert len(pods) == 1 and len(ctrs) == 1, rows
    p, c = pods[0], ctrs[0]
    assert p["namespace"] == NS and c["namespace"] == NS and c["pod"] == "web-agt-0"
    assert len(c["id"]) == 64 and p["url"] == f"/pods/{NS}/web-agt-0"
    # 60% of a CPU over a 2 s window: about 1.2 s on-CPU, the rest asleep.
    assert 0.5 < c["oncpu_s"] < 2.0, c
    assert 0.3 < c["offcpu_s"] < 2.0, c
    assert p["oncpu_s"] == pytest.approx(c["oncpu_s"], rel=1e-6)


def test_pod_folded_has_the_hot_function(agent):
    status, body, ctype = agent.get(f"/pods/{NS}/web-agt-0.folded")
    assert ctype.startswith("text/plain")
    lines = body.decode().splitlines()
    assert lines and all(re.match(r"^.+ \d+$", l) for l in lines)
    on = sum(int(l.rsplit(" ", 1)[1]) for l in lines
             if "agt_stage;agt_leaf_[c]" in l)
    assert on > 0.3e9, f"{on} ns on-CPU in agt_leaf"
    # Everything in the pod's graph is the pod's.
    assert all(l.startswith(f"[pod {NS}/web-agt-0];[container agt-app];")
               for l in lines), lines[:3]
    # oncpu mode: the same on-CPU time, no off-CPU lines and no suffixes.
    _, body, _ = agent.get(f"/pods/{NS}/web-agt-0.folded?mode=oncpu")
    assert "[off-cpu:" not in body.decode()
    assert any(l.rsplit(" ", 1)[0].endswith("agt_leaf")
               for l in body.decode().splitlines())
    _, body, _ = agent.get(f"/pods/{NS}/web-agt-0.folded?mode=offcpu")
    assert body and all("[off-cpu: " in l for l in body.decode().splitlines())


def test_pod_pprof_read_by_go_tool_pprof(agent, tmp_path):
    _, body, _ = agent.get(f"/pods/{NS}/web-agt-0.pb.gz")
    f = tmp_path / "pod.pb.gz"
    f.write_bytes(body)
    top = go_pprof(["-top", "-sample_index=cpu", f], tmp_path)
    assert "agt_leaf" in top, top
    tags = go_pprof(["-tags", f], tmp_path)
    assert "web-agt-0" in tags and "agt-app" in tags, tags


def test_container_by_name_and_id_and_svg_and_json(agent):
    c = next(r for r in agent.workloads() if r["container"] == "agt-app")
    _, by_name, _ = agent.get("/containers/agt-app.folded")
    _, by_id, _ = agent.get(f"/containers/{c['id'][:12]}.folded")
    assert "agt_leaf" in by_name.decode() and "agt_leaf" in by_id.decode()
    _, svg, ctype = agent.get(f"/pods/{NS}/web-agt-0")
    assert ctype == "image/svg+xml" and b"agt_leaf" in svg and b"<svg" in svg
    _, js, ctype = agent.get(f"/pods/{NS}/web-agt-0.json")
    tree = json.loads(js)
    assert ctype == "application/json"

    def names(n):
        yield n["name"]
        for k in n["children"]:
            yield from names(k)
    assert "agt_leaf" in set(names(tree))
    assert tree["value"] == sum(k["value"] for k in tree["children"])


def test_index_page_lists_and_links_the_pod(agent):
    _, html, ctype = agent.get("/")
    assert ctype.startswith("text/html")
    assert f'href="/pods/{NS}/web-agt-0?windows=1"'.encode() in html
    assert b"agt-app" in html


def test_windows_parameter_merges_windows(agent):
    assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")["windows"]) >= 3,
                    4 * WINDOW + 10)
    one = next(r for r in agent.workloads(1) if r["container"] == "agt-app")
    three = next(r for r in agent.workloads(3) if r["container"] == "agt-app")
    assert three["oncpu_s"] > 2 * one["oncpu_s"] * 0.6, (one, three)


def test_bad_requests_get_4xx_with_a_reason(agent):
    for path, code, word in [
            (f"/pods/{NS}/no-such-pod", 404, b"no-such-pod"),
            ("/pods/only-one-part", 404, b"/pods/NAMESPACE/POD"),
            (f"/pods/{NS}/web-agt-0?mode=fast", 400, b"mode"),
            (f"/pods/{NS}/web-agt-0?windows=-1", 400, b"windows"),
            ("/api/workloads?windows=abc", 400, b"windows"),
            ("/containers/zz", 404, b"zz"),
            ("/nothing-here", 404, b"no such page")]:
        status, body, _ = agent.get(path, expect=None)
        assert status == code and word in body, (path, status, body)
    req = urllib.request.Request(agent.base + "/", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


def test_metrics_are_prometheus_text(agent):
    m = agent.metrics()
    assert metric(m, "sysscope_oncpu_samples_total") > 0
    assert metric(m, "sysscope_offcpu_switches_total") > 0
    assert metric(m, "sysscope_windows_total", result="ok") >= 1
    assert metric(m, "sysscope_windows_kept") >= 1
    assert metric(m, "sysscope_agent_resident_bytes") > 1 << 20
    assert metric(m, "sysscope_workload_cpu_seconds", kind="pod",
                  namespace=NS, pod="web-agt-0") > 0.3
    for prog in ("oncpu", "offcpu"):
        assert metric(m, "sysscope_bpf_runs_total", program=prog) > 0
    assert metric(m, "sysscope_lost_samples_total", collector="oncpu",
                  reason="counts_map_full") >= 0
    assert metric(m, "sysscope_stack_walk_failures_total", collector="offcpu",
                  stack="kernel", reason="map_full") >= 0
    # The pod's binary has a symbol table: its frames are named by it.
    assert metric(m, "sysscope_user_frames_total", named_by="symtab") > 0


# Labels whose values are Kubernetes names (DNS labels: "web-agt-0").
WORKLOAD_LABELS = {"namespace", "pod", "container"}
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def test_metrics_pass_promtool_with_snake_case_labels(agent):
    """Prometheus's own linter finds no problem in /metrics; each family
    has one HELP and one TYPE; every label value is free of spaces and
    colons, and snake_case unless it names a workload."""
    promtool = shutil.which("promtool")
    assert promtool, "no promtool: scripts/install-deps.sh installs prometheus"
    text = agent.get("/metrics")[1].decode()
    res = subprocess.run([promtool, "check", "metrics"], input=text,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), \
        f"promtool: {res.stdout}{res.stderr}"

    helps, types = {}, {}
    for line in text.splitlines():
        m = re.match(r"^# (HELP|TYPE) (\S+) (.+)$", line)
        if m:
            seen = helps if m.group(1) == "HELP" else types
            assert m.group(2) not in seen, f"second {m.group(1)}: {line}"
            seen[m.group(2)] = m.group(3)
            continue
        name, _, rest = line.partition("{")
        name = name.split(" ")[0]
        assert re.fullmatch(r"sysscope(_[a-z0-9]+)+", name), line
        assert name in helps and name in types, f"{name}: no HELP or TYPE"
        if types[name] == "counter":
            assert name.endswith("_total"), line
        labels = rest.rpartition("}")[0] if rest else ""
        for key, value in LABEL_PAIR.findall(labels):
            assert " " not in value and ":" not in value, line
            if key not in WORKLOAD_LABELS:
                assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", value), line
    assert set(helps) == set(types)
    for family, kind in [("sysscope_oncpu_samples_total", "counter"),
                         ("sysscope_offcpu_switches_total", "counter"),
                         ("sysscope_stack_walk_failures_total", "counter"),
                         ("sysscope_user_frames_total", "counter"),
                         ("sysscope_unwind_walks_total", "counter"),
                         ("sysscope_workload_cpu_seconds", "gauge"),
                         ("sysscope_windows_kept", "gauge")]:
        assert types.get(family) == kind, (family, types.get(family))
        assert helps[family].endswith("."), helps[family]
    for series in ['sysscope_stack_walk_failures_total{collector="oncpu",'
                   'stack="user",reason="map_full"} ',
                   'sysscope_user_frames_total{named_by="build_id"} ',
                   f'sysscope_workload_cpu_seconds{{kind="pod",namespace="{NS}",'
                   'pod="web-agt-0",container=""} ']:
        assert series in text, series


def test_time_between_windows_is_counted(agent):
    """Collecting a window takes time that no window covers: the gap
    counter carries it, and windows plus gaps account for the run."""
    assert wait_for(lambda: metric(agent.metrics(), "sysscope_windows_total",
                                   result="ok") >= 3, 6 * WINDOW + 10)
    m = agent.metrics()
    windows = metric(m, "sysscope_windows_total", result="ok")
    gap = metric(m, "sysscope_window_gap_seconds_total")
    covered = metric(m, "sysscope_window_covered_seconds_total")
    collect = metric(m, "sysscope_last_collect_seconds")
    # Each window after the first began after the last one's collection.
    assert gap > 0, m
    assert collect > 0
    assert gap < windows * 1.0, f"{gap} s of gaps over {windows} windows"
    assert abs(covered - windows * WINDOW) < windows * 0.5, \
        f"{covered} s covered by {windows} windows of {WINDOW} s"


def test_agent_is_sandboxed(agent):
    status = Path(f"/proc/{agent.proc.pid}/status").read_text()
    assert re.search(r"^Seccomp:\s+2$", status, re.M), status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    cap_eff = int(re.search(r"^CapEff:\s+(\w+)$", status, re.M).group(1), 16)
    CAP_SYS_ADMIN, CAP_PERFMON, CAP_NET_BIND_SERVICE = 21, 38, 10
    assert not cap_eff & (1 << CAP_SYS_ADMIN | 1 << CAP_PERFMON |
                          1 << CAP_NET_BIND_SERVICE), hex(cap_eff)


# ---- containers come and go ----

def test_exited_container_kept_until_it_ages_out_new_one_appears(
        containerd, builds, tmp_path):
    a = Agent(["--window", WINDOW, "--retention", 3 * WINDOW])
    try:
        old = start_pod(containerd, builds, tmp_path, "agtold", "old-0", "old-app")
        try:
            assert wait_for(lambda: any(r["container"] == "old-app"
                                        for r in a.workloads()), 4 * WINDOW + 10)
        finally:
            containerd.remove(old)
        gone = time.time()
        new = start_pod(containerd, builds, tmp_path, "agtnew", "new-0", "new-app")
        try:
            assert wait_for(lambda: any(r["container"] == "new-app"
                                        for r in a.workloads()), 4 * WINDOW + 10)
            # Still served from the kept windows after it exited...
            kept = a.workloads(0)
            assert any(r["container"] == "old-app" for r in kept), kept
            _, body, _ = a.get("/containers/old-app.folded?windows=0")
            assert "agtold_leaf" in body.decode()
            # ... until every window that saw it is older than the retention.
            assert wait_for(lambda: not any(r["container"] == "old-app"
                                            for r in a.workloads(0)),
                            3 * WINDOW + 4 * WINDOW + 10)
            assert time.time() - gone >= 3 * WINDOW - 1
            a.get("/containers/old-app.folded?windows=0", expect=404)
            m = a.metrics()
            assert metric(m, "sysscope_windows_evicted_total", reason="age") >= 1
            # Its binary (a copy in its own rootfs) is no longer mapped by
            # anyone: it stays cached, idle, until the cache budget needs
            # its room (test_agent_cache.py), within that budget.
            held = sum(v for (n, _), v in m.items()
                       if n == "sysscope_cache_bytes")
            assert 0 < held <= metric(m, "sysscope_cache_budget_bytes")
            _, body, _ = a.get("/containers/new-app.folded?windows=0")
            assert "agtnew_leaf" in body.decode()
        finally:
            containerd.remove(new)
    finally:
        assert a.stop() == 0, a.stderr


def test_container_restarted_under_its_name_is_one_series(
        containerd, builds, tmp_path):
    """A container replaced by another of the same pod and name (a restart:
    a new id) inside one window: the API lists both ids, /metrics one
    series for the name, holding the time of both."""
    a = Agent(["--window", 6 * WINDOW, "--retention", 60])
    try:
        assert wait_for(lambda: len(a.json("/api/workloads?windows=0")
                                    ["windows"]) >= 1, 6 * WINDOW + 30)
        n0 = len(a.json("/api/workloads?windows=0")["windows"])
        # Both inside the next window: it starts once this one closed.
        assert wait_for(lambda: len(a.json("/api/workloads?windows=0")
                                    ["windows"]) > n0, 6 * WINDOW + 10)
        ids = []
        for i in range(2):
            c = start_pod(containerd, builds, tmp_path / str(i), "agtrep",
                          "rep-0", "rep-app")
            ids.append(c.id)
            time.sleep(WINDOW)
            containerd.remove(c)
        assert wait_for(lambda: len(a.json("/api/workloads?windows=0")
                                    ["windows"]) > n0 + 1, 6 * WINDOW + 10)
        rows = [r for r in a.workloads(1) if r["container"] == "rep-app"]
        assert sorted(r["id"] for r in rows) == sorted(ids), rows
        m = a.metrics()	# parse_prometheus: no duplicate series
        series = {l: v for (n, l), v in m.items()
                  if n == "sysscope_workload_cpu_seconds" and
                  'container="rep-app"' in l}
        assert len(series) == 1, series
        both = sum(r["oncpu_s"] for r in rows)
        assert both > 0.2 and list(series.values())[0] == pytest.approx(both, rel=1e-6)
    finally:
        assert a.stop() == 0, a.stderr


# ---- long sleepers, across windows ----

def test_long_sleeper_keeps_its_stack_in_every_window(agent):
    """A thread asleep since before the agent started, all along: every
    window counts it up to the window's end, with its user stack (walked
    at the window's end, not lost once the first window is read)."""
    p = subprocess.Popen([str(WORKLOADS / "offcpu_work"), "sleeper", "30"])
    try:
        first = len(agent.json("/api/workloads?windows=0")["windows"])
        assert wait_for(lambda: len(agent.json("/api/workloads?windows=0")
                                    ["windows"]) >= first + 3, 5 * WINDOW + 10)
        for n in (1, 2):
            # The same windows for the list and the graph: retry if one
            # closed in between.
            for _ in range(5):
                before = agent.json(f"/api/workloads?windows={n}")["windows"]
                _, body, _ = agent.get(f"/node.folded?mode=offcpu&windows={n}")
                after = agent.json(f"/api/workloads?windows={n}")["windows"]
                if before == after:
                    break
            assert before == after
            mine = [l for l in body.decode().splitlines()
                    if ";long_sleep;" in l and "[off-cpu: sleep]" in l]
            ns = sum(int(l.rsplit(" ", 1)[1]) for l in mine)
            # Asleep all along: the whole of each window, to the ms.
            want = sum(w["duration_s"] for w in before) * 1e9
            assert abs(ns - want) < 5e6 * n, (n, ns, want, mine[:2])
    finally:
        p.kill()
        p.wait()


# ---- the memory cap ----

def synthetic_pods(n, threads, depth, seconds):
    """n many_stacks processes, each in a pod cgroup of its own made by
    hand (kubepods/besteffort/pod<uid>/<id>, no runtime metadata)."""
    base = cgroup2_mount() / "kubepods/besteffort"
    procs, dirs = [], []
    for _ in range(n):
        d = base / f"pod{uuid.uuid4()}" / secrets.token_hex(32)
        d.mkdir(parents=True)
        dirs.append(d)
        procs.append(subprocess.Popen(
            ["sh", "-c", f'echo $$ > {d}/cgroup.procs && exec "$0" "$@"',
             str(WORKLOADS / "many_stacks"), str(threads), str(depth),
             str(seconds)]))
    return procs, dirs


def agent_rss(a, seconds):
    """The agent's VmRSS, sampled every 0.25 s for seconds."""
    rss, end = [], time.time() + seconds
    while time.time() < end:
        st = Path(f"/proc/{a.proc.pid}/status").read_text()
        rss.append(int(re.search(r"^VmRSS:\s+(\d+) kB", st, re.M)
                       .group(1)) * 1024)
        time.sleep(0.25)
    return rss


def test_memory_limit_holds_with_many_pods_and_stacks():
    """20 pods of 100 threads, each thread asleep in a new 60-deep chain
    every 1-2 s: each 1 s window holds ~1 MB of distinct stacks. What the
    agent needs besides windows depends on the node (every process's
    symbols, a collection's passing peak: 25-46 MiB seen on this test bed),
    so a first agent measures it over 5 windows. Under a cap 32 MiB above
    that (windows get half of the cap) the oldest windows go once they
    outgrow their half (the run lasts that long; /metrics says so), and the agent's resident memory, sampled all
    along, never passes the cap.
    The plain build: ASan's shadow memory is not the agent's."""
    procs, dirs = synthetic_pods(20, 100, 60, 240)
    try:
        probe = Agent(["--window", 1], binary=PLAIN)
        try:
            need = max(agent_rss(probe, 5))
            pm = probe.metrics()
        finally:
            assert probe.stop() == 0, probe.stderr
        # 24 MiB of room, and 8 more for the Python code-name cache (at
        # most 8 MiB), which the probe's 5 windows need not have filled.
        limit = max(40 << 20, need + (32 << 20)) >> 20 << 20
        # Long enough for the windows to outgrow their half of the cap.
        per_window = (metric(pm, "sysscope_windows_bytes") /
                      max(1, metric(pm, "sysscope_windows_kept")))
        seconds = min(90, 15 + 2 * (limit // 2) / max(per_window, 1 << 19))
        a = Agent(["--window", 1, "--memory-limit", f"{limit >> 20}M"],
                  binary=PLAIN)
        try:
            # At least that long, and on until windows were evicted for
            # memory (at most 150 s): the cap must hold through that too.
            rss, began = [], time.time()
            while True:
                rss += agent_rss(a, 5)
                m = a.metrics()
                if time.time() - began >= seconds and metric(
                        m, "sysscope_windows_evicted_total", reason="memory") > 0:
                    break
                if time.time() - began > 150:
                    break
            rows = a.workloads()
        finally:
            assert a.stop() == 0, a.stderr
    finally:
        for p in procs:
            p.kill()
            p.wait()
        base = cgroup2_mount()
        remove_cgroup_dirs([str(d.relative_to(base)) for d in dirs] +
                           [str(d.parent.relative_to(base)) for d in dirs])
    assert max(rss) < limit, \
        f"RSS peaked at {max(rss) >> 20} MiB (cap {limit >> 20}, need {need >> 20})"
    assert metric(m, "sysscope_windows_evicted_total", reason="memory") > 0, m
    assert metric(m, "sysscope_windows_kept") >= 2
    assert metric(m, "sysscope_windows_bytes") <= limit // 2
    # The synthetic pods are still named by their cgroup paths.
    assert sum(r["kind"] == "container" for r in rows) >= 20, rows


def test_full_maps_are_counted_and_the_agent_goes_on(spawn):
    """--max-entries 64: the counts map fills within each window. Samples
    that do not fit are counted as lost in /metrics, every window is still
    stored, and the next window starts empty again."""
    for _ in range(2):
        spawn([WORKLOADS / "many_stacks", "200", "40", "30"])
    a = Agent(["--window", 1, "--max-entries", 64])
    try:
        assert wait_for(lambda: metric(a.metrics(), "sysscope_windows_total",
                                       result="ok") >= 4, 20)
        m = a.metrics()
        assert metric(m, "sysscope_lost_samples_total", collector="offcpu",
                      reason="counts_map_full") > 0
        assert metric(m, "sysscope_windows_total", result="error") == 0
        # Each window still holds what fitted: the workload's stacks.
        _, body, _ = a.get("/node.folded?mode=offcpu")
        assert "chain_sleep" in body.decode() or "step_" in body.decode()
        a.get("/healthz")
    finally:
        assert a.stop() == 0, a.stderr


def test_slow_clients_stall_neither_profiling_nor_other_clients(agent):
    """50 clients that send half a request and then nothing: windows keep
    closing on time and other requests are answered."""
    slow = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
            s.sendall(b"GET /node.svg?windows=0 HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        seq = agent.json("/api/workloads")["windows"][-1]["seq"]
        t0 = time.time()
        assert wait_for(lambda: agent.json("/api/workloads")["windows"][-1]
                        ["seq"] >= seq + 2, 3 * WINDOW + 5)
        assert time.time() - t0 < 3 * WINDOW + 2
        assert agent.get("/healthz")[1] == b"ok\n"
    finally:
        for s in slow:
            s.close()


def test_window_pause_waits_for_samples_in_flight():
    """Each window's end waits for an RCU grace period (oncpu__pause) before
    its maps are read and emptied; perf events between windows are counted
    apart. The wait itself cannot be raced from here: this checks it runs
    under the sandbox in every window (no warning) and the counter moves."""
    a = Agent(["--window", "1", "--retention", "30"])
    try:
        assert wait_for(lambda: metric(a.metrics(), "sysscope_windows_total",
                                       result="ok") >= 3, 30)
        m = a.metrics()
        assert metric(m, "sysscope_windows_total", result="error") == 0
        assert metric(m, "sysscope_oncpu_outside_window_samples_total") > 0
    finally:
        assert a.stop() == 0, a.stderr
    assert "in flight" not in a.stderr, a.stderr
