/* 256 interrupt entry stubs, 16 bytes apart so the IDT can compute their
 * addresses. Each pushes a zero error code where the CPU pushes none, then the
 * vector, and joins the common path, which saves the general registers and the
 * FPU/SSE state (the image may use SSE anywhere) around interrupt_dispatch(). */

    .section .text
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
