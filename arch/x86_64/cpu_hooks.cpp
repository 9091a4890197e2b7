#include "arch/x86_64/cpu.h"
#include "lib/spinlock.h"

namespace skiff::cpu_hooks {

bool save_and_disable_interrupts()
{
    bool were_enabled = x86::interrupts_enabled();
    x86::cli();
    return were_enabled;
}

void restore_interrupts(bool were_enabled)
{
    if (were_enabled)
        x86::sti();
}

void relax() { x86::pause(); }

} // namespace skiff::cpu_hooks
