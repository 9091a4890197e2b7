#include "arch/x86_64/apic.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "firmware/platform.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/kernel.h"
#include "lib/log.h"

#include <atomic>

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __image_end[];

namespace skiff::arch {

namespace {
constexpr uint64_t page = 4096;
constexpr uint64_t low_memory_end = 1ull << 20;
uint64_t address_of(const char* symbol) { return reinterpret_cast<uint64_t>(symbol); }
} // namespace

Result<void> cpu_init(std::span<const MemoryRange> memory_map, Result<uint64_t> (*allocate_table_page)())
{
    x86::load_descriptor_tables(nullptr);
    x86::enable_nx_if_supported();

    x86::AddressSpace& space = x86::kernel_address_space();
    TRY(space.init(allocate_table_page));
    constexpr x86::PageFlags data { true, false, x86::Cache::WriteBack };
    // Page 0 is never mapped: null-pointer dereferences fault.
    for (const MemoryRange& range : memory_map) {
        uint64_t start = range.base < page ? page : range.base & ~(page - 1);
        uint64_t end = (range.end() + page - 1) & ~(page - 1);
        if (end > start)
            TRY(space.identity_map(start, end - start, data));
    }
    // Low memory holds firmware tables, the BIOS data area and later the AP
    // trampoline, whatever the memory map says about it.
    TRY(space.identity_map(page, low_memory_end - page, data));
    TRY(space.identity_map(address_of(__text_start), address_of(__text_end) - address_of(__text_start), { false, true, x86::Cache::WriteBack }));
    TRY(space.identity_map(address_of(__rodata_start), address_of(__rodata_end) - address_of(__rodata_start), { false, false, x86::Cache::WriteBack }));
    TRY(space.identity_map(address_of(__data_start), address_of(__image_end) - address_of(__data_start), data));
    space.activate();
    return ok();
}

namespace {
const PlatformInfo* g_interrupt_platform = nullptr;
// Set once, by the boot CPU; other CPUs start only after it (start_secondary_cpus).
std::atomic<bool> g_controllers_up { false };
} // namespace

void set_interrupt_platform(const PlatformInfo* platform) { g_interrupt_platform = platform; }

void ensure_interrupt_controllers()
{
    if (g_controllers_up.load(std::memory_order_acquire))
        return;
    // The first need arises on the boot CPU, with interrupts still off and no
    // other CPU running (each entry point above calls this first), so nothing
    // can interleave with the set-up. It may be under a spinlock (timer_arm
    // is called with the CPU's timer lock held): nothing here blocks.
    const PlatformInfo* platform = g_interrupt_platform;
    x86::legacy_pic_disable();
    if (auto result = x86::lapic_init(platform ? platform->local_apic_address : 0); result.is_error()) {
        console::print("skiff: cannot set up the local APIC: {}", error_name(result.error()));
        power_off(exit_status::kernel_failure);
    }
    if (platform && platform->ioapic_count > 0) {
        if (x86::ioapic_init(*platform).is_error())
            log::warn("interrupts: no usable IOAPIC; device interrupts unavailable");
    }
    // Unmasked one-shot mode; a timer interrupt before timer_init() finds no handler.
    x86::lapic_timer_init(x86::vector::lapic_timer);
    this_cpu().apic_id = x86::boot_lapic_id();
    g_controllers_up.store(true, std::memory_order_release);
}

bool interrupt_controllers_up() { return g_controllers_up.load(std::memory_order_acquire); }

} // namespace skiff::arch

namespace skiff::x86 {
bool interrupt_controllers_up() { return arch::interrupt_controllers_up(); }
} // namespace skiff::x86

namespace skiff::arch {

void enable_interrupts()
{
    ensure_interrupt_controllers();
    x86::sti();
}

bool interrupts_enabled() { return x86::interrupts_enabled(); }

Result<void*> map_device_memory(uint64_t physical, uint64_t size) { return x86::map_mmio(physical, size); }

} // namespace skiff::arch
