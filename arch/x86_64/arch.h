// The narrow interface the machine-independent kernel uses to reach the
// x86_64 platform. Nothing outside arch/ includes other arch headers.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/boot_info.h"
#include "lib/result.h"

namespace skiff {
struct BootInfo;
struct PlatformInfo;
struct PowerControl;
}

namespace skiff::arch {

// Console (COM1 8250). Safe before anything else is set up.
void console_init();
void console_write(std::string_view text);

// The boot CPU's descriptor tables, then Skiff's own page tables: every
// range of the memory map identity-mapped write-back and non-executable, the
// image's text executable and read-only, its rodata read-only, the null page
// absent. Page-table pages come from `allocate_table_page` (zeroed).
Result<void> cpu_init(std::span<const MemoryRange> memory_map, Result<uint64_t> (*allocate_table_page)());

// The interrupt controllers (legacy PIC masked, local APIC, IOAPICs from the
// platform description, null when the firmware described none) are set up
// on first need: enabling interrupts, arming a timer, attaching a device
// line or MSI, starting other CPUs. An app that needs none of them never
// pays for them (under TCG, translating that code is a tenth of the boot).
// Until then interrupts stay off, so nothing can arrive unannounced. A CPU
// without a local APIC ends the run with a clear message at that point
// (which may be after the app has started).
void set_interrupt_platform(const PlatformInfo* platform);
void ensure_interrupt_controllers();
bool interrupt_controllers_up();
void enable_interrupts();
// Maps device registers (uncached) and returns their address.
Result<void*> map_device_memory(uint64_t physical, uint64_t size);

// The cycle counter (TSC) and its rate. The fast sources (kvmclock, the
// Hyper-V frequency MSR, CPUID 0x15/0x16) answer at once; measuring against
// the PIT takes about 10 ms and is only done when a rate is first needed.
struct CounterRate {
    uint64_t hz;
    std::string_view source;
};
// Inline: one instruction, read at every boot checkpoint and clock query;
// as a call it would split each caller's translation block under TCG.
[[gnu::always_inline]] inline uint64_t read_cycle_counter()
{
    uint32_t low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t(high) << 32) | low;
}
// The counter stored as two halves: three instructions at each boot
// checkpoint where composing the 64-bit value first takes five.
[[gnu::always_inline]] inline void record_cycle_counter(uint64_t& slot)
{
    static_assert(std::endian::native == std::endian::little);
    asm volatile("rdtsc\n\tmovl %%eax, %0\n\tmovl %%edx, 4+%0" : "=m"(slot) : : "eax", "edx");
}
bool cycle_counter_rate_fast(CounterRate& rate);
bool cycle_counter_rate_measured(CounterRate& rate);

// The per-CPU one-shot timer, in cycle-counter units.
void timer_init(void (*expired)());
void timer_arm(uint64_t deadline, uint64_t now, uint64_t hz);
void timer_disarm();
// Enables interrupts and waits for one (sti; hlt).
void wait_for_interrupt();
// One iteration of a spin-wait (x86 `pause`).
inline void cpu_relax() { asm volatile("pause" ::: "memory"); }
void disable_interrupts();
bool interrupts_enabled();

// SMP: starts every enabled CPU the platform describes besides the boot CPU,
// each with its own descriptor tables, local APIC and timer, then runs
// `cpu_main` on it (never returns). Returns how many CPUs are online.
unsigned start_secondary_cpus(const PlatformInfo* platform, [[noreturn]] void (*cpu_main)());
uint32_t boot_cpu_apic_id();
// Asks another CPU to look at its run queue.
void send_reschedule(uint32_t apic_id);
// Invalidates a translation on every online CPU. Call with interrupts on.
void tlb_shootdown(uint64_t address);
// Thread stacks: unmaps / remaps the guard page below a stack.
void remove_guard_page(uint64_t address);
void restore_guard_page(uint64_t address);

// Walks saved frame pointers from `frame` and prints return addresses.
void print_backtrace(uint64_t frame_pointer);
uint64_t current_frame_pointer();

// Powers the VM off with an exit status: isa-debug-exit, ACPI S5, i8042
// reset, triple fault, in that order.
[[noreturn]] void power_off(int status);
// `resolve_sleep_type` runs once, at the first ACPI power-off attempt, to
// fill in what boot left out (the DSDT's \_S5); false: S5 is unusable.
using SleepTypeResolver = bool (*)(PowerControl& power);
void set_power_control(const PlatformInfo* platform, SleepTypeResolver resolve_sleep_type);
void power_off_acpi(); // returns only if ACPI S5 is unavailable or did not work

[[noreturn]] void halt_forever();

} // namespace skiff::arch
