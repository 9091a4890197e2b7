// From the reset vector to long mode, and the final hand-over to the kernel
// in exactly the state Firecracker's vCPU setup leaves it (see README.md).
//
// The ROM is mapped below 4 GiB and its last 64 KiB (all of it) again at
// 0xf0000; the loader runs from the low copy, which Firecracker's 1 GiB
// identity map also covers, so the hand-over can switch page tables under
// its own feet. Writable state lives in the scratch area (loader.ld).

#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_BSP 0x100
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

    .section .reset, "ax"
    .code16
    .globl reset_vector
reset_vector:
    // CS base is 0xffff0000 here; move to the copy below 1 MiB.
    ljmp $0xf000, $(start16 - 0xf0000)
    .fill 16 - (. - reset_vector), 1, 0xf4

    .section .text16, "ax"
    .code16
start16:
    cli
    cld
    lgdtl %cs:(loader_gdt_pointer - 0xf0000)
    movl %cr0, %eax
    // Keep the reset CR0 bits (ET, CD, NW): Firecracker only ORs in PE and PG.
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $0x08, $start32

    .code32
start32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs

    // Application processors wait for INIT/SIPI and never get here; should
    // one ever do, it must not run the loader a second time.
    movl $MSR_APIC_BASE, %ecx
    rdmsr
    testl $APIC_BASE_BSP, %eax
    jz park32

    // Zero page tables, .data and .bss, then copy .data out of the ROM.
    movl $__scratch_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl $__data_load, %esi
    movl $__data_start, %edi
    movl $__data_end, %ecx
    subl %edi, %ecx
    rep movsb

    // Identity map of 0..4 GiB with 2 MiB pages (fw_cfg DMA targets, the
    // LAPIC, kernel segments anywhere below 4 GiB).
    movl $(__pdpt + 0x3), __pml4
    movl $(__pd + 0x0000 + 0x3), __pdpt + 0
    movl $(__pd + 0x1000 + 0x3), __pdpt + 8
    movl $(__pd + 0x2000 + 0x3), __pdpt + 16
    movl $(__pd + 0x3000 + 0x3), __pdpt + 24
    movl $__pd, %edi
    movl $0x83, %eax
    movl $2048, %ecx
1:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 1b

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $__pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmp $0x18, $start64

park32:
    cli
    hlt
    jmp park32

    .code64
start64:
    movl $__stack_top, %esp
    xorl %ebp, %ebp
    call loader_main
2:  cli
    hlt
    jmp 2b

    .balign 8
loader_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff // 0x08: 32-bit code
    .quad 0x00cf93000000ffff // 0x10: data
    .quad 0x00af9b000000ffff // 0x18: 64-bit code
loader_gdt_end:
loader_gdt_pointer:
    .word loader_gdt_end - loader_gdt - 1
    .long loader_gdt

// void fc_enter(uint64_t entry): the boot structures are in place; load
// Firecracker's descriptor tables, page tables and registers and jump.
    .section .text.fc_enter, "ax"
    .code64
    .globl fc_enter
fc_enter:
    // In long mode a TSS descriptor is 16 bytes; its upper half is the
    // (zero) IDT entry at 0x520, so load TR under a GDT limit that reaches
    // it, then set Firecracker's limit.
    lgdt fc_gdt_with_tss_pointer(%rip)
    pushq $0x08
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  movl $0x10, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $0x18, %eax
    ltr %ax
    lgdt fc_gdt_pointer(%rip)
    lidt fc_idt_pointer(%rip)

    movl $0x9000, %eax
    movq %rax, %cr3
    movl $CR4_PAE, %eax
    movq %rax, %cr4

    // popfq and ret below take RFLAGS and RIP from the top of the stack.
    movq %rdi, 0x8fe8
    movq $2, 0x8fe0
    movl $0x8fe0, %esp

    // Firecracker's guest memory is zero wherever it wrote nothing.
    movl $__scratch_start, %edi
    movl $__scratch_qwords, %ecx
    xorl %eax, %eax
    rep stosq

    popfq
    // mov leaves RFLAGS alone; xor would not.
    movl $0, %eax
    movl $0, %ebx
    movl $0, %ecx
    movl $0, %edx
    movl $0, %edi
    movl $0, %r8d
    movl $0, %r9d
    movl $0, %r10d
    movl $0, %r11d
    movl $0, %r12d
    movl $0, %r13d
    movl $0, %r14d
    movl $0, %r15d
    movl $0x7000, %esi
    movl $0x8ff0, %ebp
    ret

    .section .rodata.fc_enter, "a"
    .balign 8
fc_gdt_with_tss_pointer:
    .word 0x27
    .quad 0x500
fc_gdt_pointer:
    .word 31
    .quad 0x500
fc_idt_pointer:
    .word 7
    .quad 0x520

    .section .note.GNU-stack, "", @progbits
