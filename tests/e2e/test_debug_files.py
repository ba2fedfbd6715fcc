# SPDX-License-Identifier: MIT
"""Stripped binaries named from their separate debug files: by build-id
under /usr/lib/debug/.build-id, and by .gnu_debuglink (CRC-32 checked)
beside the binary; a debug file whose CRC does not match is not used."""
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from conftest import read_folded, run_sysscope

SRC = r"""
#include <stdlib.h>
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void debug_hot_leaf(void)
{
    for (int i = 0; i < 200000; i++) sink += i * 7;
}
__attribute__((noinline)) void debug_hot_caller(void) { debug_hot_leaf(); sink++; }
int main(int argc, char **argv)
{
    time_t end = time(NULL) + atoi(argv[1]);
    while (time(NULL) < end) debug_hot_caller();
    return 0;
}
"""


def counter(summary, name):
    m = re.search(r"^\s*" + re.escape(name) + r"\s+(\d+)$", summary, re.M)
    assert m, f"no counter {name!r} in summary.txt"
    return int(m.group(1))


def build(tmp_path, build_id):
    """A stripped binary with this build-id, and its debug file."""
    src = tmp_path / "prog.c"
    src.write_text(SRC)
    full = tmp_path / "prog.full"
    subprocess.run(["cc", "-O1", "-g", f"-Wl,--build-id=0x{build_id}",
                    "-o", full, src], check=True)
    debug = tmp_path / "prog.debug"
    subprocess.run(["objcopy", "--only-keep-debug", full, debug], check=True)
    prog = tmp_path / "prog"
    subprocess.run(["objcopy", "--strip-all", full, prog], check=True)
    out = subprocess.run(["readelf", "-S", prog], capture_output=True,
                         text=True, check=True).stdout
    assert ".symtab" not in out
    return prog, debug


def profile(spawn, tmp_path, prog):
    w = spawn([prog, "30"])
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "2", "-f", "199", "-o", out])
    return read_folded(out / "stacks.folded"), (out / "summary.txt").read_text()


def named(stacks):
    return sum(n for s, n in stacks.items()
               if "debug_hot_caller" in s and "debug_hot_leaf" in s)


def test_debug_file_by_build_id(tmp_path, spawn):
    bid = secrets.token_hex(20)
    prog, debug = build(tmp_path, bid)
    d = Path("/usr/lib/debug/.build-id") / bid[:2]
    target = d / f"{bid[2:]}.debug"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(debug, target)
    try:
        stacks, summary = profile(spawn, tmp_path, prog)
    finally:
        target.unlink()
    assert named(stacks) >= 100, summary
    assert counter(summary, "user frames named by debug file (build-id)") > 0, summary


def test_debug_file_by_debuglink(tmp_path, spawn):
    prog, debug = build(tmp_path, secrets.token_hex(20))
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", prog],
                   check=True, cwd=tmp_path)
    stacks, summary = profile(spawn, tmp_path, prog)
    assert named(stacks) >= 100, summary
    assert counter(summary, "user frames named by debug file (debuglink)") > 0, summary


def test_debuglink_with_a_wrong_crc_is_not_used(tmp_path, spawn):
    prog, debug = build(tmp_path, secrets.token_hex(20))
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", prog],
                   check=True, cwd=tmp_path)
    with open(debug, "ab") as f:
        f.write(b"\0")	# still ELF, another CRC
    stacks, summary = profile(spawn, tmp_path, prog)
    assert named(stacks) == 0, summary
    assert counter(summary, "user frames named by debug file (debuglink)") == 0, summary
    # Unnamed, but one box per function (its start, from the CFI).
    assert any(f.startswith("prog!func+0x") for s in stacks for f in s), stacks


def test_glibc_named_from_libc6_dbg(tmp_path, spawn):
    """Debian's libc6-dbg: glibc's static functions (libc.so.6 has only
    its dynamic symbols) by name."""
    prog, _ = build(tmp_path, secrets.token_hex(20))
    stacks, summary = profile(spawn, tmp_path, prog)
    assert any("__libc_start_call_main" in s for s in stacks), stacks
    assert counter(summary, "user frames named by debug file (build-id)") > 0, summary


CXX_SRC = r"""
#include <ctime>
#include <cstdlib>
namespace shop {
struct Checkout {
    __attribute__((noinline)) static unsigned long price(int n);
};
}
volatile unsigned long sink;
unsigned long shop::Checkout::price(int n)
{
    unsigned long s = 0;
    for (int i = 0; i < 200000; i++) s += i * n;
    return s;
}
int main(int argc, char **argv)
{
    time_t end = time(nullptr) + atoi(argv[1]);
    while (time(nullptr) < end) sink += shop::Checkout::price(argc);
}
"""


def test_cxx_names_demangled(tmp_path, spawn):
    src = tmp_path / "shop.cc"
    src.write_text(CXX_SRC)
    prog = tmp_path / "shop"
    subprocess.run(["g++", "-O1", "-g", "-o", prog, src], check=True)
    stacks, summary = profile(spawn, tmp_path, prog)
    hot = sum(n for s, n in stacks.items()
              if "shop::Checkout::price(int)" in s and "main" in s)
    assert hot >= 100, summary
    assert not any(f.startswith("_ZN4shop") for s in stacks for f in s)


def test_minidebuginfo(tmp_path, spawn):
    """Fedora's MiniDebugInfo, made as its find-debuginfo does: the static
    functions .dynsym lacks, in an xz-compressed ELF in .gnu_debugdata."""
    prog, debug = build(tmp_path, secrets.token_hex(20))
    full = tmp_path / "prog.full"
    funcs = subprocess.run(["nm", "--format=posix", "--defined-only", full],
                           capture_output=True, text=True, check=True).stdout
    dyn = subprocess.run(["nm", "-D", "--format=posix", "--defined-only", full],
                         capture_output=True, text=True, check=True).stdout
    keep = ({l.split()[0] for l in funcs.splitlines() if l.split()[1] in "Tt"}
            - {l.split()[0] for l in dyn.splitlines()})
    (tmp_path / "keep").write_text("\n".join(sorted(keep)) + "\n")
    mini = tmp_path / "mini"
    subprocess.run(["objcopy", "-S", "--remove-section", ".gdb_index",
                    "--remove-section", ".comment", f"--keep-symbols={tmp_path / 'keep'}",
                    debug, mini], check=True)
    subprocess.run(["xz", "-f", mini], check=True)
    subprocess.run(["objcopy", f"--add-section=.gnu_debugdata={mini}.xz", prog],
                   check=True)
    stacks, summary = profile(spawn, tmp_path, prog)
    assert named(stacks) >= 100, summary
    assert counter(summary, "user frames named by MiniDebugInfo") > 0, summary


CLOCK_LOOP = r"""
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
    struct timespec ts;
    time_t end = time(NULL) + atoi(argv[1]);
    volatile long n = 0;
    while (time(NULL) < end)
        for (int i = 0; i < 1000; i++) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            n += ts.tv_nsec;
        }
    return 0;
}
"""


def test_vdso_frames_are_named(tmp_path, spawn):
    """clock_gettime in a loop: the vDSO's exported function by name, its
    static ones one box each (by their FDE), never [vdso]+0xADDRESS."""
    src = tmp_path / "clock.c"
    src.write_text(CLOCK_LOOP)
    prog = tmp_path / "clock"
    subprocess.run(["cc", "-O2", "-o", prog, src], check=True)
    stacks, summary = profile(spawn, tmp_path, prog)
    total = sum(n for s, n in stacks.items() if s[0] == "clock")
    in_vdso = sum(n for s, n in stacks.items()
                  if s[0] == "clock" and "__vdso_clock_gettime" in s)
    assert total > 100 and in_vdso >= 0.5 * total, summary
    bare = [f for s in stacks for f in s if f.startswith("[vdso]+0x")]
    assert not bare, bare[:5]
