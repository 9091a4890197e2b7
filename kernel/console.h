// The kernel console: whole lines, never interleaved between CPUs. Also the
// backend of lib/log in the image.
#pragma once

#include "lib/format.h"

#include <string_view>

namespace skiff::console {

void init();
// Writes text followed by a newline, atomically with respect to other lines.
void write_line(std::string_view line);

// Formats one line (at most 512 bytes) and writes it.
void print_arguments(std::string_view fmt, const format_detail::Argument* args, size_t count);

template<typename... Args>
void print(std::string_view fmt, const Args&... args)
{
    with_arguments(print_arguments, fmt, args...);
}

} // namespace skiff::console
