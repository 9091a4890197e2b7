// A one-shot event: one side waits, the other (often an interrupt handler)
// signals. The waiter sleeps; it never spins on the device.
#pragma once

#include "kernel/sync/wait_queue.h"

#include <atomic>

namespace skiff {

class Completion {
public:
    // Safe from interrupt handlers and any CPU.
    void complete();
    // Returns once complete() has been called (at once if it already was).
    void wait();
    bool is_complete() const { return m_done.load(std::memory_order_acquire); }
    void reset() { m_done.store(false, std::memory_order_relaxed); }

private:
    std::atomic<bool> m_done { false };
    WaitQueue m_waiters;
};

} // namespace skiff
