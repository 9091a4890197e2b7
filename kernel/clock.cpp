#include "kernel/clock.h"

#include "arch/x86_64/arch.h"
#include "kernel/boot_info.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "lib/log.h"
#include "lib/spinlock.h"

#include <atomic>

namespace skiff::clock {

namespace {

std::atomic<uint64_t> g_hz { 0 };
std::string_view g_source = "none";
uint64_t g_origin = 0; // counter value at the boot entry
// Interrupt handlers read the clock too: the lock keeps interrupts off, or
// a handler on the calibrating CPU would spin on it forever.
IrqSpinLock g_rate_lock;


uint64_t rate()
{
    uint64_t hz = g_hz.load(std::memory_order_acquire);
    if (hz != 0) [[likely]]
        return hz;
    LockGuard guard(g_rate_lock);
    hz = g_hz.load(std::memory_order_acquire);
    if (hz != 0)
        return hz;
    // Learnt on first use, not at boot: an app that never asks the time
    // never pays for it (and on a machine without a fast source, the PIT
    // measurement's 10 ms stay out of the boot path).
    arch::CounterRate found {};
    if (arch::cycle_counter_rate_fast(found) || arch::cycle_counter_rate_measured(found)) {
        g_source = found.source;
        hz = found.hz;
    } else {
        // Keep time running at a plausible rate rather than stop the system.
        log::error("clock: no way to learn the TSC rate; assuming 1 GHz (times will be wrong)");
        g_source = "assumed";
        hz = 1000000000ull;
    }
    log::info("clock: TSC at {} kHz (source: {})", hz / 1000, g_source);
    g_hz.store(hz, std::memory_order_release);
    return hz;
}

void program_hardware_locked(Cpu& cpu)
{
    if (cpu.timers)
        arch::timer_arm(cpu.timers->deadline, arch::read_cycle_counter(), rate());
    else
        arch::timer_disarm();
}

void timer_expired()
{
    Cpu& cpu = this_cpu();
    for (;;) {
        Timer* due = nullptr;
        {
            LockGuard guard(cpu.timer_lock);
            uint64_t now = arch::read_cycle_counter();
            if (cpu.timers && cpu.timers->deadline <= now) {
                due = cpu.timers;
                cpu.timers = due->next;
                due->armed = false;
                due->next = nullptr;
            } else {
                program_hardware_locked(cpu);
                return;
            }
        }
        due->callback(due->context);
    }
}

void unlink_locked(Cpu& cpu, Timer& timer)
{
    for (Timer** link = &cpu.timers; *link; link = &(*link)->next) {
        if (*link == &timer) {
            *link = timer.next;
            break;
        }
    }
    timer.next = nullptr;
    timer.armed = false;
}

} // namespace

void init(uint64_t forced_khz, uint64_t origin_counter)
{
    g_origin = origin_counter;
    if (forced_khz != 0) {
        g_source = "tsc_khz=";
        g_hz.store(forced_khz * 1000, std::memory_order_release);
    }
    arch::timer_init(timer_expired);
}

void init_this_cpu() { arch::timer_init(timer_expired); }

void delay_ns(uint64_t ns)
{
    uint64_t start = arch::read_cycle_counter();
    uint64_t cycles = ns_to_counter(ns);
    while (arch::read_cycle_counter() - start < cycles)
        arch::cpu_relax();
}

uint64_t counter_hz() { return rate(); }
std::string_view rate_source()
{
    rate();
    return g_source;
}

uint64_t counter_to_ns(uint64_t counter) { return uint64_t((unsigned __int128)counter * 1000000000ull / rate()); }
uint64_t ns_to_counter(uint64_t ns) { return uint64_t((unsigned __int128)ns * rate() / 1000000000ull); }

uint64_t now_ns()
{
    uint64_t hz = rate();
    uint64_t elapsed = arch::read_cycle_counter() - g_origin;
    return uint64_t((unsigned __int128)elapsed * 1000000000ull / hz);
}

void timer_start(Timer& timer, uint64_t deadline_ns, void (*callback)(void*), void* context)
{
    uint64_t deadline = g_origin + ns_to_counter(deadline_ns);
    if (timer.armed)
        timer_cancel(timer);
    bool were_enabled = cpu_hooks::save_and_disable_interrupts();
    Cpu& cpu = this_cpu();
    {
        LockGuard guard(cpu.timer_lock);
        timer.deadline = deadline;
        timer.callback = callback;
        timer.context = context;
        timer.cpu = &cpu;
        timer.armed = true;
        Timer** link = &cpu.timers;
        while (*link && (*link)->deadline <= deadline)
            link = &(*link)->next;
        timer.next = *link;
        *link = &timer;
        if (cpu.timers == &timer)
            program_hardware_locked(cpu);
    }
    cpu_hooks::restore_interrupts(were_enabled);
}

bool timer_cancel(Timer& timer)
{
    Cpu* cpu = timer.cpu;
    if (!cpu)
        return false;
    LockGuard guard(cpu->timer_lock);
    if (!timer.armed)
        return false;
    bool was_first = cpu->timers == &timer;
    unlink_locked(*cpu, timer);
    // Only the owning CPU can reprogram its timer; elsewhere the stale
    // interrupt finds nothing due and re-arms for the next timer.
    if (was_first && cpu == &this_cpu())
        program_hardware_locked(*cpu);
    return true;
}

void sleep_ns(uint64_t ns) { sched::sleep_ns(ns); }

void sleep_in_place(uint64_t ns)
{
    std::atomic<bool> woken { false };
    Timer timer {};
    uint64_t deadline = now_ns() + ns;
    timer_start(timer, deadline, [](void* flag) { static_cast<std::atomic<bool>*>(flag)->store(true); }, &woken);
    // Interrupts stay enabled while halted; the timer (or any other
    // interrupt) wakes us and we re-check.
    while (!woken.load() && now_ns() < deadline)
        arch::wait_for_interrupt();
    timer_cancel(timer);
}

} // namespace skiff::clock
