"""The Linux guest of the block benchmark, built from Debian packages only.

Debian's kernel (its bzImage unpacked to the ELF vmlinux, which QEMU boots
through the PVH note), the virtio modules from the same package, busybox
(busybox-static) and fio with the shared libraries it links, all taken from
`.deb` files that `apt-get download` puts in a cache directory. Nothing is
installed on the host and nothing lands in the source tree.

Library: `build(cache_dir)` returns a `Guest` (vmlinux, initramfs, kernel
release); `fio_results(console_text)` turns what /init printed into rows.
Command line: `bench/blk/linux-guest/build` (see bench/blk/README.md).
"""

import glob
import json
import lzma
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
INIT_SCRIPT = os.path.join(HERE, "linux-guest", "init")

KERNEL_META_PACKAGE = "linux-image-amd64"
# Load order matters: insmod does not resolve dependencies. The builder
# checks each module's own `depends=` list against this order.
MODULES = ("virtio_ring", "virtio", "virtio_mmio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
           "virtio_pci", "virtio_blk")
LOADER = "lib64/ld-linux-x86-64.so.2"

# Everything the kernel's own scripts/extract-vmlinux looks for that Debian
# has used for amd64: the bzImage payload starts at one of these magics.
_PAYLOAD_MAGICS = (("xz", b"\xfd7zXZ\x00"), ("zstd", b"\x28\xb5\x2f\xfd"), ("gzip", b"\x1f\x8b\x08"))


class GuestError(RuntimeError):
    pass


class Guest:
    def __init__(self, vmlinux, initramfs, release, packages):
        self.vmlinux = vmlinux
        self.initramfs = initramfs
        self.release = release
        self.packages = packages  # {name: deb file name}, for the record


def _log(message):
    sys.stderr.write(f"linux-guest: {message}\n")
    sys.stderr.flush()


def _run(argv, cwd=None):
    proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise GuestError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# ---------------------------------------------------------------- packages

class PackageCache:
    """`.deb` files under <cache>/debs, each unpacked under <cache>/root/<name>."""

    def __init__(self, cache_dir):
        self.debs = os.path.join(cache_dir, "debs")
        self.roots = os.path.join(cache_dir, "root")
        os.makedirs(self.debs, exist_ok=True)
        os.makedirs(self.roots, exist_ok=True)
        self.fetched = {}

    def deb(self, name):
        self.fetch([name])
        found = sorted(glob.glob(os.path.join(self.debs, f"{name}_*.deb")), key=os.path.getmtime)
        if not found:
            raise GuestError(f"apt-get download {name} left no {name}_*.deb in {self.debs}")
        return found[-1]

    def root(self, name):
        """The package's files, unpacked once per .deb."""
        deb = self.deb(name)
        root = os.path.join(self.roots, name)
        stamp = os.path.join(root, ".deb")
        if _read_text(stamp) != os.path.basename(deb):
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
            _run(["dpkg-deb", "-x", deb, root])
            with open(stamp, "w") as f:
                f.write(os.path.basename(deb))
        self.fetched[name] = os.path.basename(deb)
        return root

    def fetch(self, names):
        """Download the .debs of `names` that are not cached, in one apt-get call."""
        missing = [n for n in names if not glob.glob(os.path.join(self.debs, f"{n}_*.deb"))]
        if missing:
            _log(f"apt-get download {' '.join(missing)}")
            # As root, apt drops to _apt for downloads, which may not be able
            # to write into the cache; the sandbox user is only for that.
            _run(["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download"] + missing, cwd=self.debs)

    @staticmethod
    def depends(names):
        """{name: direct Depends} (the first of each alternative group, virtual
        packages skipped), from one apt-cache call."""
        out = _run(["apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
                    "--no-breaks", "--no-replaces", "--no-enhances"] + list(names))
        deps, current, alternative = {}, None, False
        for line in out.splitlines():
            if line and not line[0].isspace():
                current = deps.setdefault(line.strip(), [])
                alternative = False
                continue
            m = re.match(r"\s+(\|?)(Pre)?Depends: (\S+)", line)
            if not m or current is None:
                continue
            pipe, dep = m.group(1), m.group(3)
            if not alternative and not dep.startswith("<"):
                current.append(dep.split(":")[0])
            alternative = bool(pipe)
        return deps


def kernel_package():
    deps = PackageCache.depends([KERNEL_META_PACKAGE]).get(KERNEL_META_PACKAGE, [])
    images = [d for d in deps if d.startswith("linux-image-")]
    if not images:
        raise GuestError(f"apt-cache depends {KERNEL_META_PACKAGE} names no linux-image-* package")
    return images[0]


# ---------------------------------------------------------------- kernel

def extract_vmlinux(bzimage, out):
    """The uncompressed ELF inside a bzImage, as scripts/extract-vmlinux does:
    try each compression magic where it occurs and keep the first payload
    that decompresses to an ELF file."""
    with open(bzimage, "rb") as f:
        data = f.read()
    for kind, magic in _PAYLOAD_MAGICS:
        start = data.find(magic)
        while start >= 0:
            payload = data[start:]
            try:
                if kind == "xz":
                    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
                elif kind == "gzip":
                    elf = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload)
                else:
                    proc = subprocess.run(["zstd", "-dcq"], input=payload, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
                    elf = proc.stdout
            except (lzma.LZMAError, zlib.error, OSError):
                elf = b""
            if elf[:4] == b"\x7fELF":
                tmp = out + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(elf)
                os.replace(tmp, out)
                return kind
            start = data.find(magic, start + 1)
    raise GuestError(f"no gzip/xz/zstd payload in {bzimage} decompresses to an ELF vmlinux")


def has_pvh_note(vmlinux):
    """XEN_ELFNOTE_PHYS32_ENTRY (type 18, owner "Xen") in a PT_NOTE segment."""
    with open(vmlinux, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _, offset, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type != 4:
                continue
            f.seek(offset)
            notes = f.read(filesz)
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                name = notes[pos + 12:pos + 12 + namesz].rstrip(b"\0")
                if name == b"Xen" and ntype == 18:
                    return True
                pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def module_info(path):
    """The key=value strings of a module's .modinfo section."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise GuestError(f"{path} is not an ELF module")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    names_off = section(shstrndx)[4]
    for i in range(shnum):
        name_idx, _, _, _, off, size = section(i)
        end = data.index(b"\0", names_off + name_idx)
        if data[names_off + name_idx:end] == b".modinfo":
            fields = {}
            for item in data[off:off + size].split(b"\0"):
                key, eq, value = item.decode("ascii", "replace").partition("=")
                if eq:
                    fields.setdefault(key, value)
            return fields
    return {}


def find_modules(kernel_root):
    trees = glob.glob(os.path.join(kernel_root, "lib", "modules", "*"))
    if len(trees) != 1:
        raise GuestError(f"expected one lib/modules/<release> in {kernel_root}, found {len(trees)}")
    release = os.path.basename(trees[0])
    by_name = {}
    for dirpath, _, files in os.walk(trees[0]):
        for fname in files:
            if fname.endswith(".ko"):
                by_name[fname[:-3].replace("-", "_")] = os.path.join(dirpath, fname)
    chosen = []
    for name in MODULES:
        if name not in by_name:
            raise GuestError(f"module {name}.ko not in {trees[0]} (built in, or renamed?)")
        deps = [d for d in module_info(by_name[name]).get("depends", "").split(",") if d]
        for d in deps:
            if d not in chosen:
                raise GuestError(f"module {name} needs {d}, which is not loaded before it")
        chosen.append(name)
    return release, [by_name[n] for n in chosen]


# ---------------------------------------------------------------- fio and its libraries

def elf_needed(path):
    """DT_NEEDED sonames of an ELF64 file (empty for anything else)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return []
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((vaddr, offset, filesz))
        elif p_type == 2:
            dynamic = (offset, filesz)
    if dynamic is None:
        return []
    needed, strtab = [], None
    for pos in range(dynamic[0], dynamic[0] + dynamic[1] - 15, 16):
        tag, value = struct.unpack_from("<qQ", data, pos)
        if tag == 0:
            break
        if tag == 1:
            needed.append(value)
        elif tag == 5:
            strtab = value
    for vaddr, offset, filesz in loads:
        if strtab is not None and vaddr <= strtab < vaddr + filesz:
            base = strtab - vaddr + offset
            return [data[base + n:data.index(b"\0", base + n)].decode() for n in needed]
    return []


def _soname_index(roots):
    """soname -> path for every shared object in the unpacked packages."""
    index = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            if "/usr/share/" in dirpath + "/":
                continue
            for fname in files:
                if ".so" in fname:
                    index.setdefault(fname, os.path.join(dirpath, fname))
    return index


def _owner(cache, path):
    return os.path.relpath(path, cache.roots).split(os.sep)[0]


def resolve_fio(cache):
    """fio and every shared library it loads, taken from Debian packages.

    Debian's shlibs discipline puts the package of every DT_NEEDED library in
    the Depends of the package that needs it, so a library that is missing is
    looked for in the direct Depends of the package of the object that needs
    it. Only the unpacked packages are searched, never the host's libraries.
    The package set found is remembered in the cache next to fio's version."""
    fio_deb = os.path.basename(cache.deb("fio"))
    manifest = os.path.join(os.path.dirname(cache.debs), "fio-packages.json")
    users = ["fio", "libc6"]
    try:
        with open(manifest) as f:
            saved = json.load(f)
        if saved.get("fio") == fio_deb:
            users = list(dict.fromkeys(users + saved["packages"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    cache.fetch(users)
    for name in users:
        cache.root(name)
    fio = os.path.join(cache.root("fio"), "usr", "bin", "fio")
    loader = os.path.join(cache.root("libc6"), LOADER)
    expanded = set()
    for _ in range(16):
        index = _soname_index([cache.root(n) for n in users])
        libs, missing, todo, seen = [], {}, [fio], {fio}
        while todo:
            obj = todo.pop()
            for soname in elf_needed(obj):
                path = index.get(soname)
                if path is None:
                    missing.setdefault(soname, _owner(cache, obj))
                elif path not in seen:
                    seen.add(path)
                    libs.append(path)
                    todo.append(path)
        if not missing:
            with open(manifest, "w") as f:
                json.dump({"fio": fio_deb, "packages": users}, f, indent=1)
            return fio, loader, [p for p in libs if not p.endswith("/" + os.path.basename(LOADER))]
        owners = sorted(set(missing.values()) - expanded)
        expanded.update(owners)
        new = [d for deps in cache.depends(owners).values() for d in deps if d not in users] if owners else []
        new = list(dict.fromkeys(new))
        if not new:
            raise GuestError(f"fio needs {', '.join(sorted(missing))}, which no dependency provides")
        cache.fetch(new)
        for name in new:
            try:
                cache.root(name)
                users.append(name)
            except GuestError as e:
                _log(f"skipping {name}: {e}")
    raise GuestError("fio's library closure did not settle after 16 rounds")


def check_tree_ldd(tree, binary, lib_dirs):
    """The assembled tree's loader must find every library inside the tree."""
    loader = os.path.join(tree, LOADER)
    proc = subprocess.run([loader, "--library-path", ":".join(tree + d for d in lib_dirs), "--list",
                           tree + binary], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    bad = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and not m.group(2).startswith(tree + "/"):
            bad.append(line.strip())
    if proc.returncode != 0 or bad:
        raise GuestError(f"fio in the initramfs tree does not load from the tree alone:\n{proc.stdout}")


# ---------------------------------------------------------------- initramfs

class Cpio:
    """A `newc` archive written without cpio(1), so /dev/console can be a
    device node without root."""

    def __init__(self):
        self.parts = []
        self.ino = 1
        self.names = set()

    def _add(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.strip("/")
        if name in self.names:
            return
        self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08x" % v for v in fields)
        self.ino += 1
        self.parts.append(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            self._add("/".join(parts[:i]), stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o755):
        parent = os.path.dirname(name.strip("/"))
        if parent:
            self.directory(parent)
        self._add(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name, major, minor):
        self._add(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def bytes(self):
        self._add("TRAILER!!!", 0)
        return b"".join(self.parts)


def _install(tree, rel, src, mode):
    dst = os.path.join(tree, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(os.path.realpath(src), dst)
    os.chmod(dst, mode)


def _write(tree, rel, text):
    dst = os.path.join(tree, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        f.write(text)


def make_initramfs(out, tree, busybox, fio, loader, libs, modules, cache_roots):
    """Assemble the tree (kept for inspection), check fio loads from it
    alone, and write it as an uncompressed newc archive: unpacking costs the
    guest nothing, where gunzip under TCG would cost it seconds."""
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("bin", "usr/bin", "dev", "proc", "sys", "tmp", "etc/bench", "lib/modules"):
        os.makedirs(os.path.join(tree, d))
    _install(tree, "init", INIT_SCRIPT, 0o755)
    _install(tree, "bin/busybox", busybox, 0o755)
    _install(tree, "usr/bin/fio", fio, 0o755)
    _install(tree, LOADER, loader, 0o755)
    lib_dirs = []
    for lib in libs:
        # Each library keeps its path inside its package, so RUNPATHs such
        # as librados's .../ceph still hold; the name is the soname.
        rel = os.path.relpath(lib, cache_roots).split(os.sep, 1)[1]
        _install(tree, rel, lib, 0o644)
        d = "/" + os.path.dirname(rel)
        if d not in lib_dirs:
            lib_dirs.append(d)
    _write(tree, "etc/bench/libpath", ":".join(lib_dirs) + "\n")
    names = []
    for path in modules:
        name = os.path.basename(path)[:-3]
        _install(tree, f"lib/modules/{name}.ko", path, 0o644)
        names.append(name)
    _write(tree, "etc/bench/modules", " ".join(names) + "\n")
    check_tree_ldd(tree, "/usr/bin/fio", lib_dirs)

    archive = Cpio()
    for dirpath, dirnames, files in os.walk(tree):
        dirnames.sort()
        rel = os.path.relpath(dirpath, tree)
        if rel != ".":
            archive.directory(rel)
        for fname in sorted(files):
            path = os.path.join(dirpath, fname)
            with open(path, "rb") as f:
                archive.file(os.path.join(rel, fname) if rel != "." else fname, f.read(),
                             stat.S_IMODE(os.stat(path).st_mode))
    # The kernel opens /dev/console for init before anything is mounted.
    archive.char_device("dev/console", 5, 1)
    archive.char_device("dev/null", 1, 3)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive.bytes())
    os.replace(tmp, out)


def build(cache_dir):
    """Fetch what is missing and (re)build vmlinux and the initramfs."""
    cache = PackageCache(cache_dir)
    kpkg = kernel_package()
    kroot = cache.root(kpkg)
    vmlinuz = sorted(glob.glob(os.path.join(kroot, "boot", "vmlinuz-*")))
    if not vmlinuz:
        raise GuestError(f"{kpkg} has no /boot/vmlinuz-*")
    release, modules = find_modules(kroot)
    vmlinux = os.path.join(cache_dir, f"vmlinux-{release}")
    if not os.path.isfile(vmlinux) or os.path.getmtime(vmlinux) < os.path.getmtime(vmlinuz[0]):
        kind = extract_vmlinux(vmlinuz[0], vmlinux)
        _log(f"vmlinux from {os.path.basename(vmlinuz[0])} ({kind} payload)")
    if not has_pvh_note(vmlinux):
        raise GuestError(f"{vmlinux} has no PVH entry note: QEMU cannot boot it through -kernel")
    busybox = os.path.join(cache.root("busybox-static"), "bin", "busybox")
    fio, loader, libs = resolve_fio(cache)
    initramfs = os.path.join(cache_dir, "initramfs.cpio")
    make_initramfs(initramfs, os.path.join(cache_dir, "initramfs-tree"), busybox, fio, loader, libs, modules,
                   cache.roots)
    return Guest(vmlinux, initramfs, release, dict(cache.fetched))


# ---------------------------------------------------------------- results

_BEGIN = re.compile(r"^bench-fio-begin(?: uptime=([\d.]+))?\s*$")
_END = re.compile(r"^bench-fio-end status=(\d+)(?: uptime=([\d.]+))?\s*$")
_JOB_NAME = re.compile(r"^([a-z-]+):qd(\d+)$")


class FioOutput:
    def __init__(self, results, status, version, problems, guest_seconds=None):
        self.results = results    # {(test, qd): {"iops": float, "mib_s": float, "runtime_s": float}}
        self.status = status      # fio's exit status, None if the end marker never came
        self.version = version
        self.problems = problems  # human-readable reasons for missing rows
        self.guest_seconds = guest_seconds  # guest uptime from begin to end marker


def fio_results(text):
    """What fio printed (JSON between the begin and end markers) as rows.
    Kernel messages may interleave with the JSON on the console, so lines
    that start with a `[ time ]` stamp are dropped first."""
    lines = text.replace("\r", "").split("\n")
    begin = [(i, _BEGIN.match(line)) for i, line in enumerate(lines) if _BEGIN.match(line)]
    if not begin:
        return FioOutput({}, None, None, ["no bench-fio-begin line: fio never started"])
    first, begin_match = begin[0][0] + 1, begin[0][1]
    body, status, guest_seconds = [], None, None
    for line in lines[first:]:
        m = _END.match(line)
        if m:
            status = int(m.group(1))
            if m.group(2) and begin_match.group(1):
                guest_seconds = float(m.group(2)) - float(begin_match.group(1))
            break
        if not re.match(r"^\[\s*\d+\.\d+\]", line):
            body.append(line)
    problems = [] if status == 0 else [f"fio exit status {status}" if status is not None else
                                       "no bench-fio-end line: the guest stopped inside fio"]
    joined = "\n".join(body)
    start = joined.find("{")
    try:
        doc = json.loads(joined[start:]) if start >= 0 else {}
    except ValueError as e:
        return FioOutput({}, status, None, problems + [f"fio's JSON does not parse: {e}"], guest_seconds)
    results = {}
    for job in doc.get("jobs", []):
        m = _JOB_NAME.match(job.get("jobname", ""))
        if not m:
            problems.append(f"unexpected fio job name {job.get('jobname')!r}")
            continue
        if job.get("error"):
            problems.append(f"{job['jobname']}: fio error {job['error']}")
            continue
        side = job["write"] if "write" in m.group(1) else job["read"]
        results[(m.group(1), int(m.group(2)))] = {
            "iops": float(side["iops"]),
            "mib_s": float(side["bw_bytes"]) / (1 << 20),
            "runtime_s": float(side.get("runtime", 0)) / 1000.0,
        }
    return FioOutput(results, status, doc.get("fio version"), problems, guest_seconds)
