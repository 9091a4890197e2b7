// Blocking synchronisation for threads: Mutex, ConditionVariable, Semaphore,
// Once. Waiters sleep in a WaitQueue; nothing spins for long.
#pragma once

#include "kernel/sync/wait_queue.h"

#include <atomic>
#include <cstdint>

namespace skiff {

class Mutex {
public:
    void lock();
    bool try_lock();
    void unlock();
    bool is_locked() const { return m_owner.load(std::memory_order_relaxed) != nullptr; }

private:
    std::atomic<sched::Thread*> m_owner { nullptr };
    WaitQueue m_waiters;
};

class ConditionVariable {
public:
    // Releases `mutex`, sleeps until notified, re-acquires it. May wake
    // spuriously: wait in a loop on the actual condition.
    void wait(Mutex& mutex);
    void notify_one();
    void notify_all();

private:
    std::atomic<uint64_t> m_sequence { 0 };
    WaitQueue m_waiters;
};

class Semaphore {
public:
    explicit Semaphore(int64_t initial = 0) : m_count(initial) {}
    void acquire();
    bool try_acquire();
    void release(int64_t count = 1);
    int64_t value() const { return m_count.load(std::memory_order_relaxed); }

private:
    std::atomic<int64_t> m_count;
    WaitQueue m_waiters;
};

class Once {
public:
    template<typename F>
    void call(F&& fn)
    {
        if (m_state.load(std::memory_order_acquire) == done)
            return;
        uint8_t expected = idle;
        if (m_state.compare_exchange_strong(expected, running, std::memory_order_acquire)) {
            fn();
            m_state.store(done, std::memory_order_release);
            m_waiters.wake_all();
            return;
        }
        m_waiters.wait_until([this] { return m_state.load(std::memory_order_acquire) == done; });
    }

private:
    static constexpr uint8_t idle = 0, running = 1, done = 2;
    std::atomic<uint8_t> m_state { idle };
    WaitQueue m_waiters;
};

} // namespace skiff
