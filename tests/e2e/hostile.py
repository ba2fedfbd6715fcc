# SPDX-License-Identifier: MIT
"""Helpers of the hardening tests (test_hardening.py): hostile files and
containers, and two independent witnesses of what sysscope opened.

- Building: tests/workloads/hostile.c statically (it runs inside containers
  whose root holds nothing else), and small shared objects whose one
  function is a never-returning spin loop that touches nothing but its
  stack, so that hostile.c can run it from a raw mapping of the file.
- Hostile ELF files: a real shared object patched by hand (section table
  out of the file, a huge .symtab, a truncated file...).
- Witnesses: a fanotify watch (the kernel reports every open and read of
  a watched inode, with the opener's pid: whatever path or link led there)
  and a reader of `strace -f -e trace=...` logs.
"""
import ctypes
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

from conftest import ROOT, SYSSCOPE, WORKLOADS
from containers import STATIC_CFLAGS, sh

HOSTILE_SRC = ROOT / "tests/workloads/hostile.c"

# ---- building ---------------------------------------------------------------


def build_hostile_static(outdir):
    out = Path(outdir) / "hostile_static"
    if not out.exists():
        sh(["clang", *STATIC_CFLAGS, HOSTILE_SRC, "-lpthread", "-o", out],
           timeout=120)
    return out


def hostile_tool():
    """The host build of hostile.c (make workloads), for -w."""
    tool = WORKLOADS / "hostile"
    assert tool.exists(), f"{tool} is missing: run make workloads"
    return tool


# A function that spins ~5M iterations and sleeps 30 ms, forever, using
# only registers, its stack and a raw syscall: it runs from a single page of
# the file mapped anywhere, unrelocated.
SPIN_LIB_SRC = r"""
#ifndef FN
#define FN spin_func
#endif
#ifndef MARKER
#define MARKER "sysscope-hostile-lib"
#endif
__attribute__((used)) const char hostile_marker[] = MARKER;

__attribute__((noinline)) void FN(void)
{
	for (;;) {
		/* volatile: stored from immediates, never copied from .rodata */
		volatile long ts[2];
		long ret;

		ts[0] = 0;
		ts[1] = 30000000;
		for (unsigned int i = 0; i < 5000000; i++)
			__asm__ volatile("");
		__asm__ volatile("syscall" : "=a"(ret)
				 : "0"(35L), "D"(ts), "S"(0L)
				 : "rcx", "r11", "memory");
	}
}
"""


def build_spin_lib(outdir, fn, marker):
    """lib<fn>.so: one function fn (see SPIN_LIB_SRC), marker in .rodata."""
    outdir = Path(outdir)
    src = outdir / "spin_lib.c"
    if not src.exists():
        src.write_text(SPIN_LIB_SRC)
    out = outdir / f"lib{fn}.so"
    sh(["clang", "-O1", "-fPIC", "-shared", "-nostdlib",
        "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer",
        "-fno-stack-protector", "-Wl,--build-id", f"-DFN={fn}",
        f'-DMARKER="{marker}"', src, "-o", out], timeout=120)
    return out


# ---- ELF, by hand (ELF64 little-endian only) -------------------------------

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
SHDR = struct.Struct("<IIQQQQIIQQ")
PHDR = struct.Struct("<IIQQQQQQ")
SYM = struct.Struct("<IBBHQQ")
SHT_SYMTAB, SHT_NOTE, SHT_DYNSYM = 2, 7, 11
PT_LOAD, PT_NOTE = 1, 4


class Elf:
    def __init__(self, data):
        self.data = bytearray(data)
        assert self.data[:4] == b"\x7fELF" and self.data[4] == 2, \
            "not an ELF64 file"
        (_, _, _, _, _, self.phoff, self.shoff, _, _, self.phentsize,
         self.phnum, self.shentsize, self.shnum, _) = \
            EHDR.unpack_from(self.data, 0)

    def shdr_off(self, i):
        return self.shoff + i * self.shentsize

    def shdrs(self):
        for i in range(self.shnum):
            yield i, list(SHDR.unpack_from(self.data, self.shdr_off(i)))

    def set_shdr(self, i, fields):
        SHDR.pack_into(self.data, self.shdr_off(i), *fields)

    def phdrs(self):
        for i in range(self.phnum):
            off = self.phoff + i * self.phentsize
            yield off, list(PHDR.unpack_from(self.data, off))

    def section(self, sh_type):
        return next(((i, f) for i, f in self.shdrs() if f[1] == sh_type),
                    (None, None))

    def symbol_vaddr(self, name):
        for sh_type in (SHT_SYMTAB, SHT_DYNSYM):
            i, sym = self.section(sh_type)
            if i is None:
                continue
            strs = list(self.shdrs())[sym[6]][1]
            for k in range(sym[5] // SYM.size):
                st_name, _, _, _, value, _ = SYM.unpack_from(
                    self.data, sym[4] + k * SYM.size)
                start = strs[4] + st_name
                end = self.data.index(b"\0", start)
                if self.data[start:end].decode() == name:
                    return value
        raise AssertionError(f"no symbol {name}")

    def vaddr_to_offset(self, vaddr):
        for _, p in self.phdrs():
            if p[0] == PT_LOAD and p[3] <= vaddr < p[3] + p[5]:
                return vaddr - p[3] + p[2]
        raise AssertionError(f"{vaddr:#x} is in no PT_LOAD")


def symbol_offset(path, name):
    """The file offset of function name's code in ELF file path."""
    elf = Elf(Path(path).read_bytes())
    return elf.vaddr_to_offset(elf.symbol_vaddr(name))


def patch_elf(src, dst, kind):
    """A copy of src made hostile in one way; returns dst."""
    elf = Elf(Path(src).read_bytes())
    size = len(elf.data)
    if kind == "shoff-out-of-file":
        struct.pack_into("<Q", elf.data, 0x28, 0x7fff_ffff_0000_0000)
    elif kind == "symtab-huge-size":
        i, f = elf.section(SHT_SYMTAB)
        f[5] = 1 << 40
        elf.set_shdr(i, f)
    elif kind == "symtab-offset-out-of-file":
        i, f = elf.section(SHT_SYMTAB)
        f[4] = size + (1 << 20)
        elf.set_shdr(i, f)
    elif kind == "symtab-bad-strtab-link":
        i, f = elf.section(SHT_SYMTAB)
        f[6] = 0xfff0
        elf.set_shdr(i, f)
    elif kind == "notes-huge":
        for i, f in list(elf.shdrs()):
            if f[1] == SHT_NOTE:
                f[5] = 1 << 40
                elf.set_shdr(i, f)
        for off, p in list(elf.phdrs()):
            if p[0] == PT_NOTE:
                p[5] = p[6] = 1 << 40
                PHDR.pack_into(elf.data, off, *p)
    elif kind == "phnum-huge":
        struct.pack_into("<H", elf.data, 0x38, 0xffff)
    elif kind == "sections-overlap-everything":
        for i, f in list(elf.shdrs()):
            if i:
                f[4], f[5] = 0, size     # every section is the whole file
                elf.set_shdr(i, f)
    else:
        raise ValueError(kind)
    Path(dst).write_bytes(elf.data)
    return Path(dst)


def truncate_elf(src, dst, keep):
    Path(dst).write_bytes(Path(src).read_bytes()[:keep])
    return Path(dst)


# ---- /proc ----------------------------------------------------------------

def proc_status(pid, tid=None):
    """{field: value} of /proc/PID/status (or of one of its threads)."""
    path = (f"/proc/{pid}/task/{tid}/status" if tid else
            f"/proc/{pid}/status")
    out = {}
    for line in Path(path).read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def mapped_paths(pid):
    """{path: perms} of the file mappings of pid."""
    out = {}
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        f = line.split(None, 5)
        if len(f) == 6 and f[5].startswith("/"):
            out.setdefault(f[5], set()).add(f[1])
    return out


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


def children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


# ---- fanotify -------------------------------------------------------------

FAN_ACCESS, FAN_OPEN, FAN_OPEN_EXEC = 0x1, 0x20, 0x1000
FAN_CLOEXEC, FAN_NONBLOCK = 0x1, 0x2
FAN_MARK_ADD = 0x1
AT_FDCWD = -100
EVENT = struct.Struct("<IBBHQii")


class OpenWatch:
    """Every open and read of the watched files (their inodes, whatever
    path or mount reaches them), with the pid that did it. Needs
    CAP_SYS_ADMIN. A thread collects events until stop()."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        self.events = []        # (pid, mask, path)
        self._stop = threading.Event()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint,
                                       ctypes.c_uint64, ctypes.c_int,
                                       ctypes.c_char_p]
        self.fd = libc.fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK,
                                     os.O_RDONLY | os.O_LARGEFILE)
        if self.fd < 0:
            raise AssertionError("fanotify_init: " +
                                 os.strerror(ctypes.get_errno()))
        self.inodes = {}
        for p in self.paths:
            if libc.fanotify_mark(self.fd, FAN_MARK_ADD,
                                  FAN_OPEN | FAN_ACCESS | FAN_OPEN_EXEC,
                                  AT_FDCWD, p.encode()) < 0:
                err = os.strerror(ctypes.get_errno())
                os.close(self.fd)
                raise AssertionError(f"fanotify_mark {p}: {err}")
            st = os.stat(p)
            self.inodes[(st.st_dev, st.st_ino)] = p
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _path_of(self, fd):
        st = os.fstat(fd)
        return self.inodes.get((st.st_dev, st.st_ino), "?")

    def _drain(self):
        while True:
            try:
                buf = os.read(self.fd, 8192)
            except BlockingIOError:
                return
            off = 0
            while off + EVENT.size <= len(buf):
                length, _, _, _, mask, fd, pid = EVENT.unpack_from(buf, off)
                if fd >= 0:
                    try:
                        self.events.append((pid, mask, self._path_of(fd)))
                    finally:
                        os.close(fd)
                off += length or EVENT.size

    def _run(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                self._drain()
        self._drain()

    def probe(self):
        """Proves the watch works: a child reads each file; its pid must be
        reported for each."""
        p = subprocess.run(["sh", "-c", 'for f; do head -c1 "$f" >/dev/null;'
                            " done; echo $$", "sh", *self.paths],
                           capture_output=True, text=True, check=True)
        pid = int(p.stdout.strip())
        # `head` is a child of that shell: accept the shell's children too.
        for path in self.paths:
            ok = wait_until(lambda: any(path == e[2] and e[1] & FAN_OPEN
                                        for e in self.events), 5)
            assert ok, f"fanotify saw no open of {path} (shell pid {pid})"

    def by(self, pids):
        pids = set(pids)
        return [e for e in self.events if e[0] in pids]

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        os.close(self.fd)


def describe_events(events):
    names = {FAN_OPEN: "open", FAN_ACCESS: "read", FAN_OPEN_EXEC: "exec"}
    return [f"pid {pid} {'+'.join(n for b, n in names.items() if m & b)} "
            f"{path}" for pid, m, path in events]


def wait_until(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# ---- strace -------------------------------------------------------------

STRACE_CALLS = "open,openat,openat2,open_by_handle_at"
_LINE = re.compile(r"^(\d+)\s+(open|openat|openat2)\((.*)\)\s+=\s+(-?\d+)")
_ARGS = re.compile(r'^(AT_FDCWD|\d+), "((?:[^"\\]|\\.)*)"(.*)$')
_OPEN = re.compile(r'^"((?:[^"\\]|\\.)*)"(.*)$')
_ROOT = re.compile(r"^/proc/(\d+)/root/?(.*)$")


def strace_opens(log):
    """[(pid, call, dirfd, path, rest, result)] of the open calls in an
    `strace -f` log (unfinished/resumed pairs are joined)."""
    pending, out = {}, []
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.match(r"^(\d+)\s+(.*) <unfinished \.\.\.>$", line)
        if m:
            pending[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
        if m and m.group(1) in pending:
            line = f"{m.group(1)} {pending.pop(m.group(1))}{m.group(2)}"
        m = _LINE.match(line)
        if not m:
            continue
        pid, call, args, res = m.groups()
        if call == "open":
            a = _OPEN.match(args)
            dirfd, path, rest = "AT_FDCWD", a.group(1), a.group(2)
        else:
            a = _ARGS.match(args)
            if not a:
                continue
            dirfd, path, rest = a.groups()
        out.append((int(pid), call, dirfd, path, rest, int(res)))
    return out


def root_pids_in(log):
    """The pids N whose /proc/N/root the log's opens go through."""
    pids = set()
    for _, _, _, path, _, _ in strace_opens(log):
        m = _ROOT.match(os.path.normpath(path))
        if m:
            pids.add(int(m.group(1)))
    return pids


def classify_roots(pids):
    """{pid: True if its root is the host's /}: a process gone is taken
    for one on the host (unknown is not safe)."""
    host = os.stat("/")
    out = {}
    for pid in pids:
        try:
            st = os.stat(f"/proc/{pid}/root")
            out[pid] = (st.st_dev, st.st_ino) == (host.st_dev, host.st_ino)
        except OSError:
            out[pid] = True
    return out


def host_opens_of(log, targets, cwd, host_root):
    """Successful opens in the log that reach one of targets (absolute
    paths) on the host, judged from the call alone:

    - a path under /proc/N/root/, or an openat2 with RESOLVE_IN_ROOT whose
      dirfd was opened from /proc/N/root, resolves in N's root, which is
      the host's when host_root[N] (see classify_roots);
    - anything else resolves in sysscope's own (the host's) root.
    Symlinks are not followed here: fanotify sees those."""
    dirs = {}   # (pid, fd) -> path it was opened from
    bad = []
    targets = {os.path.normpath(t) for t in targets}
    for pid, call, dirfd, path, rest, res in strace_opens(log):
        base = cwd if dirfd == "AT_FDCWD" else dirs.get((pid, dirfd), "?")
        full = path if path.startswith("/") else f"{base}/{path}"
        if res < 0:
            continue
        dirs[(pid, str(res))] = os.path.normpath(full)
        root_pid, inner = None, full
        m = _ROOT.match(base) if (call == "openat2" and
                                  "RESOLVE_IN_ROOT" in rest) else None
        if m:
            root_pid, inner = int(m.group(1)), "/" + path.lstrip("/")
        else:
            m = _ROOT.match(os.path.normpath(full))
            if m:
                root_pid, inner = int(m.group(1)), "/" + m.group(2)
        if root_pid is not None and not host_root.get(root_pid, True):
            continue        # inside a container's root: its own files
        if os.path.normpath(inner) in targets:
            bad.append(f"{pid} {call}({dirfd}<{base}>, {path!r}{rest}) = "
                       f"{res}")
    return bad


# ---- running sysscope ---------------------------------------------------

class Running:
    """sysscope (possibly under strace) started in the background; stderr
    is collected by a thread so that it can never block on a full pipe."""

    def __init__(self, args, strace_log=None, env=None):
        argv = [str(SYSSCOPE), *map(str, args)]
        if strace_log:
            argv = ["strace", "-f", "-qq", "-e", f"trace={STRACE_CALLS}",
                    "-o", str(strace_log), *argv]
            if sanitized():
                # LeakSanitizer cannot stop the world under a tracer.
                env = dict(env or os.environ)
                env["ASAN_OPTIONS"] = ":".join(filter(None, [
                    env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        self.strace = bool(strace_log)
        self.popen = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      env=env)
        self.lines = []
        self.stdout = ""
        self._sampling = threading.Event()
        self._t_err = threading.Thread(target=self._read_err, daemon=True)
        self._t_out = threading.Thread(target=self._read_out, daemon=True)
        self._t_err.start()
        self._t_out.start()

    def _read_err(self):
        for line in self.popen.stderr:
            self.lines.append(line.rstrip("\n"))
            if "sampling at" in line:
                self._sampling.set()

    def _read_out(self):
        self.stdout = self.popen.stdout.read()

    @property
    def stderr(self):
        return "\n".join(self.lines)

    @property
    def pid(self):
        """sysscope's own pid (strace's child when traced)."""
        if not self.strace:
            return self.popen.pid
        assert wait_until(lambda: children(self.popen.pid), 10), \
            "strace started no child"
        return children(self.popen.pid)[0]

    def wait_sampling(self, timeout=60):
        ok = self._sampling.wait(timeout)
        if not ok:
            self.kill()
            raise AssertionError(f"sysscope did not start sampling in "
                                 f"{timeout} s:\n{self.stderr}")

    def wait(self, timeout):
        """The exit status; a run that outlives timeout is killed and
        fails the test."""
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"sysscope still running after {timeout} "
                                 f"s (hung?):\n{self.stderr}")
        self._t_err.join(5)
        self._t_out.join(5)
        return rc

    def interrupt(self):
        pid = self.pid
        os.kill(pid, signal.SIGINT)

    def kill(self):
        if self.popen.poll() is None:
            for pid in ([self.pid] if self.strace else []) + [self.popen.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.popen.wait(timeout=10)


def sanitized():
    """True for an ASan build (its memory use is measured differently)."""
    try:
        with open(SYSSCOPE, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def copy_bundle(src, dst):
    """A containerd task bundle's regular files (config.json, init.pid...):
    not its rootfs mount, its log FIFO or its work link."""
    dst = Path(dst)
    dst.mkdir(parents=True)
    for f in Path(src).iterdir():
        if f.is_file() and not f.is_symlink():
            shutil.copy2(f, dst / f.name)
    return dst
