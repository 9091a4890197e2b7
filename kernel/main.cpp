#include "arch/x86_64/arch.h"
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/kernel.h"
#include "lib/log.h"

#include <skiff/system.h>

namespace skiff {

namespace {
const BootInfo* g_boot;
}

SystemInfo system_info()
{
    return { boot_protocol_name(g_boot->protocol), 1, 0, 0 };
}

[[noreturn]] void kernel_main(const BootInfo& boot_info)
{
    g_boot = &boot_info;
    log::info("boot: entered through {}, command line '{}'", boot_protocol_name(boot_info.protocol), boot_info.command_line_view());
    for (size_t i = 0; i < boot_info.memory_range_count; ++i)
        log::info("boot: memory {:#x}-{:#x} type {}", boot_info.memory_map[i].base, boot_info.memory_map[i].end(), int(boot_info.memory_map[i].type));
    static char name[] = "hello";
    static char* argv[] = { name, nullptr };
    int status = main(1, argv);
    arch::power_off(status);
}

} // namespace skiff
