#include "kernel/sync/completion.h"

#include "arch/x86_64/arch.h"

namespace skiff {

void Completion::complete() { m_done.store(true, std::memory_order_release); }

void Completion::wait()
{
    // The signal comes from an interrupt: halt until one arrives and look
    // again. (With threads, this blocks the thread instead.)
    while (!m_done.load(std::memory_order_acquire))
        arch::wait_for_interrupt();
}

} // namespace skiff
