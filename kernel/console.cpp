#include "kernel/console.h"

#include "arch/x86_64/arch.h"
#include "lib/log.h"
#include "lib/spinlock.h"

namespace skiff::console {

namespace {
IrqSpinLock g_lock;

// Lines are built with their newline in the buffer, so that each goes to the
// UART in one write.
void write_whole_line(std::string_view line_and_newline)
{
    LockGuard guard(g_lock);
    arch::console_write(line_and_newline);
}

void log_backend(log::Level level, std::string_view line)
{
    char storage[log::max_line + 16];
    FormatBuffer buffer(storage, sizeof(storage) - 1);
    format_to(buffer, "[{}] {}", log::level_name(level), line);
    storage[buffer.length()] = '\n';
    write_whole_line({ storage, buffer.length() + 1 });
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
    FormatBuffer buffer(storage, sizeof(storage) - 1); // room for the newline
    format_detail::format_arguments(buffer, fmt, args, count);
    storage[buffer.length()] = '\n';
    write_whole_line({ storage, buffer.length() + 1 });
}

void write_line(std::string_view line)
{
    LockGuard guard(g_lock);
    arch::console_write(line);
    arch::console_write("\n");
}

} // namespace skiff::console
