// Printing to the console: whole lines, std::format-like placeholders
// ({} {:x} {:#x} {:08x} {:8} {:<8}).
#pragma once

#include "kernel/console.h"

namespace skiff {

template<typename... Args>
void println(std::string_view fmt, const Args&... args)
{
    console::print(fmt, args...);
}

} // namespace skiff
