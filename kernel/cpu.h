// Per-CPU state. Each CPU reaches its own Cpu through the GS base, so
// this_cpu() is one instruction and needs no lock.
#pragma once

#include "lib/spinlock.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace skiff {

namespace sched {
struct Thread;
}
namespace clock {
struct Timer;
}

struct Cpu {
    static constexpr size_t max_cpus = 256;

    Cpu* self;                    // %gs:0, so this_cpu() is a single load
    sched::Thread* current;       // %gs:8
    uint32_t index;               // 0 .. cpu_count()-1; 0 is the boot CPU
    uint32_t apic_id;
    std::atomic<bool> online;

    // Scheduler: runnable threads waiting for this CPU.
    IrqSpinLock run_queue_lock;
    sched::Thread* run_queue_head;
    sched::Thread* run_queue_tail;
    std::atomic<uint32_t> run_queue_length;
    std::atomic<sched::Thread*> idle_thread; // the boot CPU's is made on first need
    std::atomic<bool> need_resched;
    sched::Thread* previous;      // the thread switched away from, for clean-up after a switch
    void* slice_timer;            // clock::Timer for time slices
    uint32_t preempt_disabled;

    // Timers armed on this CPU, sorted by deadline.
    IrqSpinLock timer_lock;
    clock::Timer* timers;

    // Statistics.
    std::atomic<uint64_t> context_switches;
    std::atomic<uint64_t> interrupts;

    void* arch; // per-CPU architecture state (descriptor tables)
};

// The CPU this code runs on. Only meaningful with interrupts off or
// preemption disabled if the caller needs it to stay the same.
inline Cpu& this_cpu()
{
    Cpu* cpu;
    asm volatile("mov %%gs:0, %0" : "=r"(cpu));
    return *cpu;
}

namespace cpus {

// The boot CPU's Cpu, installed before anything uses this_cpu().
void init_boot_cpu(uint32_t apic_id);
// A Cpu for an application processor about to start, and, once it is
// online, its publication under the next index. Keeps indexes dense when a
// CPU fails to start.
Cpu* create(uint32_t apic_id);
void publish(Cpu* cpu);
// Installs `cpu` as this CPU's local state (writes the GS base).
void install(Cpu& cpu);

unsigned count();          // CPUs that are online
// Marks `cpu` online; each CPU once, on itself.
void set_online(Cpu& cpu);
unsigned configured();     // CPUs known (online or starting)
Cpu* by_index(unsigned index);

} // namespace cpus

} // namespace skiff
