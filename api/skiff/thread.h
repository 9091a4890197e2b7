// Threads and synchronisation for applications.
//
//   auto worker = skiff::Thread::start([&] { ... }, { .name = "worker", .cpu = 1 });
//   if (!worker) ...            // Result<Thread>: out of memory, bad CPU
//   worker->join();
//
// Threads are preemptive (10 ms slices among threads sharing a CPU) and may
// run on any CPU unless pinned with `.cpu`. A Thread must be joined or
// detached before it is destroyed.
#pragma once

#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/mutex.h"
#include "lib/result.h"

#include <array>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace skiff {

// CPUs running Skiff threads.
unsigned cpu_count();
// The CPU the caller runs on now (it may move unless pinned).
unsigned current_cpu();
void yield();

class Thread {
public:
    struct Options {
        const char* name = "thread";
        int cpu = -1; // -1: any CPU
        size_t stack_size = sched::default_stack_size;
    };

    Thread() = default;
    Thread(Thread&& other) noexcept : m_handle(std::exchange(other.m_handle, nullptr)) {}
    Thread& operator=(Thread&& other);
    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;
    ~Thread();

    template<typename F>
    static Result<Thread> start(F&& fn, Options options = {})
    {
        using Body = std::decay_t<F>;
        auto* body = new (std::nothrow) Body(std::forward<F>(fn));
        if (!body)
            return Error::OutOfMemory;
        auto run = [](void* pointer) {
            auto* owned = static_cast<Body*>(pointer);
            (*owned)();
            delete owned;
        };
        auto handle = sched::create(run, body, { options.name, options.cpu, options.stack_size });
        if (handle.is_error()) {
            delete body;
            return handle.error();
        }
        Thread thread;
        thread.m_handle = *handle;
        return thread;
    }

    Result<void> join();
    void detach();
    bool joinable() const { return m_handle != nullptr; }
    uint64_t id() const;

private:
    sched::Thread* m_handle { nullptr };
};

// Runs fn on the given CPU and waits for it to finish.
template<typename F>
Result<void> run_on(unsigned cpu, F&& fn)
{
    Thread thread = TRY(Thread::start(std::forward<F>(fn), { "run_on", int(cpu) }));
    return thread.join();
}

// One T per CPU, each on its own cache line.
template<typename T>
class PerCpu {
public:
    T& local() { return m_slots[current_cpu()].value; }
    T& on(unsigned cpu) { return m_slots[cpu].value; }
    static constexpr size_t capacity() { return Cpu::max_cpus; }

private:
    struct alignas(64) Slot {
        T value {};
    };
    std::array<Slot, Cpu::max_cpus> m_slots {};
};

// Mutex, ConditionVariable, Semaphore and Once are the kernel's own
// (kernel/sync/mutex.h); RAII lock:
template<typename M>
class ScopedLock {
public:
    explicit ScopedLock(M& mutex) : m_mutex(mutex) { m_mutex.lock(); }
    ~ScopedLock() { m_mutex.unlock(); }
    ScopedLock(const ScopedLock&) = delete;
    ScopedLock& operator=(const ScopedLock&) = delete;

private:
    M& m_mutex;
};

} // namespace skiff
