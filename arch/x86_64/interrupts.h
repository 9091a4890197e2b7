// Interrupt vectors, the saved-register frame and handler registration.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skiff::x86 {

struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

namespace vector {
constexpr uint8_t first_legacy_pic = 0x20; // 0x20-0x2f: the 8259s, masked
constexpr uint8_t first_device = 0x30;     // 0x30-0xdf: device interrupts
constexpr uint8_t last_device = 0xdf;
constexpr uint8_t lapic_timer = 0xef;
constexpr uint8_t reschedule = 0xf0;
constexpr uint8_t tlb_shootdown = 0xf1;
constexpr uint8_t lapic_error = 0xfe;
constexpr uint8_t spurious = 0xff;
} // namespace vector

using InterruptHandler = void (*)(InterruptFrame& frame, void* context);

struct [[gnu::packed]] TaskStateSegment {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};
static_assert(sizeof(TaskStateSegment) == 104);

// Per-CPU descriptor tables: a GDT with a TSS whose IST stacks catch double
// faults, NMIs, machine checks and page faults even on a broken stack.
struct CpuTables {
    static constexpr unsigned ist_count = 4;
    static constexpr size_t ist_stack_size = 8192;
    alignas(16) uint64_t gdt[5];
    TaskStateSegment tss;
    uint8_t* ist_stacks; // ist_count * ist_stack_size bytes (application processors)
};

// Loads the GDT, TSS and the shared IDT on the calling CPU; nullptr selects
// the boot CPU's static tables.
void load_descriptor_tables(CpuTables* per_cpu);

void set_interrupt_handler(uint8_t vector, InterruptHandler handler, void* context);
// A free device vector, or 0 when all are taken.
uint8_t allocate_device_vector();

// Signals end-of-interrupt to the local APIC (defined with the APIC code).
void lapic_end_of_interrupt();

} // namespace skiff::x86
