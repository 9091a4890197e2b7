#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"

#include <array>
#include <cstring>

extern "C" char interrupt_stubs[];

namespace skiff::x86 {

namespace {

struct [[gnu::packed]] IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

struct [[gnu::packed]] TablePointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint16_t kernel_code_selector = 0x08;
constexpr uint16_t kernel_data_selector = 0x10;
constexpr uint16_t tss_selector = 0x18;

enum IstSlot : uint8_t { ist_double_fault = 1, ist_nmi = 2, ist_machine_check = 3, ist_page_fault = 4 };

CpuTables g_boot_cpu_tables;
[[gnu::section(".noinit")]] alignas(16) uint8_t g_boot_ist_stacks[CpuTables::ist_count][CpuTables::ist_stack_size];
// Every gate is written before the IDT is loaded.
[[gnu::section(".noinit")]] alignas(16) std::array<IdtGate, 256> g_idt;
bool g_idt_built = false;

void build_idt()
{
    auto base = reinterpret_cast<uint64_t>(interrupt_stubs);
    for (unsigned v = 0; v < 256; ++v) {
        uint64_t handler = base + 16 * v;
        IdtGate& gate = g_idt[v];
        gate.offset_low = uint16_t(handler);
        gate.selector = kernel_code_selector;
        gate.ist = 0;
        gate.type_attributes = 0x8e; // present, DPL 0, 64-bit interrupt gate
        gate.offset_middle = uint16_t(handler >> 16);
        gate.offset_high = uint32_t(handler >> 32);
        gate.reserved = 0;
    }
    g_idt[2].ist = ist_nmi;
    g_idt[8].ist = ist_double_fault;
    g_idt[18].ist = ist_machine_check;
    // Page faults too: a thread that overflows into its guard page still
    // gets a clear report instead of a double fault.
    g_idt[14].ist = ist_page_fault;
    g_idt_built = true;
}

} // namespace

void load_descriptor_tables(CpuTables* per_cpu)
{
    CpuTables& tables = per_cpu ? *per_cpu : g_boot_cpu_tables;
    auto tss_address = reinterpret_cast<uint64_t>(&tables.tss);
    tables.tss.io_map_base = sizeof(TaskStateSegment);
    for (unsigned i = 0; i < CpuTables::ist_count; ++i) {
        uint8_t* stack = per_cpu ? per_cpu->ist_stacks + i * CpuTables::ist_stack_size : g_boot_ist_stacks[i];
        tables.tss.ist[i] = reinterpret_cast<uint64_t>(stack + CpuTables::ist_stack_size);
    }

    tables.gdt[0] = 0;
    tables.gdt[1] = 0x00af9a000000ffff; // 64-bit code
    tables.gdt[2] = 0x00cf92000000ffff; // data
    uint64_t limit = sizeof(TaskStateSegment) - 1;
    tables.gdt[3] = (limit & 0xffff) | ((tss_address & 0xffffff) << 16) | (uint64_t(0x89) << 40)
        | (((limit >> 16) & 0xf) << 48) | (((tss_address >> 24) & 0xff) << 56);
    tables.gdt[4] = tss_address >> 32;

    TablePointer gdt_pointer { uint16_t(sizeof(tables.gdt) - 1), reinterpret_cast<uint64_t>(tables.gdt) };
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

    if (!g_idt_built)
        build_idt();
    TablePointer idt_pointer { uint16_t(sizeof(g_idt) - 1), reinterpret_cast<uint64_t>(g_idt.data()) };
    asm volatile("lidt %0" ::"m"(idt_pointer));
}

} // namespace skiff::x86
