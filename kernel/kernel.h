// The machine-independent kernel's entry and the statuses it exits with.
#pragma once

#include "kernel/boot_info.h"

namespace skiff {

namespace exit_status {
// Like sysexits.h's EX_SOFTWARE: the kernel itself failed (panic, CPU
// exception, unusable boot information).
constexpr int kernel_failure = 70;
// Too little memory to run.
constexpr int out_of_memory = 71;
} // namespace exit_status

[[noreturn]] void kernel_main(const BootInfo& boot_info);

} // namespace skiff
