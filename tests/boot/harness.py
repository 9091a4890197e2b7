"""Boot-test harness: run `tools/skiff run ...` and assert on what came out.

A test script defines one function per case and ends with `harness.main(CASES)`;
ctest runs `script.py <case>`. A case raises `Failure` (or calls `check`) and
passes when it returns. Images come from $SKIFF_BUILD/images.
"""

import os
import re
import shlex
import struct
import subprocess
import sys
import time

ROOT = os.environ.get("SKIFF_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SKIFF_BUILD") or os.path.join(ROOT, "build")
TOOL = os.path.join(ROOT, "tools", "skiff")

EXIT_TIMEOUT = 124
EXIT_FAILURE = 125

_NOISE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


class Failure(AssertionError):
    pass


def check(condition, message, run=None):
    if not condition:
        raise Failure(message + (("\n" + run.describe()) if run else ""))


def image(name):
    """Path of build/images/<name>.elf; a missing image fails the test."""
    path = os.path.join(BUILD, "images", name if name.endswith((".elf", ".bin")) else name + ".elf")
    check(os.path.isfile(path), f"image {path} not found: build the images before running the boot tests")
    return path


class Run:
    """One finished `skiff run`: exit status, console lines, stderr."""

    def __init__(self, argv, status, stdout, stderr, seconds):
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.lines = [_NOISE.sub("", line) for line in stdout.splitlines()]

    def describe(self):
        tail = "\n".join("    | " + l for l in self.lines[-40:])
        err = "\n".join("    ! " + l for l in self.stderr.splitlines()[-20:])
        return (f"  command: {shlex.join(self.argv)}\n  exit status: {self.status}\n"
                f"  console ({len(self.lines)} lines, last 40):\n{tail}\n  stderr:\n{err}")

    def find(self, pattern):
        """First console line that matches the regex `pattern` (re.search), or None."""
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        return None

    def index(self, pattern):
        rx = re.compile(pattern)
        for i, line in enumerate(self.lines):
            if rx.search(line):
                return i
        return -1

    def expect_line(self, pattern):
        m = self.find(pattern)
        check(m is not None, f"no console line matches {pattern!r}", self)
        return m

    def expect_no_line(self, pattern):
        m = self.find(pattern)
        check(m is None, f"unexpected console line matching {pattern!r}: {m.string if m else ''}", self)

    def expect_lines_in_order(self, patterns):
        start = 0
        for p in patterns:
            rx = re.compile(p)
            for i in range(start, len(self.lines)):
                if rx.search(self.lines[i]):
                    start = i + 1
                    break
            else:
                check(False, f"no console line matches {p!r} after line {start}", self)

    def expect_status(self, status):
        check(self.status == status, f"expected exit status {status}, got {self.status}", self)

    def expect_stderr(self, text):
        check(text in self.stderr, f"stderr does not contain {text!r}", self)


def skiff_run(img, *options, app_args=None, timeout=60):
    """Run `tools/skiff run img options... [-- app_args...]` under TCG.

    `timeout` is the tool's --timeout unless the options give one; the tool
    itself is killed if it outlives that by a wide margin."""
    argv = [sys.executable, TOOL, "run", img]
    opts = list(options)
    if "--accel" not in opts:
        opts += ["--accel", "tcg"]
    if "--timeout" in opts:
        timeout = float(opts[opts.index("--timeout") + 1])
    else:
        opts += ["--timeout", str(timeout)]
    argv += opts
    if app_args is not None:
        argv += ["--"] + list(app_args)
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout + 120)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"tools/skiff itself did not finish: {shlex.join(argv)}\n{e.stdout!r}") from None
    run = Run(argv, proc.returncode, proc.stdout.decode("utf-8", errors="replace"),
              proc.stderr.decode("utf-8", errors="replace"), time.monotonic() - start)
    return run


def elf_load_end(path):
    """Highest physical address (exclusive) of the ELF's PT_LOAD segments."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:4] == b"\x7fELF", f"{path} is not an ELF file")
    is64 = data[4] == 2
    if is64:
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    else:
        phoff, = struct.unpack_from("<I", data, 0x1C)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    end = 0
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            p_type, _, _, _, paddr, _, memsz = struct.unpack_from("<IIQQQQQ", data, off)
        else:
            p_type, _, _, paddr, _, memsz = struct.unpack_from("<IIIIII", data, off)
        if p_type == 1:
            end = max(end, paddr + memsz)
    return end


def main(cases):
    """Run the case named by argv[1]; exit 0 on pass, 1 on failure."""
    names = sorted(cases)
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        sys.stderr.write(f"usage: {sys.argv[0]} <case>   (cases: {', '.join(names)})\n")
        sys.exit(2)
    name = sys.argv[1]
    try:
        cases[name]()
    except Failure as e:
        print(f"FAIL {name}: {e}")
        sys.exit(1)
    print(f"PASS {name}")
    sys.exit(0)
