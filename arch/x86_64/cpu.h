// Thin wrappers over x86_64 instructions. Only arch/ code includes this.
#pragma once

#include <cstdint>

// Always inlined: a wrapper is one instruction, and once LTO has grown a boot
// function past GCC's growth limits it would otherwise stay a call, which
// under TCG splits the caller's translation block twice per call site.
#define SKIFF_INSTRUCTION [[gnu::always_inline]] inline

namespace skiff::x86 {

SKIFF_INSTRUCTION void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
SKIFF_INSTRUCTION void outw(uint16_t port, uint16_t value) { asm volatile("outw %0, %1" ::"a"(value), "Nd"(port)); }
SKIFF_INSTRUCTION void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
SKIFF_INSTRUCTION uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
SKIFF_INSTRUCTION uint16_t inw(uint16_t port)
{
    uint16_t value;
    asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
SKIFF_INSTRUCTION uint32_t inl(uint16_t port)
{
    uint32_t value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

SKIFF_INSTRUCTION uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

SKIFF_INSTRUCTION uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t(hi) << 32) | lo;
}
SKIFF_INSTRUCTION void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(value)), "d"(uint32_t(value >> 32)) : "memory");
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
SKIFF_INSTRUCTION CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

SKIFF_INSTRUCTION uint64_t read_cr0() { uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
SKIFF_INSTRUCTION uint64_t read_cr2() { uint64_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
SKIFF_INSTRUCTION uint64_t read_cr3() { uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
SKIFF_INSTRUCTION uint64_t read_cr4() { uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
SKIFF_INSTRUCTION void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
SKIFF_INSTRUCTION void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

SKIFF_INSTRUCTION uint64_t read_flags()
{
    uint64_t flags;
    asm volatile("pushfq; popq %0" : "=r"(flags)::"memory");
    return flags;
}
SKIFF_INSTRUCTION bool interrupts_enabled() { return read_flags() & (1u << 9); }
SKIFF_INSTRUCTION void cli() { asm volatile("cli" ::: "memory"); }
SKIFF_INSTRUCTION void sti() { asm volatile("sti" ::: "memory"); }
SKIFF_INSTRUCTION void halt() { asm volatile("hlt" ::: "memory"); }
// Enables interrupts and halts atomically: an interrupt pending at `sti`
// still wakes the halt, so no wake-up is lost between the check and the halt.
SKIFF_INSTRUCTION void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }
SKIFF_INSTRUCTION void pause() { asm volatile("pause" ::: "memory"); }
SKIFF_INSTRUCTION void invlpg(uint64_t address) { asm volatile("invlpg (%0)" ::"r"(address) : "memory"); }

namespace msr {
constexpr uint32_t apic_base = 0x1b;
constexpr uint32_t tsc_deadline = 0x6e0;
constexpr uint32_t efer = 0xc0000080;
constexpr uint32_t fs_base = 0xc0000100;
constexpr uint32_t gs_base = 0xc0000101;
constexpr uint32_t kernel_gs_base = 0xc0000102;
constexpr uint32_t kvm_system_time_new = 0x4b564d01;
constexpr uint32_t hyperv_tsc_frequency = 0x40000022;
} // namespace msr

} // namespace skiff::x86
