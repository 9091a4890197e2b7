/* 256 interrupt entry stubs, 16 bytes apart, and the IDT that points at
 * them. Each stub pushes a zero error code where the CPU pushes none, then the
 * vector, and joins the common path, which saves the general registers and the
 * FPU/SSE state (the image may use SSE anywhere) around interrupt_dispatch(). */

    .section .text.interrupt_stubs, "ax", @progbits
    .code64

    .balign 16
    .globl interrupt_stubs
interrupt_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if !(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30)
    pushq $0
    .endif
    pushq $vector
    jmp interrupt_common
    .set vector, vector + 1
    .endr

interrupt_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi              /* InterruptFrame* */
    mov %rsp, %rbx
    sub $512, %rsp
    and $~15, %rsp
    fxsave64 (%rsp)
    cld
    call interrupt_dispatch
    fxrstor64 (%rsp)
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               /* vector and error code */
    iretq

/* The IDT, complete at link time: nothing to build at boot. A gate splits its
 * handler's address into bits 15:0, 31:16 and 63:32; the linker script defines
 * those parts of interrupt_stubs (and checks that adding a stub's offset never
 * carries out of the low part), so each gate is the low part plus 16 * vector.
 * Gates: selector 0x08, present, DPL 0, 64-bit interrupt gate (0x8e). Faults
 * that must work on a broken stack get their own: NMI, double fault, machine
 * check and page fault (so a thread overflowing into its guard page still
 * gets a clear report). load_descriptor_tables() gives each slot a stack. */
    .section .rodata.idt, "a", @progbits
    .balign 16
    .globl idt_gates
idt_gates:
    .set vector, 0
    .rept 256
    .short interrupt_stubs_bits_15_0 + 16 * vector
    .short 0x08
    .if vector == 2
    .byte 2                         /* ist_nmi */
    .elseif vector == 8
    .byte 1                         /* ist_double_fault */
    .elseif vector == 14
    .byte 4                         /* ist_page_fault */
    .elseif vector == 18
    .byte 3                         /* ist_machine_check */
    .else
    .byte 0
    .endif
    .byte 0x8e
    .short interrupt_stubs_bits_31_16
    .long interrupt_stubs_bits_63_32
    .long 0
    .set vector, vector + 1
    .endr
    .globl idt_gates_end
idt_gates_end:
