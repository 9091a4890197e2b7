#include "kernel/console.h"

#include "arch/x86_64/arch.h"
#include "lib/log.h"
#include "lib/spinlock.h"

namespace skiff::console {

namespace {
IrqSpinLock g_lock;

void log_backend(log::Level level, std::string_view line)
{
    char storage[log::max_line + 16];
    FormatBuffer buffer(storage, sizeof(storage));
    format_to(buffer, "[{}] {}", log::level_name(level), line);
    write_line(buffer.view());
}
} // namespace

void init()
{
    arch::console_init();
    log::set_backend(log_backend);
}

void print_arguments(std::string_view fmt, const format_detail::Argument* args, size_t count)
{
    char storage[512];
    FormatBuffer buffer(storage, sizeof(storage));
    format_detail::format_arguments(buffer, fmt, args, count);
    write_line(buffer.view());
}

void write_line(std::string_view line)
{
    LockGuard guard(g_lock);
    arch::console_write(line);
    arch::console_write("\n");
}

} // namespace skiff::console
