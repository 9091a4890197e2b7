// panic(): a bug in Skiff itself, never bad input. Prints the message and a
// backtrace, then powers off with exit_status::kernel_failure.
#pragma once

#include "lib/format.h"

#include <string_view>

namespace skiff {

[[noreturn]] void panic_message(std::string_view message);

template<typename... Args>
[[noreturn]] void panic(std::string_view fmt, const Args&... args)
{
    char storage[256];
    FormatBuffer buffer(storage, sizeof(storage));
    format_to(buffer, fmt, args...);
    panic_message(buffer.view());
}

#define SKIFF_ASSERT(condition)                                                         \
    do {                                                                                \
        if (!(condition)) [[unlikely]]                                                  \
            ::skiff::panic("assertion failed: {} ({}:{})", #condition, __FILE__, __LINE__); \
    } while (0)

} // namespace skiff
