#!/usr/bin/env python3
"""Boot tests of the hello app on every machine and boot path, and of tools/skiff.

Run one case: hello_test.py <case>. Everything runs under TCG."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import check  # noqa: E402

MiB = 1 << 20


def expect_hello(run, entry, argv=("hello",), status=0):
    """The whole hello transcript, in order, and the tool's exit status."""
    patterns = [rf"^hello: boot entry: {entry}$",
                r"^hello: cpus: [1-9][0-9]*$",
                r"^hello: memory: [0-9]+ MiB usable$",
                rf"^hello: argc: {len(argv)}$"]
    patterns += [rf"^hello: argv\[{i}\]: {re.escape(a)}$" for i, a in enumerate(argv)]
    patterns += [rf"^hello: exiting with status {status}$",
                 rf"^skiff: power off \(status {status}\)$"]
    run.expect_lines_in_order(patterns)
    run.expect_status(status)


def pvh_pc():
    expect_hello(harness.skiff_run(harness.image("hello"), "--machine", "pc"), "pvh")


def pvh_microvm():
    expect_hello(harness.skiff_run(harness.image("hello"), "--machine", "microvm"), "pvh")


def grub_pc():
    # The app arguments travel through grub.cfg and GRUB's own re-quoting.
    run = harness.skiff_run(harness.image("hello"), "--machine", "pc", "--boot", "grub",
                            app_args=["grub", "two words"])
    expect_hello(run, "multiboot2", argv=("hello", "grub", "two words"))


def fc_entry():
    # Firecracker's default command line plus the devices Firecracker would
    # list; none of it may leak into the app's argv.
    run = harness.skiff_run(harness.image("hello"), "--machine", "fc-entry",
                            "--append", "virtio_mmio.device=4K@0xd0000000:5",
                            "--append", "virtio_mmio.device=4K@0xd0001000:6")
    expect_hello(run, "linux64")


def exit_status():
    run = harness.skiff_run(harness.image("hello"), app_args=["--exit", "7"])
    expect_hello(run, "pvh", argv=("hello", "--exit", "7"), status=7)


def args():
    # Spaces, quotes and backslashes survive the tool's quoting and the
    # kernel's parser; a second `--` is an ordinary argument.
    argv = ("hello world", "it's", 'say "hi"', "back\\slash", "--", "last")
    run = harness.skiff_run(harness.image("hello"), app_args=argv)
    expect_hello(run, "pvh", argv=("hello",) + argv)


def _page_fault(app_arg):
    """Runs hello with app_arg, which must end in a page fault report and
    exit status 70; returns the EXCEPTION line."""
    run = harness.skiff_run(harness.image("hello"), app_args=[app_arg])
    run.expect_status(70)
    at = run.index(r"^skiff: EXCEPTION")
    check(at >= 0, "no line starting 'skiff: EXCEPTION'", run)
    check("vector 14" in run.lines[at], "the EXCEPTION line does not say 'vector 14'", run)
    run.expect_line(r"^skiff: power off \(status 70\)$")
    run.expect_no_line(r"^hello: exiting with status")
    return run, run.lines[at]


def fault():
    run, line = _page_fault("--fault")
    check(re.search(r"cr2=0x0*7ffffffff000$", line), "the EXCEPTION line does not give the faulting address", run)


def fault_null():
    # Page 0 is never mapped: a null read is a page fault at address 0.
    run, line = _page_fault("--fault-null")
    check(re.search(r"cr2=0x0+$", line), "the EXCEPTION line does not give cr2 as 0", run)


def low_memory():
    # QEMU accepts any -m, but below the image's own end it cannot even load
    # it (the VM then sits in firmware forever), so the smallest meaningful
    # size is the image rounded up to a MiB: the kernel gets only what is
    # left after itself and must either boot or refuse, never hang.
    img = harness.image("hello")
    mib = max(2, -(-harness.elf_load_end(img) // MiB))
    run = harness.skiff_run(img, "--mem", f"{mib}M", timeout=60)
    check(run.status != harness.EXIT_TIMEOUT, f"hello with -m {mib}M hung until the timeout", run)
    if run.status == 0:
        expect_hello(run, "pvh")
        print(f"low_memory: -m {mib}M is enough: hello booted and exited 0")
    else:
        run.expect_line(r"not enough memory")
        print(f"low_memory: -m {mib}M refused with 'not enough memory', exit status {run.status}")


def large_memory():
    # 6 GiB on pc: RAM above 4 GiB, and more page tables than the image's
    # boot pool holds, so the rest come from the page allocator.
    run = harness.skiff_run(harness.image("hello"), "--machine", "pc", "--mem", "6G", timeout=120)
    expect_hello(run, "pvh")
    m = run.expect_line(r"^hello: memory: ([0-9]+) MiB usable$")
    check(int(m.group(1)) > 6000, f"only {m.group(1)} MiB usable of 6 GiB", run)


def timeout():
    run = harness.skiff_run(harness.image("hello"), "--timeout", "2", app_args=["--hang"])
    run.expect_status(harness.EXIT_TIMEOUT)
    run.expect_stderr("skiff: timeout after 2 s, VM killed")


def boottime():
    # The benchmark's source of truth: the entry->main line under -icount.
    run = harness.skiff_run(harness.image("hello"), "--icount", "--append", "boottime")
    m = run.expect_line(r"^skiff: boottime entry_tsc=(\d+) main_tsc=(\d+) delta=(\d+)$")
    entry, main, delta = (int(g) for g in m.groups())
    check(main > entry and delta == main - entry, "boottime: delta is not main_tsc - entry_tsc", run)
    expect_hello(run, "pvh")


def grub_refuses_apostrophe():
    # GRUB would hand the kernel `it\'s`: refused up front, not booted with
    # a changed argv.
    run = harness.skiff_run(harness.image("hello"), "--machine", "pc", "--boot", "grub", app_args=["it's"])
    run.expect_status(harness.EXIT_FAILURE)
    run.expect_stderr("reads differently")
    run.expect_no_line(r"^hello:")


def no_marker():
    # The floor image writes 0 to isa-debug-exit without the power-off line:
    # QEMU's exit code alone must not be trusted.
    run = harness.skiff_run(harness.image("floor"))
    run.expect_status(harness.EXIT_FAILURE)
    run.expect_stderr("never printed its power-off line")


def dry_run_fc_entry():
    # The command line fc-entry hands the loader, with QEMU's comma escaping.
    run = harness.skiff_run(harness.image("floor"), "--machine", "fc-entry", "--dry-run",
                            "--append", "a=1,2", app_args=["x y", "z"])
    run.expect_status(0)
    fc = ("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 "
          "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd")
    check(f"name=opt/skiff/cmdline,string={fc} a=1,,2 -- \"x y\" z" in run.stdout,
          "fc-entry command line is not Firecracker's default + params + ' -- ' + args", run)
    for flag in ("-M microvm,acpi=off,x-option-roms=off", "-bios ", "name=opt/skiff/kernel,file=",
                 "-device isa-debug-exit,iobase=0xf4,iosize=0x04", "-accel tcg"):
        check(flag in run.stdout, f"dry run lacks {flag!r}", run)


def bench_script():
    # bench/boot/run end to end with one run: every cell measured, none
    # failed. Its numbers are the README's; their values are not judged here.
    script = os.path.join(harness.ROOT, "bench", "boot", "run")
    proc = subprocess.run([sys.executable, script, "--runs", "1", "--build", harness.BUILD],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    check(proc.returncode == 0, f"bench/boot/run exited {proc.returncode}:\n{out[-3000:]}")
    number = r"[0-9][0-9,]*"
    for machine in ("microvm", "pc"):
        row = (rf"^\| {machine} \| [0-9.]+ \([0-9.]+\) \| [0-9.]+ \([0-9.]+\) \| [0-9.]+ (met|MISSED) "
               rf"\(95%: [0-9.]+-[0-9.]+\) "
               rf"\| {number} (met|MISSED) \| {number} \({number}\), {number} \|$")
        check(re.search(row, proc.stdout, re.M), f"no complete {machine} row in:\n{proc.stdout}")
    check(re.search(rf"^\| fc-entry \| - \| - \| - \| {number} (met|MISSED) \| - \|$", proc.stdout, re.M),
          f"no complete fc-entry row in:\n{proc.stdout}")


CASES = {f.__name__: f for f in (pvh_pc, pvh_microvm, grub_pc, fc_entry, exit_status, args, fault, fault_null,
                                 low_memory, large_memory, timeout, boottime, grub_refuses_apostrophe, no_marker,
                                 dry_run_fc_entry, bench_script)}

if __name__ == "__main__":
    harness.main(CASES)
