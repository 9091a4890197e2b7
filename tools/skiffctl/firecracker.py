"""Firecracker JSON configuration (`firecracker --config-file FILE`) for an image.

Firecracker is not installed on these machines; the configuration follows
its documented schema (boot-source, drives, machine-config) so that
`firecracker --no-api --config-file FILE` boots the image elsewhere.
"""

import json
import os
import re

from . import cmdline, qemu

# Firecracker keeps the command line in a 2048-byte buffer (with the NUL) and
# adds ` virtio_mmio.device=4K@0x<base>:<irq>` (about 40 bytes) per device.
CMDLINE_CAPACITY = 2048
VIRTIO_ENTRY_RESERVE = 48
MAX_VCPUS = 32

# Writeback advertises VIRTIO_BLK_F_FLUSH and fsyncs the file on a flush, so
# "flushed" means durable, as under QEMU with cache=writeback. (Unsafe, the
# default, does not promise that.)
CACHE_TYPE = "Writeback"


class FirecrackerError(ValueError):
    pass


def mem_mib(text):
    """QEMU-style size (128M, 1G, 64 = MiB) -> whole MiB."""
    m = re.fullmatch(r"([1-9][0-9]*)([KMGT]?)", text)
    if not m:
        raise FirecrackerError(f"bad memory size {text!r}")
    value = int(m.group(1)) << {"": 20, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]
    if value % (1 << 20):
        raise FirecrackerError(f"memory size {text!r} is not a whole number of MiB")
    return value >> 20


def boot_args(params, app_args):
    """Firecracker's default command line, the params, then ` -- ` and the args.

    Firecracker adds its `virtio_mmio.device=` words itself. It builds the
    line with rust-vmm's linux-loader, whose Cmdline keeps everything after
    the first ` -- ` as init arguments and inserts the device words before
    it, so the app's arguments stay last."""
    words = qemu.FIRECRACKER_DEFAULT_CMDLINE.split() + list(params)
    line = cmdline.render(cmdline.build_words(words, app_args))
    bad = sorted({ch for ch in line if not " " <= ch <= "~"})
    if bad:
        raise FirecrackerError(f"Firecracker accepts only printable ASCII on the command line, not {bad!r}")
    return line


def config(image, disks=(), mem="128M", smp="1", params=(), app_args=()):
    """The configuration as a dict, ready for json.dump."""
    if not re.fullmatch(r"[1-9][0-9]*", str(smp)) or int(smp) > MAX_VCPUS:
        raise FirecrackerError(f"--smp {smp}: Firecracker takes a vCPU count from 1 to {MAX_VCPUS} "
                               "(no topology)")
    line = boot_args(params, app_args)
    budget = CMDLINE_CAPACITY - 1 - VIRTIO_ENTRY_RESERVE * len(disks)
    if len(line) > budget:
        raise FirecrackerError(f"the command line is {len(line)} bytes; with {len(disks)} device(s) Firecracker "
                               f"leaves room for {budget}")
    drives = []
    for i, d in enumerate(disks):
        drives.append({
            "drive_id": f"disk{i}",
            "path_on_host": os.path.abspath(d.path),
            "is_root_device": False,
            "is_read_only": bool(d.readonly),
            "cache_type": CACHE_TYPE,
            "io_engine": "Sync",
        })
    return {
        "boot-source": {
            "kernel_image_path": os.path.abspath(image),
            "boot_args": line,
        },
        "drives": drives,
        "machine-config": {
            "vcpu_count": int(smp),
            "mem_size_mib": mem_mib(mem),
            "smt": False,
        },
    }


def render(cfg):
    return json.dumps(cfg, indent=2) + "\n"
