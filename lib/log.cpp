#include "lib/log.h"

#include <atomic>

namespace skiff::log {

namespace {
std::atomic<Backend> g_backend { nullptr };
} // namespace

void set_backend(Backend backend) { g_backend.store(backend, std::memory_order_release); }
void set_level(Level max_level) { detail::max_level.store(static_cast<uint8_t>(max_level), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(detail::max_level.load(std::memory_order_relaxed)); }

void write_arguments(Level lvl, std::string_view fmt, const format_detail::Argument* args, size_t count)
{
    char storage[max_line];
    FormatBuffer buffer(storage, sizeof(storage));
    format_detail::format_arguments(buffer, fmt, args, count);
    emit(lvl, buffer.view());
}

void emit(Level lvl, std::string_view line)
{
    Backend backend = g_backend.load(std::memory_order_acquire);
    if (backend)
        backend(lvl, line);
}

} // namespace skiff::log
