#include "kernel/sync/mutex.h"

#include "arch/x86_64/cpu.h"

namespace skiff {

bool Mutex::try_lock()
{
    sched::Thread* expected = nullptr;
    // Before the scheduler runs there is one context; any non-null marker works.
    sched::Thread* self = sched::running() ? sched::current() : reinterpret_cast<sched::Thread*>(1);
    return m_owner.compare_exchange_strong(expected, self, std::memory_order_acquire, std::memory_order_relaxed);
}

void Mutex::lock()
{
    // A short spin covers the common case of a lock held for a few
    // instructions by a thread on another CPU.
    for (int i = 0; i < 64; ++i) {
        if (try_lock())
            return;
        x86::pause();
    }
    m_waiters.wait_until([this] { return try_lock(); });
}

void Mutex::unlock()
{
    m_owner.store(nullptr, std::memory_order_release);
    m_waiters.wake_one();
}

void ConditionVariable::wait(Mutex& mutex)
{
    uint64_t ticket = m_sequence.load(std::memory_order_acquire);
    mutex.unlock();
    m_waiters.wait_until([&] { return m_sequence.load(std::memory_order_acquire) != ticket; });
    mutex.lock();
}

void ConditionVariable::notify_one()
{
    m_sequence.fetch_add(1, std::memory_order_acq_rel);
    m_waiters.wake_one();
}

void ConditionVariable::notify_all()
{
    m_sequence.fetch_add(1, std::memory_order_acq_rel);
    m_waiters.wake_all();
}

bool Semaphore::try_acquire()
{
    int64_t count = m_count.load(std::memory_order_relaxed);
    while (count > 0) {
        if (m_count.compare_exchange_weak(count, count - 1, std::memory_order_acquire))
            return true;
    }
    return false;
}

void Semaphore::acquire() { m_waiters.wait_until([this] { return try_acquire(); }); }

void Semaphore::release(int64_t count)
{
    m_count.fetch_add(count, std::memory_order_release);
    for (int64_t i = 0; i < count; ++i)
        m_waiters.wake_one();
}

} // namespace skiff
