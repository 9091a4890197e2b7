// Kernel threads and the scheduler.
//
// Model: preemptive, per-CPU run queues. A CPU runs its current thread until
// it blocks, yields, exits, or its 10 ms slice ends while others wait on the
// same CPU; then the next thread in the CPU's queue runs. A CPU with nothing
// to run halts in its idle thread and is woken by an interrupt (an IPI when
// another CPU hands it work). Idle CPUs take unpinned work from busy ones.
#pragma once

#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "lib/result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace skiff::sched {

enum class ThreadState : uint8_t { Runnable, Running, Blocked, Exited };

struct Thread {
    uint64_t saved_rsp;
    Thread* queue_next;       // run queue link
    Thread* wait_next;        // wait queue link
    std::atomic<ThreadState> state;
    std::atomic<bool> on_cpu; // its stack is in use: it may not be run elsewhere yet
    int pinned_cpu;           // -1: any CPU
    Cpu* cpu;                 // where it runs or last ran
    void (*entry)(void*);
    void* argument;
    uint64_t stack_base;      // lowest address, the guard page (0: boot stack)
    size_t stack_pages;       // including the guard page
    uint64_t id;
    char name[24];
    std::atomic<int> references;
    std::atomic<bool> exited;
    void* exit_waiters;       // WaitQueue, owned by the thread
    bool idle;
    clock::Timer sleep_timer;
};

constexpr size_t default_stack_size = 64 * 1024;

// The boot CPU's running context becomes the thread "main" (the CPU's idle
// thread is made on first need, see can_block()). After this the scheduler
// runs.
void init_boot_cpu();
// Called on an application processor with its Cpu installed: the running
// context becomes its idle thread. Never returns.
[[noreturn]] void run_secondary_cpu();
bool running();

struct CreateOptions {
    const char* name = "thread";
    int cpu = -1;
    size_t stack_size = default_stack_size;
};
// Creates and starts a thread; the returned pointer holds one reference,
// released by join() or detach().
Result<Thread*> create(void (*entry)(void*), void* argument, const CreateOptions& options);
Result<void> join(Thread* thread);
void detach(Thread* thread);

Thread* current();
// Whether the calling thread is the one that runs the app's main().
bool current_is_main();
void yield();
// Whether the current thread may block (and the CPU switch to another thread
// or idle) rather than wait in place: the scheduler runs and the boot CPU's
// idle thread exists, made here on the first call. Call with no spinlock held.
bool can_block();
// Blocks the current thread for at least ns (the CPU runs others or halts);
// waits in place (clock::sleep_in_place) when it cannot block.
void sleep_ns(uint64_t ns);

// Blocking protocol for wait queues: with `lock` held (interrupts off), mark
// the thread blocked and enqueue it somewhere a waker will find it, then call
// block_and_unlock(), which releases the lock and switches away until wake().
void prepare_to_block();
void block_and_unlock(IrqSpinLock& lock, bool interrupts_were_enabled);
// Makes a blocked thread runnable (no effect on any other state).
void wake(Thread* thread);

// Interrupt-exit hook: switches if this CPU was asked to and may.
void preempt_if_needed(bool interrupted_context_had_interrupts_on);
// Called from the reschedule IPI.
void reschedule_interrupt();

struct Statistics {
    uint64_t threads_created;
    uint64_t threads_alive;
};
Statistics statistics();

} // namespace skiff::sched
