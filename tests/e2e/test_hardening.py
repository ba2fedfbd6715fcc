# SPDX-License-Identifier: MIT
"""Hardening end to end: the sandbox as the kernel reports it, hostile
containers and files, broken runtime metadata, no privileges, and a long
run under process and container churn.

Everything runs for real, as root: real BPF, real containerd containers
(k8s layout, through containers.py), real hostile files mapped as code by
tests/workloads/hostile.c. What sysscope opened is witnessed twice, by
strace and by fanotify (the kernel names the opener of a watched inode,
whatever path or link led to it).

The module takes containers.py's node lock: it starts containers whose
files would make another session's whole-node profile read them too.
"""
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (SYSSCOPE, WORKLOADS, process_of, read_folded,
                      run_sysscope, wait_for)
from containers import (build_static_workload, make_rootfs, nspid, parse_ps)
from hostile import (FAN_ACCESS, FAN_OPEN, OpenWatch, Running,
                     build_hostile_static, build_spin_lib, classify_roots,
                     copy_bundle, describe_events, fd_count, host_opens_of,
                     hostile_tool, mapped_paths, patch_elf, proc_status,
                     root_pids_in, rss_kib, sanitized, symbol_offset,
                     truncate_elf)

NAMESPACE = "hardening"
SECRETS = ("/etc/shadow", "/etc/passwd")
# CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_CHECKPOINT_RESTORE (40).
RUN_CAPS = (2, 19, 40)
CAP_BPF = 39
RUN_MASK = sum(1 << c for c in RUN_CAPS)
HOSTILE_RUN_SECONDS = 3
HOSTILE_TIME_LIMIT = 60         # for a 3 s run, strace'd, on a loaded node
CHURN_SECONDS = int(os.environ.get("SYSSCOPE_CHURN_SECONDS", "60"))
TASK_DIR = Path("run/containerd/io.containerd.runtime.v2.task/k8s.io")


def caps_hex(mask):
    return f"{mask:016x}"


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def plain(containerd, builds, tmp_path_factory):
    """A well-behaved container: ctr_work burning 20% of a CPU."""
    rootfs = make_rootfs(tmp_path_factory.mktemp("plain") / "rootfs",
                         build_static_workload("hardy", builds))
    return containerd.run("hard-plain", "hard-plain-0", NAMESPACE, rootfs,
                          ["/bin/app", "-u", "20"])


# ---- 1. the sandbox, as /proc shows it while sampling -----------------------

def assert_sandboxed(pid, stderr, seccomp="2"):
    """Every thread: the three read capabilities in every set (CAP_BPF too
    only if sysscope said it kept it), nothing inheritable or ambient,
    no_new_privs, and the seccomp mode."""
    allowed = {RUN_MASK}
    if re.search(r"CAP_BPF.*kept", stderr):
        allowed.add(RUN_MASK | 1 << CAP_BPF)
    tids = os.listdir(f"/proc/{pid}/task")
    assert tids
    for tid in tids:
        st = proc_status(pid, tid)
        where = f"thread {tid} of sysscope {pid}"
        for key in ("CapEff", "CapPrm", "CapBnd"):
            assert int(st[key], 16) in allowed, \
                (f"{where}: {key} {st[key]}, want "
                 f"{' or '.join(map(caps_hex, allowed))}")
        assert st["CapEff"] == st["CapPrm"] == st["CapBnd"], (where, st)
        assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0, \
            (where, st["CapInh"], st["CapAmb"])
        assert st["NoNewPrivs"] == "1", (where, st["NoNewPrivs"])
        assert st["Seccomp"] == seccomp, (where, st["Seccomp"])


def test_run_mask_is_the_documented_value():
    # /proc/PID/status shows 0000010000080004 for these three on Linux.
    assert caps_hex(RUN_MASK) == "0000010000080004"


@pytest.mark.parametrize("target", ["whole-node", "container"])
def test_sandbox_in_force_while_sampling(target, plain, tmp_path):
    args = ["wallclock", "-d", "4", "-o", tmp_path / "out"]
    if target == "container":
        args += ["--container", plain.name]
    run = Running(args)
    try:
        run.wait_sampling()
        # Several looks during the run: nothing may come back later.
        for _ in range(3):
            assert run.popen.poll() is None, run.stderr
            assert_sandboxed(run.pid, run.stderr)
            time.sleep(0.7)
    finally:
        rc = run.wait(60)
    assert rc == 0, run.stderr
    assert (tmp_path / "out/stacks.folded").stat().st_size > 0


# ---- 2. the self-test and --no-seccomp -------------------------------------

SELFTEST_CALLS = ("execve", r"bpf\(BPF_PROG_LOAD\)", "perf_event_open",
                  r"open\(O_RDWR\)", r"open_by_handle_at\(O_RDWR\)")


def test_sandbox_selftest_denies_each_call_and_runs(tmp_path):
    out = tmp_path / "out"
    res = run_sysscope(["wallclock", "--sandbox-selftest", "-d", "1", "-o",
                        out], check=False)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    for call in SELFTEST_CALLS:
        hits = [line for line in lines
                if re.match(rf"^sandbox: {call}\s", line)]
        assert len(hits) == 1, f"{call}: {res.stderr}"
        assert re.match(rf"^sandbox: {call}\s+denied \(EPERM\)$", hits[0]), \
            hits[0]
    # openat2 looks absent (ENOSYS): its flags are out of seccomp's sight.
    assert any(re.match(r"^sandbox: openat2\s+denied \(ENOSYS\)$", line)
               for line in lines), res.stderr
    # Any further check it makes must be denied too.
    for line in lines:
        if line.startswith("sandbox: "):
            assert re.search(r"\sdenied \((EPERM|EACCES|ENOSYS)\)$", line), line
    # The self-test runs inside the sandbox, before sampling starts.
    first_sampling = next(i for i, line in enumerate(lines)
                          if "sampling at" in line)
    assert all(i < first_sampling for i, line in enumerate(lines)
               if line.startswith("sandbox: "))
    for name in ("stacks.folded", "flamegraph.svg", "profile.pb.gz",
                 "summary.txt", "threads.txt"):
        assert (out / name).stat().st_size > 0, name


def test_no_seccomp_warns_and_runs_without_filter(tmp_path):
    run = Running(["wallclock", "--no-seccomp", "-d", "3", "-o",
                   tmp_path / "out"])
    try:
        run.wait_sampling()
        # Only seccomp is off: capabilities and no_new_privs stay.
        assert_sandboxed(run.pid, run.stderr, seccomp="0")
    finally:
        rc = run.wait(60)
    assert rc == 0, run.stderr
    warn = [line for line in run.lines
            if "WITHOUT the seccomp filter" in line]
    assert len(warn) == 1, run.stderr
    assert "warning" in warn[0] and "--no-seccomp" in warn[0], warn


def test_selftest_verdict_matches_its_lines_without_seccomp(tmp_path):
    """Without the filter, the self-test still runs every call (an execve
    that got through would replace sysscope: no lines, no outputs) and its
    verdict follows its lines: any NOT DENIED exits 1 and says so; all
    denied (by the other layers) runs on and writes the outputs."""
    out = tmp_path / "out"
    res = run_sysscope(["wallclock", "--no-seccomp", "--sandbox-selftest",
                        "-d", "1", "-o", out], check=False)
    lines = [line for line in res.stderr.splitlines()
             if line.startswith("sandbox: ")]
    assert lines or "sampling at" in res.stderr, \
        (f"exit {res.returncode}, no self-test line, no sampling: its "
         f"execve(/bin/true) was allowed and replaced sysscope: "
         f"{res.stderr!r}")
    for call in SELFTEST_CALLS:
        assert any(re.match(rf"^sandbox: {call}\s", line) for line in lines), \
            f"no self-test line for {call} (exit {res.returncode}): " \
            f"{res.stderr!r}"
    for line in lines:
        assert re.search(r"\s(denied \((EPERM|EACCES|ENOSYS)\)|NOT DENIED)$", line), \
            line
    allowed = [line for line in lines if line.endswith("NOT DENIED")]
    if allowed:
        assert res.returncode == 1, res.stderr
        assert "a forbidden call was allowed" in res.stderr, res.stderr
    else:
        assert res.returncode == 0, res.stderr
        assert (out / "stacks.folded").stat().st_size > 0


def status_lines(stderr):
    """{key: value} of each "sandbox status:" line the self-test printed."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("sandbox status: "):
            out.append(dict(kv.split(" ", 1) for kv in
                            line[len("sandbox status: "):].split(", ")))
    return out


def assert_reader_status(st):
    """Parsing state: the filter, no_new_privs, the three read capabilities
    and nothing else (no CAP_SYS_ADMIN, no CAP_BPF: it loads nothing)."""
    assert st["Seccomp"] == "2", st
    assert st["NoNewPrivs"] == "1", st
    for key in ("CapEff", "CapPrm", "CapBnd"):
        assert int(st[key], 16) == RUN_MASK, (key, st)
    assert not int(st["CapEff"], 16) & (1 << 21 | 1 << CAP_BPF), st


def test_ps_parses_under_the_sandbox(plain):
    """sysscope ps reads every container's runtime JSON: it does so under
    the profiler's filter, with the read capabilities only."""
    res = run_sysscope(["ps", "--sandbox-selftest"], check=False)
    assert res.returncode == 0, res.stderr
    sts = status_lines(res.stderr)
    assert len(sts) == 1, res.stderr
    assert_reader_status(sts[0])
    for call in SELFTEST_CALLS:
        assert any(re.match(rf"^sandbox: {call}\s+denied \(EPERM\)$", line)
                   for line in res.stderr.splitlines()), (call, res.stderr)
    # And it still read them: the container is named from its config.json.
    row = parse_ps(res.stdout).get(plain.short_id)
    assert row and row["CONTAINER"] == plain.name, res.stdout


def test_container_selection_parses_under_the_sandbox(plain, tmp_path):
    """--container needs the runtimes' JSON before loading: a helper reads
    it under the filter, without CAP_BPF or CAP_SYS_ADMIN, and the run
    itself then sandboxes as always (two status lines)."""
    out = tmp_path / "out"
    res = run_sysscope(["wallclock", "--container", plain.name,
                        "--sandbox-selftest", "-d", "1", "-o", out],
                       check=False)
    assert res.returncode == 0, res.stderr
    sts = status_lines(res.stderr)
    assert len(sts) == 2, res.stderr
    assert_reader_status(sts[0])
    assert sts[1]["Seccomp"] == "2", sts[1]
    stacks = read_folded(out / "stacks.folded")
    assert stacks and all(s[:2] == plain.frames for s in stacks), \
        list(stacks)[:3]


def opens_before_filter(log, path_re=r'"[^"]*\.json"'):
    """Opens of paths matching path_re (by default a runtime's JSON:
    config.json, containers.json...) in the `strace -f` log by a process
    that had not yet installed a seccomp filter, and how many such opens
    there were in all."""
    filtered, early, total = set(), [], 0
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.match(r"^(\d+)\s+(.*)$", line)
        if not m:
            continue
        pid, call = int(m.group(1)), m.group(2)
        if (call.startswith("seccomp(SECCOMP_SET_MODE_FILTER") or
                call.startswith("prctl(PR_SET_SECCOMP")) and \
                re.search(r"=\s+0$", call):
            filtered.add(pid)
        elif re.match(r"^openat\(.*" + path_re, call) and \
                not re.search(r"=\s+-1", call):
            total += 1
            if pid not in filtered:
                early.append(line)
    return early, total


@pytest.mark.parametrize("what", ["ps", "selection"])
def test_runtime_json_read_only_under_the_filter(what, plain, tmp_path):
    """strace witnesses it: every runtime JSON file opened (the container's
    config.json at least) is opened by a process that installed its
    seccomp filter before."""
    log = tmp_path / "strace.log"
    args = (["ps"] if what == "ps" else
            ["wallclock", "--container", plain.name, "-d", "1", "-o",
             tmp_path / "out"])
    # LeakSanitizer cannot run under ptrace.
    env = dict(os.environ, ASAN_OPTIONS=":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"])))
    res = subprocess.run(["strace", "-f", "-qq", "-e",
                          "trace=seccomp,prctl,openat", "-o", str(log),
                          str(SYSSCOPE), *map(str, args)],
                         capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr
    early, total = opens_before_filter(log)
    assert total >= 1, "no runtime JSON opened: nothing was checked"
    assert not early, "\n".join(early[:5])


def test_pid_files_read_only_under_the_filter(spawn, burn, tmp_path):
    """-p: the process's ELF files (through /proc/PID/map_files, or its
    root) are opened only once the filter is in."""
    exe = tmp_path / f"burn-{secrets.token_hex(4)}"
    shutil.copy2(burn, exe)
    w = spawn([exe, "-d", "30"])
    log = tmp_path / "strace.log"
    env = dict(os.environ, ASAN_OPTIONS=":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"])))
    res = subprocess.run(["strace", "-f", "-qq", "-e",
                          "trace=seccomp,prctl,openat", "-o", str(log),
                          str(SYSSCOPE), "profile", "-p", str(w.pid), "-d",
                          "1", "-o", tmp_path / "out"],
                         capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr
    early, total = opens_before_filter(
        log, rf'"[^"]*(map_files|{exe.name})[^"]*"')
    assert total >= 1, "the binary was never opened: nothing was checked"
    assert not early, "\n".join(early[:5])


# ---- 3. hostile containers --------------------------------------------------

# Hostile ELF copies of a real shared object, mapped as code and run.
ELF_KINDS = ("shoff-out-of-file", "symtab-huge-size",
             "symtab-offset-out-of-file", "symtab-bad-strtab-link",
             "notes-huge", "phnum-huge")
SPARSE_SIZE = 10 << 30
SPARSE_ZERO_OFF = 5 << 30           # code in the middle of nothing
SPARSE_ELF_OFF = 8 << 30            # code outside every PT_LOAD
CODE_LEN = 0x100          # spin code and compiled spin functions


def fn_name(kind):
    return "hv_" + kind.replace("-", "_")


class Hostile:
    """What the hostile run produced, kept after its containers are gone."""


def make_evil_rootfs(d, builds, tool):
    """The root of evil-files: /bin/app (hostile.c, static) and the files
    it is told to map. Returns (rootfs, argv, {basename: expected})."""
    root = make_rootfs(d, build_hostile_static(builds))
    for sub in ("etc", "lib/deep/er", "data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    argv = ["/bin/app", "-u", "10", "-j"]
    expect = {}     # basename in maps -> (allowed frame names, offset)

    # (a) /lib/libevil.so -> /etc/shadow: inside the container that is its
    # own /etc/shadow, here an ELF with container_shadow_func (and a marker
    # string). Read from the host's root, it would be no ELF at all.
    shadow = build_spin_lib(builds, "container_shadow_func",
                            "SYSSCOPE-CONTAINER-SHADOW-MARKER")
    shutil.copy(shadow, root / "etc/shadow")
    os.symlink("/etc/shadow", root / "lib/libevil.so")
    off = symbol_offset(root / "etc/shadow", "container_shadow_func")
    argv += ["-x", f"/lib/libevil.so:{off:#x}"]
    expect["shadow"] = ({"container_shadow_func"}, off)
    # (b) a relative link climbing far above the root: the container's
    # /etc/passwd, another ELF.
    passwd = build_spin_lib(builds, "container_passwd_func",
                            "SYSSCOPE-CONTAINER-PASSWD-MARKER")
    shutil.copy(passwd, root / "etc/passwd")
    os.symlink("../../../../../../../../etc/passwd",
               root / "lib/deep/er/libpasswd.so")
    off = symbol_offset(root / "etc/passwd", "container_passwd_func")
    argv += ["-x", f"/lib/deep/er/libpasswd.so:{off:#x}"]
    expect["passwd"] = ({"container_passwd_func"}, off)
    # (d) 10 GiB sparse files: zeros with code at 5 GiB; and a real ELF
    # head with code at 8 GiB, past every segment.
    zero = root / "data/sparse-zero.bin"
    with open(zero, "wb") as f:
        f.truncate(SPARSE_SIZE)
    subprocess.run([tool, "-w", f"{zero}:{SPARSE_ZERO_OFF:#x}"], check=True)
    argv += ["-x", f"/data/sparse-zero.bin:{SPARSE_ZERO_OFF:#x}"]
    expect["sparse-zero.bin"] = (set(), SPARSE_ZERO_OFF)
    selfish = build_spin_lib(builds, "hv_sparse_elf", "sparse")
    big = root / "data/sparse-elf.so"
    shutil.copy(selfish, big)
    with open(big, "r+b") as f:
        f.truncate(SPARSE_SIZE)
    subprocess.run([tool, "-w", f"{big}:{SPARSE_ELF_OFF:#x}"], check=True)
    argv += ["-x", f"/data/sparse-elf.so:{SPARSE_ELF_OFF:#x}"]
    expect["sparse-elf.so"] = (set(), SPARSE_ELF_OFF)
    # (e) ELF files broken in one way each, and a truncated one.
    for kind in ELF_KINDS:
        lib = build_spin_lib(builds, fn_name(kind), kind)
        name = f"lib{kind}.so"
        patch_elf(lib, root / "lib" / name, kind)
        off = symbol_offset(lib, fn_name(kind))
        argv += ["-x", f"/lib/{name}:{off:#x}"]
        expect[name] = ({fn_name(kind)}, off)
    lib = build_spin_lib(builds, "hv_truncated", "truncated")
    off = symbol_offset(lib, "hv_truncated")
    truncate_elf(lib, root / "lib/libtruncated.so", off + CODE_LEN)
    argv += ["-x", f"/lib/libtruncated.so:{off:#x}"]
    expect["libtruncated.so"] = ({"hv_truncated"}, off)
    # Only mapped: an empty file, a truncated ELF of 100 bytes.
    (root / "lib/libempty.so").write_bytes(b"")
    truncate_elf(lib, root / "lib/libhead.so", 100)
    argv += ["-m", "/lib/libempty.so", "-m", "/lib/libhead.so"]
    # A name with a ';' and a space: frames must stay parseable.
    semi = root / "lib/semi;colon evil.so"
    semi.write_bytes(b"\0" * 8192)
    subprocess.run([tool, "-w", f"{semi}:0x100"], check=True)
    argv += ["-x", f"/lib/{semi.name}:0x100"]
    expect["semi_colon evil.so"] = (set(), 0x100)
    # (c) its perf map is a FIFO that the workload holds open for writing.
    os.mkfifo(root / "tmp/perf-1.map")
    return root, argv, expect


def frames_after(stacks, frame):
    """{frame right after `frame`: samples} over all stacks."""
    out = {}
    for s, n in stacks.items():
        for i, f in enumerate(s[:-1]):
            if f == frame:
                nxt = re.sub(r"_\[[co]\]$", "", s[i + 1])
                out[nxt] = out.get(nxt, 0) + n
    return out


def container_part(stacks, c):
    return {s: n for s, n in stacks.items() if s[:2] == c.frames}


def start_hostile(containerd, name, pod, rootfs, argv, want_maps=()):
    c = containerd.run(name, pod, NAMESPACE, rootfs, argv)
    pid = c.pid()
    assert nspid(pid) == 1, f"{name}: not pid 1 in its namespace"
    # The precondition: every file is mapped as code.
    ok = wait_for(lambda: all(any(p.endswith("/" + w) and
                                  any("x" in perm for perm in perms)
                                  for p, perms in mapped_paths(pid).items())
                              for w in want_maps), 10)
    assert ok, (f"{name}: not all of {want_maps} mapped as code: "
                f"{sorted(mapped_paths(pid))}")
    c.extra["pid"] = pid
    return c


@pytest.fixture(scope="module")
def hostile(containerd, builds, tmp_path_factory):
    """Three hostile containers, one strace'd whole-node wallclock run of
    HOSTILE_RUN_SECONDS under a fanotify watch of the host's secrets; the
    containers are removed as soon as the run is over."""
    tool = hostile_tool()
    d = tmp_path_factory.mktemp("hostile")
    h = Hostile()
    started = []
    try:
        root, argv, h.expect = make_evil_rootfs(d / "files", builds, tool)
        # The files as maps shows them (links resolved).
        maps_names = [n.replace("semi_colon", "semi;colon")
                      for n in h.expect] + ["libempty.so", "libhead.so"]
        h.files = start_hostile(containerd, "evil-files", "evil-0", root,
                                argv, maps_names)
        started.append(h.files)

        # (c) a perf map of garbage and 1 MB lines; the JIT's own line,
        # appended by the workload, comes after all of it.
        root = make_rootfs(d / "perfmap", build_hostile_static(builds))
        with open(root / "tmp/perf-1.map", "wb") as f:
            f.write(b"7f00 10 ok_before_garbage\n")
            for i in range(4):
                f.write(b"7f0000000000 10 " + b"A" * (1 << 20) + b"\n")
                f.write(secrets.token_bytes(1 << 16).replace(b"\n", b" ")
                        + b"\n")
            f.write(b"zzzz 10 not_hex\n0x 0x nothing\n"
                    b"ffffffffffffffff 10 wraps_around\n\n\n \n")
            f.write(b"7f00 " + b"9" * 40 + b" too_big\n")
        h.perfmap = start_hostile(containerd, "evil-perfmap", "evil-1", root,
                                  ["/bin/app", "-u", "5", "-j"])
        started.append(h.perfmap)

        # A perf map that is a link out of the container (to its own
        # root's /etc/shadow, which does not exist there).
        root = make_rootfs(d / "perflink", build_hostile_static(builds))
        os.symlink("../../../../../../etc/shadow", root / "tmp/perf-1.map")
        h.perflink = start_hostile(containerd, "evil-perflink", "evil-2",
                                   root, ["/bin/app", "-u", "5", "-j"])
        started.append(h.perflink)

        time.sleep(0.3)
        for c in started:
            assert c.pids(), f"{c.name} died before the run"

        watch = OpenWatch(SECRETS)
        try:
            watch.probe()
            h.out = d / "out"
            h.strace_log = d / "strace.log"
            t0 = time.time()
            run = Running(["wallclock", "-d", HOSTILE_RUN_SECONDS, "-o",
                           h.out], strace_log=h.strace_log)
            h.sysscope_pid = run.pid
            try:
                h.rc = run.wait(HOSTILE_TIME_LIMIT)
                h.elapsed = time.time() - t0
            finally:
                h.stderr = run.stderr
        finally:
            watch.stop()
        h.events = watch.by([h.sysscope_pid])
        # Whose roots the opens went through, while they still exist.
        h.host_root = classify_roots(root_pids_in(h.strace_log))
        h.cwd = os.getcwd()
        h.alive = {c.name: bool(c.pids()) for c in started}
    finally:
        for c in started:
            containerd.remove(c)
        for sub in ("files", "perfmap", "perflink"):   # 10 GiB sparse files
            shutil.rmtree(d / sub, ignore_errors=True)
    return h


def hostile_stacks(h):
    assert h.rc == 0, h.stderr
    return read_folded(h.out / "stacks.folded")


def test_hostile_run_finishes_in_time(hostile):
    h = hostile
    assert h.rc == 0, f"exit {h.rc}:\n{h.stderr}"
    assert h.elapsed < HOSTILE_TIME_LIMIT, h.elapsed
    assert all(h.alive.values()), f"a workload died: {h.alive}"
    assert not [line for line in h.stderr.splitlines()
                if line.startswith("sysscope: error")], h.stderr
    for name in ("flamegraph.svg", "profile.pb.gz", "summary.txt"):
        assert (h.out / name).stat().st_size > 0, name


def test_hostile_workload_own_code_is_symbolized(hostile):
    stacks = hostile_stacks(hostile)
    for c in (hostile.files, hostile.perfmap, hostile.perflink):
        mine = container_part(stacks, c)
        assert mine, f"nothing recorded under {c.frames}"
        assert all(process_of(s) == "app" for s in mine), list(mine)[:3]
        chain = ("hostile_main_loop", "hostile_stage", "hostile_leaf")
        full = sum(n for s, n in mine.items()
                   if tuple(re.sub(r"_\[[co]\]$", "", f)
                            for f in s[-3:]) == chain)
        assert full > 0, f"{c.name}: no symbolized hostile_leaf stack"


def test_hostile_files_give_their_own_names_or_file_offsets(hostile):
    """Each file the workload runs code from: a frame just below
    hostile_exec_enter, either a name that file really defines or
    file+0xOFFSET at the code's offset; never anything else."""
    stacks = container_part(hostile_stacks(hostile), hostile.files)
    after = frames_after(stacks, "hostile_exec_enter")
    seen = {}
    unexplained = {}
    for frame, n in after.items():
        for base, (names, off) in hostile.expect.items():
            m = re.fullmatch(re.escape(base) + r"\+0x([0-9a-f]+)", frame)
            if frame in names or (m and off <= int(m.group(1), 16) <
                                  off + CODE_LEN):
                seen[base] = seen.get(base, 0) + n
                break
        else:
            unexplained[frame] = n
    # The JIT thread: its perf map is a FIFO, so an anonymous address.
    jit = {f: n for f, n in unexplained.items()
           if f.startswith("[anon]+0x") or f == "[unknown]"}
    for f in jit:
        unexplained.pop(f)
    assert not unexplained, f"frames no hostile file explains: {unexplained}"
    missing = set(hostile.expect) - set(seen)
    assert not missing, f"no frame for {sorted(missing)}; saw {after}"


def test_container_links_resolve_inside_the_container(hostile):
    """libevil.so -> /etc/shadow and libpasswd.so -> ../../../etc/passwd
    are the container's own ELF files: their functions are named."""
    stacks = container_part(hostile_stacks(hostile), hostile.files)
    after = frames_after(stacks, "hostile_exec_enter")
    for fn in ("container_shadow_func", "container_passwd_func"):
        assert after.get(fn, 0) > 0, \
            f"{fn} not named (read outside the container?): {after}"
    for f in after:
        assert not f.startswith(("shadow+", "passwd+")), \
            f"{f}: a non-ELF shadow/passwd was read"


def test_perf_map_garbage_is_skipped_and_good_lines_kept(hostile):
    stacks = container_part(hostile_stacks(hostile), hostile.perfmap)
    after = frames_after(stacks, "hostile_exec_enter")
    assert after.get("hostile_jit_spin", 0) > 0, after
    assert not any(f.startswith("A" * 16) for s in stacks for f in s)
    assert not any(f in ("too_big", "wraps_around", "not_hex")
                   for s in stacks for f in s)


def test_no_host_secret_opened_fanotify(hostile):
    assert hostile.rc == 0, hostile.stderr
    bad = [e for e in hostile.events if e[1] & (FAN_OPEN | FAN_ACCESS)]
    assert not bad, describe_events(bad)


def test_no_host_secret_opened_strace(hostile):
    log = hostile.strace_log
    text = log.read_text(errors="replace")
    # The witness works: the container's own files were opened in its root.
    # (Mapped files are opened through /proc/PID/map_files first, the
    # path inside the root only when that fails.)
    assert re.search(r'openat2\(\d+, "/etc/shadow", .*RESOLVE_IN_ROOT|'
                     r'map_files/[0-9a-f]+-[0-9a-f]+", O_RDONLY\|O_CLOEXEC\|O_PATH',
                     text), \
        "sysscope never opened the container's /etc/shadow in its root"
    bad = host_opens_of(log, SECRETS, hostile.cwd, hostile.host_root)
    assert not bad, "\n".join(bad)


# (c) perf maps that would hang a reader.

@pytest.mark.parametrize("kind", ["fifo", "pagemap"])
def test_perf_map_that_never_ends_does_not_hang(kind, containerd, builds,
                                                tmp_path):
    """/tmp/perf-1.map is a FIFO with a writer (the workload holds it), or
    a link to /proc/1/pagemap: a regular file whose size says 0 and whose
    reads go on for 256 GiB. Kept to this test: a whole-node profile by
    anyone else on the node reads it too."""
    root = make_rootfs(tmp_path / "rootfs", build_hostile_static(builds))
    if kind == "fifo":
        os.mkfifo(root / "tmp/perf-1.map")
    else:
        os.symlink("/proc/1/pagemap", root / "tmp/perf-1.map")
    c = start_hostile(containerd, f"evil-{kind}", f"evil-{kind}-0", root,
                      ["/bin/app", "-u", "5", "-j"])
    try:
        out = tmp_path / "out"
        t0 = time.time()
        run = Running(["wallclock", "--container", c.name, "-d", "3", "-o",
                       out])
        # 30 s, not 60: while it hangs, so does anyone's whole-node run.
        rc = run.wait(30)
        elapsed = time.time() - t0
    finally:
        containerd.remove(c)
    assert rc == 0, run.stderr
    assert elapsed < 30, f"{elapsed:.0f} s for a 3 s run"
    stacks = read_folded(out / "stacks.folded")
    assert any(s[:2] == c.frames and "hostile_leaf" in s[-1] for s in stacks)


# Broken runtime metadata, through --host-root.

def meta_variants(spec, real_bundle, held):
    """name -> (what to do to the fake bundle dir, expected container name,
    or None for the fallback to the short id with no pod). held collects
    fds to close afterwards."""
    name = spec["annotations"]["io.kubernetes.cri.container-name"]
    good = json.dumps(spec).encode()
    quoted = json.dumps(name).encode()
    assert good.count(quoted) == 1, "the name is used elsewhere in the spec"
    ann = dict(spec["annotations"])

    def write(data):
        return lambda b: (b / "config.json").write_bytes(data)

    def fifo(b):
        (b / "config.json").unlink()
        os.mkfifo(b / "config.json")
        # A writer: a blocking open or read of it would wait forever.
        held.append(os.open(b / "config.json", os.O_RDWR | os.O_NONBLOCK))

    def link(target):
        def do(b):
            (b / "config.json").unlink()
            os.symlink(target, b / "config.json")
        return do

    def dir_link(target):
        def do(b):
            shutil.rmtree(b)
            os.symlink(target, b)
        return do

    def mkdir(b):
        (b / "config.json").unlink()
        (b / "config.json").mkdir()

    deep = json.dumps(dict(spec, deep=0)).replace(
        '"deep": 0', '"deep": ' + "[" * 100000 + "]" * 100000)
    real = Path("/") / real_bundle
    return {
        # The control: the fake tree is where the names come from.
        "intact": (write(good), name),
        "not-json": (write(b"{ this is, not json ]"), None),
        # Valid JSON with valid names: read whole, it would name it.
        "100MB": (write(good + b" " * (100 << 20)), None),
        "deep-nesting": (write(deep.encode()), None),
        "annotations-array": (write(json.dumps(dict(
            spec, annotations=list(ann.items()))).encode()), None),
        "value-types": (write(json.dumps(dict(spec, annotations={
            k: ({"x": 1} if i % 3 == 0 else [v] if i % 3 == 1 else 42)
            for i, (k, v) in enumerate(ann.items())})).encode()), None),
        "top-level-array": (write(json.dumps([spec]).encode()), None),
        "nul-byte": (write(good + b"\0"), None),
        "invalid-utf8": (write(good.replace(quoted, b'"\xff\xfe"')), None),
        "control-chars": (write(good.replace(
            quoted, b'"evil\\nname;x\\u001b[31m"')), "evil?name;x?[31m"),
        "fifo": (fifo, None),
        "directory": (mkdir, None),
        "link-to-host-shadow": (link("/etc/shadow"), None),
        # Links that reach the real bundle if resolved outside the tree.
        "link-to-real-bundle": (link(str(real / "config.json")), None),
        "bundle-dir-link-absolute": (dir_link(str(real)), None),
        "bundle-dir-link-relative": (dir_link("../" * 20 + str(real_bundle)),
                                     None),
    }


META_VARIANTS = ("intact", "not-json", "100MB", "deep-nesting",
                 "annotations-array", "value-types", "top-level-array",
                 "nul-byte", "invalid-utf8", "control-chars", "fifo",
                 "directory", "link-to-host-shadow", "link-to-real-bundle",
                 "bundle-dir-link-absolute", "bundle-dir-link-relative")
# Whole profiles too (each loads BPF: a few seconds): the nastiest ones.
META_PROFILED = ("intact", "100MB", "deep-nesting", "fifo",
                 "bundle-dir-link-absolute")


@pytest.fixture
def held_fds():
    fds = []
    yield fds
    for fd in fds:
        os.close(fd)


@pytest.mark.parametrize("variant", META_VARIANTS)
def test_broken_container_metadata(variant, plain, tmp_path, held_fds):
    c = plain
    real = TASK_DIR / c.id
    spec = json.loads((Path("/") / real / "config.json").read_text())
    host = tmp_path / "host"
    bundle = copy_bundle(Path("/") / real, host / real)
    action, want = meta_variants(spec, real, held_fds)[variant]
    action(bundle)

    out = tmp_path / "out"
    watch = OpenWatch(SECRETS)
    try:
        ps = Running(["ps", "--host-root", host])
        ps_pid = ps.pid
        ps_rc = ps.wait(30)
        prof = None
        if variant in META_PROFILED:
            prof = Running(["wallclock", "--host-root", host, "--container",
                            c.short_id, "-d", "2", "-o", out])
            prof_pid = prof.pid
            prof_rc = prof.wait(60)
    finally:
        watch.stop()
        shutil.rmtree(host, ignore_errors=True)     # 100 MB
    assert ps_rc == 0, ps.stderr
    rows = parse_ps(ps.stdout)
    row = rows.get(c.short_id)
    assert row, f"{c.short_id} missing:\n{ps.stdout}"
    if want is None:
        assert (row["CONTAINER"], row["POD"], row["NAMESPACE"]) == \
            (c.short_id, "-", "-"), row
    else:
        assert row["CONTAINER"] == want, row
        assert (row["POD"], row["NAMESPACE"]) == (c.pod, c.namespace), row
    assert int(row["PROCS"]) == 1, row
    bad = watch.by([ps_pid])
    assert not bad, describe_events(bad)
    if prof is None:
        return
    assert prof_rc == 0, prof.stderr
    stacks = read_folded(out / "stacks.folded")
    frames = ((f"[pod {c.namespace}/{c.pod}]", f"[container {want}]")
              if want else (f"[pod ?/pod{c.pod_uid}]",
                            f"[container {c.short_id}]"))
    assert stacks and all(s[:2] == frames for s in stacks), \
        (frames, list(stacks)[:3])
    assert any(f.startswith("hardy_") for s in stacks for f in s), \
        list(stacks)[:3]
    bad = watch.by([prof_pid])
    assert not bad, describe_events(bad)


# Names that are paths.

def test_pod_and_namespace_named_dotdot_stay_in_output_dir(containerd,
                                                           builds, tmp_path):
    """pods/<namespace>/<pod>/<container>.svg is built from names the
    container's creator chose: namespace ".." and pod ".." must neither
    write outside the output folder nor fail the run."""
    rootfs = make_rootfs(tmp_path / "rootfs",
                         build_static_workload("dotty", builds))
    name = f"escape-{os.getpid()}"
    c = containerd.run(name, "..", "..", rootfs, ["/bin/app", "-u", "20"])
    base = tmp_path / "a" / "b"
    base.mkdir(parents=True)
    out = base / "out"
    try:
        res = run_sysscope(["profile", "--container", c.short_id, "-d", "2",
                            "-f", "99", "-o", out], check=False)
    finally:
        containerd.remove(c)
    outside = [str(p) for p in (tmp_path / "a").rglob("*")
               if out not in p.parents and p not in (out, base)]
    assert not outside, f"written outside {out}: {outside}"
    assert res.returncode == 0, res.stderr
    written = [p for p in out.rglob("*.folded") if name in p.name]
    assert written, f"no per-container file for {name} under {out}"


# A host process that swaps its mapped file for a link to /etc/shadow.

SWAP_SCRIPT = r"""
set -e
D=$1 LIB=$2 OFF=$3 TOOL=$4
mount -t tmpfs -o mode=0755 sysscope-e2e-lower "$D/m"
cp "$LIB" "$D/m/libswap.so"
cp "$TOOL" "$D/m/hostile"
chmod 0644 "$D/m/libswap.so"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    --bounding-set=-all "$D/m/hostile" -u 5 -d 60 \
    -x "$D/m/libswap.so:$OFF" &
W=$!
echo "$W" > "$D/pid"
for i in $(seq 200); do
    grep -q libswap.so "/proc/$W/maps" && break
    sleep 0.05
done
mount -t tmpfs -o mode=0755 sysscope-e2e-upper "$D/m"
ln -s /etc/shadow "$D/m/libswap.so"
touch "$D/ready"
wait "$W"
"""


@pytest.fixture
def swapper(builds):
    """An unprivileged host process, in a mount namespace of its own, that
    maps libswap.so and then mounts over its directory a link of that name
    to /etc/shadow: /proc/PID/maps still names the mapped file by its
    path, and that path now leads to the host's /etc/shadow."""
    lib = build_spin_lib(builds, "hv_swapped", "swap")
    off = symbol_offset(lib, "hv_swapped")
    d = Path(f"/tmp/sysscope-e2e-swap-{os.getpid()}")
    shutil.rmtree(d, ignore_errors=True)
    (d / "m").mkdir(parents=True)
    os.chmod(d, 0o755)
    script = d / "swap.sh"
    script.write_text(SWAP_SCRIPT)
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private",
                          "bash", script, d, lib, hex(off),
                          WORKLOADS / "hostile"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        assert wait_for(lambda: (d / "ready").exists() or p.poll() is not None,
                        20) and p.poll() is None, \
            f"swap set-up failed: {p.stdout.read() if p.poll() else ''}"
        pid = int((d / "pid").read_text())
        yield pid, off
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def test_mapped_file_swapped_for_link_to_host_secret(swapper, tmp_path):
    pid, off = swapper
    maps = mapped_paths(pid)
    assert any(p.endswith("/m/libswap.so") for p in maps), maps
    assert proc_status(pid)["Uid"].split()[0] == "65534"
    watch = OpenWatch(SECRETS)
    try:
        run = Running(["wallclock", "-p", pid, "-d", "2", "-o",
                       tmp_path / "out"])
        spid = run.pid
        rc = run.wait(60)
    finally:
        watch.stop()
    assert rc == 0, run.stderr
    bad = watch.by([spid])
    assert not bad, ("sysscope opened the host's secret through the "
                     f"swapped path: {describe_events(bad)}")
    stacks = read_folded(tmp_path / "out/stacks.folded")
    after = frames_after(stacks, "hostile_exec_enter")
    ok = {f for f in after if f == "hv_swapped" or
          re.fullmatch(r"libswap\.so\+0x[0-9a-f]+", f)}
    assert ok, after


# ---- 4. no privileges -------------------------------------------------------

@pytest.mark.parametrize("args", [["ps"],
                                  ["wallclock", "--container", "x", "-d",
                                   "1"]])
def test_unprivileged_names_missing_capability(args, tmp_path):
    out = tmp_path / "o"
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", str(SYSSCOPE), *args]
    if args[0] != "ps":
        argv += ["-o", str(out)]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                         cwd="/")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1, \
        f"exit {res.returncode}; stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    assert len(lines) == 1, res.stderr
    assert re.search(r"missing capabilit(y|ies) CAP_[A-Z_]+", lines[0]), \
        lines[0]
    assert not out.exists()


# ---- 5. churn ------------------------------------------------------------

def test_churn_keeps_fds_and_memory_flat(containerd, builds, tmp_path):
    rootfs = make_rootfs(tmp_path / "rootfs",
                         build_static_workload("churny", builds))
    burn = WORKLOADS / "burn"
    out = tmp_path / "out"
    env = dict(os.environ)
    if sanitized():
        # ASan's quarantine holds freed memory up to 256 MB by default:
        # that would read as growth.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [
            env.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
    run = Running(["wallclock", "-o", out], env=env)
    stop = threading.Event()
    samples = []            # (seconds, fds, rss KiB)
    hosts = []
    started, errors = [], []

    def sample(t0):
        while not stop.is_set():
            try:
                samples.append((time.time() - t0, fd_count(run.pid),
                                rss_kib(run.pid)))
            except (FileNotFoundError, ProcessLookupError) as e:
                errors.append(f"sampling: {e}")
                return
            stop.wait(5)

    def host_churn():
        while not stop.is_set():
            hosts.append(subprocess.Popen([burn, "-d", "0.1"],
                                          stdout=subprocess.DEVNULL))
            for p in list(hosts):
                if p.poll() is not None:
                    hosts.remove(p)
            stop.wait(0.2)

    threads = []
    try:
        run.wait_sampling()
        t0 = time.time()
        threads = [threading.Thread(target=sample, args=(t0,)),
                   threading.Thread(target=host_churn)]
        for t in threads:
            t.start()
        prev = None
        i = 0
        while time.time() - t0 < CHURN_SECONDS:
            t_start = time.time()
            c = containerd.run(f"churn-{i:03d}", f"churn-{i:03d}-pod",
                               "hard-churn", rootfs, ["/bin/app", "-u", "30"])
            started.append(c)
            if prev:
                containerd.remove(prev)
            prev = c
            i += 1
            time.sleep(max(0.0, 2.0 - (time.time() - t_start)))
            assert run.popen.poll() is None, run.stderr
        if prev:
            containerd.remove(prev)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        for p in hosts:
            p.kill()
            p.wait()
        if run.popen.poll() is None:
            run.interrupt()
        rc = run.wait(180 if sanitized() else 90)
    print(f"churn: {len(started)} containers, samples (s, fds, RSS KiB): "
          f"{[(round(t), f, r) for t, f, r in samples]}")
    assert rc == 0, run.stderr
    assert not errors, errors
    assert len(started) >= CHURN_SECONDS // 6, f"only {len(started)} started"

    warm = [s for s in samples if s[0] >= 10]
    assert len(warm) >= 3, samples
    fds = [s[1] for s in warm]
    assert max(fds) - fds[0] <= 8, f"fd count grew: {samples}"
    rss_mb = [s[2] / 1024 for s in warm]
    limit = 600 if sanitized() else 200
    assert max(rss_mb) < limit, f"RSS {max(rss_mb):.0f} MB: {samples}"
    half = len(rss_mb) // 2
    first, second = rss_mb[:half], rss_mb[half:]
    growth = sum(second) / len(second) - sum(first) / len(first)
    assert growth < (64 if sanitized() else 32), \
        f"RSS grows {growth:.1f} MB from the first half to the second: " \
        f"{samples}"

    summary = (out / "summary.txt").read_text()
    for counter in ("perf events", "counted", "off-CPU: switches",
                    "off-CPU: intervals counted", "process notices lost",
                    "processes read"):
        m = re.search(rf"^\s+{re.escape(counter)}\s+(\d+)$", summary, re.M)
        assert m, f"summary has no counter {counter!r}:\n{summary}"
    assert int(re.search(r"processes read\s+(\d+)", summary).group(1)) > \
        CHURN_SECONDS, summary

    stacks = read_folded(out / "stacks.folded")
    named = {f for s in stacks for f in s[:2]
             if re.fullmatch(r"\[container churn-\d{3}\]", f)}
    print(f"churn: {len(named)} containers named in the profile")
    assert len(named) >= max(3, len(started) // 3), \
        f"{len(named)} of {len(started)} churned containers named: " \
        f"{sorted(named)}"
    pods = {s[0] for s in stacks if s[0].startswith("[pod hard-churn/")}
    assert len(pods) >= max(3, len(started) // 3), sorted(pods)


# ---- --user ------------------------------------------------------------------

def test_user_switch_keeps_read_caps(tmp_path):
    """--user nobody: every id of every thread is nobody's, no supplementary
    group, the sandbox as usual (assert_sandboxed), and the outputs are
    written to the folder, given to nobody."""
    nobody = pwd.getpwnam("nobody")
    out = tmp_path / "out"
    run = Running(["profile", "--user", "nobody", "-d", "3", "-o", out])
    try:
        run.wait_sampling()
        assert run.popen.poll() is None, run.stderr
        for tid in os.listdir(f"/proc/{run.pid}/task"):
            st = proc_status(run.pid, tid)
            assert st["Uid"].split() == [str(nobody.pw_uid)] * 4, (tid, st)
            assert st["Gid"].split() == [str(nobody.pw_gid)] * 4, (tid, st)
            assert st["Groups"] == "", (tid, st["Groups"])
        assert_sandboxed(run.pid, run.stderr)
    finally:
        rc = run.wait(60)
    assert rc == 0, run.stderr
    assert (out.stat().st_uid, out.stat().st_gid) == \
        (nobody.pw_uid, nobody.pw_gid)
    for name in ("flamegraph.svg", "stacks.folded", "profile.pb.gz",
                 "summary.txt", "threads.txt"):
        assert (out / name).is_file(), (name, run.stderr)
        assert (out / name).stat().st_uid == nobody.pw_uid, name
    assert (out / "summary.txt").stat().st_size > 0


def test_user_unknown_is_a_usage_error(tmp_path):
    res = run_sysscope(["profile", "--user", "sysscope-no-such-user", "-d",
                        "1", "-o", tmp_path / "out"], check=False)
    assert res.returncode == 2, res.stderr
    assert "unknown user 'sysscope-no-such-user'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "out").exists()


def test_binary_is_built_hardened():
    """PIE, full RELRO (bind now), stack protector, fortified libc calls:
    the profiler parses files other tenants wrote."""
    exe = str(SYSSCOPE)
    header = subprocess.run(["readelf", "-hW", exe], capture_output=True,
                            text=True, check=True).stdout
    dyn = subprocess.run(["readelf", "-dW", exe], capture_output=True,
                         text=True, check=True).stdout
    segs = subprocess.run(["readelf", "-lW", exe], capture_output=True,
                          text=True, check=True).stdout
    syms = subprocess.run(["nm", "-D", exe], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"Type:\s+DYN", header), header
    assert re.search(r"FLAGS_1\).*\bPIE\b", dyn), dyn
    assert re.search(r"\(FLAGS\).*BIND_NOW", dyn) or \
        re.search(r"FLAGS_1\).*\bNOW\b", dyn), dyn
    assert "GNU_RELRO" in segs, segs
    assert "__stack_chk_fail" in syms, "no stack protector"
    assert re.search(r"\b__\w+_chk\b", syms.replace("__stack_chk_fail", "")), \
        "no _FORTIFY_SOURCE calls"


# ---- attribution spoofing ---------------------------------------------------

def test_cgroup_named_like_another_container_is_not_attributed_to_it(
        containerd, builds, tmp_path):
    """Container A, as it could with a writable cgroupfs, makes a cgroup
    below its own named like container B's and moves itself in (done from
    the host here: the cgroup tree is the same). Its samples stay A's,
    since containerd's record of B (linux.cgroupsPath) puts B elsewhere,
    and the mismatch is counted."""
    roots = {}
    for tag in ("spoofa", "spoofb"):
        roots[tag] = make_rootfs(tmp_path / tag / "rootfs",
                                 build_static_workload(tag, builds))
    b = containerd.run("spoof-b", "spoof-pb", NAMESPACE, roots["spoofb"],
                       ["/bin/app", "-u", "30"])
    a = containerd.run("spoof-a", "spoof-pa", NAMESPACE, roots["spoofa"],
                       ["/bin/app", "-u", "30"])
    fake = a.cgroup_dir / b.id
    pid = a.pid()
    try:
        fake.mkdir()
        (fake / "cgroup.procs").write_text(str(pid))
        assert f"/{a.id}/{b.id}" in Path(f"/proc/{pid}/cgroup").read_text()
        out = tmp_path / "out"
        run_sysscope(["profile", "-d", "3", "-o", out])
    finally:
        if fake.exists():
            for p in (fake / "cgroup.procs").read_text().split():
                (a.cgroup_dir / "cgroup.procs").write_text(p)
            fake.rmdir()
    stacks = read_folded(out / "stacks.folded")
    a_leaf = {s[:2]: n for s, n in stacks.items() if "spoofa_leaf" in s}
    b_leaf = {s[:2]: n for s, n in stacks.items() if "spoofb_leaf" in s}
    assert set(a_leaf) == {a.frames}, a_leaf
    assert set(b_leaf) == {b.frames}, b_leaf
    summary = (out / "summary.txt").read_text()
    m = re.search(r"cgroups named like a container placed elsewhere\D*(\d+)",
                  summary)
    assert m and int(m.group(1)) >= 1, summary
