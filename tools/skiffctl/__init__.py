"""Helpers behind tools/skiff: QEMU command lines, GRUB ISOs, running a VM."""
