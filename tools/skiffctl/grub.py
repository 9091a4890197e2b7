"""GRUB rescue ISOs that boot a Skiff image through multiboot2 under SeaBIOS."""

import hashlib
import os
import shutil
import subprocess
import tempfile

from . import cmdline

# Only what grub.cfg below uses; grub-mkrescue adds the CD-ROM and file-system
# modules its core image needs. Keeps the ISO under 1 MiB.
GRUB_MODULES = "multiboot2 normal serial terminfo echo reboot"
GRUB_PLATFORM_DIR = "/usr/lib/grub/i386-pc"
CACHE_ENTRIES = 16


class GrubError(RuntimeError):
    pass


def grub_script_word(word):
    """A word quoted for GRUB's script parser: single quotes are literal."""
    return "'" + word.replace("'", "'\\''") + "'"


def grub_loader_text(word):
    """How GRUB's multiboot2 loader writes one argument into the command line
    (grub_create_loader_cmdline): `\\`, `'` and `"` get a backslash, and a
    word with a space is wrapped in double quotes."""
    body = "".join("\\" + ch if ch in "\\'\"" else ch for ch in word)
    return '"' + body + '"' if " " in word else body


def grub_cfg(words):
    for w in words:
        cmdline.check_word(w)
        if w == "":
            raise GrubError("GRUB drops empty arguments; an empty argument cannot be passed with --boot grub")
        if cmdline.split(grub_loader_text(w)) != [w]:
            raise GrubError(f"GRUB would pass {w!r} as {grub_loader_text(w)}, which the kernel reads differently; "
                            "use --boot pvh for such arguments")
    args = " ".join(grub_script_word(w) for w in words)
    # The serial console (COM1, where the kernel also prints) keeps GRUB's
    # errors visible; `dumb` stops it from clearing the screen with escape
    # codes. If loading fails, say so and reset: with -no-reboot QEMU exits
    # instead of GRUB waiting at a prompt until the timeout.
    return (
        "serial --unit=0 --speed=115200\n"
        "terminfo -g 80x24 serial dumb\n"
        "terminal_input serial\n"
        "terminal_output serial\n"
        "set timeout=0\n"
        f"multiboot2 /boot/skiff.elf {args}\n"
        "boot\n"
        'echo "skiff: GRUB could not boot the image"\n'
        "reboot\n"
    )


def default_cache_dir(image):
    """Beside the build's images/ when the image lives there, else in /tmp."""
    images = os.path.dirname(os.path.abspath(image))
    if os.path.basename(images) == "images":
        return os.path.join(os.path.dirname(images), "grub-iso")
    return os.path.join(tempfile.gettempdir(), f"skiff-grub-iso-{os.getuid()}")


def _prune(cache_dir, keep):
    isos = [os.path.join(cache_dir, n) for n in os.listdir(cache_dir) if n.endswith(".iso")]
    isos.sort(key=lambda p: os.stat(p).st_mtime, reverse=True)
    for old in isos[keep:]:
        try:
            os.unlink(old)
        except OSError:
            pass


def make_iso(image, words, cache_dir=None, mkrescue="grub-mkrescue", timeout=120):
    """Path of a rescue ISO that boots `image` with the command line `words`.

    ISOs are cached by the hash of the image and grub.cfg, so reruns of the
    same image and arguments skip grub-mkrescue."""
    cfg = grub_cfg(words)
    digest = hashlib.sha256()
    with open(image, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"\0grub.cfg\0" + cfg.encode())
    cache_dir = cache_dir or os.environ.get("SKIFF_ISO_CACHE") or default_cache_dir(image)
    os.makedirs(cache_dir, exist_ok=True)
    iso = os.path.join(cache_dir, digest.hexdigest()[:24] + ".iso")
    if os.path.isfile(iso):
        os.utime(iso)
        return iso
    if shutil.which(mkrescue) is None:
        raise GrubError(f"{mkrescue} not found: install Debian's grub-pc-bin, grub-common and xorriso")
    if not os.path.isdir(GRUB_PLATFORM_DIR):
        raise GrubError(f"{GRUB_PLATFORM_DIR} missing: install Debian's grub-pc-bin")
    with tempfile.TemporaryDirectory(prefix="skiff-iso-", dir=cache_dir) as work:
        root = os.path.join(work, "root")
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copyfile(image, os.path.join(root, "boot", "skiff.elf"))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(cfg)
        out = os.path.join(work, "skiff.iso")
        cmd = [mkrescue, "-d", GRUB_PLATFORM_DIR, "-o", out,
               f"--install-modules={GRUB_MODULES}", "--locales=", "--fonts=", "--themes=", root]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GrubError(f"grub-mkrescue did not finish in {timeout} s") from None
        if proc.returncode != 0 or not os.path.isfile(out):
            log = proc.stdout.decode(errors="replace").strip()
            raise GrubError(f"grub-mkrescue failed (exit {proc.returncode}):\n{log}")
        # Rename is atomic, so parallel runs never see a half-written ISO.
        os.replace(out, iso)
    _prune(cache_dir, CACHE_ENTRIES)
    return iso
