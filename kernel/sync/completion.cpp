#include "kernel/sync/completion.h"

#include "kernel/sync/wait_queue.h"

namespace skiff {

void Completion::complete()
{
    m_done.store(true, std::memory_order_release);
    m_waiters.wake_all();
}

void Completion::wait()
{
    m_waiters.wait_until([this] { return m_done.load(std::memory_order_acquire); });
}

} // namespace skiff
