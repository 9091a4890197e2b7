// Host stand-ins for the CPU hooks used by lib/spinlock.h.
#include "lib/spinlock.h"

#include <thread>

namespace skiff::cpu_hooks {
bool save_and_disable_interrupts() { return false; }
void restore_interrupts(bool) {}
void relax() { std::this_thread::yield(); }
} // namespace skiff::cpu_hooks
