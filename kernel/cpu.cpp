#include "kernel/cpu.h"

#include "arch/x86_64/cpu.h"

#include <new>

namespace skiff::cpus {

namespace {
constinit Cpu g_boot_cpu {};
Cpu* g_cpus[Cpu::max_cpus];
std::atomic<unsigned> g_configured { 0 };
} // namespace

void install(Cpu& cpu)
{
    cpu.self = &cpu;
    x86::wrmsr(x86::msr::gs_base, reinterpret_cast<uint64_t>(&cpu));
}

void init_boot_cpu(uint32_t apic_id)
{
    g_boot_cpu.index = 0;
    g_boot_cpu.apic_id = apic_id;
    set_online(g_boot_cpu);
    g_cpus[0] = &g_boot_cpu;
    g_configured.store(1);
    install(g_boot_cpu);
}

Cpu* create(uint32_t apic_id)
{
    if (g_configured.load() >= Cpu::max_cpus)
        return nullptr;
    auto* cpu = new (std::nothrow) Cpu {};
    if (!cpu)
        return nullptr;
    // The index it will have once published; it runs with it from the start.
    cpu->index = g_configured.load();
    cpu->apic_id = apic_id;
    cpu->self = cpu;
    return cpu;
}

void publish(Cpu* cpu)
{
    unsigned index = g_configured.load();
    cpu->index = index;
    g_cpus[index] = cpu;
    g_configured.store(index + 1, std::memory_order_release);
}

void set_online(Cpu& cpu) { cpu.online.store(true, std::memory_order_release); }

// A CPU is published only once it is online (start_secondary_cpus waits for
// that; one that misses the deadline is never published) and none goes
// offline: the published ones are the online ones, no scan needed.
unsigned count() { return g_configured.load(std::memory_order_acquire); }

unsigned configured() { return g_configured.load(); }

Cpu* by_index(unsigned index) { return index < g_configured.load() ? g_cpus[index] : nullptr; }

} // namespace skiff::cpus
