# SPDX-License-Identifier: MIT
"""sysscope agent --clickhouse and sysscope query, end to end: a real
clickhouse-server (Debian's, started here on loopback by
scripts/clickhouse-dev.sh with its data in a temporary folder), real agents
profiling real containerd pods, and what `sysscope query` draws back.

Agents run with 2 s windows; each test takes its own database."""
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, SYSSCOPE, read_folded
from containers import STATIC_CFLAGS, build_static_workload, make_rootfs, sh
from test_agent import PLAIN, Agent, free_port, metric, parse_prometheus

NS = "shop-ch"
WINDOW = 2
DEV = ROOT / "scripts/clickhouse-dev.sh"


class ClickHouse:
    def __init__(self, workdir):
        self.env = dict(os.environ, CLICKHOUSE_DIR=str(workdir),
                        CLICKHOUSE_HTTP_PORT=str(free_port()),
                        CLICKHOUSE_TCP_PORT=str(free_port()),
                        CLICKHOUSE_PASSWORD="s3cret")
        self.port = int(self.env["CLICKHOUSE_HTTP_PORT"])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.start()

    def start(self):
        sh([DEV, "start"], env=self.env, timeout=120)

    def stop(self):
        sh([DEV, "stop"], env=self.env, timeout=120)

    def sql(self, text):
        req = urllib.request.Request(self.url, data=text.encode())
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read().decode()

    def rows(self, text):
        return [line.split("\t") for line in
                self.sql(text + " FORMAT TSV").splitlines()]


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    ch = ClickHouse(tmp_path_factory.mktemp("clickhouse"))
    yield ch
    ch.stop()


def static_burn(builds):
    """burn (leaf_hot : leaf_cold = 3 : 1 in work), static for a rootfs."""
    out = Path(builds) / "burn-static"
    if not out.exists():
        sh(["clang", *STATIC_CFLAGS, ROOT / "tests/workloads/burn.c",
            "-lpthread", "-o", out], timeout=120)
    return out


def query(clickhouse, db, *args, check=True):
    res = subprocess.run([str(SYSSCOPE), "query", "--clickhouse", clickhouse.url,
                          "--clickhouse-db", db, *map(str, args)],
                         capture_output=True, text=True, timeout=120)
    if check:
        assert res.returncode == 0, f"query {args}: {res.stderr}"
    return res


def leaf_sums(folded):
    """On-CPU ns per leaf function, from a wall-clock stacks.folded."""
    sums = {}
    for stack, v in read_folded(folded).items():
        leaf = stack[-1]
        sums[leaf] = sums.get(leaf, 0) + v
    return sums


def ch_agent(clickhouse, db, node, *extra, binary=SYSSCOPE):
    return Agent(["--window", WINDOW, "--retention", "120", "--clickhouse",
                  clickhouse.url, "--clickhouse-db", db, "--node", node,
                  *extra], binary=binary)


def ch_metrics(a):
    """The agent's sysscope_clickhouse_* and window counters, for messages."""
    return {k: v for k, v in a.metrics().items()
            if "clickhouse" in k[0] or "windows_total" in k[0]}


def wait_for(pred, timeout):
    """Polls every half second: /metrics of a sanitized agent is not free."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.5)
    return False


def pushed(a):
    m = ch_metrics(a)
    return metric(m, "sysscope_clickhouse_sent_windows_total")


@pytest.fixture(scope="module")
def burn_pod(containerd, builds, tmp_path_factory):
    rootfs = make_rootfs(tmp_path_factory.mktemp("burn") / "root",
                         static_burn(builds))
    c = containerd.run("burner", "burn-0", NS, rootfs,
                       ["/bin/app", "-r", "3", "-d", "3600"])
    yield c
    containerd.remove(c)


def test_two_nodes_push_query_keeps_3_to_1_and_matches_the_agent(
        clickhouse, burn_pod, tmp_path):
    db = "t_split"
    a = ch_agent(clickhouse, db, "node-a")
    # The second node's agent unsanitized: two sanitized ones on 2 CPUs
    # take a window many seconds to collect.
    b = ch_agent(clickhouse, db, "node-b", binary=PLAIN)
    try:
        assert wait_for(lambda: pushed(a) >= 3 and pushed(b) >= 2, 150), \
            f"windows not pushed: {ch_metrics(a)} {ch_metrics(b)}"
        served = a.json(f"/pods/{NS}/burn-0.json?windows=0&mode=oncpu")
    finally:
        assert a.stop() == 0, a.stderr
        assert b.stop() == 0, b.stderr
    start_s = served["start_unix_ns"] // 10**9
    end_s = (served["start_unix_ns"] + served["duration_ns"]) // 10**9
    assert end_s - start_s >= 3 * WINDOW

    # node-a, the windows the agent served: the same on-CPU time (2%).
    out = tmp_path / "a"
    query(clickhouse, db, "--pod", f"{NS}/burn-0", "--node", "node-a",
          "--from", start_s, "--to", end_s, "--mode", "oncpu", "-o", out)
    for f in ("flamegraph.svg", "stacks.folded", "profile.pb.gz", "summary.txt"):
        assert (out / f).stat().st_size > 0, f
    leaves = leaf_sums(out / "stacks.folded")
    total = sum(leaves.values())
    assert total == pytest.approx(served["oncpu_ns"], rel=0.02), \
        (total, served["oncpu_ns"])
    ratio = leaves["leaf_hot"] / leaves["leaf_cold"]
    # About 390 samples at 49 Hz, 3:1: the ratio's sampling spread alone is
    # +-0.35 (1 sigma); 3 sigma each side.
    assert 2.0 < ratio < 4.1, leaves
    assert "burn-0" in (out / "flamegraph.svg").read_text()

    # --node selects; no flag sums both nodes, over the same range.
    per_node = {}
    for node in ("node-a", "node-b"):
        d = tmp_path / node
        query(clickhouse, db, "--pod", f"{NS}/burn-0", "--node", node,
              "--since", "10m", "--mode", "oncpu", "-o", d)
        per_node[node] = sum(leaf_sums(d / "stacks.folded").values())
        assert per_node[node] > 0, node
    both = tmp_path / "both"
    res = query(clickhouse, db, "--pod", f"{NS}/burn-0", "--since", "10m",
                "--mode", "oncpu", "-o", both)
    assert "from 2 nodes" in res.stdout, res.stdout
    assert sum(leaf_sums(both / "stacks.folded").values()) == \
        per_node["node-a"] + per_node["node-b"]
    # A container and a namespace select the same pod here.
    d = tmp_path / "ctr"
    query(clickhouse, db, "-n", NS, "--container", "burner", "--node",
          "node-a", "--since", "10m", "--mode", "oncpu", "-o", d)
    assert sum(leaf_sums(d / "stacks.folded").values()) == per_node["node-a"]


def test_server_down_then_back_nothing_missing_or_doubled(clickhouse,
                                                         burn_pod, tmp_path):
    db = "t_outage"
    spool = tmp_path / "spool"
    # --queue-max 0: every window waiting goes through the spool on disk.
    a = ch_agent(clickhouse, db, "node-o", "--spool-dir", spool,
                 "--queue-max", "0", "--retention", "600")
    try:
        assert wait_for(lambda: pushed(a) >= 2, 120), str(ch_metrics(a))
        clickhouse.stop()
        down = time.time()
        # The agent keeps collecting and serving while the server is gone.
        assert wait_for(lambda: metric(a.metrics(),
                                       "sysscope_clickhouse_spool_windows") >= 4,
                        90), str(ch_metrics(a))
        assert a.get("/healthz")[0] == 200
        assert any(spool.iterdir()), "nothing spooled on disk"
        time.sleep(max(0, 15 - (time.time() - down)))
        clickhouse.start()
        assert wait_for(lambda: metric(a.metrics(),
                                       "sysscope_clickhouse_spool_windows") == 0,
                        90), str(ch_metrics(a))
        m = a.metrics()
        # Every window the agent holds (its whole run: --retention 600).
        held = a.json("/node.json?windows=0&mode=oncpu")
    finally:
        assert a.stop() == 0, a.stderr
    assert metric(m, "sysscope_clickhouse_send_errors_total") > 0
    assert metric(m, "sysscope_clickhouse_spooled_windows_total") >= 4
    for reason in ("queue_full", "spool_full", "spool_corrupt", "exit",
                   "helper_gone"):
        assert metric(m, "sysscope_clickhouse_dropped_windows_total",
                      reason=reason) == 0, reason
    assert not any(spool.iterdir()), "spool not emptied at exit"

    # None missing: ClickHouse has each window the agent held, from the
    # first one's start (its id) to the last one's end, and no other.
    first = held["start_unix_ns"]
    end = first + held["duration_ns"]
    ids = [int(r[0]) for r in clickhouse.rows(
        f"SELECT DISTINCT window_id FROM {db}.windows WHERE node = 'node-o' "
        "ORDER BY window_id")]
    assert ids[0] == first, (ids[0], first)
    assert len([i for i in ids if i < end]) == held["windows"], \
        (ids, held["windows"])
    # Not doubled: the agent's on-CPU time of those windows, to the ns,
    # from query, which keeps one row per key whatever was resent.
    out = tmp_path / "q"
    res = query(clickhouse, db, "--node", "node-o", "--mode", "oncpu",
                "--from", first // 10**9, "--to", (end - 1) // 10**9, "-o", out)
    assert f"{held['windows']} windows from 1 nodes" in res.stdout, res.stdout
    got = sum(leaf_sums(out / "stacks.folded").values())
    assert got == held["oncpu_ns"], (got, held["oncpu_ns"])


class Answer500(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"Code: 999, e.displayText() = DB::Exception: broken on purpose"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server_500():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer500)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


def promtool_ok(text):
    res = subprocess.run(["promtool", "check", "metrics"], input=text,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("case", ["unreachable", "password", "http500",
                                  "schema"])
def test_bad_server_clear_error_agent_keeps_serving(case, clickhouse,
                                                     server_500):
    db = f"t_bad_{case}"
    url = {
        "unreachable": f"http://127.0.0.1:{free_port()}/",
        "password": clickhouse.url.replace("http://", "http://sysscope:wrong@"),
        "http500": server_500,
        "schema": clickhouse.url,
    }[case]
    said = {
        "unreachable": "Couldn't connect",
        "password": "Wrong password",
        "http500": "broken on purpose",
        "schema": "has a different schema",
    }[case]
    if case == "schema":
        clickhouse.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
        clickhouse.sql(f"CREATE TABLE IF NOT EXISTS {db}.samples (day Date, "
                       "x UInt8) ENGINE = MergeTree() PARTITION BY day ORDER BY x")
    a = Agent(["--window", WINDOW, "--clickhouse", url, "--clickhouse-db", db])
    try:
        # A sanitized agent's first window reads every process on the
        # node: on a busy machine that alone can take a minute.
        assert wait_for(lambda: metric(a.metrics(), "sysscope_windows_total",
                                       result="ok") >= 1, 240), \
            str(ch_metrics(a))
        assert wait_for(lambda: metric(a.metrics(),
                                       "sysscope_clickhouse_send_errors_total") >= 2,
                        90), str(ch_metrics(a))
        assert wait_for(lambda: metric(a.metrics(), "sysscope_windows_total",
                                       result="ok") >= 2, 90)
        assert a.get("/healthz")[0] == 200
        text = a.get("/metrics")[1].decode()
        promtool_ok(text)
        m = parse_prometheus(text)
        assert metric(m, "sysscope_clickhouse_up") == 0
        assert metric(m, "sysscope_clickhouse_sent_windows_total") == 0
        # No spool: what waits is in memory, not lost yet.
        assert metric(m, "sysscope_clickhouse_queued_windows") >= 1
        assert a.get("/node.folded")[0] == 200
    finally:
        assert a.stop() == 0, a.stderr
    assert said in a.stderr, a.stderr
    assert a.stderr.count(said) <= 3, "the same error logged again and again"
    # sysscope query says the same, and fails.
    res = subprocess.run([str(SYSSCOPE), "query", "--clickhouse", url,
                          "--clickhouse-db", db, "--init"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and said in res.stderr, res.stderr


def test_bad_query_options_are_clear():
    for args, said in [
            (["query"], "--clickhouse URL is needed"),
            (["query", "--clickhouse", "ftp://x/"], "expected http://"),
            (["query", "--clickhouse", "http://h/", "--clickhouse-db", "a;b"],
             "invalid database name"),
            (["query", "--clickhouse", "http://h/", "--since", "1h", "--from", "1"],
             "--since excludes"),
            (["query", "--clickhouse", "http://h/", "--diff-from", "5"],
             "go together"),
            (["query", "--clickhouse", "http://h/", "--mode", "cpu"],
             "invalid --mode"),
            (["wallclock", "--clickhouse", "http://h/"], "apply to agent and query")]:
        res = subprocess.run([str(SYSSCOPE), *args], capture_output=True,
                             text=True, timeout=30)
        assert res.returncode != 0 and said in res.stderr, (args, res.stderr)


def test_diff_shows_a_doubled_function_as_growth(clickhouse, containerd,
                                                 builds, tmp_path):
    db = "t_diff"
    rootfs = make_rootfs(tmp_path / "root", build_static_workload("chd", builds))
    a = ch_agent(clickhouse, db, "node-d")
    ranges = []

    def in_ch():
        try:
            return int(clickhouse.sql(f"SELECT count() FROM {db}.windows"))
        except OSError:
            return 0

    try:
        # One container napping (90% of its time in chd_nap), then two of
        # them, same pod, same name: chd_nap's off-CPU time doubles,
        # however busy the machine is.
        for copies in (1, 2):
            cs = [containerd.run("differ", "diff-0", NS, rootfs,
                                 ["/bin/app", "-u", "10"])
                  for _ in range(copies)]
            first = in_ch()
            start = int(time.time()) + 1
            assert wait_for(lambda: in_ch() >= first + 4, 120), in_ch()
            # Up to the last window stored: the one still open would
            # straddle the change of phase.
            last = int(clickhouse.sql(
                f"SELECT toUInt32(max(window_start)) FROM {db}.windows"))
            ranges.append((start, last + 1))
            for c in cs:
                containerd.remove(c)
    finally:
        assert a.stop() == 0, a.stderr
    (b0, b1), (n0, n1) = ranges
    out = tmp_path / "diff"
    query(clickhouse, db, "--pod", f"{NS}/diff-0", "--mode", "offcpu",
          "--from", n0, "--to", n1, "--diff-from", b0, "--diff-to", b1,
          "-o", out)
    svg = (out / "flamegraph-diff.svg").read_text()
    assert "red = grew, blue = shrank" in svg
    m = re.search(r"<title>chd_nap \(([^)]*)\)</title><rect [^>]*"
                  r'fill="rgb\((\d+),(\d+),(\d+)\)"', svg)
    assert m, "chd_nap not in the diff"
    growth = re.search(r"([+-][0-9.]+)%$", m.group(1))
    # Twice the napping: +100%, each range scaled by the time its windows
    # cover; windows whole in their phase. A busy node still moves it.
    print(f"chd_nap: {m.group(1)}")
    assert growth and 50 < float(growth.group(1)) < 200, m.group(1)
    r, g, b = map(int, m.group(2, 3, 4))
    assert r == 255 and g < 200 and b < 200, (r, g, b)
