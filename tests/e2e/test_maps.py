# SPDX-License-Identifier: MIT
"""The loaded BPF programs as the kernel holds them (bpftool): what the
sched_switch program writes must never allocate, since the scheduler holds
its runqueue lock there (bpf/offcpu.bpf.c)."""
import json
import re
import subprocess
from pathlib import Path

from conftest import start_sysscope

BPF_F_NO_PREALLOC = 1


def bpftool(*args):
    res = subprocess.run(["bpftool", *args], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, f"bpftool {args}: {res.stderr}"
    return res.stdout


def prog_of(pid, name):
    """The id of program `name` that process pid holds (its fds' fdinfo
    name the programs and links' programs)."""
    ids = set()
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = info.read_text()
        except OSError:
            continue
        ids.update(int(m) for m in re.findall(r"^prog_id:\s*(\d+)", text, re.M))
    for prog in json.loads(bpftool("-j", "prog", "show")):
        if prog.get("name") == name and prog["id"] in ids:
            return prog["id"]
    raise AssertionError(f"no program {name} held by {pid}")


LOAD = re.compile(r"^\s*\d+: \(18\) (r\d) = map\[id:(\d+)\]")
MOVE_IMM = re.compile(r"^\s*\d+: \([0-9a-f]+\) (r\d) = (.*)$")
CALL = re.compile(r"^\s*\d+: \(85\) call (\S+?)#")


def writes_of(prog_id):
    """Map ids the program updates or deletes in, and the flags argument
    (r4) of each bpf_task_storage_get, from its translated instructions.
    A map argument the scan cannot tell is an error, not a pass."""
    regs, maps, storage_flags = {}, set(), []
    for line in bpftool("prog", "dump", "xlated", "id", str(prog_id)).splitlines():
        m = LOAD.match(line)
        if m:
            regs[m.group(1)] = ("map", int(m.group(2)))
            continue
        m = MOVE_IMM.match(line)
        if m:
            regs[m.group(1)] = ("value", m.group(2).strip())
            continue
        m = CALL.match(line)
        if not m:
            continue
        fn = m.group(1)
        if re.search(r"(update|delete)_elem", fn):
            kind, val = regs.get("r1", (None, None))
            assert kind == "map", f"cannot tell the map of {line!r}"
            maps.add(val)
        elif "task_storage_get" in fn:
            storage_flags.append(regs.get("r4", (None, "?"))[1])
        # Calls clobber r0-r5.
        for r in ("r0", "r1", "r2", "r3", "r4", "r5"):
            regs.pop(r, None)
    return maps, storage_flags


def test_sched_switch_never_allocates(tmp_path):
    p = start_sysscope(["wallclock", "-d", "30", "-o", tmp_path / "out"])
    try:
        prog = prog_of(p.pid, "on_switch_btf")
        maps, storage_flags = writes_of(prog)
        assert maps, "the scan found no map written: it is broken"
        for map_id in maps:
            info = json.loads(bpftool("-j", "map", "show", "id", str(map_id)))
            assert not info["flags"] & BPF_F_NO_PREALLOC, \
                f"sched_switch writes {info['name']}, allocated at run time"
        # Task storage has no preallocated form: it is only looked up here.
        assert storage_flags, "the scan found no task storage lookup"
        assert all(f == "0" for f in storage_flags), storage_flags
    finally:
        p.kill()
        p.wait(timeout=30)
