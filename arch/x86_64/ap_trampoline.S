/*
 * Application-processor trampoline. Copied at run time to a page below
 * 1 MiB; the startup IPI starts an AP here in real mode with CS = page >> 4.
 * Position independent: everything is addressed relative to the page, whose
 * linear address the code computes from CS. The boot CPU fills in the fields
 * at the end (CR3, NX, stack, Cpu pointer, entry) before each startup.
 * No boot entry knows about this code: it shares only the long-mode recipe.
 */
#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_WP (1 << 16)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)

    .section .rodata
    .balign 16
    .globl ap_trampoline_start, ap_trampoline_end
    .globl ap_trampoline_cr3, ap_trampoline_nx, ap_trampoline_stack, ap_trampoline_cpu, ap_trampoline_entry
    .code16
ap_trampoline_start:
    cli
    cld
    xor %ebx, %ebx
    mov %cs, %bx
    shl $4, %ebx                            /* EBX = linear address of this page */
    mov %cs, %ax
    mov %ax, %ds
    leal (gdt - ap_trampoline_start)(%ebx), %eax
    movl %eax, (gdt_pointer - ap_trampoline_start + 2)
    lgdtl (gdt_pointer - ap_trampoline_start)
    leal (protected_mode - ap_trampoline_start)(%ebx), %eax
    movl %eax, (far_to_32 - ap_trampoline_start)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl *(far_to_32 - ap_trampoline_start)

    .code32
protected_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax  /* PAE, OSFXSR, OSXMMEXCPT */
    mov %eax, %cr4
    mov (ap_trampoline_cr3 - ap_trampoline_start)(%ebx), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $(1 << 8), %eax                      /* LME */
    testl $1, (ap_trampoline_nx - ap_trampoline_start)(%ebx)
    jz 1f
    or $(1 << 11), %eax                     /* NXE */
1:  wrmsr
    mov %cr0, %eax
    and $~(CR0_EM | CR0_NW | CR0_CD), %eax
    or $(CR0_PG | CR0_WP | CR0_MP), %eax
    mov %eax, %cr0
    leal (long_mode - ap_trampoline_start)(%ebx), %eax
    movl %eax, (far_to_64 - ap_trampoline_start)(%ebx)
    ljmpl *(far_to_64 - ap_trampoline_start)(%ebx)

    .code64
long_mode:
    mov (ap_trampoline_stack - ap_trampoline_start)(%rbx), %rsp
    mov (ap_trampoline_cpu - ap_trampoline_start)(%rbx), %rdi
    mov (ap_trampoline_entry - ap_trampoline_start)(%rbx), %rax
    xor %ebp, %ebp
    fninit
    call *%rax
2:  cli
    hlt
    jmp 2b

    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff                /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff                /* 0x10: data */
    .quad 0x00af9a000000ffff                /* 0x18: 64-bit code */
gdt_pointer:
    .short 31
    .long 0
far_to_32:
    .long 0
    .short 0x08
far_to_64:
    .long 0
    .short 0x18
    .balign 8
ap_trampoline_cr3:
    .quad 0
ap_trampoline_nx:
    .quad 0
ap_trampoline_stack:
    .quad 0
ap_trampoline_cpu:
    .quad 0
ap_trampoline_entry:
    .quad 0
ap_trampoline_end:
