#!/usr/bin/env python3
"""tools/skiff's disks: the QEMU command lines `run --disk` builds on each
machine (checked with --dry-run, and against QEMU's own device tree), the
virtio_mmio.device= entries fc-entry hands the kernel, and the Firecracker
configuration. Needs QEMU but no Skiff image. Run as `tool_disk_test.py <case>`."""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

FC_DEFAULT = ("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 "
              "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd")


class Workspace:
    """A temporary directory with a stand-in image (the tool only checks the
    ELF magic before a dry run) and disk files."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="skiff-tool-disk-")
        self.path = self._dir.name
        self.image = self.file("image.elf", b"\x7fELF" + bytes(60))

    def file(self, name, data=b"\0" * 65536):
        p = os.path.join(self.path, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def disk(self, name):
        return self.file(name)


def dry_run(ws, *options, app_args=None):
    run = harness.skiff_run(ws.image, "--dry-run", *options, app_args=app_args, timeout=30)
    run.expect_status(0)
    argv = shlex.split(run.stdout.strip())
    return run, argv


def values(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def expect_drives(run, argv, disks, cache="writeback", readonly=False):
    drives = values(argv, "-drive")
    check(len(drives) == len(disks), f"expected {len(disks)} -drive options, got {drives}", run)
    for i, (drive, path) in enumerate(zip(drives, disks)):
        want = f"file={path.replace(',', ',,')},if=none,id=disk{i},format=raw,cache={cache}"
        if readonly:
            want += ",readonly=on"
        check(drive == want, f"-drive {i} is {drive!r}, expected {want!r}", run)


def kernel_append(argv):
    found = values(argv, "-append")
    return found[0] if found else ""


def fc_cmdline(run, argv):
    for v in values(argv, "-fw_cfg"):
        if v.startswith("name=opt/skiff/cmdline,string="):
            return v[len("name=opt/skiff/cmdline,string="):].replace(",,", ",")
    check(False, "fc-entry dry run has no opt/skiff/cmdline", run)


def qemu_tree(argv):
    """`info qtree` of QEMU started (paused) with the tool's device options.
    The image and firmware are left out: QEMU still parses and realizes every
    -drive, -device and -global, and places the devices."""
    keep, skip = [], False
    drop_with_value = {"-kernel", "-append", "-bios", "-fw_cfg", "-serial", "-cdrom"}
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a in drop_with_value:
            skip = True
            continue
        keep.append(a)
    qemu = os.environ.get("SKIFF_QEMU", "qemu-system-x86_64")
    cmd = [qemu] + keep + ["-S", "-monitor", "stdio"]
    proc = subprocess.run(cmd, input="info qtree\nquit\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    check(proc.returncode == 0, f"QEMU refused the tool's options ({proc.returncode}): {shlex.join(cmd)}\n"
                                f"{proc.stdout[-2000:]}")
    return proc.stdout


def mmio_slots(tree):
    """{drive id: (mmio base, force-legacy)} from a microvm qtree."""
    slots = {}
    for block in tree.split("dev: virtio-mmio,")[1:]:
        base = re.search(r"mmio ([0-9a-f]+)/", block)
        legacy = re.search(r"force-legacy = (\w+)", block)
        drive = re.search(r'drive = "([^"]+)"', block.split("dev: ", 2)[1] if "dev: " in block else "")
        if base and drive:
            slots[drive.group(1)] = (int(base.group(1), 16), legacy.group(1) if legacy else None)
    return slots


# ---------------------------------------------------------------- pc

def pc_modern():
    ws = Workspace()
    disks = [ws.disk("a.img"), ws.disk("b,c.img")]
    run, argv = dry_run(ws, "--machine", "pc", "--disk", disks[0], "--disk", disks[1])
    expect_drives(run, argv, disks)
    devices = [d for d in values(argv, "-device") if d.startswith("virtio-blk")]
    check(devices == [f"virtio-blk-pci,drive=disk{i},disable-legacy=on,disable-modern=off" for i in range(2)],
          f"pc devices are {devices}", run)
    check("virtio_mmio" not in kernel_append(argv), "pc must not get virtio_mmio.device= entries", run)
    tree = qemu_tree(argv)
    blocks = tree.split("dev: virtio-blk-pci")[1:]
    check(len(blocks) == 2, f"QEMU shows {len(blocks)} virtio-blk-pci devices, expected 2:\n{tree}")
    for b in blocks:
        check('disable-legacy = "on"' in b and "disable-modern = false" in b,
              f"QEMU's device is not modern-only:\n{b[:800]}")


def pc_legacy_readonly():
    ws = Workspace()
    disk = ws.disk("a.img")
    run, argv = dry_run(ws, "--machine", "pc", "--disk", disk, "--disk-transport", "legacy", "--disk-readonly",
                        "--disk-cache", "none")
    expect_drives(run, argv, [disk], cache="none", readonly=True)
    check("virtio-blk-pci,drive=disk0,disable-legacy=off,disable-modern=on" in values(argv, "-device"),
          "legacy transport is not a legacy-only virtio-blk-pci", run)
    tree = qemu_tree(argv)
    check("disable-modern = true" in tree, f"QEMU's device still offers modern virtio:\n{tree[-3000:]}")


def pc_transitional():
    ws = Workspace()
    run, argv = dry_run(ws, "--machine", "pc", "--disk", ws.disk("a.img"), "--disk-transport", "transitional")
    check("virtio-blk-pci,drive=disk0,disable-legacy=off,disable-modern=off" in values(argv, "-device"),
          "transitional is not legacy+modern", run)


# ---------------------------------------------------------------- microvm

def microvm_modern():
    ws = Workspace()
    disks = [ws.disk("a.img"), ws.disk("b.img")]
    run, argv = dry_run(ws, "--machine", "microvm", "--disk", disks[0], "--disk", disks[1], app_args=["x"])
    expect_drives(run, argv, disks)
    check(values(argv, "-device")[-2:] == ["virtio-blk-device,drive=disk0", "virtio-blk-device,drive=disk1"],
          f"microvm devices are {values(argv, '-device')}", run)
    check("virtio-mmio.force-legacy=off" in values(argv, "-global"), "modern must select virtio-mmio version 2",
          run)
    # With ACPI (microvm's default) the devices are in the DSDT, not on the command line.
    check("virtio_mmio" not in kernel_append(argv), "microvm -append must not carry virtio_mmio entries", run)
    slots = mmio_slots(qemu_tree(argv))
    check(set(slots) == {"disk0", "disk1"}, f"QEMU placed {slots}")
    check(all(legacy == "false" for _, legacy in slots.values()), f"QEMU's transports are legacy: {slots}")


def microvm_legacy():
    ws = Workspace()
    run, argv = dry_run(ws, "--machine", "microvm", "--disk", ws.disk("a.img"), "--disk-transport", "legacy")
    check("virtio-mmio.force-legacy=on" in values(argv, "-global"), "legacy must select virtio-mmio version 1",
          run)
    slots = mmio_slots(qemu_tree(argv))
    check(slots.get("disk0", (0, None))[1] == "true", f"QEMU's transport is not legacy: {slots}")


# ---------------------------------------------------------------- fc-entry

def fc_entry_entries():
    ws = Workspace()
    disks = [ws.disk("a.img"), ws.disk("b.img"), ws.disk("c.img")]
    options = ["--machine", "fc-entry", "--append", "loglevel=info"]
    for d in disks:
        options += ["--disk", d]
    run, argv = dry_run(ws, *options, app_args=["x y", "z"])
    expect_drives(run, argv, disks)
    line = fc_cmdline(run, argv)
    entries = ("virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11 "
               "virtio_mmio.device=512@0xfeb00a00:10")
    want = f'{FC_DEFAULT} loglevel=info {entries} -- "x y" z'
    check(line == want, f"fc-entry command line is\n  {line!r}\nexpected\n  {want!r}", run)
    check("-M" in argv and "microvm,acpi=off,x-option-roms=off" in values(argv, "-M"),
          "fc-entry must run microvm with ACPI off (devices only on the command line)", run)


def fc_entry_slots_match_qemu():
    # The entries the tool writes must name the transports QEMU really put
    # each disk on: the first -device takes the highest slot.
    ws = Workspace()
    disks = [ws.disk("a.img"), ws.disk("b.img")]
    run, argv = dry_run(ws, "--machine", "fc-entry", "--disk", disks[0], "--disk", disks[1])
    entries = re.findall(r"virtio_mmio\.device=512@(0x[0-9a-f]+):(\d+)", fc_cmdline(run, argv))
    slots = mmio_slots(qemu_tree(argv))
    for i, (base, irq) in enumerate(entries):
        placed = slots.get(f"disk{i}")
        check(placed is not None and placed[0] == int(base, 16),
              f"entry {i} names {base}, QEMU put disk{i} at {placed}: {slots}")
        slot = (int(base, 16) - 0xFEB00000) // 0x200
        check(int(irq) == 5 + slot, f"entry {i}: IRQ {irq} is not 5 + slot {slot}")
    check(len(entries) == 2, f"expected 2 entries, got {entries}", run)


def fc_entry_no_disks():
    ws = Workspace()
    run, argv = dry_run(ws, "--machine", "fc-entry")
    check("virtio_mmio" not in fc_cmdline(run, argv), "no disks, yet virtio_mmio entries", run)
    check(not values(argv, "-drive") and not values(argv, "-global"), "no disks, yet drive options", run)


# ---------------------------------------------------------------- refusals

def refusals():
    ws = Workspace()
    cases = [
        (["--disk", os.path.join(ws.path, "missing.img")], "not found"),
        (["--machine", "microvm", "--disk", ws.disk("a.img"), "--disk-transport", "transitional"],
         "no transitional"),
        (["--disk", ws.path], "is a directory"),
        (["--machine", "fc-entry"] + [x for i in range(9) for x in ("--disk", ws.disk(f"d{i}.img"))],
         "8 virtio-mmio slots"),
        (["--net", "user"], "not supported yet"),
    ]
    for options, message in cases:
        run = harness.skiff_run(ws.image, "--dry-run", *options, timeout=30)
        run.expect_status(harness.EXIT_FAILURE)
        run.expect_stderr(message)
        check("qemu-system" not in run.stdout, f"{options}: refused, yet a command was printed", run)


# ---------------------------------------------------------------- Firecracker

def firecracker_tool(*args):
    argv = [sys.executable, harness.TOOL, "firecracker-config"] + list(args)
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)
    return argv, proc


def firecracker_config():
    ws = Workspace()
    disks = [ws.disk("root.img"), ws.disk("data.img")]
    argv, proc = firecracker_tool(ws.image, "--disk", disks[0], "--disk", disks[1], "--disk-readonly",
                                  "--mem", "1G", "--smp", "2", "--append", "loglevel=info", "--", "a b", "c")
    check(proc.returncode == 0, f"firecracker-config failed: {shlex.join(argv)}\n{proc.stderr}")
    cfg = json.loads(proc.stdout)
    check(set(cfg) == {"boot-source", "drives", "machine-config"}, f"unexpected sections {sorted(cfg)}")
    boot = cfg["boot-source"]
    check(boot["kernel_image_path"] == os.path.abspath(ws.image), f"kernel_image_path {boot}")
    check(boot["boot_args"] == f'{FC_DEFAULT} loglevel=info -- "a b" c', f"boot_args {boot['boot_args']!r}")
    check("virtio_mmio" not in boot["boot_args"], "Firecracker adds virtio_mmio entries itself")
    check(cfg["machine-config"] == {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False},
          f"machine-config {cfg['machine-config']}")
    drives = cfg["drives"]
    check([d["drive_id"] for d in drives] == ["disk0", "disk1"], f"drive ids {drives}")
    for d, path in zip(drives, disks):
        check(d["path_on_host"] == os.path.abspath(path) and d["is_read_only"] is True
              and d["is_root_device"] is False and d["cache_type"] == "Writeback",
              f"drive {d} does not describe {path} read-only with flushes honoured")
    # -o writes the same document.
    out = os.path.join(ws.path, "vm.json")
    argv, proc = firecracker_tool(ws.image, "--disk", disks[0], "--disk", disks[1], "--disk-readonly",
                                  "--mem", "1G", "--smp", "2", "--append", "loglevel=info", "-o", out,
                                  "--", "a b", "c")
    check(proc.returncode == 0 and proc.stdout == "", f"-o failed or also printed: {proc.stderr}")
    with open(out) as f:
        check(json.load(f) == cfg, "-o FILE differs from stdout")


def firecracker_config_defaults():
    ws = Workspace()
    argv, proc = firecracker_tool(ws.image)
    check(proc.returncode == 0, f"firecracker-config failed: {proc.stderr}")
    cfg = json.loads(proc.stdout)
    check(cfg["boot-source"]["boot_args"] == FC_DEFAULT, f"boot_args {cfg['boot-source']['boot_args']!r}")
    check(cfg["drives"] == [] and cfg["machine-config"]["mem_size_mib"] == 128
          and cfg["machine-config"]["vcpu_count"] == 1, f"defaults {cfg}")


def firecracker_config_refusals():
    ws = Workspace()
    for args, message in [
        (["--smp", "2,sockets=2"], "positive integer"),
        (["--smp", "64"], "vCPU count"),
        (["--mem", "1536K"], "whole number of MiB"),
        (["--disk", os.path.join(ws.path, "missing.img")], "not found"),
        (["--append", "x" * 2100], "command line is"),
        (["--", "caf\u00e9"], "printable ASCII"),
    ]:
        argv, proc = firecracker_tool(ws.image, *args)
        check(proc.returncode == harness.EXIT_FAILURE and message in proc.stderr and not proc.stdout,
              f"{shlex.join(argv)}: expected exit 125 with {message!r}, got {proc.returncode}:\n{proc.stderr}")
    not_elf = ws.file("not-elf.bin", b"MZ")
    argv, proc = firecracker_tool(not_elf)
    check(proc.returncode == harness.EXIT_FAILURE and "not an ELF" in proc.stderr, f"non-ELF image accepted")


CASES = {f.__name__: f for f in (
    pc_modern, pc_legacy_readonly, pc_transitional, microvm_modern, microvm_legacy, fc_entry_entries,
    fc_entry_slots_match_qemu, fc_entry_no_disks, refusals, firecracker_config, firecracker_config_defaults,
    firecracker_config_refusals,
)}

if __name__ == "__main__":
    harness.main(CASES)
