#!/usr/bin/env python3
"""Boot tests of the kernel core: timers and clock, ACPI power-off, CPU
discovery from the MADT and the MP table. Run as `kernel_test.py <case>`."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, image, skiff_run  # noqa: E402


def _sleep(machine):
    run = skiff_run(image("hello"), "--machine", machine, app_args=["--sleep", "200"], timeout=90)
    run.expect_status(0)
    m = run.expect_line(r"^hello: slept 200 ms, clock says (\d+) us$")
    slept_us = int(m.group(1))
    # The timer must not fire early, and the guest's clock cannot have seen
    # more time pass than the host did for the whole run.
    check(slept_us >= 200000, f"sleep returned after {slept_us} us, before 200 ms had passed", run)
    check(slept_us <= run.seconds * 1e6, f"guest clock claims {slept_us} us inside a {run.seconds:.2f} s run", run)


def sleep_microvm():
    _sleep("microvm")


def sleep_pc():
    _sleep("pc")


def sleep_fc_entry():
    _sleep("fc-entry")


def _power_off_without_debug_exit(machine, expect_acpi=True):
    """No isa-debug-exit: the kernel must power off through ACPI S5, or with
    no ACPI through the i8042 reset or a triple fault (QEMU -no-reboot exits)."""
    argv = ["qemu-system-x86_64", "-M", machine, "-accel", "tcg", "-m", "128M", "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", image("hello"),
            "-append", "-- --exit 5"]
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        raise harness.Failure(f"{machine}: the VM did not power off within 60 s without isa-debug-exit")
    out = proc.stdout.decode(errors="replace")
    check("skiff: power off (status 5)" in out, f"{machine}: no power-off line:\n{out}")
    if expect_acpi:
        check("ACPI S5 did not power off" not in out, f"{machine}: ACPI S5 failed:\n{out}")
    # QEMU exits 0 when the guest powers off through ACPI.
    check(proc.returncode == 0, f"{machine}: QEMU exited {proc.returncode} after {time.monotonic() - start:.1f} s:\n{out}")


def acpi_power_off_pc():
    _power_off_without_debug_exit("pc")


def acpi_power_off_microvm():
    _power_off_without_debug_exit("microvm")


def reset_power_off_pc_without_acpi():
    # pc without ACPI: the i8042 keyboard-controller reset (Firecracker's way).
    _power_off_without_debug_exit("pc,acpi=off", expect_acpi=False)


def triple_fault_power_off_microvm_without_acpi():
    # microvm without ACPI has neither S5 nor an i8042: the triple fault is left.
    _power_off_without_debug_exit("microvm,acpi=off", expect_acpi=False)


def _cpus(*options, expected):
    run = skiff_run(image("hello"), *options, timeout=60)
    run.expect_status(0)
    run.expect_line(rf"^hello: cpus: {expected}$")
    return run


def cpus_pc_madt():
    run = _cpus("--machine", "pc", "--smp", "4", "--append", "loglevel=info", expected=4)
    run.expect_line(r"platform: 4 CPU\(s\) from acpi")


def cpus_pc_mp_table():
    # SeaBIOS writes an MP table; with ACPI off it is the only description.
    # It lists one CPU per package, so give each CPU its own socket.
    run = _cpus("--machine", "pc", "--smp", "2,sockets=2,cores=1", "--qemu-arg=-machine", "--qemu-arg=acpi=off",
                "--append", "loglevel=info", expected=2)
    run.expect_line(r"platform: 2 CPU\(s\) from mp-table")


def cpus_microvm_madt():
    _cpus("--machine", "microvm", "--smp", "2", expected=2)


def cpus_fc_entry_mp_table():
    # The Firecracker-entry loader writes Firecracker's (pre-1.8) MP table.
    run = _cpus("--machine", "fc-entry", "--smp", "2", "--append", "loglevel=info", expected=2)
    run.expect_line(r"platform: 2 CPU\(s\) from mp-table")


def sparse_apic_ids():
    # Two sockets of three cores: APIC ids 0,1,2,4,5,6.
    run = _cpus("--machine", "pc", "--smp", "6,sockets=2,cores=3", "--append", "loglevel=debug", expected=6)
    run.expect_line(r"cpu apic id 6")


CASES = {f.__name__: f for f in [
    sleep_microvm, sleep_pc, sleep_fc_entry, acpi_power_off_pc, acpi_power_off_microvm,
    reset_power_off_pc_without_acpi, triple_fault_power_off_microvm_without_acpi,
    cpus_pc_madt, cpus_pc_mp_table, cpus_microvm_madt, cpus_fc_entry_mp_table, sparse_apic_ids,
]}

if __name__ == "__main__":
    harness.main(CASES)
