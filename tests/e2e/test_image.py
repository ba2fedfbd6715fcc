# SPDX-License-Identifier: MIT
"""The container image for real: built from the Dockerfile with podman FROM
a Debian 12 base made here (debootstrap, podman import; no registry), then
run with exactly the DaemonSet's privileges, security options, read-only
root, host mounts and limits (deployment.podman_options reads them from
deploy/k8s/daemonset.yaml), next to a real containerd pod whose workload
burns CPU in functions named delta_main_loop -> delta_stage -> delta_leaf.

  - the image: entrypoint, default command, runtime libraries only;
  - inside it: exactly the DaemonSet's capabilities, read-only everywhere;
  - `sysscope wallclock` in it profiles the pod: its flamegraph in pods/;
  - without any one of the capabilities, or under the runtime's default
    seccomp profile, it fails or says what it lost: none is superfluous;
  - `sysscope agent` (the image's default command, with the DaemonSet's
    arguments): /healthz, /api/workloads lists the pod, its .folded has the
    hot function, /metrics, a clean exit on SIGTERM.

Slow steps are cached: the base tarball under build/deploy/, and the image
is rebuilt only when its inputs changed (tests/deploy/build-image.sh).
podman and debootstrap missing is a failure, not a skip.
"""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import deployment as dep
from conftest import read_folded
from containers import (OWNER_LABEL, Containerd, build_static_workload,
                        make_rootfs, node_lock)

TAG = "delta"
NAMESPACE, POD, CONTAINER = "deploy-e2e", "img-web-0", "img-app"
CHAIN = (f"{TAG}_main_loop", f"{TAG}_stage", f"{TAG}_leaf")
# At 40% of a CPU for 3 s, ~1.2 s on-CPU: a loaded 2-CPU machine still
# gives more than this.
MIN_ONCPU_NS = 300_000_000
# What sysscope says when it lacks a privilege (and nothing else does).
PRIVILEGE_MESSAGES = ("missing capability", "missing CAP_",
                      "kernel symbols unreadable", "Operation not permitted",
                      "Permission denied")

CAP_NUMBERS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3,
    "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8,
    "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11,
    "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
    "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19,
    "SYS_PACCT": 20, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23,
    "SYS_RESOURCE": 24, "SYS_TIME": 25, "SYS_TTY_CONFIG": 26, "MKNOD": 27,
    "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30, "SETFCAP": 31,
    "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39,
    "CHECKPOINT_RESTORE": 40,
}


def podman(*args, check=True, timeout=120):
    res = subprocess.run(["podman", *map(str, args)], capture_output=True,
                         text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"podman {' '.join(map(str, args))} exited "
                             f"{res.returncode}:\n{res.stdout}{res.stderr}")
    return res


# ---- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tools():
    for tool in ("podman", "debootstrap", "runc", "node"):
        assert shutil.which(tool), \
            f"{tool} is not installed: run scripts/install-deps.sh"


@pytest.fixture(scope="module")
def image(tools):
    """localhost/sysscope:dev, built (or found up to date) by the scripts."""
    start = time.time()
    name, log = dep.run_script("build-image.sh", timeout=3600)
    size = int(podman("image", "inspect", "--format", "{{.Size}}",
                      name).stdout)
    print(f"\nimage {name}: {size / 1e6:.1f} MB, ready in "
          f"{time.time() - start:.1f} s\n{log}")
    return name


@pytest.fixture(scope="module")
def ds():
    return dep.the("DaemonSet", dep.manifests(dep.node_deps()))


@pytest.fixture(scope="module")
def pod(tmp_path_factory, tools):
    """A containerd container with a kubelet's CRI annotations: pod
    deploy-e2e/img-web-0, container img-app, burning 40% of a CPU."""
    with node_lock():
        d = tmp_path_factory.mktemp("image-pod")
        ctd = Containerd(d)
        try:
            c = ctd.run(CONTAINER, POD, NAMESPACE,
                        make_rootfs(d / "root", build_static_workload(TAG, d)),
                        ["/bin/app", "-u", "40"])
            time.sleep(0.3)         # past the workload's calibration
            assert c.pids(), "the workload is not running"
            yield c
        finally:
            ctd.close()


@pytest.fixture
def scratch(tmp_path):
    return tmp_path / "scratch"


def run_args(ds, mode_args):
    """The DaemonSet's arguments with `agent` replaced by a one-shot mode:
    the same --host-root and --proc."""
    args = dep.agent_container(ds)["args"]
    return [*mode_args, f"--host-root={dep.arg_value(args, 'host-root')}",
            f"--proc={dep.arg_value(args, 'proc')}"]


def run_once(image, options, args, out=None, timeout=120):
    """podman run --rm with the options; out: a host folder mounted
    writable at /out (the only thing the DaemonSet does not have)."""
    extra = ["--mount", f"type=bind,src={out},dst=/out"] if out else []
    return podman("run", "--rm", "--label", f"{OWNER_LABEL}={os.getpid()}",
                  *options, *extra, image, *args, check=False,
                  timeout=timeout)


def frames(stack):
    """Frame names without wall-clock's _[c] / _[o] leaf marks."""
    return tuple(f[:-4] if f.endswith(("_[c]", "_[o]")) else f
                 for f in stack)


# ---- the image ---------------------------------------------------------------

def test_image_entrypoint_and_default_command(image):
    cfg = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    assert cfg["Entrypoint"] == ["/usr/bin/sysscope"]
    assert cfg["Cmd"] == ["agent", "--host-root", "/host",
                          "--proc", "/host/proc"]


def test_image_holds_the_runtime_only(image, ds, scratch):
    res = podman("run", "--rm", *dep.podman_options(ds, scratch),
                 "--entrypoint", "sh", image, "-c",
                 "ldd /usr/bin/sysscope; echo ==; "
                 "for t in cc gcc clang make bpftool ld; do "
                 "command -v $t; done; echo ==; "
                 "ls /usr/include 2>/dev/null | head -3; echo ==; "
                 "/usr/bin/sysscope --version")
    libs, tools, headers, version = res.stdout.split("==\n")
    assert "not found" not in libs, libs
    for lib in ("libbpf", "libelf", "libz", "libcap", "libjson-c",
                "libseccomp"):
        assert lib in libs, f"{lib} is not linked:\n{libs}"
    assert not tools.strip(), f"build tools in the runtime image: {tools}"
    assert not headers.strip(), f"headers in the runtime image: {headers}"
    assert version.startswith("sysscope "), version
    size = int(podman("image", "inspect", "--format", "{{.Size}}",
                      image).stdout)
    # Debian minbase (~81 MB) and the libraries; a toolchain would be 500+.
    assert size < 150e6, f"image is {size / 1e6:.0f} MB"


def test_image_runs_with_the_daemonset_privileges_only(image, ds, scratch):
    opts = dep.podman_options(ds, scratch)
    res = podman("run", "--rm", *opts, "--entrypoint", "sh", image, "-c",
                 "id -u; grep -E '^(Cap|NoNewPrivs|Seccomp)' "
                 "/proc/self/status; cat /proc/self/mountinfo")
    lines = res.stdout.splitlines()
    assert lines[0] == "0"
    status = dict(l.split(":\t") for l in lines[1:] if ":\t" in l)
    want = sum(1 << CAP_NUMBERS[c]
               for c in dep.security(ds)["capabilities"]["add"])
    for s in ("CapPrm", "CapEff", "CapBnd"):
        assert int(status[s], 16) == want, \
            f"{s} {status[s]}, the DaemonSet's set is {want:016x}"
    assert int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    # The topmost mount at each point: the root and everything of the host
    # read-only (recursive: the cgroup v1 controllers below too).
    top = {}
    for l in lines:
        if " - " in l:              # a mountinfo line; later ones are on top
            f = l.split()
            top[f[4]] = f[5].split(",")
    assert "ro" in top["/"], top["/"]
    host = {p: o for p, o in top.items() if p.startswith("/host/")}
    assert len(host) >= len(dep.host_mounts(ds)), host
    writable = [p for p, o in host.items() if "ro" not in o]
    assert not writable, f"writable host mounts: {writable}"


# ---- profiling a pod from the image -------------------------------------------

def test_image_profiles_a_pod(image, ds, pod, scratch, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    res = run_once(image, dep.podman_options(ds, scratch),
                   run_args(ds, ["wallclock", "-d", "3", "-f", "99", "-o",
                                 "/out/run"]), out)
    assert res.returncode == 0, f"sysscope in the image:\n{res.stderr}"
    lost = [l for l in res.stderr.splitlines()
            if any(m in l for m in PRIVILEGE_MESSAGES)]
    assert not lost, f"sysscope lacked a privilege: {lost}"
    base = out / "run/pods" / NAMESPACE / POD
    folded = base / f"{CONTAINER}.folded"
    assert folded.exists(), \
        f"no {folded.relative_to(out)}: " + \
        " ".join(str(p.relative_to(out)) for p in out.rglob("*.folded"))
    stacks = read_folded(folded)
    root = (f"[pod {NAMESPACE}/{POD}]", f"[container {CONTAINER}]")
    assert all(s[:2] == root for s in stacks), list(stacks)[:3]
    hot = sum(c for s, c in stacks.items()
              if frames(s)[-3:] == CHAIN and s[-1].endswith("_[c]"))
    assert hot >= MIN_ONCPU_NS, \
        f"{CHAIN} on-CPU {hot / 1e9:.2f} s in {folded.name}"
    assert f"{TAG}_leaf" in (base / f"{CONTAINER}.svg").read_text()
    assert (base / "pod.folded").stat().st_size > 0
    # Kernel frames are named (CAP_SYSLOG read kallsyms), not addresses.
    kernel = [f for s in read_folded(out / "run/stacks.folded")
              for f in frames(s) if f.endswith("_[k]")]
    assert kernel, "no kernel frame at all"
    named = [f for f in kernel if not f.startswith(("0x", "ffff"))]
    assert len(named) >= 0.9 * len(kernel), kernel[:5]


def kallsyms_open_to_all():
    """Does /proc/kallsyms show addresses without CAP_SYSLOG here? (The
    kernel's kallsyms_show_value(): kptr_restrict 0 and paranoid <= 1.)"""
    def read(name):
        with open(f"/proc/sys/kernel/{name}") as f:
            return int(f.read())
    return read("kptr_restrict") == 0 and read("perf_event_paranoid") <= 1


def without(options, cap):
    i = options.index("--cap-add")
    caps = [c for c in options[i + 1].split(",") if c != cap]
    return options[:i] + (["--cap-add", ",".join(caps)] if caps else []) + \
        options[i + 2:]


@pytest.mark.parametrize("cap", sorted(
    ["BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "CHECKPOINT_RESTORE",
     "SETPCAP", "SYSLOG"]))
def test_image_fails_without_each_capability(image, ds, pod, scratch,
                                             tmp_path, cap):
    """The DaemonSet's list is minimal: take any one away and sysscope
    stops, or says what it cannot do (kernel frames unnamed...)."""
    opts = dep.podman_options(ds, scratch)
    assert cap in opts[opts.index("--cap-add") + 1].split(","), \
        f"{cap} is not in the DaemonSet any more: update this test"
    res = run_once(image, without(opts, cap),
                   run_args(ds, ["wallclock", "-d", "1", "-o", "/out/r"]),
                   tmp_path)
    said = [l for l in res.stderr.splitlines()
            if any(m in l for m in PRIVILEGE_MESSAGES)]
    if cap == "SYSLOG" and kallsyms_open_to_all():
        # This host shows kernel addresses to everyone: CAP_SYSLOG is for
        # the nodes that do not (perf_event_paranoid > 1: Debian, Ubuntu).
        assert res.returncode == 0 and not said, res.stderr
        return
    assert res.returncode != 0 or said, \
        f"sysscope ran as well without CAP_{cap}: drop it from the " \
        f"DaemonSet\n{res.stderr}"
    print(f"without CAP_{cap}: exit {res.returncode}: {' | '.join(said)}")


def test_image_fails_under_the_default_seccomp_profile(image, ds, pod,
                                                       scratch, tmp_path):
    """Why the DaemonSet asks for seccomp Unconfined: the runtimes' default
    profiles allow bpf() and perf_event_open() only to CAP_SYS_ADMIN."""
    opts = dep.podman_options(ds, scratch)
    i = opts.index("seccomp=unconfined")
    res = run_once(image, opts[:i - 1] + opts[i + 1:],
                   run_args(ds, ["wallclock", "-d", "1", "-o", "/out/r"]),
                   tmp_path)
    assert res.returncode != 0 and "Operation not permitted" in res.stderr, \
        f"sysscope loads under the default seccomp profile: the " \
        f"DaemonSet can use RuntimeDefault\n{res.stderr}"


# ---- the agent, as the DaemonSet starts it --------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    """(status, body) of a GET; connection errors as status 0."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return 0, str(e)


def test_agent_serves_the_pods_flamegraph(image, ds, pod, scratch):
    """`sysscope agent` with the DaemonSet's arguments (--window=5 for the
    test) and privileges, reached through its published port."""
    window = 5
    port = free_port()
    name = f"sysscope-e2e-agent-{os.getpid()}"
    args = dep.with_arg(dep.agent_container(ds)["args"], "window", window)
    podman("run", "-d", "--name", name, "--label",
           f"{OWNER_LABEL}={os.getpid()}",
           *dep.podman_options(ds, scratch, publish=port), image, *args)
    base = f"http://127.0.0.1:{port}"

    def logs():
        return podman("logs", name, check=False).stderr[-3000:]

    def running():
        st = podman("inspect", "--format", "{{.State.Running}}", name,
                    check=False).stdout.strip()
        return st == "true"

    try:
        # /healthz: up once loaded.
        end = time.time() + 60
        while True:
            status, body = http_get(base + "/healthz", timeout=2)
            if status == 200:
                break
            assert running(), f"the agent exited:\n{logs()}"
            assert time.time() < end, f"/healthz: {status} {body}\n{logs()}"
            time.sleep(0.5)
        assert body == "ok\n"

        # After a window, /api/workloads lists the pod's container.
        entry, doc = None, None
        end = time.time() + 4 * window + 20
        while entry is None and time.time() < end:
            time.sleep(1)
            status, body = http_get(base + "/api/workloads")
            assert status == 200, f"/api/workloads: {status} {body}"
            doc = json.loads(body)
            entry = next((w for w in doc["workloads"]
                          if w.get("kind") == "container" and
                          w.get("namespace") == NAMESPACE and
                          w.get("pod") == POD and
                          w.get("container") == CONTAINER and
                          w.get("oncpu_s", 0) > 0), None)
        assert entry, f"{NAMESPACE}/{POD}/{CONTAINER} not listed: {doc}"
        assert isinstance(doc["windows"], list) and doc["windows"]
        assert pod.id.startswith(entry["id"]) or entry["id"].startswith(
            pod.short_id), entry
        assert entry["url"]
        assert any(w.get("kind") == "pod" and w.get("namespace") == NAMESPACE
                   and w.get("pod") == POD for w in doc["workloads"]), doc

        # Its flamegraph holds the workload's hot function.
        for path in (f"/pods/{NAMESPACE}/{POD}.folded?mode=oncpu",
                     f"/containers/{CONTAINER}.folded"):
            status, body = http_get(base + path)
            assert status == 200, f"{path}: {status} {body[:500]}"
            assert f"{TAG}_leaf" in body, f"{path}:\n{body[:2000]}"
        status, body = http_get(base + entry["url"])
        assert status == 200, f"{entry['url']}: {status}"
        status, body = http_get(base + "/metrics")
        assert status == 200 and "# TYPE " in body, body[:500]

        # SIGTERM (what the kubelet sends): a clean exit.
        podman("stop", "-t", "20", name, timeout=60)
        code = podman("inspect", "--format", "{{.State.ExitCode}}",
                      name).stdout.strip()
        assert code == "0", f"the agent exited {code} on SIGTERM:\n{logs()}"
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
