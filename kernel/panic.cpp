#include "kernel/panic.h"

#include "arch/x86_64/arch.h"
#include "kernel/console.h"
#include "kernel/kernel.h"

#include <atomic>

namespace skiff {

namespace {
std::atomic<bool> g_panicking { false };
}

[[noreturn]] void panic_message(std::string_view message)
{
    if (g_panicking.exchange(true)) {
        // A panic while panicking: don't recurse into the same failure.
        console::write_line("skiff: PANIC (nested)");
        arch::power_off(exit_status::kernel_failure);
    }
    console::print("skiff: PANIC: {}", message);
    arch::print_backtrace(arch::current_frame_pointer());
    arch::power_off(exit_status::kernel_failure);
}

[[noreturn]] void cxxabi_fatal(const char* what) { panic("{}", what); }

} // namespace skiff
