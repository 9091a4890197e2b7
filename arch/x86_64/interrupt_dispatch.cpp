// Where every interrupt and exception lands after the entry stub.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/kernel.h"
#include "lib/log.h"

#include <array>
#include <atomic>

namespace skiff::x86 {

namespace {

struct HandlerSlot {
    InterruptHandler handler;
    void* context;
};
std::array<HandlerSlot, 256> g_handlers;
std::atomic<uint8_t> g_next_device_vector { vector::first_device };
std::atomic<bool> g_reporting_exception { false };

constexpr const char* exception_names[32] = {
    "divide error (#DE)", "debug (#DB)", "non-maskable interrupt (NMI)", "breakpoint (#BP)",
    "overflow (#OF)", "bound range exceeded (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
    "double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)",
    "stack-segment fault (#SS)", "general protection fault (#GP)", "page fault (#PF)", "reserved",
    "x87 floating-point error (#MF)", "alignment check (#AC)", "machine check (#MC)", "SIMD floating-point error (#XM)",
    "virtualization exception (#VE)", "control protection (#CP)", "reserved", "reserved",
    "reserved", "reserved", "reserved", "reserved",
    "hypervisor injection (#HV)", "VMM communication (#VC)", "security exception (#SX)", "reserved",
};

[[noreturn]] void report_exception(const InterruptFrame& frame)
{
    // An exception inside the reporter must not loop.
    if (g_reporting_exception.exchange(true)) {
        console::write_line("skiff: EXCEPTION while reporting an exception");
        arch::power_off(exit_status::kernel_failure);
    }
    uint64_t cr2 = read_cr2();
    console::print("skiff: EXCEPTION: {} (vector {}) error_code={:#x} rip={:#018x} cr2={:#018x}",
        exception_names[frame.vector & 31], frame.vector, frame.error_code, frame.rip, cr2);
    if (frame.vector == 14) {
        console::print("skiff:   page fault: {} access, {}, {} mode{}",
            (frame.error_code & 2) ? "write" : ((frame.error_code & 16) ? "instruction fetch" : "read"),
            (frame.error_code & 1) ? "protection violation" : "page not present",
            (frame.error_code & 4) ? "user" : "kernel",
            (frame.error_code & 8) ? ", reserved bit set" : "");
    }
    console::print("skiff:   rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}", frame.rax, frame.rbx, frame.rcx, frame.rdx);
    console::print("skiff:   rsi={:#018x} rdi={:#018x} rbp={:#018x} rsp={:#018x}", frame.rsi, frame.rdi, frame.rbp, frame.rsp);
    console::print("skiff:   r8 ={:#018x} r9 ={:#018x} r10={:#018x} r11={:#018x}", frame.r8, frame.r9, frame.r10, frame.r11);
    console::print("skiff:   r12={:#018x} r13={:#018x} r14={:#018x} r15={:#018x}", frame.r12, frame.r13, frame.r14, frame.r15);
    console::print("skiff:   cs={:#x} ss={:#x} rflags={:#x} cr3={:#x}", frame.cs, frame.ss, frame.rflags, read_cr3());
    uint64_t gs_base = rdmsr(msr::gs_base);
    if (gs_base != 0) {
        Cpu& cpu = *reinterpret_cast<Cpu*>(gs_base);
        if (cpu.current) {
            const sched::Thread& thread = *cpu.current;
            console::print("skiff:   on CPU {} (APIC id {}), thread {} '{}'", cpu.index, cpu.apic_id, thread.id, thread.name);
            if (frame.vector == 14 && thread.stack_base && cr2 >= thread.stack_base && cr2 < thread.stack_base + 4096)
                console::print("skiff:   thread '{}' overflowed its stack into the guard page", thread.name);
        }
    }
    console::print("skiff:   #- {:#x} (faulting instruction)", frame.rip);
    arch::print_backtrace(frame.rbp);
    arch::power_off(exit_status::kernel_failure);
}

} // namespace

void set_interrupt_handler(uint8_t vector, InterruptHandler handler, void* context)
{
    g_handlers[vector].context = context;
    std::atomic_signal_fence(std::memory_order_release);
    g_handlers[vector].handler = handler;
}

uint8_t allocate_device_vector()
{
    uint8_t vector = g_next_device_vector.fetch_add(1);
    if (vector < vector::first_device || vector > vector::last_device) {
        g_next_device_vector.store(vector::last_device + 1);
        return 0;
    }
    return vector;
}

extern "C" void interrupt_dispatch(InterruptFrame* frame)
{
    uint64_t v = frame->vector;
    if (v < 32)
        report_exception(*frame);

    // The 8259s are masked; what still arrives from them is spurious and must
    // not be acknowledged at the local APIC. Likewise the APIC's own spurious
    // vector.
    if ((v >= vector::first_legacy_pic && v < vector::first_legacy_pic + 16) || v == vector::spurious)
        return;

    HandlerSlot slot = g_handlers[v];
    if (slot.handler)
        slot.handler(*frame, slot.context);
    else
        log::warn("interrupt: vector {} has no handler", v);
    lapic_end_of_interrupt();
    // Switching threads here is safe: the interrupted thread's registers are
    // on its own stack and it resumes through this same path.
    sched::preempt_if_needed(frame->rflags & (1u << 9));
}

} // namespace skiff::x86
