#!/usr/bin/env python3
"""Boot tests of the block stack: blkcheck through every transport and
discovery path, persistence across boots, read-only disks, requests past the
end. Run as `block_test.py <case>`."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, image, skiff_run  # noqa: E402

DISK_BYTES = 32 << 20


def _disk(directory):
    path = os.path.join(directory, "disk.img")
    with open(path, "wb") as f:
        f.truncate(DISK_BYTES)
    return path


def _blkcheck(disk, *options, app_args=(), expect_pass=True, loglevel="info"):
    run = skiff_run(image("blkcheck"), "--disk", disk, "--append", f"loglevel={loglevel}", *options,
                    app_args=list(app_args), timeout=180)
    run.expect_line(rf"^blkcheck: device vda capacity {DISK_BYTES // 512} sectors of 512 bytes")
    run.expect_line(r"^blkcheck: read past the end refused: out of range$")
    if expect_pass:
        run.expect_status(0)
        run.expect_line(r"^blkcheck: PASS$")
    return run


def _write_and_check_bytes(disk, *options, transport_pattern):
    run = _blkcheck(disk, *options)
    run.expect_line(r"^blkcheck: wrote 52 chunks of 4096 bytes and flushed$")
    run.expect_line(r"^blkcheck: verified 52 of 52 chunks$")
    run.expect_line(transport_pattern)
    # The data really is on the host file: the first chunk holds the pattern
    # (word 1 = (0 << 24) ^ (1 << 8) ^ seed * golden ratio), not zeros.
    with open(disk, "rb") as f:
        first = f.read(4096)
    check(any(first), f"the disk file is still zero after blkcheck wrote it:\n{run.describe()}")
    seed_term = (24301 * 0x9E3779B97F4A7C15) & (2**64 - 1)
    word1 = int.from_bytes(first[8:16], "little")
    check(word1 == (1 << 8) ^ seed_term, f"the disk holds {word1:#x} where blkcheck's pattern belongs")


def pc_modern():
    with tempfile.TemporaryDirectory() as d:
        _write_and_check_bytes(_disk(d), "--machine", "pc", transport_pattern=r"vda: virtio-blk over virtio-pci modern")


def pc_legacy():
    with tempfile.TemporaryDirectory() as d:
        _write_and_check_bytes(_disk(d), "--machine", "pc", "--disk-transport", "legacy",
                               transport_pattern=r"vda: virtio-blk over virtio-pci legacy")


def pc_intx():
    # MSI-X off (vectors=0): completions arrive on the PCI INTx line, routed
    # through the IOAPIC level-triggered with the MADT's polarity.
    with tempfile.TemporaryDirectory() as d:
        run = _blkcheck(_disk(d), "--machine", "pc", "--qemu-arg=-global", "--qemu-arg=virtio-blk-pci.vectors=0",
                        "--append", "loglevel=debug")
        run.expect_line(r"virtio: pci 00:\S+ interrupts by INTx")
        run.expect_no_line(r"polling it instead")
        run.expect_no_line(r"without an interrupt")  # the watchdog did not have to step in


def microvm_command_line():
    # acpi=off: QEMU announces the device only as virtio_mmio.device= .
    with tempfile.TemporaryDirectory() as d:
        _write_and_check_bytes(_disk(d), "--machine", "microvm", "--qemu-arg=-machine", "--qemu-arg=acpi=off",
                               transport_pattern=r"virtio-mmio: .*command line")


def microvm_acpi():
    # ACPI on: the device is only an LNRO0005 object in the DSDT.
    with tempfile.TemporaryDirectory() as d:
        disk = _disk(d)
        _write_and_check_bytes(disk, "--machine", "microvm", transport_pattern=r"virtio-mmio: .*(ACPI|DSDT|acpi)")
        # At the default log level the platform log does not read the FADT
        # early: the bus probe itself must, to find the DSDT and the disk.
        _blkcheck(disk, "--machine", "microvm", loglevel="warn")


def fc_entry():
    with tempfile.TemporaryDirectory() as d:
        _write_and_check_bytes(_disk(d), "--machine", "fc-entry", transport_pattern=r"virtio-mmio: .*command line")


def persistence():
    with tempfile.TemporaryDirectory() as d:
        disk = _disk(d)
        _blkcheck(disk, "--machine", "microvm", app_args=["--seed", "777"])
        second = _blkcheck(disk, "--machine", "pc", app_args=["--verify-only", "--seed", "777"])
        second.expect_no_line(r"wrote \d+ chunks")
        second.expect_line(r"^blkcheck: verified 52 of 52 chunks$")
        # A different seed must not verify: the check is real.
        wrong = _blkcheck(disk, "--machine", "microvm", app_args=["--verify-only", "--seed", "778"], expect_pass=False)
        wrong.expect_status(1)
        wrong.expect_line(r"^blkcheck: MISMATCH")


def read_only():
    with tempfile.TemporaryDirectory() as d:
        disk = _disk(d)
        run = _blkcheck(disk, "--machine", "pc", "--disk-readonly", app_args=["--expect-readonly"])
        run.expect_line(r"^blkcheck: device vda capacity \d+ sectors of 512 bytes \(read-only\)$")
        run.expect_line(r"^blkcheck: write to a read-only disk refused: read-only$")
        with open(disk, "rb") as f:
            check(not any(f.read()), "a read-only disk was modified")


def blkbench_runs():
    with tempfile.TemporaryDirectory() as d:
        run = skiff_run(image("blkbench"), "--machine", "microvm", "--disk", _disk(d), app_args=["--seconds", "1"],
                        timeout=240)
        run.expect_status(0)
        for test in ("seq-read", "seq-write", "rand-read", "rand-write"):
            for qd in (1, 32):
                m = run.expect_line(rf"^blkbench: {test} qd={qd} iops=(\d+) mib_s=")
                check(int(m.group(1)) > 0, f"{test} qd={qd} completed no I/O", run)


def discovery_waits_for_a_lookup():
    # Buses are probed on the first device lookup: hello never looks, so its
    # boot touches no bus; probe_devices_at_boot brings the probe forward.
    with tempfile.TemporaryDirectory() as d:
        disk = _disk(d)
        for machine in ("microvm", "pc"):
            lazy = skiff_run(image("hello"), "--machine", machine, "--disk", disk, "--append", "loglevel=info")
            lazy.expect_status(0)
            lazy.expect_line(r"^hello: exiting with status 0$")
            lazy.expect_no_line(r"vda: virtio-blk")
            lazy.expect_no_line(r"^(\S+ )?(virtio-mmio|pci):")
            eager = skiff_run(image("hello"), "--machine", machine, "--disk", disk,
                              "--append", "loglevel=info", "--append", "probe_devices_at_boot")
            eager.expect_status(0)
            eager.expect_line(r"^(\S+ )?(virtio-mmio|pci):")
            eager.expect_lines_in_order([r"vda: virtio-blk over", r"^hello: boot entry:"])


CASES = {f.__name__: f for f in [pc_modern, pc_legacy, pc_intx, microvm_command_line, microvm_acpi, fc_entry, persistence,
                                  read_only, blkbench_runs, discovery_waits_for_a_lookup]}

if __name__ == "__main__":
    harness.main(CASES)
