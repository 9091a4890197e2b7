// Starting the application processors, inter-processor interrupts and TLB
// shootdown.
#include "arch/x86_64/apic.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "firmware/platform.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/memory.h"
#include "kernel/sched/thread.h"
#include "lib/log.h"

#include <cstring>
#include <new>

extern "C" char ap_trampoline_start[], ap_trampoline_end[];
extern "C" char ap_trampoline_cr3[], ap_trampoline_nx[], ap_trampoline_stack[], ap_trampoline_cpu[], ap_trampoline_entry[];

namespace skiff::arch {

namespace {

constexpr uint64_t page = 4096;
constexpr size_t ap_stack_size = 32 * 1024;
// How long a CPU gets to answer its startup IPIs before it is given up on.
constexpr uint64_t startup_timeout_ns = 200'000'000;

uint32_t g_boot_apic_id = 0;
[[noreturn]] void (*g_cpu_main)() = nullptr;

struct Shootdown {
    SpinLock lock;
    std::atomic<uint64_t> address;
    std::atomic<unsigned> pending;
};
Shootdown g_shootdown;

void reschedule_interrupt(x86::InterruptFrame&, void*) { sched::reschedule_interrupt(); }

void shootdown_interrupt(x86::InterruptFrame&, void*)
{
    x86::invlpg(g_shootdown.address.load(std::memory_order_acquire));
    g_shootdown.pending.fetch_sub(1, std::memory_order_acq_rel);
}

template<typename T>
void patch(uint8_t* copy, const char* field, T value)
{
    std::memcpy(copy + (field - ap_trampoline_start), &value, sizeof(value));
}

// First C++ on an application processor, on its own stack.
extern "C" [[noreturn]] void ap_entry(Cpu* cpu)
{
    cpus::install(*cpu);
    x86::load_descriptor_tables(static_cast<x86::CpuTables*>(cpu->arch));
    x86::lapic_init_secondary();
    clock::init_this_cpu();
    g_cpu_main();
}

bool hypervisor_present() { return x86::cpuid(1).ecx & (1u << 31); }

} // namespace

uint32_t boot_cpu_apic_id() { return g_boot_apic_id; }
void disable_interrupts() { x86::cli(); }
void send_reschedule(uint32_t apic_id) { x86::lapic_send_ipi(apic_id, x86::vector::reschedule); }

unsigned start_secondary_cpus(const PlatformInfo* platform, [[noreturn]] void (*cpu_main)())
{
    g_cpu_main = cpu_main;
    x86::set_interrupt_handler(x86::vector::reschedule, reschedule_interrupt, nullptr);
    x86::set_interrupt_handler(x86::vector::tlb_shootdown, shootdown_interrupt, nullptr);
    if (!platform || platform->cpu_count <= 1)
        return 1;
    // IPIs, and the boot CPU's APIC id, need the local APIC.
    ensure_interrupt_controllers();
    g_boot_apic_id = x86::lapic_id();
    this_cpu().apic_id = g_boot_apic_id;

    // The trampoline page: below 1 MiB (the startup IPI names a page number
    // under 0x100), and executable in the kernel's tables, since the AP
    // fetches its first long-mode instructions from it.
    auto trampoline_page = memory::pages().allocate_below(1ull << 20, 1);
    if (trampoline_page.is_error() || *trampoline_page < page) {
        log::error("smp: no page below 1 MiB for the AP trampoline; running on the boot CPU only");
        return 1;
    }
    uint64_t root = x86::kernel_address_space().root();
    if (root >= (4ull << 30)) {
        log::error("smp: the page-table root {:#x} is above 4 GiB, out of the trampoline's reach", root);
        return 1;
    }
    auto* copy = reinterpret_cast<uint8_t*>(*trampoline_page);
    std::memcpy(copy, ap_trampoline_start, size_t(ap_trampoline_end - ap_trampoline_start));
    patch<uint64_t>(copy, ap_trampoline_cr3, root);
    patch<uint64_t>(copy, ap_trampoline_nx, x86::nx_supported() ? 1 : 0);
    patch<uint64_t>(copy, ap_trampoline_entry, reinterpret_cast<uint64_t>(&ap_entry));
    if (x86::kernel_address_space().identity_map(*trampoline_page, page, { true, true, x86::Cache::WriteBack }).is_error())
        return 1;

    // VMMs act on INIT at once; real hardware wants 10 ms before the SIPI.
    uint64_t init_delay_ns = hypervisor_present() ? 0 : 10'000'000;
    uint8_t vector_page = uint8_t(*trampoline_page >> 12);

    for (const CpuDescriptor& descriptor : platform->cpu_list()) {
        if (!descriptor.enabled || descriptor.apic_id == g_boot_apic_id)
            continue;
        if (!x86::lapic_x2apic_mode() && descriptor.apic_id > 0xfe) {
            log::warn("smp: CPU with APIC id {} needs x2APIC mode; skipped", descriptor.apic_id);
            continue;
        }
        Cpu* cpu = cpus::create(descriptor.apic_id);
        auto* tables = new (std::nothrow) x86::CpuTables {};
        auto stack = memory::pages().allocate(ap_stack_size / page);
        auto ist = memory::pages().allocate(x86::CpuTables::ist_count * x86::CpuTables::ist_stack_size / page);
        if (!cpu || !tables || stack.is_error() || ist.is_error()) {
            log::error("smp: out of memory starting the CPU with APIC id {}", descriptor.apic_id);
            break;
        }
        tables->ist_stacks = reinterpret_cast<uint8_t*>(*ist);
        cpu->arch = tables;
        patch<uint64_t>(copy, ap_trampoline_stack, *stack + ap_stack_size);
        patch<uint64_t>(copy, ap_trampoline_cpu, reinterpret_cast<uint64_t>(cpu));
        std::atomic_thread_fence(std::memory_order_seq_cst);

        uint64_t start = clock::now_ns();
        x86::lapic_send_init(descriptor.apic_id);
        if (init_delay_ns)
            clock::delay_ns(init_delay_ns);
        x86::lapic_send_startup(descriptor.apic_id, vector_page);
        // A second startup IPI only if the first was lost.
        clock::delay_ns(200'000);
        if (!cpu->online.load(std::memory_order_acquire))
            x86::lapic_send_startup(descriptor.apic_id, vector_page);
        while (!cpu->online.load(std::memory_order_acquire) && clock::now_ns() - start < startup_timeout_ns)
            x86::pause();
        if (!cpu->online.load(std::memory_order_acquire)) {
            // Its memory stays allocated: a late start must find it intact.
            log::error("smp: the CPU with APIC id {} did not start within {} ms; skipped", descriptor.apic_id, startup_timeout_ns / 1000000);
            continue;
        }
        cpus::publish(cpu);
        log::debug("smp: CPU {} (APIC id {}) online after {} us", cpu->index, descriptor.apic_id, (clock::now_ns() - start) / 1000);
    }
    return cpus::count();
}

void tlb_shootdown(uint64_t address)
{
    x86::invlpg(address);
    unsigned others = cpus::count() - 1;
    if (others == 0)
        return;
    // Spin for the lock with interrupts on, so this CPU can still answer
    // another CPU's shootdown meanwhile.
    g_shootdown.lock.lock();
    g_shootdown.address.store(address, std::memory_order_release);
    g_shootdown.pending.store(0, std::memory_order_release);
    unsigned sent = 0;
    for (unsigned i = 0; i < cpus::configured(); ++i) {
        Cpu* cpu = cpus::by_index(i);
        if (!cpu || cpu == &this_cpu() || !cpu->online.load(std::memory_order_acquire))
            continue;
        g_shootdown.pending.fetch_add(1, std::memory_order_acq_rel);
        if (x86::lapic_send_ipi(cpu->apic_id, x86::vector::tlb_shootdown))
            ++sent;
        else
            g_shootdown.pending.fetch_sub(1, std::memory_order_acq_rel);
    }
    while (g_shootdown.pending.load(std::memory_order_acquire) != 0)
        x86::pause();
    g_shootdown.lock.unlock();
}

void remove_guard_page(uint64_t address)
{
    if (x86::unmap_page(address).is_error())
        log::warn("smp: could not unmap the guard page at {:#x}", address);
    if (x86::interrupts_enabled())
        tlb_shootdown(address);
}

void restore_guard_page(uint64_t address)
{
    if (x86::map_page(address).is_error())
        log::error("smp: could not remap the guard page at {:#x}", address);
}

} // namespace skiff::arch
