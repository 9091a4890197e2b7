#include "kernel/sync/wait_queue.h"

#include "arch/x86_64/arch.h"

namespace skiff {

void WaitQueue::idle_wait() { arch::wait_for_interrupt(); }

void WaitQueue::wake_one()
{
    bool were_enabled = m_lock.lock();
    sched::Thread* thread = m_head;
    if (thread) {
        m_head = thread->wait_next;
        if (!m_head)
            m_tail = nullptr;
        thread->wait_next = nullptr;
    }
    m_lock.unlock(were_enabled);
    if (thread)
        sched::wake(thread);
}

void WaitQueue::wake_all()
{
    bool were_enabled = m_lock.lock();
    sched::Thread* list = m_head;
    m_head = m_tail = nullptr;
    m_lock.unlock(were_enabled);
    while (list) {
        sched::Thread* next = list->wait_next;
        list->wait_next = nullptr;
        sched::wake(list);
        list = next;
    }
}

} // namespace skiff
