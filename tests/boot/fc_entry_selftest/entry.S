// Entry of the fc-entry-loader self-test kernel. Records every register as
// the loader left it, before anything (even the flags) can change, then runs
// the checks on a stack of its own so low memory stays as the loader left it.

    .section .text.entry, "ax"
    .code64
    .globl fc_selftest_entry
fc_selftest_entry:
    movq %rax, entry_registers + 0
    movq %rbx, entry_registers + 8
    movq %rcx, entry_registers + 16
    movq %rdx, entry_registers + 24
    movq %rsi, entry_registers + 32
    movq %rdi, entry_registers + 40
    movq %rbp, entry_registers + 48
    movq %rsp, entry_registers + 56
    movq %r8, entry_registers + 64
    movq %r9, entry_registers + 72
    movq %r10, entry_registers + 80
    movq %r11, entry_registers + 88
    movq %r12, entry_registers + 96
    movq %r13, entry_registers + 104
    movq %r14, entry_registers + 112
    movq %r15, entry_registers + 120
    pushfq
    popq entry_registers + 128
    movq $selftest_stack_top, %rsp
    xorl %ebp, %ebp
    call selftest_main
1:  cli
    hlt
    jmp 1b

// Real-mode code the application processor runs after INIT/SIPI (copied to
// 0x1000, vector 1): report its initial APIC id, then a "started" marker.
    .section .rodata.ap_trampoline, "a"
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movl $1, %eax
    cpuid
    shrl $24, %ebx
    movb %bl, 0x1f00
    movb $0xa5, 0x1f01
2:  hlt
    jmp 2b
ap_trampoline_end:
    .code64

    .section .bss.stack, "aw", @nobits
    .balign 16
    .space 16384
selftest_stack_top:

    .section .note.GNU-stack, "", @progbits
