# SPDX-License-Identifier: MIT
"""Real containers for the end-to-end tests: containerd (through ctr, with
the CRI annotations a kubelet would set), podman, and a hand-made
systemd-driver cgroup layout.

Each container runs a statically linked build of tests/workloads/ctr_work.c
whose function names carry a tag (alpha_leaf, beta_leaf...), copied into
that container's root only, at the same path /bin/app everywhere: symbols
resolve right only if they are read through each process's own root.

Everything started here is removed at teardown, also when a test fails:
containers, their cgroup directories in every hierarchy (runc leaves the
pod-level parents behind), images, and containerd itself if it was not
running before. Leftovers of an earlier run that was killed are removed
too (they carry the owner's pid in a label).
"""
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT, cgroup2_mount, wait_for

WORKLOAD_SRC = ROOT / "tests/workloads/ctr_work.c"
CTR_NS = "k8s.io"
DEFAULT_SOCKET = Path("/run/containerd/containerd.sock")
OWNER_LABEL = "sysscope-e2e-owner"
# The same flags as the Makefile's workloads, plus -static: the binary
# needs nothing from the container's root but itself.
STATIC_CFLAGS = ["-static", "-O1", "-g", "-fno-omit-frame-pointer",
                 "-mno-omit-leaf-frame-pointer", "-fno-optimize-sibling-calls",
                 "-Wall", "-Wextra", "-Werror"]


def sh(argv, check=True, timeout=60, **kw):
    """Runs a command; a missing tool or a failure fails loudly."""
    argv = [str(a) for a in argv]
    if shutil.which(argv[0]) is None:
        raise AssertionError(f"{argv[0]} is not installed: run "
                             "scripts/install-deps.sh")
    res = subprocess.run(argv, capture_output=True, text=True,
                         timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {res.returncode}:\n"
                             f"{res.stdout}{res.stderr}")
    return res


def build_static_workload(tag, outdir):
    """ctr_work built with -DTAG=tag: tag_main_loop -> tag_stage -> tag_leaf."""
    out = Path(outdir) / f"ctr_work_{tag}"
    if not out.exists():
        sh(["clang", *STATIC_CFLAGS, f"-DTAG={tag}", WORKLOAD_SRC,
            "-lpthread", "-o", out], timeout=120)
    return out


def make_rootfs(path, binary):
    """A minimal root: /bin/app (the binary), /tmp; runc adds the rest."""
    path = Path(path)
    (path / "bin").mkdir(parents=True)
    (path / "tmp").mkdir()
    os.chmod(path / "tmp", 0o1777)
    shutil.copy2(binary, path / "bin/app")
    return path


def owner_alive(labels):
    try:
        pid = int((labels or {}).get(OWNER_LABEL, ""))
    except ValueError:
        return True     # not ours
    return pid == os.getpid() or Path(f"/proc/{pid}").exists()


# ---- cgroup hierarchies -------------------------------------------------

def cgroup_mounts():
    """Mount points of every cgroup hierarchy, v1 and v2."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        if post.split()[0] in ("cgroup", "cgroup2"):
            mounts.append(Path(pre.split()[4]))
    return mounts


def v1_cpu_mount():
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        f = post.split()
        if f[0] == "cgroup" and "cpu" in f[2].split(","):
            return Path(pre.split()[4])
    raise AssertionError("no cgroup v1 cpu hierarchy mounted")


def remove_cgroup_dirs(rels, timeout=5.0):
    """rmdir each relative cgroup path (deepest first) in every hierarchy
    where it exists; a directory still in use stays (and is retried)."""
    for rel in sorted(set(rels), key=lambda r: -r.count("/")):
        for mount in cgroup_mounts():
            d = mount / rel.strip("/")
            if not d.is_dir():
                continue
            for sub in sorted((p for p in d.rglob("*") if p.is_dir()),
                              reverse=True) + [d]:
                wait_for(lambda: _rmdir(sub), timeout)


def _rmdir(d):
    try:
        d.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


class CgroupParents:
    """Parents that runtimes create and leave behind (/kubepods,
    /kubepods/besteffort, /libpod_parent): removed at the end, if empty,
    when they did not exist at the start."""

    CANDIDATES = ("kubepods/besteffort", "kubepods", "libpod_parent/conmon",
                  "libpod_parent")

    def __init__(self):
        self.before = {str(m / c) for m in cgroup_mounts()
                       for c in self.CANDIDATES if (m / c).exists()}

    def cleanup(self):
        for c in self.CANDIDATES:
            for m in cgroup_mounts():
                d = m / c
                if str(d) not in self.before and d.is_dir():
                    _rmdir(d)


# ---- containerd ----------------------------------------------------------

@dataclass
class Container:
    runtime: str            # "containerd" or "podman", as `sysscope ps` says
    id: str                 # 64 hex
    name: str
    pod: str = None         # pod name, or None
    namespace: str = None
    pod_uid: str = None
    rootfs: Path = None
    cgroup: str = None      # as /proc/PID/cgroup shows it (v2)
    removed: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def short_id(self):
        return self.id[:12]

    @property
    def cgroup_dir(self):
        return cgroup2_mount() / self.cgroup.lstrip("/")

    def pids(self):
        try:
            text = (self.cgroup_dir / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(p) for p in text.split()]

    def pid(self):
        pids = self.pids()
        assert len(pids) == 1, f"{self.name}: processes {pids}"
        return pids[0]

    @property
    def frames(self):
        """The root frames sysscope gives its samples."""
        c = (f"[container {self.name}]",)
        return ((f"[pod {self.namespace}/{self.pod}]",) + c if self.pod
                else c)


class Containerd:
    """ctr against the node's containerd on the default socket (sysscope
    reads its task bundles from /run/containerd). One that is already
    running is used as it is; otherwise one is started with the default
    root and state, and stopped at the end."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.proc = None
        self.containers = []
        self.parents = CgroupParents()
        if not self._alive():
            self._start()
        self.sweep_leftovers()

    def _alive(self):
        if shutil.which("ctr") is None or shutil.which("containerd") is None:
            raise AssertionError("containerd/ctr is not installed: run "
                                 "scripts/install-deps.sh")
        if not DEFAULT_SOCKET.exists():
            return False
        try:
            return subprocess.run(["ctr", "--connect-timeout", "2s",
                                   "version"], capture_output=True,
                                  timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _start(self):
        log = open(self.workdir / "containerd.log", "w")
        self.proc = subprocess.Popen(["containerd"], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        if not wait_for(self._alive, 30):
            self.proc.kill()
            raise AssertionError(
                "containerd did not start: " +
                (self.workdir / "containerd.log").read_text()[-2000:])

    def ctr(self, *args, check=True):
        return sh(["ctr", "-n", CTR_NS, *args], check=check)

    def run(self, name, pod, namespace, rootfs, argv, cgroup=None,
            annotations=None):
        """A container as the CRI plugin makes it: /kubepods/besteffort/
        pod<uid>/<id>, with the kubelet's annotations."""
        cid = secrets.token_hex(32)
        uid = str(uuid.uuid4())
        cgroup = cgroup or f"/kubepods/besteffort/pod{uid}/{cid}"
        ann = {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": name,
            "io.kubernetes.cri.sandbox-name": pod,
            "io.kubernetes.cri.sandbox-namespace": namespace,
            "io.kubernetes.cri.sandbox-uid": uid,
            **(annotations or {}),
        }
        c = Container("containerd", cid, name, pod, namespace, uid,
                      Path(rootfs), cgroup)
        self.containers.append(c)
        args = ["run", "-d", "--null-io", "--label",
                f"{OWNER_LABEL}={os.getpid()}", "--cgroup", cgroup]
        for k, v in ann.items():
            args += ["--annotation", f"{k}={v}"]
        self.ctr(*args, "--rootfs", rootfs, cid, *argv)
        assert wait_for(lambda: c.pids(), 10), \
            f"container {name}: no process in {c.cgroup_dir}"
        return c

    def remove(self, c):
        """Kills the task, deletes task and container, removes the pod's
        cgroup parents runc leaves."""
        self.ctr("task", "kill", "-s", "KILL", c.id, check=False)
        wait_for(lambda: not c.pids(), 10)
        self.ctr("task", "rm", "-f", c.id, check=False)
        self.ctr("c", "rm", c.id, check=False)
        parent = c.cgroup.rsplit("/", 1)[0]
        remove_cgroup_dirs([c.cgroup] + ([parent] if "/pod" in parent
                                         else []))
        c.removed = True

    def sweep_leftovers(self):
        """Containers of an earlier run of these tests whose pytest died."""
        res = self.ctr("c", "ls", "-q", check=False)
        for cid in res.stdout.split():
            info = self.ctr("c", "info", cid, check=False)
            if info.returncode:
                continue
            try:
                meta = json.loads(info.stdout)
            except ValueError:
                continue
            labels = meta.get("Labels") or {}
            if OWNER_LABEL not in labels or owner_alive(labels):
                continue
            cg = ((meta.get("Spec") or {}).get("linux") or {}) \
                .get("cgroupsPath", "")
            self.remove(Container("containerd", cid, "?", cgroup=cg or
                                  f"/{CTR_NS}/{cid}"))

    def close(self):
        for c in self.containers:
            if not c.removed:
                try:
                    self.remove(c)
                except Exception as e:      # keep removing the others
                    print(f"removing {c.name}: {e}")
        self.parents.cleanup()
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# ---- podman --------------------------------------------------------------

class Podman:
    """Root podman with runc; images imported from a root directory."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.images = []
        self.containers = []
        self.parents = CgroupParents()
        self.sweep_leftovers()

    def podman(self, *args, check=True, timeout=120):
        return sh(["podman", *args], check=check, timeout=timeout)

    def image_from_rootfs(self, rootfs, name):
        tag = f"localhost/sysscope-e2e-{name}-{os.getpid()}:latest"
        tar = self.workdir / f"{name}.tar"
        with tarfile.open(tar, "w") as t:
            t.add(rootfs, arcname=".")
        self.images.append(tag)
        self.podman("import", tar, tag)
        return tag

    def run(self, name, image, argv, options=()):
        """options: more `podman run` options (-v, -e ...)."""
        res = self.podman("run", "-d", "--runtime", "runc", "--network",
                          "none", "--ulimit", "nofile=1024:1024",
                          "--ulimit", "nproc=1024:1024", "--label",
                          f"{OWNER_LABEL}={os.getpid()}", "--name", name,
                          *options, image, *argv)
        cid = res.stdout.strip().splitlines()[-1]
        c = Container("podman", cid, name)
        self.containers.append(c)
        pid = int(self.podman("inspect", "--format", "{{.State.Pid}}",
                              name).stdout.strip())
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                c.cgroup = line[3:]
        assert c.cgroup and cid in c.cgroup, \
            f"podman container {name} in cgroup {c.cgroup!r}"
        c.extra["pid"] = pid
        return c

    def remove(self, c):
        # -t 0: the workload is pid 1 in its namespace and ignores SIGTERM.
        self.podman("rm", "-f", "-t", "0", c.name, check=False)
        remove_cgroup_dirs([c.cgroup])
        c.removed = True

    def sweep_leftovers(self):
        res = self.podman("ps", "-a", "--filter", f"label={OWNER_LABEL}",
                          "--format", "json", check=False)
        try:
            entries = json.loads(res.stdout or "[]")
        except ValueError:
            entries = []
        for e in entries:
            if not owner_alive(e.get("Labels")):
                self.podman("rm", "-f", "-t", "0", e["Id"], check=False)
        res = self.podman("images", "--format", "{{.Repository}}:{{.Tag}}",
                          check=False)
        for image in res.stdout.split():
            pre = "localhost/sysscope-e2e-"
            if image.startswith(pre):
                owner = image.rsplit(":", 1)[0].rsplit("-", 1)[-1]
                if owner.isdigit() and not owner_alive({OWNER_LABEL: owner}):
                    self.podman("rmi", "-f", image, check=False)

    def close(self):
        for c in self.containers:
            if not c.removed:
                try:
                    self.remove(c)
                except Exception as e:
                    print(f"removing {c.name}: {e}")
        for image in self.images:
            self.podman("rmi", "-f", image, check=False)
        self.parents.cleanup()


# ---- the systemd cgroup driver's layout, by hand -------------------------

class SystemdLayout:
    """kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid
    with underscores>.slice/cri-containerd-<id>.scope in the v2 hierarchy,
    made by hand: no runtime knows it, so there is no metadata and the
    container can only be named from its path."""

    def __init__(self):
        self.uid = str(uuid.uuid4())
        self.id = secrets.token_hex(32)
        pod_slice = ("kubepods-burstable-pod" + self.uid.replace("-", "_") +
                     ".slice")
        self.rel = ("kubepods.slice/kubepods-burstable.slice/" + pod_slice +
                    f"/cri-containerd-{self.id}.scope")
        self.made = []
        d = cgroup2_mount()
        for part in self.rel.split("/"):
            d = d / part
            if not d.exists():
                d.mkdir()
                self.made.append(d)
        self.dir = d

    def add(self, pid):
        (self.dir / "cgroup.procs").write_text(str(pid))

    def close(self):
        for pid in (self.dir / "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        for d in reversed(self.made):
            wait_for(lambda: _rmdir(d), 5)


# ---- reading outputs ------------------------------------------------------

def parse_ps(text):
    """`sysscope ps` rows, {short id: {column: value}}."""
    lines = text.strip().splitlines()
    header = lines[0].split()
    assert header == ["RUNTIME", "ID", "CONTAINER", "POD", "NAMESPACE",
                      "CGROUP-ID", "PROCS", "CPU-SEC"], lines[0]
    rows = {}
    for line in lines[1:]:
        f = line.split()
        assert len(f) == len(header), f"malformed ps row: {line!r}"
        rows[f[1]] = dict(zip(header, f))
    return rows


def parse_tags(text):
    """{tag: {value: percent}} from `go tool pprof -tags`."""
    import re
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\s*(\w+): Total", line)
        if m:
            current = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"\s*\S+ \(\s*([\d.]+)%\): (.+)$", line)
        if m and current is not None:
            current[m.group(2).strip()] = float(m.group(1))
    return out


def nspid(pid):
    """The pid a process has in its own (innermost) pid namespace."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError(f"/proc/{pid}/status has no NSpid")


LOCK_FILE = Path("/run/lock/sysscope-e2e-containers.lock")


@contextlib.contextmanager
def node_lock(timeout=600):
    """Serializes runs of the container tests on this node (another
    session's `make test` may run them at the same time)."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a") as f:
        end = time.time() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > end:
                    raise AssertionError(
                        f"{LOCK_FILE} held for {timeout} s by another run")
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
