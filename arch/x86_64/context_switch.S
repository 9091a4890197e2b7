/* Switching between kernel threads. Only the callee-saved registers and the
 * SSE/x87 control words need saving at a voluntary switch (the SysV ABI makes
 * everything else the caller's business); a thread preempted by an interrupt
 * had its full register and FPU state saved by the interrupt stub, on its own
 * stack, before it got here. */
    .section .text
    .code64

/* void switch_context(uint64_t* save_rsp, uint64_t load_rsp) */
    .globl switch_context
switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    sub $16, %rsp
    stmxcsr (%rsp)
    fnstcw 8(%rsp)
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 8(%rsp)
    add $16, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* Where a new thread's first switch_context "returns" to. */
    .globl thread_trampoline
thread_trampoline:
    xor %ebp, %ebp
    call thread_first_run
1:  hlt
    jmp 1b
