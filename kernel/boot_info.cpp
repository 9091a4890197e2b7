#include "kernel/boot_info.h"
#include "lib/one_test.h"

namespace skiff {

void boot_info_reset(BootInfo& info, BootProtocol protocol, uint64_t entry_tsc)
{
    info.protocol = protocol;
    info.memory_range_count = 0;
    info.memory_map_truncated = false;
    info.command_line[0] = '\0';
    info.command_line_length = 0;
    info.command_line_truncated = false;
    info.acpi_rsdp = 0;
    info.acpi_rsdp_copy_length = 0;
    info.mp_floating_pointer = 0;
    info.module_count = 0;
    info.modules_truncated = false;
    info.entry_tsc = entry_tsc;
}

void boot_info_add_memory(BootInfo& info, uint64_t base, uint64_t length, MemoryType type)
{
    // Empty ranges are skipped; past the last slot the map is marked truncated.
    // Both in one test: each branch is a translation block on the boot path.
    bool full = info.memory_range_count >= info.memory_map.size();
    if (as_one_test((length == 0) | full)) {
        info.memory_map_truncated |= full & (length != 0);
        return;
    }
    // A range that wraps past 2^64 is clipped, not trusted.
    length = base + length < base ? ~uint64_t(0) - base : length;
    info.memory_map[info.memory_range_count++] = { base, length, type };
}

void boot_info_set_command_line(BootInfo& info, const char* text, size_t max_length)
{
    size_t length = 0;
    if (text) {
        while (length < max_length && text[length] != '\0')
            ++length;
    }
    size_t limit = info.command_line.size() - 1;
    info.command_line_truncated = length > limit;
    if (length > limit)
        length = limit;
    for (size_t i = 0; i < length; ++i)
        info.command_line[i] = text[i];
    info.command_line[length] = '\0';
    info.command_line_length = length;
}

void boot_info_add_module(BootInfo& info, uint64_t base, uint64_t size, const char* name, size_t max_name)
{
    if (info.module_count >= info.modules.size()) {
        info.modules_truncated = true;
        return;
    }
    BootModule& module = info.modules[info.module_count++];
    module.base = base;
    module.size = size;
    size_t i = 0;
    if (name) {
        for (; i < max_name && i + 1 < module.name.size() && name[i] != '\0'; ++i)
            module.name[i] = name[i];
    }
    module.name[i] = '\0';
}

} // namespace skiff
