// Monotonic time from the TSC, one-shot timers and sleep.
//
// The rate comes from a fast source when the hypervisor or CPU states it; on
// TCG and bare PIT machines it is measured against the PIT the first time
// time is needed, so booting never waits for a calibration.
#pragma once

#include <cstdint>
#include <string_view>

namespace skiff {
struct Cpu;
}

namespace skiff::clock {

// Sets up this CPU's timer; never waits. `forced_khz` != 0 fixes the rate
// (tsc_khz=); otherwise it is learnt on first use (CPUID/hypervisor leaves,
// else 10 ms against the PIT).
void init(uint64_t forced_khz, uint64_t origin_counter);
// Nanoseconds since the boot entry's first instruction.
uint64_t now_ns();
uint64_t counter_hz();
std::string_view rate_source();
uint64_t ns_to_counter(uint64_t ns);
uint64_t counter_to_ns(uint64_t counter);

// Blocks for at least `ns`: the calling thread sleeps once the scheduler
// can switch away from it (sched::can_block()); before that the CPU halts
// between timer interrupts (sleep_in_place).
void sleep_ns(uint64_t ns);
void sleep_in_place(uint64_t ns);
// Per-CPU timer hardware set-up, on each CPU.
void init_this_cpu();

// Busy-waits for at least ns; for the few places that must not sleep (CPU
// start-up sequencing).
void delay_ns(uint64_t ns);

struct Timer {
    uint64_t deadline; // counter units
    void (*callback)(void* context);
    void* context;
    Timer* next;
    Cpu* cpu;          // whose list it is on
    bool armed;
};

// Calls callback(context) from the timer interrupt of the calling CPU at or
// after deadline_ns (on the now_ns() scale), with interrupts off. Re-arming
// an armed timer moves it.
void timer_start(Timer& timer, uint64_t deadline_ns, void (*callback)(void*), void* context);
// Returns true if the timer was armed and will no longer fire.
bool timer_cancel(Timer& timer);

} // namespace skiff::clock
