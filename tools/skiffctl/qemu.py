"""QEMU command lines for the machines Skiff boots on."""

import os
import shlex

from . import cmdline

QEMU_DEFAULT = "qemu-system-x86_64"

MACHINES = ("pc", "microvm", "fc-entry")
BOOTS = ("pvh", "grub")
ACCELS = ("auto", "kvm", "tcg")

DEBUG_EXIT_PORT = 0xF4

# Firecracker's default kernel command line (v1.7.0). Skiff must ignore the
# words it does not own, so fc-entry hands the kernel exactly this.
FIRECRACKER_DEFAULT_CMDLINE = (
    "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 "
    "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
)

# QEMU microvm's virtio-mmio transports (acpi=off): slot i at base + stride*i
# with IRQ 5+i; devices fill the slots from the highest one down.
MICROVM_VIRTIO_BASE = 0xFEB00000
MICROVM_VIRTIO_STRIDE = 0x200
MICROVM_VIRTIO_SLOTS = 8
MICROVM_VIRTIO_IRQ_BASE = 5

FC_ENTRY_LOADER = "fc-entry-loader.bin"

# virtio-blk transports. On pc: modern = a virtio 1.0 only device (PCI id
# 0x1042), transitional = QEMU's default (legacy I/O BAR and modern
# capabilities), legacy = legacy only (0x1001, no modern capabilities). On
# microvm QEMU's virtio-mmio transport defaults to version 1 (force-legacy=on);
# modern sets version 2, as Firecracker has.
DISK_TRANSPORTS = ("modern", "transitional", "legacy")
# QEMU's default is writeback: the host page cache holds writes, and a guest
# flush becomes fdatasync on the file, so flushed data is durable.
DISK_CACHES = ("writeback", "none", "writethrough", "directsync", "unsafe")
_PCI_TRANSPORT_FLAGS = {
    "modern": "disable-legacy=on,disable-modern=off",
    "transitional": "disable-legacy=off,disable-modern=off",
    "legacy": "disable-legacy=off,disable-modern=on",
}


class ConfigError(ValueError):
    pass


class Disk:
    """A raw image file attached as a virtio-blk device."""

    def __init__(self, path, readonly=False, transport="modern", cache="writeback"):
        if transport not in DISK_TRANSPORTS:
            raise ConfigError(f"unknown disk transport {transport!r} (choose from {', '.join(DISK_TRANSPORTS)})")
        if cache not in DISK_CACHES:
            raise ConfigError(f"unknown disk cache mode {cache!r} (choose from {', '.join(DISK_CACHES)})")
        self.path = path
        self.readonly = readonly
        self.transport = transport
        self.cache = cache


def disk_args(machine, disks):
    """QEMU arguments that attach `disks`: (-drive options, devices).

    `devices` are the -device values in order; on microvm and fc-entry they
    are virtio-mmio devices, which take the transports from the highest slot
    down (see virtio_mmio_cmdline_entries). The bench's Linux guest gets its
    disk from here too, so both guests see the same device."""
    if not disks:
        return [], []
    transports = {d.transport for d in disks}
    if len(transports) > 1:
        raise ConfigError("all disks must use the same transport")
    transport = transports.pop()
    drives, devices = [], []
    if machine != "pc":
        if transport == "transitional":
            raise ConfigError("virtio-mmio has no transitional devices: use --disk-transport modern (version 2) "
                              "or legacy (version 1)")
        # A QEMU global, so it applies to every transport of the machine.
        drives += ["-global", "virtio-mmio.force-legacy=" + ("on" if transport == "legacy" else "off")]
    for i, d in enumerate(disks):
        opts = f"file={qemu_opt_value(d.path)},if=none,id=disk{i},format=raw,cache={d.cache}"
        if d.readonly:
            opts += ",readonly=on"
        drives += ["-drive", opts]
        if machine == "pc":
            devices.append(f"virtio-blk-pci,drive=disk{i},{_PCI_TRANSPORT_FLAGS[transport]}")
        else:
            devices.append(f"virtio-blk-device,drive=disk{i}")
    return drives, devices


class VmConfig:
    def __init__(self, image, machine="microvm", boot="pvh", mem="128M", smp=1,
                 params=(), app_args=(), icount=False, qemu_args=(), virtio_devices=(),
                 qemu=None, fc_loader=None, disks=()):
        self.image = image
        self.machine = machine
        self.boot = boot
        self.mem = mem
        self.smp = smp
        self.params = list(params)
        self.app_args = list(app_args)
        self.icount = icount
        self.qemu_args = list(qemu_args)
        self.disks = list(disks)
        self.drive_args, disk_devices = disk_args(machine, self.disks)
        # QEMU -device arguments for virtio devices, in command-line order;
        # on microvm and fc-entry these are virtio-mmio devices.
        self.virtio_devices = list(virtio_devices) + disk_devices
        self.qemu = qemu or os.environ.get("SKIFF_QEMU", QEMU_DEFAULT)
        self.fc_loader = fc_loader


def kvm_usable(dev="/dev/kvm", cpuinfo="/proc/cpuinfo"):
    """KVM only pays off with hardware virtualization: a software-nested KVM
    runs ring-0 guest code far slower than TCG, and a unikernel is all ring 0."""
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return "vmx" in flags or "svm" in flags
    except OSError:
        return False
    return False


def resolve_accel(accel, icount=False):
    if accel == "auto":
        # -icount exists only in TCG.
        return "kvm" if not icount and kvm_usable() else "tcg"
    return accel


def qemu_opt_value(text):
    """A value inside a QEMU `key=value,...` option: a literal comma is `,,`."""
    return text.replace(",", ",,")


def virtio_mmio_cmdline_entries(count):
    """`virtio_mmio.device=` words for `count` devices added with -device on
    microvm, in the order the devices were added (the first takes the top slot)."""
    if count > MICROVM_VIRTIO_SLOTS:
        raise ConfigError(f"microvm has {MICROVM_VIRTIO_SLOTS} virtio-mmio slots, {count} devices requested")
    entries = []
    for k in range(count):
        slot = MICROVM_VIRTIO_SLOTS - 1 - k
        base = MICROVM_VIRTIO_BASE + MICROVM_VIRTIO_STRIDE * slot
        irq = MICROVM_VIRTIO_IRQ_BASE + slot
        entries.append(f"virtio_mmio.device=512@{base:#x}:{irq}")
    return entries


def find_fc_loader(image):
    """The Firecracker-entry loader firmware: $SKIFF_FC_LOADER, else beside the
    image, else in $SKIFF_BUILD/images, else in <repo>/build/images."""
    env = os.environ.get("SKIFF_FC_LOADER")
    if env:
        return env
    candidates = [os.path.join(os.path.dirname(os.path.abspath(image)), FC_ENTRY_LOADER)]
    if os.environ.get("SKIFF_BUILD"):
        candidates.append(os.path.join(os.environ["SKIFF_BUILD"], "images", FC_ENTRY_LOADER))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates.append(os.path.join(repo, "build", "images", FC_ENTRY_LOADER))
    for c in candidates:
        if os.path.isfile(c):
            return c
    return candidates[0]


def kernel_cmdline(cfg):
    """The command line the kernel will see on this machine."""
    words = []
    if cfg.machine == "fc-entry":
        words.extend(FIRECRACKER_DEFAULT_CMDLINE.split())
    words.extend(cfg.params)
    if cfg.machine == "fc-entry":
        # What Firecracker does for its devices; microvm with acpi=off puts
        # them at QEMU's addresses, which these entries describe.
        words.extend(virtio_mmio_cmdline_entries(len(cfg.virtio_devices)))
    return cmdline.render(cmdline.build_words(words, cfg.app_args))


def build_command(cfg, accel, iso=None):
    """The full QEMU argv. `iso` is the GRUB rescue ISO for --boot grub."""
    if cfg.machine not in MACHINES:
        raise ConfigError(f"unknown machine {cfg.machine!r} (choose from {', '.join(MACHINES)})")
    if cfg.boot == "grub" and cfg.machine != "pc":
        raise ConfigError("--boot grub needs --machine pc (GRUB boots from SeaBIOS)")
    if cfg.icount and accel == "kvm":
        raise ConfigError("--icount needs TCG: use --accel tcg")
    cmd = [cfg.qemu]
    line = kernel_cmdline(cfg)
    if cfg.machine == "pc":
        cmd += ["-M", "pc"]
        if cfg.boot == "grub":
            if iso is None:
                raise ConfigError("internal: --boot grub without an ISO")
            cmd += ["-cdrom", iso]
        else:
            cmd += ["-kernel", cfg.image]
            if line:
                cmd += ["-append", line]
    elif cfg.machine == "microvm":
        cmd += ["-M", "microvm", "-kernel", cfg.image]
        if line:
            cmd += ["-append", line]
    else:
        loader = cfg.fc_loader or find_fc_loader(cfg.image)
        cmd += ["-M", "microvm,acpi=off,x-option-roms=off",
                "-bios", loader,
                "-fw_cfg", "name=opt/skiff/kernel,file=" + qemu_opt_value(cfg.image),
                "-fw_cfg", "name=opt/skiff/cmdline,string=" + qemu_opt_value(line)]
    cmd += ["-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04",
            "-m", cfg.mem, "-smp", str(cfg.smp), "-accel", accel]
    if cfg.icount:
        cmd += ["-icount", "shift=0,sleep=off"]
    cmd += cfg.drive_args
    for dev in cfg.virtio_devices:
        cmd += ["-device", dev]
    cmd += cfg.qemu_args
    return cmd


def format_command(cmd):
    return " ".join(shlex.quote(a) for a in cmd)
