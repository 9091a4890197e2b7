// kernel/sync/completion.h for host tests: the waiter spins with yields
// (the image halts until an interrupt instead). Simulated devices complete
// requests from their own thread or from the test itself.
#include "kernel/sync/completion.h"

#include <thread>

namespace skiff {

void Completion::complete() { m_done.store(true, std::memory_order_release); }

void Completion::wait()
{
    while (!m_done.load(std::memory_order_acquire))
        std::this_thread::yield();
}

} // namespace skiff
