// Leveled, line-atomic logging. Portable code logs through this header only;
// where the lines go is decided by the backend: the serial console in the
// image, a capture buffer or stderr in host tests.
//
//   log::warn("cmdline: {} has no value, using default {}", key, fallback);
#pragma once

#include "lib/format.h"

#include <string_view>

namespace skiff::log {

enum class Level : uint8_t { Error = 0, Warn = 1, Info = 2, Debug = 3 };

constexpr std::string_view level_name(Level level)
{
    switch (level) {
    case Level::Error: return "error";
    case Level::Warn: return "warn";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
    }
    return "?";
}

// Receives one complete line (without newline). Must be safe to call from any
// CPU; the backend serialises lines so they never interleave.
using Backend = void (*)(Level level, std::string_view line);

void set_backend(Backend backend);
void set_level(Level max_level);
Level level();
bool enabled(Level level);
void emit(Level level, std::string_view line);

constexpr size_t max_line = 256;

// Formats one line (at most max_line bytes) and emits it.
void write_arguments(Level lvl, std::string_view fmt, const format_detail::Argument* args, size_t count);

template<typename... Args>
void write(Level lvl, std::string_view fmt, const Args&... args)
{
    if (!enabled(lvl))
        return;
    with_arguments([lvl](std::string_view f, const format_detail::Argument* list, size_t count) {
        write_arguments(lvl, f, list, count);
    }, fmt, args...);
}

template<typename... Args>
void error(std::string_view fmt, const Args&... args) { write(Level::Error, fmt, args...); }
template<typename... Args>
void warn(std::string_view fmt, const Args&... args) { write(Level::Warn, fmt, args...); }
template<typename... Args>
void info(std::string_view fmt, const Args&... args) { write(Level::Info, fmt, args...); }
template<typename... Args>
void debug(std::string_view fmt, const Args&... args) { write(Level::Debug, fmt, args...); }

} // namespace skiff::log
