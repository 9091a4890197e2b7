/* The floor: the least a PVH guest can do. QEMU loads it exactly like a
 * Skiff image (same note, same load address) and it powers off at its first
 * instruction, so its whole-VM time is what the VMM and firmware cost. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define DEBUG_EXIT_PORT 0xf4

	.section .note.pvh, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 8                         /* descsz: QEMU reads a 64-bit address from an ELF64 */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad floor_entry

	.section .text, "ax", @progbits
	.code32
	.globl floor_entry
floor_entry:
	/* Exit status 0: QEMU exits with (0 << 1) | 1. */
	xorl %eax, %eax
	outb %al, $DEBUG_EXIT_PORT
	/* No isa-debug-exit device: stop here rather than run off the end. */
1:	cli
	hlt
	jmp 1b
