#include "kernel/sched/thread.h"

#include "arch/x86_64/arch.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/sync/wait_queue.h"
#include "lib/log.h"

#include <cstring>
#include <new>

extern "C" void switch_context(uint64_t* save_rsp, uint64_t load_rsp);
extern "C" void thread_trampoline();

namespace skiff::sched {

namespace {

constexpr uint64_t slice_ns = 10'000'000;
constexpr uint64_t page = PageAllocator::page_size;

std::atomic<bool> g_running { false };
std::atomic<uint64_t> g_next_id { 2 }; // 1 is main
std::atomic<uint64_t> g_created { 0 };
std::atomic<uint64_t> g_alive { 1 }; // main, from the start

// The boot context's thread and the boot CPU's slice timer live in static
// storage: the boot path does not need the heap. Main is constant-initialised
// as adopt_running_context() would leave it (less its CPU): the boot path
// only has to point it at the boot CPU.
constinit WaitQueue g_main_exit_waiters;
constinit Thread g_main_thread {
    .state = ThreadState::Running,
    .on_cpu = true,
    .pinned_cpu = -1,
    .id = 1,
    .name = "main",
    .references = 2,
    .exit_waiters = &g_main_exit_waiters,
};
constinit clock::Timer g_boot_slice_timer {};

void set_name(Thread& thread, const char* name)
{
    size_t i = 0;
    for (; name && name[i] && i + 1 < sizeof(thread.name); ++i)
        thread.name[i] = name[i];
    thread.name[i] = '\0';
}

// --------------------------------------------------------------- run queues

void enqueue_locked(Cpu& cpu, Thread* thread)
{
    thread->queue_next = nullptr;
    if (cpu.run_queue_tail)
        cpu.run_queue_tail->queue_next = thread;
    else
        cpu.run_queue_head = thread;
    cpu.run_queue_tail = thread;
    cpu.run_queue_length.fetch_add(1, std::memory_order_relaxed);
    thread->cpu = &cpu;
}

Thread* dequeue_locked(Cpu& cpu)
{
    Thread* thread = cpu.run_queue_head;
    if (!thread)
        return nullptr;
    cpu.run_queue_head = thread->queue_next;
    if (!cpu.run_queue_head)
        cpu.run_queue_tail = nullptr;
    thread->queue_next = nullptr;
    cpu.run_queue_length.fetch_sub(1, std::memory_order_relaxed);
    return thread;
}

// Takes one thread that may run anywhere from the busiest other CPU.
Thread* steal(Cpu& self)
{
    Cpu* busiest = nullptr;
    uint32_t most = 0;
    for (unsigned i = 0; i < cpus::configured(); ++i) {
        Cpu* other = cpus::by_index(i);
        if (!other || other == &self || !other->online.load(std::memory_order_acquire))
            continue;
        uint32_t length = other->run_queue_length.load(std::memory_order_relaxed);
        if (length > most) {
            most = length;
            busiest = other;
        }
    }
    if (!busiest)
        return nullptr;
    LockGuard guard(busiest->run_queue_lock);
    Thread* previous = nullptr;
    for (Thread* thread = busiest->run_queue_head; thread; previous = thread, thread = thread->queue_next) {
        if (thread->pinned_cpu >= 0)
            continue;
        // A thread preempted on `busiest` is queued there before its CPU has
        // switched away from it: its saved stack pointer is not written yet.
        // Only its own CPU may pick it until finish_switch() lets go.
        if (thread->on_cpu.load(std::memory_order_acquire))
            continue;
        if (previous)
            previous->queue_next = thread->queue_next;
        else
            busiest->run_queue_head = thread->queue_next;
        if (busiest->run_queue_tail == thread)
            busiest->run_queue_tail = previous;
        thread->queue_next = nullptr;
        busiest->run_queue_length.fetch_sub(1, std::memory_order_relaxed);
        return thread;
    }
    return nullptr;
}

void slice_expired(void* cpu_pointer) { static_cast<Cpu*>(cpu_pointer)->need_resched.store(true); }

// Arms the time slice when others wait on this CPU behind a running thread.
void update_slice(Cpu& cpu)
{
    auto* timer = static_cast<clock::Timer*>(cpu.slice_timer);
    if (!timer)
        return;
    bool contended = !cpu.current->idle && cpu.run_queue_length.load(std::memory_order_relaxed) > 0;
    if (contended && !timer->armed)
        clock::timer_start(*timer, clock::now_ns() + slice_ns, slice_expired, &cpu);
    else if (!contended && timer->armed)
        clock::timer_cancel(*timer);
}

// Asks `cpu` to look at its queue: a local flag, or an IPI for another CPU.
void kick(Cpu& cpu)
{
    if (&cpu == &this_cpu()) {
        if (cpu.current && cpu.current->idle)
            cpu.need_resched.store(true);
        else
            update_slice(cpu);
        return;
    }
    arch::send_reschedule(cpu.apic_id);
}

// Where a runnable thread should go: its pinned CPU, else an idle CPU, else
// the shortest queue (its last CPU on ties, for cache warmth).
Cpu& choose_cpu(Thread* thread)
{
    if (thread->pinned_cpu >= 0) {
        Cpu* pinned = cpus::by_index(unsigned(thread->pinned_cpu));
        if (pinned)
            return *pinned;
    }
    Cpu* best = thread->cpu ? thread->cpu : &this_cpu();
    uint32_t best_load = best->run_queue_length.load() + (best->current && !best->current->idle ? 1 : 0);
    for (unsigned i = 0; i < cpus::configured() && best_load > 0; ++i) {
        Cpu* cpu = cpus::by_index(i);
        if (!cpu || !cpu->online.load(std::memory_order_acquire))
            continue;
        uint32_t load = cpu->run_queue_length.load() + (cpu->current && !cpu->current->idle ? 1 : 0);
        if (load < best_load) {
            best = cpu;
            best_load = load;
        }
    }
    return *best;
}

void make_runnable(Thread* thread)
{
    // The thread may still be switching out on another CPU: wait until its
    // stack is free before anyone can pick it.
    while (thread->on_cpu.load(std::memory_order_acquire))
        arch::cpu_relax();
    Cpu& cpu = choose_cpu(thread);
    {
        LockGuard guard(cpu.run_queue_lock);
        enqueue_locked(cpu, thread);
    }
    kick(cpu);
}

void release(Thread* thread);

// Runs on the new thread right after every switch.
void finish_switch()
{
    Cpu& cpu = this_cpu();
    Thread* previous = cpu.previous;
    cpu.previous = nullptr;
    if (!previous)
        return;
    bool exited = previous->state.load(std::memory_order_relaxed) == ThreadState::Exited;
    previous->on_cpu.store(false, std::memory_order_release);
    if (exited)
        release(previous);
}

// The heart of it. Interrupts must be off.
void switch_to_next(bool requeue_current)
{
    Cpu& cpu = this_cpu();
    Thread* previous = cpu.current;
    cpu.need_resched.store(false, std::memory_order_relaxed);
    Thread* next;
    {
        LockGuard guard(cpu.run_queue_lock);
        if (requeue_current && !previous->idle) {
            previous->state.store(ThreadState::Runnable, std::memory_order_relaxed);
            enqueue_locked(cpu, previous);
        }
        next = dequeue_locked(cpu);
    }
    if (!next)
        next = steal(cpu);
    if (!next) {
        if (previous->state.load(std::memory_order_relaxed) == ThreadState::Running)
            return; // nothing else to do: keep going
        next = cpu.idle_thread.load(std::memory_order_acquire);
        // can_block() and create() make the boot CPU's idle thread before
        // anything on it could block or exit.
        if (!next)
            panic("sched: CPU {} has nothing to run and no idle thread", cpu.index);
    }
    if (next == previous) {
        previous->state.store(ThreadState::Running, std::memory_order_relaxed);
        update_slice(cpu);
        return;
    }
    // Switching to a thread whose stack another CPU still runs on would
    // corrupt both; the queues are built so this cannot happen.
    SKIFF_ASSERT(!next->on_cpu.load(std::memory_order_acquire));
    next->state.store(ThreadState::Running, std::memory_order_relaxed);
    next->on_cpu.store(true, std::memory_order_relaxed);
    next->cpu = &cpu;
    cpu.previous = previous;
    cpu.current = next;
    cpu.context_switches.fetch_add(1, std::memory_order_relaxed);
    update_slice(cpu);
    switch_context(&previous->saved_rsp, next->saved_rsp);
    // Back on `previous`, possibly on another CPU.
    finish_switch();
}

[[noreturn]] void idle_loop()
{
    for (;;) {
        arch::disable_interrupts();
        Cpu& cpu = this_cpu();
        switch_to_next(false);
        // Nothing to run: halt until an interrupt (sti; hlt is atomic, so an
        // IPI sent after the check above still wakes us).
        if (cpu.run_queue_length.load(std::memory_order_relaxed) == 0)
            arch::wait_for_interrupt();
        else
            arch::enable_interrupts();
    }
}

void free_stack(Thread* thread)
{
    if (!thread->stack_base)
        return;
    arch::restore_guard_page(thread->stack_base);
    if (memory::pages().free(thread->stack_base, thread->stack_pages).is_error())
        log::error("sched: stack of thread {} was not allocated", thread->id);
}

void release(Thread* thread)
{
    if (thread->references.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
    if (thread == &g_main_thread) {
        log::error("sched: the main thread lost its last reference; it is not freed");
        return;
    }
    free_stack(thread);
    delete static_cast<WaitQueue*>(thread->exit_waiters);
    g_alive.fetch_sub(1, std::memory_order_relaxed);
    delete thread;
}

[[noreturn]] void exit_current()
{
    Thread* self = current();
    self->exited.store(true, std::memory_order_release);
    static_cast<WaitQueue*>(self->exit_waiters)->wake_all();
    arch::disable_interrupts();
    self->state.store(ThreadState::Exited, std::memory_order_relaxed);
    switch_to_next(false);
    panic("sched: an exited thread was scheduled again");
}

// Turns the context running on this CPU into `thread`.
void adopt_running_context(Thread& thread, WaitQueue& exit_waiters, const char* name, bool idle)
{
    thread.exit_waiters = &exit_waiters;
    thread.state.store(ThreadState::Running);
    thread.on_cpu.store(true);
    thread.pinned_cpu = idle ? int(this_cpu().index) : -1;
    thread.cpu = &this_cpu();
    thread.id = g_next_id.fetch_add(1);
    thread.references.store(idle ? 1 : 2);
    thread.idle = idle;
    set_name(thread, name);
    g_alive.fetch_add(1);
}

void prepare_cpu(Cpu& cpu, clock::Timer& slice_timer) { cpu.slice_timer = &slice_timer; }

// A thread ready to run but not yet queued anywhere.
Result<Thread*> build_thread(void (*entry)(void*), void* argument, const CreateOptions& options)
{
    if (options.cpu >= 0 && (unsigned(options.cpu) >= cpus::configured() || !cpus::by_index(unsigned(options.cpu))->online.load())) {
        log::error("sched: cannot pin thread '{}' to CPU {}: not online", options.name, options.cpu);
        return Error::InvalidArgument;
    }
    size_t stack_pages = (options.stack_size + page - 1) / page;
    if (stack_pages < 2)
        stack_pages = 2;
    stack_pages += 1; // guard page below the stack
    auto* thread = new (std::nothrow) Thread {};
    if (!thread)
        return Error::OutOfMemory;
    auto stack = memory::pages().allocate(stack_pages);
    thread->exit_waiters = new (std::nothrow) WaitQueue {};
    if (stack.is_error() || !thread->exit_waiters) {
        delete static_cast<WaitQueue*>(thread->exit_waiters);
        delete thread;
        log::warn("sched: out of memory creating thread '{}'", options.name);
        return Error::OutOfMemory;
    }
    thread->stack_base = *stack;
    thread->stack_pages = stack_pages;
    // An overflow hits the unmapped guard page and faults with a report,
    // instead of silently corrupting whatever lies below.
    arch::remove_guard_page(thread->stack_base);

    uint64_t top = thread->stack_base + stack_pages * page;
    auto* frame = reinterpret_cast<uint64_t*>(top);
    frame[-1] = reinterpret_cast<uint64_t>(thread_trampoline);
    for (int i = 2; i <= 7; ++i)
        frame[-i] = 0; // rbp rbx r12 r13 r14 r15
    frame[-9] = 0x1f80; // MXCSR: all exceptions masked
    frame[-8] = 0x037f; // x87 control word
    thread->saved_rsp = top - 9 * sizeof(uint64_t);

    thread->entry = entry;
    thread->argument = argument;
    thread->pinned_cpu = options.cpu;
    thread->id = g_next_id.fetch_add(1);
    thread->references.store(2); // the running thread and the creator's handle
    set_name(*thread, options.name);
    thread->state.store(ThreadState::Runnable);
    g_created.fetch_add(1);
    g_alive.fetch_add(1);
    return thread;
}

// Undoes build_thread() for a thread that never ran.
void discard_unstarted(Thread* thread)
{
    free_stack(thread);
    delete static_cast<WaitQueue*>(thread->exit_waiters);
    g_created.fetch_sub(1, std::memory_order_relaxed);
    g_alive.fetch_sub(1, std::memory_order_relaxed);
    delete thread;
}

// The boot CPU idles on a thread of its own, with a stack of its own, made
// the first time anything could need it: a boot that never waits and never
// starts a thread (hello) does not pay for it. Built with no lock held and
// interrupts as the caller has them (unmapping the stack's guard page shoots
// down other CPUs' TLBs); if two callers race, the loser's copy is discarded.
std::atomic<bool> g_idle_failure_reported { false };
bool ensure_boot_idle_thread()
{
    Cpu* boot = cpus::by_index(0);
    if (boot->idle_thread.load(std::memory_order_acquire))
        return true;
    CreateOptions options { "idle0", 0, 16 * 1024 };
    auto idle = build_thread([](void*) { idle_loop(); }, nullptr, options);
    if (idle.is_error()) {
        if (!g_idle_failure_reported.exchange(true))
            log::error("sched: cannot create the boot CPU's idle thread: {}; its waits halt in place", error_name(idle.error()));
        return false;
    }
    (*idle)->idle = true;
    (*idle)->references.store(1); // nobody joins an idle thread
    Thread* expected = nullptr;
    if (!boot->idle_thread.compare_exchange_strong(expected, *idle, std::memory_order_acq_rel))
        discard_unstarted(*idle);
    return true;
}

} // namespace

extern "C" void thread_first_run()
{
    finish_switch();
    arch::enable_interrupts();
    Thread* self = current();
    self->entry(self->argument);
    exit_current();
}

bool running() { return g_running.load(std::memory_order_acquire); }
Thread* current() { return this_cpu().current; }

void init_boot_cpu()
{
    Cpu& cpu = this_cpu();
    // The boot context keeps running as "main". Its CPU's idle thread comes
    // later, from ensure_boot_idle_thread().
    g_main_thread.cpu = &cpu;
    cpu.current = &g_main_thread;
    prepare_cpu(cpu, g_boot_slice_timer);
    g_running.store(true, std::memory_order_release);
}

[[noreturn]] void run_secondary_cpu()
{
    Cpu& cpu = this_cpu();
    auto* idle = new (std::nothrow) Thread {};
    auto* exit_waiters = new (std::nothrow) WaitQueue {};
    auto* slice_timer = new (std::nothrow) clock::Timer {};
    if (!idle || !exit_waiters || !slice_timer)
        panic("sched: out of memory starting CPU {}", cpu.index);
    adopt_running_context(*idle, *exit_waiters, "idle", true);
    prepare_cpu(cpu, *slice_timer);
    cpu.idle_thread.store(idle, std::memory_order_release);
    cpu.current = idle;
    cpus::set_online(cpu);
    idle_loop();
}

bool can_block() { return running() && ensure_boot_idle_thread(); }

bool current_is_main() { return current() == &g_main_thread; }

Result<Thread*> create(void (*entry)(void*), void* argument, const CreateOptions& options)
{
    // A new thread may run, block or exit on the boot CPU, or leave main
    // waiting for it there: from now on that CPU may have to idle.
    if (!ensure_boot_idle_thread())
        return Error::OutOfMemory;
    Thread* thread = TRY(build_thread(entry, argument, options));
    make_runnable(thread);
    // Threads take turns by the timer interrupt. Main may never have had
    // interrupts on (they come up on first need): it gets them now, as every
    // other thread has from its first run. create() is not called under a
    // spinlock (it allocates), so main's interrupts being off means just that.
    if (current() == &g_main_thread && !arch::interrupts_enabled())
        arch::enable_interrupts();
    return thread;
}

Result<void> join(Thread* thread)
{
    if (!thread)
        return Error::InvalidArgument;
    if (thread == current()) {
        log::error("sched: thread {} tried to join itself", thread->id);
        return Error::InvalidArgument;
    }
    static_cast<WaitQueue*>(thread->exit_waiters)->wait_until([thread] { return thread->exited.load(std::memory_order_acquire); });
    release(thread);
    return ok();
}

void detach(Thread* thread)
{
    if (thread)
        release(thread);
}

void yield()
{
    bool were_enabled = cpu_hooks::save_and_disable_interrupts();
    switch_to_next(true);
    cpu_hooks::restore_interrupts(were_enabled);
}

void prepare_to_block() { current()->state.store(ThreadState::Blocked, std::memory_order_relaxed); }

void block_and_unlock(IrqSpinLock& lock, bool interrupts_were_enabled)
{
    // Interrupts stay off from here until we run again.
    lock.unlock(false);
    switch_to_next(false);
    cpu_hooks::restore_interrupts(interrupts_were_enabled);
}

void wake(Thread* thread)
{
    ThreadState expected = ThreadState::Blocked;
    if (!thread->state.compare_exchange_strong(expected, ThreadState::Runnable, std::memory_order_acq_rel))
        return;
    bool were_enabled = cpu_hooks::save_and_disable_interrupts();
    make_runnable(thread);
    cpu_hooks::restore_interrupts(were_enabled);
}

void sleep_ns(uint64_t ns)
{
    if (!can_block()) {
        clock::sleep_in_place(ns);
        return;
    }
    Thread* self = current();
    uint64_t deadline = clock::now_ns() + ns;
    bool were_enabled = cpu_hooks::save_and_disable_interrupts();
    prepare_to_block();
    // The timer fires on this CPU, which cannot take interrupts until we
    // have switched away: the wake-up cannot come too early.
    clock::timer_start(self->sleep_timer, deadline, [](void* thread) { wake(static_cast<Thread*>(thread)); }, self);
    switch_to_next(false);
    cpu_hooks::restore_interrupts(were_enabled);
}

void preempt_if_needed(bool interrupted_context_had_interrupts_on)
{
    if (!running() || !interrupted_context_had_interrupts_on)
        return;
    Cpu& cpu = this_cpu();
    if (!cpu.need_resched.load(std::memory_order_relaxed) || cpu.preempt_disabled)
        return;
    switch_to_next(true);
}

void reschedule_interrupt()
{
    Cpu& cpu = this_cpu();
    if (cpu.current && cpu.current->idle)
        cpu.need_resched.store(true);
    else
        update_slice(cpu);
}

Statistics statistics() { return { g_created.load(), g_alive.load() }; }

} // namespace skiff::sched
