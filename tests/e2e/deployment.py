# SPDX-License-Identifier: MIT
"""deploy/k8s/ as data, for test_deploy.py and test_image.py.

The manifests are read by tests/deploy/validate.mjs --json (the same YAML
reader as the schema check; its npm packages are installed in build/node by
tests/deploy/install-node-deps.sh). podman_options() turns the DaemonSet's
pod into `podman run` options, so that the image test runs with exactly the
privileges, security options, mounts and limits the DaemonSet asks for, and
follows them when the manifest changes.
"""
import json
import os
import re
import resource
import subprocess
from pathlib import Path

from conftest import ROOT

K8S_DIR = ROOT / "deploy/k8s"
DEPLOY_DIR = ROOT / "tests/deploy"
VALIDATE = DEPLOY_DIR / "validate.mjs"


def run_script(name, timeout, env=None):
    """Runs tests/deploy/NAME; its last stdout line is its answer."""
    script = DEPLOY_DIR / name
    res = subprocess.run([str(script)], capture_output=True, text=True,
                         timeout=timeout, env=env)
    if res.returncode != 0:
        raise AssertionError(f"{script} exited {res.returncode}:\n"
                             f"{res.stdout}{res.stderr}")
    lines = res.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing"
    return lines[-1], res.stderr


def node_deps():
    """build/node with kubernetes-models and yaml (npm ci, cached)."""
    return Path(run_script("install-node-deps.sh", timeout=600)[0])


def validate(paths, deps, json_out=True):
    """(exit status, [{"file", "index", "object", "errors"}], output)."""
    argv = ["node", str(VALIDATE)] + (["--json"] if json_out else []) + \
        [str(p) for p in paths]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, NODE_DEPS_DIR=str(deps)))
    assert res.returncode in (0, 1), \
        f"validate.mjs exited {res.returncode}: {res.stderr}"
    docs = json.loads(res.stdout)["documents"] if json_out else None
    return res.returncode, docs, res.stdout + res.stderr


def manifests(deps):
    """Every object in deploy/k8s/, checked valid."""
    rc, docs, out = validate([K8S_DIR], deps)
    bad = {f"{d['file']}#{d['index']}": d["errors"] for d in docs
           if d["errors"]}
    assert rc == 0 and not bad, f"invalid manifests: {bad}\n{out}"
    return [d["object"] for d in docs]


def the(kind, objects):
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_spec(ds):
    return ds["spec"]["template"]["spec"]


def agent_container(ds):
    containers = pod_spec(ds)["containers"]
    assert len(containers) == 1, "the DaemonSet runs one container"
    return containers[0]


def security(ds):
    """The container's securityContext over the pod's (as the kubelet
    merges them)."""
    merged = dict(pod_spec(ds).get("securityContext") or {})
    merged.update(agent_container(ds).get("securityContext") or {})
    return merged


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3}


def quantity(q):
    """A Kubernetes quantity ("512Mi", "100m", "1") as a number."""
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(q))
    assert m and m.group(2) in _UNITS, f"not a quantity: {q!r}"
    return float(m.group(1)) * _UNITS[m.group(2)]


def size_arg(s):
    """sysscope's SIZE ("256M": bytes or K, M, G, binary)."""
    m = re.fullmatch(r"([0-9]+)([KMG]?)", s)
    assert m, f"not a size: {s!r}"
    return int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20,
                              "G": 2**30}[m.group(2)]


def arg_value(args, name):
    """--name=VALUE or --name VALUE in a container's args, else None."""
    for i, a in enumerate(args):
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
        if a == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
    return None


def with_arg(args, name, value):
    """args with --name set to value (replaced, or added)."""
    out = [a for i, a in enumerate(args)
           if not a.startswith(f"--{name}=") and a != f"--{name}" and
           not (i and args[i - 1] == f"--{name}")]
    return out + [f"--{name}={value}"]


def host_mounts(ds):
    """[(host path, container path, volumeMount, hostPath volume)]."""
    volumes = {v["name"]: v for v in pod_spec(ds).get("volumes", [])}
    out = []
    for vm in agent_container(ds).get("volumeMounts", []):
        vol = volumes.get(vm["name"])
        assert vol is not None, f"volumeMount {vm['name']} has no volume"
        assert "hostPath" in vol, \
            f"volume {vm['name']}: only hostPath volumes are translated"
        out.append((vol["hostPath"]["path"], vm["mountPath"], vm, vol))
    return out


def submounts(path):
    """Mount points strictly below path on this host, parents first."""
    path = os.path.realpath(path)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")
        if mp.startswith(path.rstrip("/") + "/"):
            points.append(mp)
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def podman_options(ds, scratch, publish=None):
    """`podman run` options for the DaemonSet's pod: the same PID
    namespace, user, capabilities, seccomp, no_new_privs, read-only root,
    host mounts (read-only, recursively where the manifest says so) and
    resource limits. scratch: a folder for the empty directories that
    DirectoryOrCreate volumes get when the host lacks them (the kubelet
    would make them on the host; the test leaves this host alone).
    publish: a host port for the container's named port "http"."""
    spec = pod_spec(ds)
    c = agent_container(ds)
    sc = security(ds)
    assert not sc.get("privileged"), "the DaemonSet must not be privileged"
    opts = ["--runtime", "runc"]
    if spec.get("hostPID"):
        opts += ["--pid", "host"]
    if spec.get("hostNetwork"):
        opts += ["--network", "host"]
    if spec.get("hostIPC"):
        opts += ["--ipc", "host"]
    if "runAsUser" in sc:
        opts += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', 0)}"]
    if sc.get("readOnlyRootFilesystem"):
        # The kubelet adds no tmpfs on /tmp or /run; podman would.
        opts += ["--read-only", "--read-only-tmpfs=false"]
    caps = sc.get("capabilities") or {}
    for cap in caps.get("drop", []):
        opts += ["--cap-drop", cap]
    if caps.get("add"):
        opts += ["--cap-add", ",".join(caps["add"])]
    seccomp = (sc.get("seccompProfile") or {}).get("type", "RuntimeDefault")
    assert seccomp in ("RuntimeDefault", "Unconfined"), \
        f"seccomp {seccomp}: not translated"
    if seccomp == "Unconfined":
        opts += ["--security-opt", "seccomp=unconfined"]
    apparmor = (sc.get("appArmorProfile") or {}).get("type")
    assert apparmor in (None, "RuntimeDefault", "Unconfined"), \
        f"AppArmor {apparmor}: not translated"
    if apparmor == "Unconfined":
        opts += ["--security-opt", "apparmor=unconfined"]
    if sc.get("allowPrivilegeEscalation") is False:
        opts += ["--security-opt", "no-new-privileges"]
    limits = (c.get("resources") or {}).get("limits") or {}
    if "memory" in limits:
        opts += ["--memory", f"{int(quantity(limits['memory']))}b"]
    if "cpu" in limits:
        opts += ["--cpus", f"{quantity(limits['cpu']):g}"]
    # podman's default limits are above what runc may set here without
    # CAP_SYS_RESOURCE (the container has none): "error setting rlimits".
    # Open files: ours. Processes: any value, uid 0 is exempt from
    # RLIMIT_NPROC.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 1048576:
        hard = 1048576
    opts += ["--ulimit", f"nofile={hard}:{hard}",
             "--ulimit", "nproc=1024:1024"]
    for src, dst, vm, vol in host_mounts(ds):
        kind = vol["hostPath"].get("type", "")
        if not os.path.exists(src):
            assert kind == "DirectoryOrCreate", \
                f"hostPath {src} (type {kind!r}) is missing on this host"
            src = Path(scratch) / ("empty" + src.replace("/", "_"))
            src.mkdir(parents=True, exist_ok=True)
        ro = bool(vm.get("readOnly"))
        opts += ["--mount", f"type=bind,src={src},dst={dst}" +
                 (",ro=true" if ro else "")]
        # recursiveReadOnly, as the kubelet does it with a runtime that
        # can (podman 4 cannot): every mount below read-only too.
        if ro and vm.get("recursiveReadOnly") in ("Enabled", "IfPossible"):
            for sub in submounts(src):
                rel = os.path.relpath(sub, os.path.realpath(src))
                opts += ["--mount",
                         f"type=bind,src={sub},dst={dst}/{rel},ro=true"]
    if publish is not None:
        port = next(p for p in c.get("ports", []) if p.get("name") == "http")
        opts += ["-p", f"127.0.0.1:{publish}:{port['containerPort']}"]
    return opts
