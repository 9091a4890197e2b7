"""Command-line interface of tools/skiff."""

import argparse
import os
import re
import sys

from . import cmdline, grub, qemu, runner

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
    r.add_argument("--disk", metavar="FILE", help="not supported yet")
    r.add_argument("--net", choices=("user",), help="not supported yet")
    return p


def _fail(message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    return EXIT_USAGE


def cmd_run(args, app_args):
    if args.disk is not None:
        return _fail("skiff: --disk is not supported yet (virtio-blk support comes later)")
    if args.net is not None:
        return _fail("skiff: --net is not supported yet (virtio-net support comes later)")
    if not os.path.isfile(args.image):
        return _fail(f"skiff: image {args.image} not found")
    with open(args.image, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return _fail(f"skiff: {args.image} is not an ELF file")
    if args.boot == "grub" and args.machine != "pc":
        return _fail("skiff: --boot grub needs --machine pc (GRUB boots from SeaBIOS)")
    accel = qemu.resolve_accel(args.accel, args.icount)
    image = os.path.abspath(args.image)
    try:
        cfg = qemu.VmConfig(image, machine=args.machine, boot=args.boot, mem=args.mem, smp=args.smp,
                            params=cmdline.param_words(args.append), app_args=app_args,
                            icount=args.icount, qemu_args=args.qemu_arg)
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


def main(argv):
    options, app_args = _split_app_args(argv)
    args = _parser().parse_args(options)
    if args.command == "run":
        return cmd_run(args, app_args)
    return _fail(f"skiff: unknown command {args.command}")
