#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"


// Built at link time, in interrupt_stubs.S: 256 gates of 16 bytes.
extern "C" const char idt_gates[], idt_gates_end[];

namespace skiff::x86 {

namespace {

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint16_t kernel_code_selector = 0x08;
constexpr uint16_t kernel_data_selector = 0x10;
constexpr uint16_t tss_selector = 0x18;

// The gates (interrupt_stubs.S) name IST slots 1 to 4: double fault, NMI,
// machine check, page fault. Each slot gets its own stack below.
CpuTables g_boot_cpu_tables;
[[gnu::section(".noinit")]] alignas(16) uint8_t g_boot_ist_stacks[CpuTables::ist_count][CpuTables::ist_stack_size];

} // namespace

void load_descriptor_tables(CpuTables* per_cpu)
{
    CpuTables& tables = per_cpu ? *per_cpu : g_boot_cpu_tables;
    auto tss_address = reinterpret_cast<uint64_t>(&tables.tss);
    tables.tss.io_map_base = sizeof(TaskStateSegment);
    uint8_t* ist_stacks = per_cpu ? per_cpu->ist_stacks : &g_boot_ist_stacks[0][0];
    for (unsigned i = 0; i < CpuTables::ist_count; ++i)
        tables.tss.ist[i] = reinterpret_cast<uint64_t>(ist_stacks + (i + 1) * CpuTables::ist_stack_size);

    tables.gdt[0] = 0;
    tables.gdt[1] = 0x00af9a000000ffff; // 64-bit code
    tables.gdt[2] = 0x00cf92000000ffff; // data
    uint64_t limit = sizeof(TaskStateSegment) - 1;
    tables.gdt[3] = (limit & 0xffff) | ((tss_address & 0xffffff) << 16) | (uint64_t(0x89) << 40)
        | (((limit >> 16) & 0xf) << 48) | (((tss_address >> 24) & 0xff) << 56);
    tables.gdt[4] = tss_address >> 32;

    TablePointer gdt_pointer { uint16_t(sizeof(tables.gdt) - 1), reinterpret_cast<uint64_t>(tables.gdt) };
    if (per_cpu) {
        // Secondary CPUs arrive from the trampoline on its own selectors:
        // reload every segment register from the new table.
        asm volatile(
            "lgdt %0\n"
            "pushq %1\n"
            "leaq 1f(%%rip), %%rax\n"
            "pushq %%rax\n"
            "lretq\n"
            "1:\n"
            "mov %2, %%ds\n"
            "mov %2, %%es\n"
            "mov %2, %%ss\n"
            "ltr %w3\n"
            :
            : "m"(gdt_pointer), "i"(uint64_t(kernel_code_selector)), "r"(uint32_t(kernel_data_selector)), "r"(uint32_t(tss_selector))
            : "rax", "memory");
    } else {
        // The boot CPU runs on entry.S's early GDT, which holds the same code
        // and data descriptors at the same selectors: the loaded segment
        // registers stay valid, and each reload would only cost time (under
        // TCG every one ends a translation block).
        asm volatile("lgdt %0\n"
                     "ltr %w1\n"
                     :
                     : "m"(gdt_pointer), "r"(uint32_t(tss_selector))
                     : "memory");
    }

    TablePointer idt_pointer { uint16_t(idt_gates_end - idt_gates - 1), reinterpret_cast<uint64_t>(idt_gates) };
    asm volatile("lidt %0" ::"m"(idt_pointer));
}

} // namespace skiff::x86
