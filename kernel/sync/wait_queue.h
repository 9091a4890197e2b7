// Threads waiting for a condition. The condition is checked under the
// queue's lock, and wakers take the same lock, so no wake-up is lost between
// a waiter's check and its sleep.
#pragma once

#include "kernel/sched/thread.h"
#include "lib/spinlock.h"

namespace skiff {

class WaitQueue {
public:
    // Returns once done() is true. done() runs with the queue locked and
    // interrupts off: it must be short and must not block.
    template<typename Done>
    void wait_until(Done&& done)
    {
        // Whether this wait can block is settled the first time it has to,
        // with no lock held (the boot CPU's idle thread may be made then).
        bool checked = false, can_block = false;
        for (;;) {
            bool were_enabled = m_lock.lock();
            if (done()) {
                m_lock.unlock(were_enabled);
                return;
            }
            if (!can_block) {
                m_lock.unlock(were_enabled);
                if (!checked) {
                    checked = true;
                    can_block = sched::can_block();
                    if (can_block)
                        continue;
                }
                // Early boot (or no idle thread): nothing to switch to;
                // sleep until an interrupt and look again.
                idle_wait();
                continue;
            }
            sched::Thread* self = sched::current();
            sched::prepare_to_block();
            self->wait_next = nullptr;
            if (m_tail)
                m_tail->wait_next = self;
            else
                m_head = self;
            m_tail = self;
            sched::block_and_unlock(m_lock, were_enabled);
        }
    }

    void wake_one();
    void wake_all();

private:
    static void idle_wait();
    void remove_locked(sched::Thread* thread);

    IrqSpinLock m_lock;
    sched::Thread* m_head { nullptr };
    sched::Thread* m_tail { nullptr };
};

} // namespace skiff
