// Leveled, line-atomic logging. Portable code logs through this header only;
// where the lines go is decided by the backend: the serial console in the
// image, a capture buffer or stderr in host tests.
//
//   log::warn("cmdline: {} has no value, using default {}", key, fallback);
#pragma once

#include "lib/format.h"

#include <atomic>
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

namespace detail {
inline std::atomic<uint8_t> max_level { static_cast<uint8_t>(Level::Info) };
} // namespace detail

void set_backend(Backend backend);
void set_level(Level max_level);
Level level();
[[gnu::always_inline]] inline bool enabled(Level lvl)
{
    return static_cast<uint8_t>(lvl) <= detail::max_level.load(std::memory_order_relaxed);
}
void emit(Level level, std::string_view line);

constexpr size_t max_line = 256;

// Formats one line (at most max_line bytes) and emits it.
void write_arguments(Level lvl, std::string_view fmt, const format_detail::Argument* args, size_t count);

// Inlined whole: a line below the level costs its call site one compare,
// before any argument is converted or any call is made.
template<typename... Args>
[[gnu::always_inline]] inline void write(Level lvl, std::string_view fmt, const Args&... args)
{
    if (!enabled(lvl))
        return;
    with_arguments([lvl](std::string_view f, const format_detail::Argument* list, size_t count) {
        write_arguments(lvl, f, list, count);
    }, fmt, args...);
}

template<typename... Args>
[[gnu::always_inline]] inline void error(std::string_view fmt, const Args&... args) { write(Level::Error, fmt, args...); }
template<typename... Args>
[[gnu::always_inline]] inline void warn(std::string_view fmt, const Args&... args) { write(Level::Warn, fmt, args...); }
template<typename... Args>
[[gnu::always_inline]] inline void info(std::string_view fmt, const Args&... args) { write(Level::Info, fmt, args...); }
template<typename... Args>
[[gnu::always_inline]] inline void debug(std::string_view fmt, const Args&... args) { write(Level::Debug, fmt, args...); }

} // namespace skiff::log
