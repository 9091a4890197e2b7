"""Run QEMU, stream the guest console, and turn the way it ended into a status."""

import os
import re
import selectors
import signal
import subprocess
import sys
import time

EXIT_TIMEOUT = 124
EXIT_FAILURE = 125

# Anchored: an app echoing the text (say, in its argv) must not count.
POWER_OFF = re.compile(r"skiff: power off \(status (\d+)\)\s*$")
# Firmware such as GRUB may put carriage returns and terminal escapes around
# the kernel's lines; strip them before looking for the marker.
_NOISE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
_MAX_PARTIAL_LINE = 1 << 16


def clean_line(raw):
    return _NOISE.sub("", raw.decode("utf-8", errors="replace"))


class Outcome:
    def __init__(self, status, message=None):
        self.status = status
        self.message = message


def judge(returncode, marker_status):
    """The tool's exit status from QEMU's exit code and the last power-off line.

    isa-debug-exit makes QEMU exit with (N << 1) | 1; only together with the
    guest's own `power off (status N)` line is that trusted, because QEMU also
    exits 1 for its own errors."""
    if returncode is not None and returncode < 0:
        return Outcome(EXIT_FAILURE, f"skiff: QEMU was killed by signal {-returncode}")
    if marker_status is not None:
        if returncode == (marker_status << 1) | 1:
            return Outcome(marker_status)
        return Outcome(EXIT_FAILURE,
                       f"skiff: the guest printed power off (status {marker_status}) but QEMU exited with "
                       f"{returncode}, not {(marker_status << 1) | 1}: the debug-exit write did not happen")
    if returncode == 0:
        return Outcome(EXIT_FAILURE,
                       "skiff: QEMU exited 0 without a power-off line: the guest reset, triple-faulted or "
                       "powered off without isa-debug-exit")
    if returncode & 1 and returncode > 1:
        return Outcome(EXIT_FAILURE,
                       f"skiff: QEMU exited with {returncode} (debug-exit value {returncode >> 1}) but the guest "
                       "never printed its power-off line")
    return Outcome(EXIT_FAILURE,
                   f"skiff: QEMU exited with {returncode} and the guest never printed its power-off line "
                   "(a QEMU error such as bad flags or an image it could not load, see its messages above; "
                   "or a guest that wrote 0 to isa-debug-exit without the line)")


def _stop(proc, grace=2.0):
    """SIGTERM first so QEMU restores the terminal, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def run_vm(cmd, timeout, out=None, err=None):
    """Run QEMU with a wall-clock limit; returns an Outcome."""
    out = out or sys.stdout.buffer
    err = err or sys.stderr
    stdin = None if os.isatty(0) else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=None)
    except OSError as e:
        return Outcome(EXIT_FAILURE, f"skiff: cannot start {cmd[0]}: {e.strerror}")
    deadline = time.monotonic() + timeout
    marker = None
    pending = b""
    timed_out = False
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    fd = proc.stdout.fileno()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            if out is not None:
                try:
                    out.write(chunk)
                    out.flush()
                except BrokenPipeError:
                    # Reader gone (`| head`): keep draining to see the end.
                    out = None
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                m = POWER_OFF.match(clean_line(raw))
                if m:
                    marker = int(m.group(1))
            if len(pending) > _MAX_PARTIAL_LINE:
                # A guest writing without newlines: no marker can be that long.
                pending = pending[-1024:]
    except KeyboardInterrupt:
        _stop(proc)
        err.write("skiff: interrupted, VM killed\n")
        return Outcome(130)
    finally:
        sel.close()
    if timed_out:
        _stop(proc)
        proc.stdout.close()
        return Outcome(EXIT_TIMEOUT, f"skiff: timeout after {timeout:g} s, VM killed")
    if pending:
        m = POWER_OFF.match(clean_line(pending))
        if m:
            marker = int(m.group(1))
    proc.stdout.close()
    try:
        returncode = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        # Console closed but QEMU still running: treat like any other timeout.
        _stop(proc)
        return Outcome(EXIT_TIMEOUT, f"skiff: timeout after {timeout:g} s, VM killed")
    return judge(returncode, marker)
