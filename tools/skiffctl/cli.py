"""Command-line interface of tools/skiff."""

import argparse
import os
import re
import sys

from . import cmdline, firecracker, grub, qemu, runner

EXIT_USAGE = runner.EXIT_FAILURE

# Options whose value may itself start with '-' (QEMU flags, kernel params):
# `--qemu-arg -cpu` is rewritten to `--qemu-arg=-cpu` before argparse sees it.
_VALUE_OPTIONS = ("--qemu-arg", "--append")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"skiff: error: {message}\n")
        sys.exit(EXIT_USAGE)


def _split_app_args(argv):
    """Everything after the first bare `--` belongs to the app."""
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return out, argv[i + 1:]
        if a in _VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out, []


def _mem(text):
    if not re.fullmatch(r"[1-9][0-9]*[KMGT]?", text):
        raise argparse.ArgumentTypeError(f"bad size {text!r} (examples: 128M, 1G, 64)")
    return text


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        v = -1
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return v


def _smp(text):
    """N, or QEMU's topology form N,sockets=S,cores=C,threads=T."""
    count, _, topology = text.partition(",")
    _positive_int(count)
    for item in filter(None, topology.split(",")):
        key, eq, value = item.partition("=")
        if key not in ("sockets", "cores", "threads", "dies", "maxcpus") or not eq:
            raise argparse.ArgumentTypeError(f"unknown -smp topology item {item!r}")
        _positive_int(value)
    return text


def _parser():
    p = _Parser(prog="skiff", description="Build-free helpers for Skiff images.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="boot an image in QEMU; exit with the guest's status",
                       usage="skiff run IMAGE [options] [-- app args...]",
                       description="Boot IMAGE in QEMU, stream its console, exit with the status it powers "
                                   "off with (124: timeout, 125: the VM ended any other way).")
    r.add_argument("image", metavar="IMAGE")
    r.add_argument("--machine", choices=qemu.MACHINES, default="microvm")
    r.add_argument("--boot", choices=qemu.BOOTS, default="pvh", help="pc only; grub boots a multiboot2 ISO")
    r.add_argument("--mem", type=_mem, default="128M", metavar="SIZE")
    r.add_argument("--smp", type=_smp, default="1", metavar="N[,sockets=S,cores=C,threads=T]")
    r.add_argument("--accel", choices=qemu.ACCELS, default="auto")
    r.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS")
    r.add_argument("--append", action="append", default=[], metavar="PARAMS",
                   help="kernel parameters (repeatable)")
    r.add_argument("--icount", action="store_true", help="deterministic instruction counting (TCG)")
    r.add_argument("--dry-run", action="store_true", help="print the QEMU command and exit")
    r.add_argument("--qemu-arg", action="append", default=[], metavar="ARG", help="passed to QEMU (repeatable)")
    _disk_options(r)
    r.add_argument("--net", choices=("user",), help="not supported yet")

    f = sub.add_parser("firecracker-config", help="write a Firecracker JSON configuration for an image",
                       usage="skiff firecracker-config IMAGE [options] [-- app args...]",
                       description="Print (or write with -o) the JSON for `firecracker --no-api --config-file`: "
                                   "the image with Firecracker's default command line, the params and the "
                                   "app's arguments, its disks and machine size.")
    f.add_argument("image", metavar="IMAGE")
    f.add_argument("--mem", type=_mem, default="128M", metavar="SIZE")
    f.add_argument("--smp", type=_positive_int, default=1, metavar="N")
    f.add_argument("--append", action="append", default=[], metavar="PARAMS",
                   help="kernel parameters (repeatable)")
    f.add_argument("--disk", action="append", default=[], metavar="FILE",
                   help="raw disk image, a virtio-blk drive (repeatable)")
    f.add_argument("--disk-readonly", action="store_true", help="attach every disk read-only")
    f.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    return p


def _disk_options(r):
    r.add_argument("--disk", action="append", default=[], metavar="FILE",
                   help="raw disk image, attached as a virtio-blk device (repeatable)")
    r.add_argument("--disk-readonly", action="store_true", help="attach every disk read-only")
    r.add_argument("--disk-transport", choices=qemu.DISK_TRANSPORTS, default="modern",
                   help="pc: modern-only, transitional or legacy-only virtio-pci; microvm/fc-entry: "
                        "modern = virtio-mmio version 2, legacy = version 1 (default modern)")
    r.add_argument("--disk-cache", choices=qemu.DISK_CACHES, default="writeback",
                   help="QEMU -drive cache= mode (default writeback)")


def _disks(args):
    """Disk objects for the --disk files; a missing file is an error."""
    disks = []
    for path in args.disk:
        if not os.path.exists(path):
            raise qemu.ConfigError(f"disk {path} not found (create it first, e.g. truncate -s 64M {path})")
        if os.path.isdir(path):
            raise qemu.ConfigError(f"disk {path} is a directory")
        disks.append(qemu.Disk(os.path.abspath(path), readonly=args.disk_readonly,
                               transport=getattr(args, "disk_transport", "modern"),
                               cache=getattr(args, "disk_cache", "writeback")))
    return disks


def _fail(message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    return EXIT_USAGE


def _check_image(path):
    if not os.path.isfile(path):
        return f"skiff: image {path} not found"
    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return f"skiff: {path} is not an ELF file"
    return None


def cmd_run(args, app_args):
    if args.net is not None:
        return _fail("skiff: --net is not supported yet (virtio-net support comes later)")
    problem = _check_image(args.image)
    if problem:
        return _fail(problem)
    if args.boot == "grub" and args.machine != "pc":
        return _fail("skiff: --boot grub needs --machine pc (GRUB boots from SeaBIOS)")
    accel = qemu.resolve_accel(args.accel, args.icount)
    image = os.path.abspath(args.image)
    try:
        cfg = qemu.VmConfig(image, machine=args.machine, boot=args.boot, mem=args.mem, smp=args.smp,
                            params=cmdline.param_words(args.append), app_args=app_args,
                            icount=args.icount, qemu_args=args.qemu_arg, disks=_disks(args))
        iso = None
        if args.boot == "grub":
            iso = grub.make_iso(image, cmdline.build_words(cfg.params, cfg.app_args))
        command = qemu.build_command(cfg, accel, iso=iso)
    except (cmdline.CmdlineError, qemu.ConfigError, grub.GrubError, OSError) as e:
        return _fail(f"skiff: {e}")
    if args.machine == "fc-entry":
        loader = command[command.index("-bios") + 1]
        if not os.path.isfile(loader) and not args.dry_run:
            return _fail(f"skiff: Firecracker-entry loader {loader} not found (build it, or set SKIFF_FC_LOADER)")
    if args.dry_run:
        print(qemu.format_command(command))
        return 0
    outcome = runner.run_vm(command, args.timeout)
    if outcome.message:
        sys.stdout.flush()
        sys.stderr.write(outcome.message + "\n")
    return outcome.status


def cmd_firecracker_config(args, app_args):
    problem = _check_image(args.image)
    if problem:
        return _fail(problem)
    try:
        text = firecracker.render(firecracker.config(
            args.image, disks=_disks(args), mem=args.mem, smp=args.smp,
            params=cmdline.param_words(args.append), app_args=app_args))
    except (cmdline.CmdlineError, qemu.ConfigError, firecracker.FirecrackerError) as e:
        return _fail(f"skiff: {e}")
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as e:
            return _fail(f"skiff: cannot write {args.output}: {e.strerror}")
    else:
        sys.stdout.write(text)
    return 0


def main(argv):
    options, app_args = _split_app_args(argv)
    args = _parser().parse_args(options)
    if args.command == "run":
        return cmd_run(args, app_args)
    if args.command == "firecracker-config":
        return cmd_firecracker_config(args, app_args)
    return _fail(f"skiff: unknown command {args.command}")
