#!/usr/bin/env python3
"""Boot tests for tools/fc-entry-loader under QEMU microvm (TCG).

--group entry:    boots the self-test kernel in several machine shapes; each
                  run must print "ALL <n> CHECKS PASSED" and exit with
                  isa-debug-exit status 0 (QEMU status 1).
--group refusals: hands the loader broken kernels; each must be refused with
                  its own isa-debug-exit status and a clear serial message.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

DEFAULT_CMDLINE = ("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 "
                   "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd")
# Loader statuses (tools/fc-entry-loader/README.md).
NO_KERNEL, BAD_ELF, UNSUPPORTED_ELF, BAD_PLACEMENT, BAD_ENTRY = 0x11, 0x12, 0x13, 0x14, 0x15
TIMEOUT = 120


def qemu_status(value):
    return (value << 1) | 1


def run_qemu(args, kernel, cmdline, mem_mib=128, cpus=1, extra=()):
    command = [args.qemu, "-M", "microvm,acpi=off,x-option-roms=off", "-accel", "tcg",
               "-m", str(mem_mib), "-smp", str(cpus), "-nodefaults", "-no-user-config",
               "-display", "none", "-serial", "stdio", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-bios", args.loader]
    if kernel is not None:
        command += ["-fw_cfg", "name=opt/skiff/kernel,file=" + kernel]
    if cmdline is not None:
        command += ["-fw_cfg", "name=opt/skiff/cmdline,string=" + cmdline.replace(",", ",,")]
    command += list(extra)
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        output = (timeout.stdout or b"").decode(errors="replace")
        return None, output
    return done.returncode, done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")


class Failures:
    def __init__(self):
        self.items = []

    def expect(self, name, condition, detail, output):
        if condition:
            return True
        self.items.append(name)
        print(f"FAIL {name}: {detail}")
        print("---- output ----")
        print(output.rstrip())
        print("----------------")
        return False


def printed_cmdline(output):
    for line in output.splitlines():
        if line.startswith("fc-selftest: cmdline: "):
            return line[len("fc-selftest: cmdline: "):]
    return None


def entry_case(args, failures, name, mem_mib, cpus, cmdline, expect_cmdline, extra=(), expect_in_output=()):
    status, output = run_qemu(args, args.kernel, cmdline, mem_mib, cpus, extra)
    ok = failures.expect(name, status == qemu_status(0),
                         f"QEMU status {status}, want {qemu_status(0)} (self-test passed)", output)
    ok = ok and failures.expect(name, "CHECKS PASSED" in output and "FAIL" not in output,
                                "self-test did not report success", output)
    banners = [l for l in output.splitlines() if l.startswith("fc-entry-loader: kernel ")]
    # One banner: the loader ran once, on the boot CPU only.
    ok = ok and failures.expect(name, len(banners) == 1, f"{len(banners)} loader banners, want 1", output)
    ok = ok and failures.expect(name, printed_cmdline(output) == expect_cmdline,
                                f"kernel saw cmdline {printed_cmdline(output)!r}", output)
    for needle in expect_in_output:
        ok = ok and failures.expect(name, needle in output, f"output lacks {needle!r}", output)
    if ok:
        passed = [l for l in output.splitlines() if "CHECKS PASSED" in l]
        print(f"ok   {name}: {passed[0] if passed else ''}")


def group_entry(args, failures):
    def cmdline(cpus, mib, tail=""):
        return f"fc-selftest expect_cpus={cpus} expect_mem_mib={mib} console=ttyS0 token=alpha{tail}"

    line = cmdline(1, 128)
    entry_case(args, failures, "one-cpu-128mib", 128, 1, line, line, expect_in_output=["via dma"])
    line = cmdline(2, 256)
    entry_case(args, failures, "two-cpus-ap-waits-for-sipi", 256, 2, line, line,
               expect_in_output=["PASS ap-starts-on-sipi", "mp table cpus 2 ioapic id 3"])
    line = cmdline(4, 64)
    entry_case(args, failures, "four-cpus-64mib", 64, 4, line, line,
               expect_in_output=["mp table cpus 4 ioapic id 5"])
    # Beyond 3 GiB microvm puts the rest above 4 GiB; no RAM may be claimed
    # in Firecracker's MMIO gap.
    line = cmdline(1, 3584)
    entry_case(args, failures, "memory-above-4gib", 3584, 1, line, line,
               expect_in_output=["e820 0x100000000 0x20000000 1"])
    line = cmdline(1, 128)
    entry_case(args, failures, "byte-io-without-dma", 128, 1, line, line,
               extra=["-global", "fw_cfg_io.dma_enabled=off"], expect_in_output=["via byte i/o"])
    long_line = cmdline(1, 128, " " + "x" * 3000)
    entry_case(args, failures, "long-cmdline-truncated", 128, 1, long_line, long_line[:2047],
               expect_in_output=["truncated to 2047"])
    entry_case(args, failures, "default-cmdline", 128, 1, None, DEFAULT_CMDLINE,
               expect_in_output=["SKIP mp-cpu-count"])


def read_elf(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def program_headers(elf):
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    return [phoff + i * phentsize for i in range(phnum)]


def first_load(elf):
    for at in program_headers(elf):
        if struct.unpack_from("<I", elf, at)[0] == 1:
            return at
    raise RuntimeError("self-test ELF has no PT_LOAD")


def refusal_case(args, failures, workdir, name, elf, status, needle, mem_mib=128):
    path = None
    if elf is not None:
        path = os.path.join(workdir, name + ".elf")
        with open(path, "wb") as f:
            f.write(elf)
    got, output = run_qemu(args, path, "fc-selftest", mem_mib)
    ok = failures.expect(name, got == qemu_status(status),
                         f"QEMU status {got}, want {qemu_status(status)} (loader status {status:#x})", output)
    ok = ok and failures.expect(name, needle in output, f"output lacks {needle!r}", output)
    ok = ok and failures.expect(name, "fc-selftest: entered" not in output, "the kernel was entered", output)
    if ok:
        print(f"ok   {name}: refused with status {status:#x}")


def group_refusals(args, failures):
    good = read_elf(args.kernel)
    workdir = tempfile.mkdtemp(prefix="fc-entry-refusals-")
    try:
        def patched(offset, fmt, value):
            elf = bytearray(good)
            struct.pack_into(fmt, elf, offset, value)
            return elf

        load = first_load(good)
        refusal_case(args, failures, workdir, "no-kernel", None, NO_KERNEL, "no opt/skiff/kernel")
        refusal_case(args, failures, workdir, "not-elf", b"\x00not an elf file, just text" * 8, BAD_ELF,
                     "not an ELF file")
        refusal_case(args, failures, workdir, "elf32", patched(4, "<B", 1), UNSUPPORTED_ELF, "not 64-bit")
        refusal_case(args, failures, workdir, "wrong-machine", patched(18, "<H", 3), UNSUPPORTED_ELF,
                     "is not x86_64")
        refusal_case(args, failures, workdir, "relocatable", patched(16, "<H", 1), UNSUPPORTED_ELF,
                     "is not ET_EXEC")
        refusal_case(args, failures, workdir, "phdrs-past-eof", patched(32, "<Q", len(good) - 8), BAD_ELF,
                     "run past the end")
        refusal_case(args, failures, workdir, "filesz-above-memsz",
                     patched(load + 32, "<Q", struct.unpack_from("<Q", good, load + 40)[0] + 1), BAD_ELF,
                     "above its memory size")
        refusal_case(args, failures, workdir, "segment-below-1mib", patched(load + 24, "<Q", 0x80000),
                     BAD_PLACEMENT, "below 1 MiB")
        refusal_case(args, failures, workdir, "segment-beyond-ram", patched(load + 24, "<Q", 0x7fffff0),
                     BAD_PLACEMENT, "not inside guest RAM")
        refusal_case(args, failures, workdir, "segment-in-mmio-gap", patched(load + 24, "<Q", 0xd0000000),
                     BAD_PLACEMENT, "not inside guest RAM", mem_mib=3584)
        refusal_case(args, failures, workdir, "entry-above-1gib", patched(24, "<Q", 0x40000000), BAD_ENTRY,
                     "outside [1 MiB, 1 GiB)")
        refusal_case(args, failures, workdir, "entry-outside-segments", patched(24, "<Q", 0x3000000), BAD_ENTRY,
                     "not inside any loaded segment")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loader", required=True, help="fc-entry-loader.bin")
    parser.add_argument("--kernel", required=True, help="the self-test kernel ELF")
    parser.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"))
    parser.add_argument("--group", choices=["entry", "refusals"], required=True)
    args = parser.parse_args()
    for path in (args.loader, args.kernel):
        if not os.path.isfile(path):
            print(f"FAIL: {path} does not exist (build first)")
            return 1
    failures = Failures()
    (group_entry if args.group == "entry" else group_refusals)(args, failures)
    if failures.items:
        print(f"{len(failures.items)} case(s) failed: {', '.join(failures.items)}")
        return 1
    print("all cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
