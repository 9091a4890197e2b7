// The application API's threads, on the kernel scheduler.
#include "kernel/panic.h"

#include <skiff/thread.h>

namespace skiff {

unsigned cpu_count() { return cpus::count(); }
unsigned current_cpu() { return this_cpu().index; }
void yield() { sched::yield(); }

Thread& Thread::operator=(Thread&& other)
{
    if (m_handle)
        panic("skiff::Thread {} assigned over while still joinable", id());
    m_handle = std::exchange(other.m_handle, nullptr);
    return *this;
}

Thread::~Thread()
{
    // Like std::thread: forgetting to join or detach is a bug.
    if (m_handle)
        panic("skiff::Thread {} destroyed while still joinable", m_handle->id);
}

Result<void> Thread::join()
{
    if (!m_handle)
        return Error::InvalidArgument;
    auto result = sched::join(m_handle);
    m_handle = nullptr;
    return result;
}

void Thread::detach()
{
    sched::detach(std::exchange(m_handle, nullptr));
}

uint64_t Thread::id() const { return m_handle ? m_handle->id : 0; }

} // namespace skiff
