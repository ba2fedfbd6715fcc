# SPDX-License-Identifier: MIT
"""Frames of interpreters and JITs, with real ones: CPython walked in BPF
(Debian 12's python3.11 and pyenv's 3.8, 3.9 and 3.10, which must be there
(scripts/install-pythons.sh), and pyenv's 3.11-3.13 where present: the
test ids say which ran), on and off the CPU and in a Debian container; Node.js
with --perf-basic-prof and a JVM with -XX:+PreserveFramePointer and its
perf map, named through their perf maps and walked by frame pointers down
to the program's start. Tolerances: see each test."""
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, read_folded, run_sysscope

LANG = ROOT / "tests/e2e/lang"
APP = LANG / "py_app.py"
DEBIAN_PYTHON = "/usr/bin/python3.11"
PYENV = Path("/root/.pyenv/versions")
# V8's perf map names: "JS:*f file:line" (node 20), "LazyCompile:*f" (18).
JS_FRAME = r"(JS|LazyCompile):[*~^]?{} "


def app_line(tag):
    """The line of py_app.py marked with # TAG."""
    for n, line in enumerate(APP.read_text().splitlines(), 1):
        if line.rstrip().endswith("# " + tag):
            return n
    raise AssertionError(f"no line marked {tag} in {APP}")


# Older interpreters (PyFrameObject chains), always tested: missing, the
# test fails. scripts/install-pythons.sh builds them with pyenv.
OLD_MINORS = ("3.8", "3.9", "3.10")


def pyenv_python(minor):
    """pyenv's newest python3.N, or where it would be."""
    found = [d / "bin" / f"python{minor}" for d in sorted(PYENV.glob(f"{minor}.*"))
             if d.name.count(".") == 2]
    found = [e for e in found if e.exists()]
    return str(found[-1]) if found else str(PYENV / f"{minor}.missing/bin/python{minor}")


def old_interpreters():
    return [pyenv_python(m) for m in OLD_MINORS]


def interpreters():
    """Debian's python3.11 and pyenv's 3.8-3.10 always (missing: the test
    fails), then pyenv's 3.11-3.13 found on this machine."""
    found = [DEBIAN_PYTHON] + old_interpreters()
    for d in sorted(PYENV.glob("3.1[1-3].*")):
        minor = d.name.rsplit(".", 1)[0]
        exe = d / "bin" / f"python{minor}"
        if exe.exists():
            found.append(str(exe))
    return found


def python_id(p):
    return (p.split("/versions/")[-1].split("/")[0] if "/versions/" in p
            else "debian-" + Path(p).name)


def start_ready(spawn, argv, cwd=None):
    """Starts argv and waits for its "ready" line."""
    p = spawn(argv, stdout=subprocess.PIPE, text=True, cwd=cwd)
    line = p.popen.stdout.readline()
    assert line.strip() == "ready", f"{argv} did not start: {line!r}"
    return p


def counter(summary, name):
    m = re.search(r"^\s*" + re.escape(name) + r"\s+(\d+)$", summary, re.M)
    assert m, f"no counter {name!r} in summary.txt"
    return int(m.group(1))


def py_frame(name, tag):
    return f"{name} (py_app.py:{app_line(tag)})"


def is_python_frame(frame):
    return re.search(r" \([^()]+\.py:\d+\)$", frame) is not None


def is_old_python(python):
    """3.8-3.10: a Python call goes through C (one eval-loop call a frame)."""
    return any(f"/versions/{m}." in python for m in OLD_MINORS)


def calls(s, caller, callee, through_c):
    """caller -> callee in stack s: adjacent, or (through_c) with only
    native frames (the interpreter's call path) between them."""
    if caller not in s or callee not in s[s.index(caller) + 1:]:
        return False
    between = s[s.index(caller) + 1:s.index(callee, s.index(caller) + 1)]
    if not through_c:
        return not between
    return not any(is_python_frame(f) for f in between)


def check_python_profile(stacks, label, through_c=False):
    """The digest process's outer -> inner -> hashlib, the ratio process's
    heavy and light in the ratio of their work, and no eval loop left
    unnamed. through_c: 3.8-3.10, whose Python calls go through C."""
    outer, inner = py_frame("outer", "OUTER_LINE"), py_frame("inner", "INNER_LINE")
    heavy, light = py_frame("heavy", "HEAVY_LINE"), py_frame("light", "LIGHT_LINE")
    total = sum(stacks.values())
    # Samples in the interpreter: with a Python frame, or an eval loop
    # that was not replaced by one.
    interp = {s: c for s, c in stacks.items()
              if any(is_python_frame(f) or f == "_PyEval_EvalFrameDefault"
                     for f in s)}
    n_interp = sum(interp.values())
    assert n_interp >= 0.5 * total, f"{label}: {n_interp} of {total} samples in Python"
    named = sum(c for s, c in interp.items()
                if "_PyEval_EvalFrameDefault" not in s)
    assert named >= 0.9 * n_interp, \
        f"{label}: Python frames on {named} of {n_interp} interpreter samples"
    # main -> outer -> inner, lines right, hashlib's native frames above.
    in_main = {s: c for s, c in interp.items()
               if py_frame("main", "MAIN_LINE") in s}
    n_main = sum(in_main.values())
    nested = {s: c for s, c in in_main.items()
              if calls(s, outer, inner, through_c)}
    n_nested = sum(nested.values())
    assert n_main > 0 and n_nested >= 0.9 * n_main, \
        f"{label}: outer -> inner on {n_nested} of {n_main} main-thread samples"
    crypto = sum(c for s, c in nested.items()
                 if s.index(inner) + 1 < len(s) and
                 not is_python_frame(s[s.index(inner) + 1]) and
                 any("SHA256" in f for f in s[s.index(inner) + 1:]))
    assert crypto >= 0.5 * n_nested, \
        f"{label}: hashlib's native frames above inner on {crypto} of {n_nested}"
    # The worker: heavy does 3 times light's work.
    n_heavy = sum(c for s, c in interp.items() if heavy in s)
    n_light = sum(c for s, c in interp.items() if light in s)
    # 999 Hz: enough samples for +-0.05 even on a loaded machine.
    assert n_heavy + n_light >= 200, f"{label}: {n_heavy}+{n_light} worker samples"
    ratio = n_heavy / (n_heavy + n_light)
    assert abs(ratio - 0.75) <= 0.05, \
        f"{label}: heavy/(heavy+light) = {ratio:.3f} ({n_heavy}:{n_light}), expected 0.75"


@pytest.mark.parametrize("python", interpreters(), ids=python_id)
def test_python_frames_on_cpu(tmp_path, spawn, python):
    """Python frames named function (file.py:LINE) in place of the eval
    loop, C extension frames above them; counted in summary.txt."""
    assert Path(python).exists(), \
        f"{python} missing: run scripts/install-deps.sh and scripts/install-pythons.sh"
    digest = start_ready(spawn, [python, APP, "digest"])
    ratio = start_ready(spawn, [python, APP, "ratio"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", f"{digest.pid},{ratio.pid}", "-d", "4",
                  "-f", "999", "-o", out])
    check_python_profile(read_folded(out / "stacks.folded"), python,
                         through_c=is_old_python(python))
    summary = (out / "summary.txt").read_text()
    assert counter(summary, "python: frames read") > 0
    assert counter(summary, "python: walks to the first frame") > 0
    assert counter(summary, "python: walks stopped, memory unreadable") == 0


# 3.9 reads its frames and lines as 3.8 does: its sleep is left to 3.8.
@pytest.mark.parametrize("python", [DEBIAN_PYTHON, pyenv_python("3.8"),
                                    pyenv_python("3.10")], ids=python_id)
def test_python_blocked_in_sleep(tmp_path, spawn, python):
    """Off-CPU: the thread in time.sleep shows the function that slept."""
    assert Path(python).exists(), \
        f"{python} missing: run scripts/install-deps.sh and scripts/install-pythons.sh"
    p = start_ready(spawn, [python, APP, "digest"])
    out = tmp_path / "out"
    run_sysscope(["offcputime", "-p", p.pid, "-d", "3", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    sleeper = py_frame("sleeper", "SLEEP_LINE")
    # Above it time.sleep's native frames (static in Debian's stripped
    # python3.11: unnamed) down to the system call: clock_nanosleep, or
    # select before 3.11.
    wait = "__select" if is_old_python(python) else "clock_nanosleep"
    slept = sum(c for s, c in stacks.items()
                if sleeper in s and wait in s[s.index(sleeper):])
    # Values are ns; the thread sleeps the whole 3 s in 50 ms naps.
    top = sorted(stacks.items(), key=lambda kv: -kv[1])[:3]
    assert slept >= 1.5e9, (f"{slept / 1e9:.2f} s under {sleeper}; top: "
                            f"{[(';'.join(s[-12:]), c) for s, c in top]}")


@pytest.fixture(scope="module")
def lang_podman(tmp_path_factory, exclusive):
    """Podman, and Debian 12 with its own python3 and nodejs from apt."""
    from containers import Podman
    image = subprocess.run([str(LANG / "make-lang-image.sh")],
                           capture_output=True, text=True, timeout=900)
    assert image.returncode == 0, f"make-lang-image.sh: {image.stderr[-2000:]}"
    pm = Podman(tmp_path_factory.mktemp("podman"))
    try:
        yield pm, image.stdout.strip()
    finally:
        pm.close()


def test_python_in_debian_container(tmp_path, lang_podman):
    """Debian 12's own python3 in a podman container: the same frames,
    named from the container's process through the host's /proc."""
    pm, img = lang_podman
    # -c: the program's "file" is <string>; its lines are the same.
    digest = pm.run("sysscope-e2e-python-digest", img,
                    ["python3", "-c", APP.read_text(), "digest"])
    ratio = pm.run("sysscope-e2e-python-ratio", img,
                   ["python3", "-c", APP.read_text(), "ratio"])
    time.sleep(1.5)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", f"{digest.extra['pid']},{ratio.extra['pid']}",
                  "-d", "4", "-f", "999", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    renamed = {tuple(f.replace("(<string>:", "(py_app.py:") for f in s): n
               for s, n in stacks.items()}
    assert any(f.startswith("[container ") for s in stacks for f in s)
    check_python_profile(renamed, "container python3")


def test_old_python_in_container(tmp_path, lang_podman):
    """pyenv's 3.10 mounted at another path in a Debian 12 container
    (/opt/python3.10): its libpython is found in the container's root, its
    frames walked and named as on the host."""
    pm, img = lang_podman
    python = pyenv_python("3.10")
    assert Path(python).exists(), \
        f"{python} missing: run scripts/install-pythons.sh"
    home = Path(python).parent.parent
    options = ["-v", f"{home}:/opt/python3.10:ro",
               "-e", "LD_LIBRARY_PATH=/opt/python3.10/lib"]
    argv = ["/opt/python3.10/bin/python3.10", "-c", APP.read_text()]
    digest = pm.run("sysscope-e2e-py310-digest", img, argv + ["digest"], options)
    ratio = pm.run("sysscope-e2e-py310-ratio", img, argv + ["ratio"], options)
    time.sleep(1.5)
    maps = Path(f"/proc/{ratio.extra['pid']}/maps").read_text()
    assert "/opt/python3.10/lib/libpython3.10.so" in maps, \
        "the container's python3.10 does not map /opt/python3.10's libpython"
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", f"{digest.extra['pid']},{ratio.extra['pid']}",
                  "-d", "4", "-f", "999", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    renamed = {tuple(f.replace("(<string>:", "(py_app.py:") for f in s): n
               for s, n in stacks.items()}
    assert any(f.startswith("[container ") for s in stacks for f in s)
    check_python_profile(renamed, "container python3.10", through_c=True)


def test_node_in_debian_container(tmp_path, lang_podman):
    """Debian 12's nodejs in a container: its perf map is
    /tmp/perf-NSPID.map in the container's root (pid 1 there)."""
    pm, img = lang_podman
    c = pm.run("sysscope-e2e-node", img,
               ["node", "--perf-basic-prof", "--interpreted-frames-native-stack",
                "-e", (LANG / "hot.js").read_text()])
    time.sleep(2)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", c.extra["pid"], "-d", "3", "-f", "499",
                  "-o", out])
    stacks = read_folded(out / "stacks.folded")
    total = sum(stacks.values())
    hot = {s: n for s, n in stacks.items()
           if any(re.match(JS_FRAME.format("hotLoop"), f) for f in s)}
    n_hot = sum(hot.values())
    assert n_hot >= 0.7 * total, f"hotLoop on {n_hot} of {total} samples"
    whole = sum(n for s, n in hot.items()
                if any(re.match(JS_FRAME.format("callerOfHot"), f) for f in s) and
                "__libc_start_main" in s and
                any(f.startswith("[container ") for f in s))
    assert whole >= 0.8 * n_hot, \
        f"[container] .. __libc_start_main .. callerOfHot under {whole} of {n_hot}"


def test_node_perf_map(tmp_path, spawn):
    """Node.js with --perf-basic-prof --interpreted-frames-native-stack:
    the hot JS function named, under its caller, down to the start."""
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/install-deps.sh"
    # In tmp_path: V8 leaves its isolate log in the working directory.
    p = start_ready(spawn, [node, "--perf-basic-prof",
                            "--interpreted-frames-native-stack", LANG / "hot.js"],
                    cwd=tmp_path)
    time.sleep(1)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", p.pid, "-d", "3", "-f", "199", "-o", out])
    stacks = read_folded(out / "stacks.folded")
    total = sum(stacks.values())
    hot = {s: c for s, c in stacks.items()
           if any(re.match(JS_FRAME.format("hotLoop"), f) for f in s)}
    n_hot = sum(hot.values())
    assert n_hot >= 0.7 * total, f"hotLoop on {n_hot} of {total} samples"
    whole = sum(c for s, c in hot.items()
                if any(re.match(JS_FRAME.format("callerOfHot"), f) for f in s) and
                "__libc_start_main" in s and
                any(f.startswith("node::Start") for f in s))
    assert whole >= 0.8 * n_hot, \
        f"callerOfHot .. node::Start .. __libc_start_main under {whole} of {n_hot}"


def test_java_perf_map(tmp_path, spawn):
    """A JVM with -XX:+PreserveFramePointer and jcmd's perf map: the hot
    method named, its thread walked down to JavaMain."""
    for tool in ("javac", "java", "jcmd"):
        assert shutil.which(tool), f"{tool} missing: run scripts/install-deps.sh"
    subprocess.run(["javac", "-d", tmp_path, LANG / "Hot.java"], check=True,
                   timeout=120)
    p = start_ready(spawn, ["java", "-XX:+PreserveFramePointer", "-cp",
                            tmp_path, "Hot"], cwd=tmp_path)
    time.sleep(2)  # compiled by then
    subprocess.run(["jcmd", str(p.pid), "Compiler.perfmap"], check=True,
                   capture_output=True, timeout=60)
    out = tmp_path / "out"
    try:
        run_sysscope(["profile", "-p", p.pid, "-d", "3", "-f", "199", "-o", out])
    finally:
        Path(f"/tmp/perf-{p.pid}.map").unlink(missing_ok=True)
    stacks = read_folded(out / "stacks.folded")
    total = sum(stacks.values())
    hot = {s: c for s, c in stacks.items() if any("Hot.hotMethod" in f for f in s)}
    n_hot = sum(hot.values())
    assert n_hot >= 0.5 * total, f"Hot.hotMethod on {n_hot} of {total} samples"
    whole = sum(c for s, c in hot.items() if "JavaMain" in s and "start_thread" in s)
    assert whole >= 0.8 * n_hot, f"JavaMain .. start_thread under {whole} of {n_hot}"
