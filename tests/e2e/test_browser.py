# SPDX-License-Identifier: MIT
"""The agent's pages in a real browser: Debian's Chromium (headless), driven
by playwright-core through tests/browser/agent_page.mjs.

A containerd pod (shop-browser/web-brwsr-0, container brwsr-app) burns 60%
of a CPU in brwsr_main_loop -> brwsr_stage -> brwsr_leaf. The agent runs
with 3 s windows; once /api/workloads lists the pod, the script opens /,
clicks the pod's flamegraph link, searches brwsr_leaf through the Search
button's prompt and checks the highlight and the "Matched: X%" line.

Screenshots (index.png, flamegraph.png) and the searched SVG are left in
build/artifacts/browser/ (or $SYSSCOPE_ARTIFACTS/browser/), also when the
test fails. Chromium, node and npm are required: their absence fails.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, SYSSCOPE, wait_for
from containers import build_static_workload, make_rootfs

NS = "shop-browser"
POD = "web-brwsr-0"
CONTAINER = "brwsr-app"
FUNCTION = "brwsr_leaf"
WINDOW = 3
CHROMIUM = Path(os.environ.get("SYSSCOPE_CHROMIUM", "/usr/bin/chromium"))
BROWSER_DIR = ROOT / "tests/browser"
ARTIFACTS = Path(os.environ.get("SYSSCOPE_ARTIFACTS",
                                ROOT / "build/artifacts")) / "browser"


def free_port():
    """A free port that Chromium agrees to open: it refuses a list of
    well-known ones (ERR_UNSAFE_PORT), all at or below 10080."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 10080:
            return port


def get(base, path):
    """(status, body), or None when nothing answers."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError):
        return None


def lists_pod(base):
    res = get(base, "/api/workloads?windows=1")
    if not res or res[0] != 200:
        return False
    return any(w["kind"] == "pod" and w["namespace"] == NS and
               w["pod"] == POD for w in json.loads(res[1])["workloads"])


@pytest.fixture(scope="module")
def browser_deps():
    """node, npm and chromium are there; playwright-core is installed
    (tests/browser/install.sh, cached in build/node-browser)."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), \
            f"{tool} is not installed: run scripts/install-deps.sh (nodejs)"
    assert CHROMIUM.exists(), \
        f"{CHROMIUM} is missing: run scripts/install-deps.sh (chromium)"
    res = subprocess.run([str(BROWSER_DIR / "install.sh")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, \
        f"tests/browser/install.sh exited {res.returncode}:\n" \
        f"{res.stdout}{res.stderr}"
    return Path(res.stdout.strip().splitlines()[-1])


def stop_agent(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def test_browser_finds_the_pod_and_highlights_a_function(
        containerd, builds, browser_deps, tmp_path):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"browser artifacts: {ARTIFACTS}")
    rootfs = make_rootfs(tmp_path / "rootfs",
                         build_static_workload("brwsr", builds))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    agent_log = ARTIFACTS / "agent.log"
    agent = container = rc = None
    try:
        container = containerd.run(CONTAINER, POD, NS, rootfs,
                                   ["/bin/app", "-u", "60"])
        with open(agent_log, "w") as log:
            agent = subprocess.Popen(
                [str(SYSSCOPE), "agent", "--listen", f"127.0.0.1:{port}",
                 "--window", str(WINDOW), "--retention", "60"],
                stdout=log, stderr=log)
        assert wait_for(lambda: get(base, "/healthz") == (200, b"ok\n"), 20), \
            f"agent did not serve: {agent_log.read_text()}"
        assert wait_for(lambda: lists_pod(base), 4 * WINDOW + 10), \
            f"{NS}/{POD} never listed: {get(base, '/api/workloads')}"

        res = subprocess.run(
            ["node", str(BROWSER_DIR / "agent_page.mjs"), "--base", base,
             "--namespace", NS, "--pod", POD, "--function", FUNCTION,
             "--artifacts", str(ARTIFACTS), "--chromium", str(CHROMIUM)],
            capture_output=True, text=True, timeout=180,
            env=dict(os.environ, BROWSER_DEPS_DIR=str(browser_deps)))
        (ARTIFACTS / "result.json").write_text(res.stdout)
        assert res.returncode in (0, 1), \
            f"agent_page.mjs exited {res.returncode}:\n{res.stdout}{res.stderr}"
        result = json.loads(res.stdout)
        assert res.returncode == 0 and result["ok"], \
            f"in the browser: {result.get('error')}\n" \
            f"screenshots: {result.get('screenshots')}\n{res.stderr}"
    finally:
        if agent is not None:
            rc = stop_agent(agent)
        if container is not None:
            containerd.remove(container)
        print(f"browser artifacts: {ARTIFACTS}")

    assert rc == 0, f"agent exited {rc}: {agent_log.read_text()}"
    # What the script saw, checked here too.
    assert result["matched_pct"] > 0, result
    assert any(h["title"].startswith(FUNCTION + " (")
               for h in result["highlighted"]), result["highlighted"]
    assert result["flamegraph_url"].startswith(f"{base}/pods/{NS}/{POD}?")
    for name in ("index", "flamegraph"):
        png = Path(result["screenshots"][name])
        assert png.parent == ARTIFACTS, png
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert png.stat().st_size > 2000, f"{png}: {png.stat().st_size} bytes"
    print(f"screenshots: {result['screenshots']['index']} "
          f"{result['screenshots']['flamegraph']}; matched "
          f"{result['matched_pct']}% of {NS}/{POD}")
