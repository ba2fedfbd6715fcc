# SPDX-License-Identifier: MIT
"""Rust names demangled: a program built with rustc's v0 mangling (by
Debian's rustc, in the Makefile's workloads rule) spinning in a generic
method, under Debian's libstd, whose names are legacy-mangled. Both kinds
read as Rust paths in stacks.folded (no "_R...", no "::h<hash>"), and
profile.pb.gz keeps the mangled names as the functions' system_name."""
import re
import subprocess

from conftest import WORKLOADS, go_pprof, read_folded, run_sysscope

PRICE = "<rust_shop::shop::Checkout<u8>>::price"      # v0
LANG_START = "std::rt::lang_start_internal"           # legacy, in libstd


def symbol(prog, pred):
    out = subprocess.run(["nm", prog], capture_output=True, text=True,
                         check=True).stdout
    names = [l.split()[-1] for l in out.splitlines() if pred(l.split()[-1])]
    assert len(names) == 1, names
    return names[0]


def test_rust_names(tmp_path, spawn):
    prog = WORKLOADS / "rust_shop"
    assert prog.exists(), f"{prog} missing: make workloads (Debian's rustc)"
    price = symbol(prog, lambda s: s.startswith("_R") and "8Checkout" in s
                   and "5price" in s)
    lang_start = symbol(prog, lambda s: re.fullmatch(
        r"_ZN3std2rt19lang_start_internal17h[0-9a-f]{16}E", s))
    w = spawn([prog, "30"], stdout=subprocess.DEVNULL)
    out = tmp_path / "out"
    run_sysscope(["profile", "-p", w.pid, "-d", "2", "-f", "199", "-o", out])
    summary = (out / "summary.txt").read_text()
    stacks = read_folded(out / "stacks.folded")
    total = sum(stacks.values())
    hot = sum(n for s, n in stacks.items()
              if PRICE in s and "rust_shop::main" in s and LANG_START in s)
    # The method takes the process's time, whatever the node's load.
    assert total >= 20 and hot >= total * 0.8, summary
    frames = {f for s in stacks for f in s}
    assert not [f for f in frames if f.startswith(("_R", "_ZN"))], frames
    assert not [f for f in frames if re.search(r"::h[0-9a-f]{16}", f)], frames

    # go tool pprof -raw writes "NAME FILE:LINE s=START(SYSTEM_NAME)".
    raw = go_pprof(["-raw", out / "profile.pb.gz"], tmp_path)
    for name, mangled in ((PRICE, price), (LANG_START, lang_start)):
        assert re.search(re.escape(name) + r" \S*:\d+ s=\d+\(" +
                         re.escape(mangled) + r"\)", raw), raw[:4000]
