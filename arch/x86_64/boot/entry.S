/*
 * The three ways into the image. Each entry does only what its protocol
 * needs to reach 64-bit mode on Skiff's own early page tables and stack, then
 * calls boot_entry(pointer, protocol, entry_tsc, magic), which converts the
 * loader's structures into a BootInfo.
 *
 *   PVH         32-bit protected mode, paging off, EBX = hvm_start_info
 *   multiboot2  32-bit protected mode, paging off, EAX = magic, EBX = MBI
 *   Linux64     long mode on the loader's tables, RSI = boot_params (ELF e_entry)
 *
 * No entry may rely on a stack the loader set up: PVH and multiboot2 give none.
 */

#define BOOT_PVH        0
#define BOOT_LINUX64    1
#define BOOT_MULTIBOOT2 2

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_WP (1 << 16)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define EFER_MSR 0xc0000080
#define EFER_LME (1 << 8)

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

/* ---------------------------------------------------------------- headers */

    .section .multiboot2_header, "a"
    .balign 8
multiboot2_header:
    .long 0xe85250d6                        /* magic */
    .long 0                                 /* architecture: i386 protected mode */
    .long multiboot2_header_end - multiboot2_header
    .long -(0xe85250d6 + 0 + (multiboot2_header_end - multiboot2_header))
    /* Entry address tag: without it GRUB would jump to e_entry, the 64-bit
     * Linux entry, in 32-bit mode. */
    .balign 8
    .short 3, 0
    .long 12
    .long multiboot2_entry32
    .balign 8
    .short 0, 0                             /* end tag */
    .long 8
multiboot2_header_end:

    /* XEN_ELFNOTE_PHYS32_ENTRY: where PVH loaders (QEMU, Firecracker >= 1.12,
     * Cloud Hypervisor) enter. 4-byte aligned like every ELF note. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                                 /* name size */
    .long 8                                 /* descriptor size */
    .long 18                                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_entry32
    .balign 4

/* ---------------------------------------------------------- 32-bit entries */

    .section .boot.text, "ax"
    .code32

    .globl pvh_entry32
pvh_entry32:
    cli
    cld
    mov %ebx, %edi
    rdtsc
    mov %eax, boot_entry_tsc
    mov %edx, boot_entry_tsc + 4
    mov $BOOT_PVH, %esi
    jmp enter_long_mode

    .globl multiboot2_entry32
multiboot2_entry32:
    cli
    cld
    mov %eax, boot_magic
    mov %ebx, %edi
    rdtsc
    mov %eax, boot_entry_tsc
    mov %edx, boot_entry_tsc + 4
    mov $BOOT_MULTIBOOT2, %esi
    jmp enter_long_mode

/* EDI = loader pointer, ESI = protocol. Uses no stack. */
enter_long_mode:
    lgdt early_gdt_pointer
    mov %cr4, %eax
    or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov %eax, %cr4
    mov $early_pml4, %eax
    mov %eax, %cr3
    mov $EFER_MSR, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~(CR0_EM | CR0_NW | CR0_CD), %eax
    or $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
    mov %eax, %cr0
    ljmp $KERNEL_CS, $from_32bit

    .code64
from_32bit:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov %edi, %edi                          /* zero-extend the pointer */
    mov boot_entry_tsc(%rip), %rdx
    jmp common_64

/* ----------------------------------------------------------- 64-bit entry */

    .globl linux64_entry
linux64_entry:
    cli
    cld
    rdtsc
    shl $32, %rdx
    or %rax, %rdx
    mov %rdx, boot_entry_tsc(%rip)
    mov %rsi, %rdi
    mov $BOOT_LINUX64, %esi
    /* Leave the loader's GDT and page tables for our own at once: they sit in
     * low memory that the kernel will reuse. */
    lgdt early_gdt_pointer(%rip)
    lea early_pml4(%rip), %rax
    mov %rax, %cr3
    lea 1f(%rip), %rax
    pushq $KERNEL_CS
    push %rax
    lretq
1:  mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov %cr4, %rax
    or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    mov %rax, %cr4
    /* Firecracker enters with CD and NW still set from the reset value:
     * turn the caches on. */
    mov %cr0, %rax
    and $~(CR0_EM | CR0_NW | CR0_CD), %rax
    or $(CR0_MP | CR0_WP), %rax
    mov %rax, %cr0
    mov boot_entry_tsc(%rip), %rdx

/* RDI = loader pointer, ESI = protocol, RDX = entry TSC. */
common_64:
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    /* Zero .bss ourselves rather than trust every loader to do it. The boot
     * stack lives in its own section, outside this range. */
    mov %rdi, %r8
    mov %rdx, %r9
    lea __bss_start(%rip), %rdi
    lea __bss_end(%rip), %rcx
    sub %rdi, %rcx
    shr $3, %rcx
    xor %eax, %eax
    rep stosq
    mov %r8, %rdi
    mov %r9, %rdx
    mov boot_magic(%rip), %ecx
    fninit
    call boot_entry
1:  hlt
    jmp 1b

/* ------------------------------------------------------------------- data */

    .section .data
    .balign 8
boot_entry_tsc:
    .quad 0
boot_magic:
    .long 0

    .balign 16
/* The kernel's own GDT (descriptor_tables.cpp) keeps these two descriptors at
 * these selectors: the boot CPU does not reload its segment registers. */
early_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff                /* 0x10: data */
early_gdt_end:
early_gdt_pointer:
    .short early_gdt_end - early_gdt - 1
    .quad early_gdt

    /* Identity map of the first 4 GiB with 2 MiB pages: enough to reach the
     * image and any loader structure until the kernel builds its own tables. */
    .balign 4096
early_pml4:
    .quad early_pdpt + 0x3
    .fill 511, 8, 0
early_pdpt:
    .quad early_pd + 0x0000 + 0x3
    .quad early_pd + 0x1000 + 0x3
    .quad early_pd + 0x2000 + 0x3
    .quad early_pd + 0x3000 + 0x3
    .fill 508, 8, 0
early_pd:
    .set page, 0
    .rept 2048
    .quad (page << 21) | 0x83
    .set page, page + 1
    .endr

    .section .boot_stack, "aw", @nobits
    .balign 16
boot_stack:
    .skip 65536
    .globl boot_stack_top
boot_stack_top:
