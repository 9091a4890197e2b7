#!/usr/bin/env python3
"""Boot tests of SMP and threads: every CPU the VMM offers runs work, on
every machine model and CPU-discovery path. Run as `smp_test.py <case>`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, image, skiff_run  # noqa: E402


def _smpcheck(machine, smp, expected, *extra):
    run = skiff_run(image("smpcheck"), "--machine", machine, "--smp", smp, "--append", "loglevel=info", *extra,
                    timeout=240)
    run.expect_status(0)
    run.expect_line(rf"^smpcheck: {expected} CPU\(s\) online$")
    for cpu in range(expected):
        run.expect_line(rf"^smpcheck: cpu {cpu} computed \d+ in \d+ us \(ran there\)$")
    run.expect_line(r"^smpcheck: sum (\d+) expected \1 ")
    run.expect_line(rf"^smpcheck: counter {20000 * expected} expected {20000 * expected}$")
    run.expect_line(r"^smpcheck: PASS$")
    return run


CASES = {}


def _register(name, fn):
    CASES[name] = fn


for _machine in ("pc", "microvm"):
    for _n in (1, 2, 4, 8):
        _register(f"smpcheck_{_machine}_{_n}", lambda m=_machine, n=_n: _smpcheck(m, str(n), n))
for _n in (2, 4):
    _register(f"smpcheck_fc_entry_{_n}",
              lambda n=_n: _smpcheck("fc-entry", str(n), n).expect_line(r"platform: \d+ CPU\(s\) from mp-table"))


def smpcheck_pc_acpi_off():
    # No ACPI: CPUs come from SeaBIOS's MP table (one entry per socket).
    run = _smpcheck("pc", "4,sockets=4,cores=1", 4, "--qemu-arg=-machine", "--qemu-arg=acpi=off")
    run.expect_line(r"platform: 4 CPU\(s\) from mp-table")


def smpcheck_sparse_apic_ids():
    # 2 sockets x 3 cores: APIC ids 0,1,2,4,5,6 - not a dense range.
    run = _smpcheck("pc", "6,sockets=2,cores=3", 6, "--append", "loglevel=debug")
    run.expect_line(r"smp: CPU 5 \(APIC id 6\) online")


def threadtest_microvm_4():
    run = skiff_run(image("threadtest"), "--machine", "microvm", "--smp", "4", timeout=240)
    run.expect_status(0)
    run.expect_no_line(r"threadtest: FAIL")
    run.expect_line(r"^threadtest: PASS$")


def threadtest_pc_1():
    run = skiff_run(image("threadtest"), "--machine", "pc", "--smp", "1", timeout=240)
    run.expect_status(0)
    run.expect_line(r"^threadtest: PASS$")


def thread_stack_overflow():
    run = skiff_run(image("threadtest"), "--machine", "microvm", "--smp", "2", app_args=["--overflow"], timeout=120)
    run.expect_status(70)
    run.expect_line(r"skiff: EXCEPTION: page fault")
    run.expect_line(r"thread \d+ 'doomed'")
    run.expect_line(r"thread 'doomed' overflowed its stack into the guard page")
    run.expect_no_line(r"threadtest: FAIL")


def thread_fault():
    run = skiff_run(image("threadtest"), "--machine", "pc", "--smp", "2", app_args=["--fault-in-thread"], timeout=120)
    run.expect_status(70)
    run.expect_line(r"skiff: EXCEPTION: page fault .*cr2=0x00007ffffffff000")
    run.expect_line(r"thread \d+ 'doomed'")
    run.expect_no_line(r"threadtest: FAIL")


for _f in (smpcheck_pc_acpi_off, smpcheck_sparse_apic_ids, threadtest_microvm_4, threadtest_pc_1,
           thread_stack_overflow, thread_fault):
    _register(_f.__name__, _f)

if __name__ == "__main__":
    harness.main(CASES)
