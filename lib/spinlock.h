// A test-and-test-and-set spinlock, portable between the image and host
// tests. IrqSpinLock additionally keeps local interrupts off while held, so a
// lock shared with interrupt handlers cannot deadlock on its own CPU; on the
// host the interrupt hooks are no-ops.
#pragma once

#include <atomic>

namespace skiff {

namespace cpu_hooks {
// Returns whether interrupts were enabled, and disables them.
bool save_and_disable_interrupts();
void restore_interrupts(bool were_enabled);
void relax(); // a pause hint inside spin loops
} // namespace cpu_hooks

class SpinLock {
public:
    void lock()
    {
        for (;;) {
            if (!m_locked.exchange(true, std::memory_order_acquire))
                return;
            while (m_locked.load(std::memory_order_relaxed))
                cpu_hooks::relax();
        }
    }
    bool try_lock() { return !m_locked.exchange(true, std::memory_order_acquire); }
    void unlock() { m_locked.store(false, std::memory_order_release); }
    bool is_locked() const { return m_locked.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> m_locked { false };
};

class IrqSpinLock {
public:
    // Returns the interrupt state to hand back to unlock().
    bool lock()
    {
        bool were_enabled = cpu_hooks::save_and_disable_interrupts();
        m_lock.lock();
        return were_enabled;
    }
    void unlock(bool were_enabled)
    {
        m_lock.unlock();
        cpu_hooks::restore_interrupts(were_enabled);
    }

private:
    SpinLock m_lock;
};

template<typename Lock>
class [[nodiscard]] LockGuard {
public:
    explicit LockGuard(Lock& lock) : m_lock(lock) { m_lock.lock(); }
    ~LockGuard() { m_lock.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Lock& m_lock;
};

template<>
class [[nodiscard]] LockGuard<IrqSpinLock> {
public:
    explicit LockGuard(IrqSpinLock& lock) : m_lock(lock), m_were_enabled(lock.lock()) {}
    ~LockGuard() { m_lock.unlock(m_were_enabled); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    IrqSpinLock& m_lock;
    bool m_were_enabled;
};

} // namespace skiff
