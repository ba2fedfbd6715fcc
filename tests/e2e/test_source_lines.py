# SPDX-License-Identifier: MIT
"""Source lines and inlined frames from DWARF: an always-inlined function
shows as its own frame under its caller (folded, pprof), and pprof has
file:line for each, as `go tool pprof -lines` and `-raw` read them; the
same from a stripped binary whose DWARF is only in its debug file."""
import re
import shutil
import subprocess
from pathlib import Path

from conftest import WORKLOADS, go_pprof, read_folded, run_sysscope, wait_for

SRC = Path(__file__).resolve().parents[1] / "workloads" / "inline_lines.c"


def marker_line(name):
    """The line of the source that carries /* LINE:name */."""
    for n, text in enumerate(SRC.read_text().splitlines(), 1):
        if f"LINE:{name} " in text:
            return n
    raise AssertionError(f"no marker {name} in {SRC}")


def counter(summary, name):
    m = re.search(r"^\s*" + re.escape(name) + r"\s+(\d+)$", summary, re.M)
    assert m, f"no counter {name!r} in summary.txt"
    return int(m.group(1))


def profile(spawn, tmp_path, prog):
    w = spawn([prog, "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "3", "-f", "199", "-o", out])
    return out, read_folded(out / "stacks.folded"), (out / "summary.txt").read_text()


def inlined_share(stacks):
    """Share of the process's samples where inline_mix sits right under
    inline_caller (where the loop runs) among those in either."""
    both = either = 0
    for s, n in stacks.items():
        if "inline_caller" not in s:
            continue
        either += n
        i = s.index("inline_caller")
        both += n if i + 1 < len(s) and s[i + 1] == "inline_mix" else 0
    assert either, stacks
    return both / either


def check_pprof(out, tmp_path):
    mix, call = marker_line("inline_mix"), marker_line("inline_caller")
    top = go_pprof(["-lines", "-top", "-nodecount=20", out / "profile.pb.gz"],
                   tmp_path)
    assert re.search(rf"inline_mix \S*inline_lines\.c:{mix} \(inline\)", top), top
    raw = go_pprof(["-raw", out / "profile.pb.gz"], tmp_path)
    # One location, two lines: the inlined function's, then where its
    # caller called it; each with its function's start line (s=).
    loc = re.search(rf"inline_mix \S*inline_lines\.c:{mix} s=(\d+)\n\s+"
                    rf"inline_caller \S*inline_lines\.c:{call} s=(\d+)", raw)
    assert loc, raw
    assert int(loc.group(1)) < mix and int(loc.group(2)) < call, raw


def test_inlined_frame_and_lines(tmp_path, spawn):
    out, stacks, summary = profile(spawn, tmp_path, WORKLOADS / "inline_lines")
    assert inlined_share(stacks) >= 0.9, summary
    assert counter(summary, "inlined frames added") > 0, summary
    assert counter(summary, "user frames with a source line") > 0, summary
    check_pprof(out, tmp_path)


def build_id(path):
    notes = subprocess.run(["readelf", "-n", path], capture_output=True,
                           text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", notes)
    assert m, notes
    return m.group(1)


def test_lines_from_a_debug_file(tmp_path, spawn):
    """Stripped, its DWARF under /usr/lib/debug/.build-id: the same."""
    full = WORKLOADS / "inline_lines"
    bid = build_id(full)
    debug = tmp_path / "debug"
    subprocess.run(["objcopy", "--only-keep-debug", full, debug], check=True)
    prog = tmp_path / "inline_lines"
    subprocess.run(["objcopy", "--strip-all", full, prog], check=True)
    sections = subprocess.run(["readelf", "-S", prog], capture_output=True,
                              text=True, check=True).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections
    d = Path("/usr/lib/debug/.build-id") / bid[:2]
    d.mkdir(parents=True, exist_ok=True)
    target = d / f"{bid[2:]}.debug"
    shutil.copy(debug, target)
    try:
        out, stacks, summary = profile(spawn, tmp_path, prog)
    finally:
        target.unlink()
    assert counter(summary, "user frames named by debug file (build-id)") > 0, summary
    assert inlined_share(stacks) >= 0.9, summary
    check_pprof(out, tmp_path)


def test_dwarf_over_the_budget_is_not_read(tmp_path, spawn):
    """--dwarf-budget smaller than the file's DWARF: names only, counted."""
    w = spawn([WORKLOADS / "inline_lines", "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "2", "-f", "199",
                  "--dwarf-budget", "1K", "-o", out])
    summary = (out / "summary.txt").read_text()
    stacks = read_folded(out / "stacks.folded")
    assert counter(summary, "files with DWARF over the whole budget") > 0, summary
    assert counter(summary, "inlined frames added") == 0, summary
    assert not any("inline_mix" in s for s in stacks), stacks
    assert sum(n for s, n in stacks.items() if "inline_caller" in s) > 0


def test_agent_windows_have_inlined_frames(spawn):
    """The agent reads DWARF too, within --memory-limit / 8."""
    from test_agent import Agent
    spawn([WORKLOADS / "inline_lines", "60"])
    a = Agent(["--window", 1])
    try:
        def seen():
            status, body, _ = a.get("/node.folded?mode=oncpu", expect=None)
            return status == 200 and "inline_caller;inline_mix" in body.decode()
        assert wait_for(seen, 20), a.get("/node.folded?mode=oncpu")[1][:2000]
    finally:
        assert a.stop() == 0, a.stderr
