// The kernel console: whole lines, never interleaved between CPUs. Also the
// backend of lib/log in the image.
#pragma once

#include "lib/format.h"

#include <string_view>

namespace skiff::console {

void init();
// Writes text followed by a newline, atomically with respect to other lines.
void write_line(std::string_view line);

template<typename... Args>
void print(std::string_view fmt, const Args&... args)
{
    char storage[512];
    FormatBuffer buffer(storage, sizeof(storage));
    format_to(buffer, fmt, args...);
    write_line(buffer.view());
}

} // namespace skiff::console
