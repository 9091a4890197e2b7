#include "arch/x86_64/boot/boot_protocols.h"
#include "arch/x86_64/boot/protocol_structs.h"
#include "lib/log.h"

#include <cstring>

namespace skiff::boot {

namespace {

template<typename T>
T field(const uint8_t* page, size_t offset)
{
    T value;
    std::memcpy(&value, page + offset, sizeof(T));
    return value;
}

} // namespace

Result<void> convert_linux64(const PhysicalMemory& memory, uint64_t boot_params, BootInfo& info)
{
    [[gnu::section(".noinit")]] static uint8_t page[zero_page::size];
    if (!memory.read(boot_params, page, sizeof(page))) {
        log::error("linux64: boot_params at {:#x} is not readable", boot_params);
        return Error::Corrupt;
    }
    if (field<uint32_t>(page, zero_page::header_magic) != zero_page::header_magic_value) {
        log::error("linux64: boot_params has no HdrS setup header (magic {:#x})", field<uint32_t>(page, zero_page::header_magic));
        return Error::Corrupt;
    }

    uint64_t cmdline = field<uint32_t>(page, zero_page::cmd_line_ptr) | (uint64_t(field<uint32_t>(page, zero_page::ext_cmd_line_ptr)) << 32);
    if (cmdline != 0) {
        // cmdline_size is the loader's limit; when absent, Linux assumes 2048.
        uint32_t limit = field<uint32_t>(page, zero_page::cmdline_size);
        if (limit == 0 || limit > BootInfo::max_command_line)
            limit = limit == 0 ? 2048 : BootInfo::max_command_line;
        // Scratch, written before it is read: not worth zeroing at boot.
        [[gnu::section(".noinit")]] static char text[BootInfo::max_command_line + 1];
        size_t length = 0;
        while (length < limit) {
            char c;
            if (!memory.read(cmdline + length, &c, 1) || c == '\0')
                break;
            text[length++] = c;
        }
        boot_info_set_command_line(info, text, length);
    }

    info.acpi_rsdp = field<uint64_t>(page, zero_page::acpi_rsdp_addr);

    uint8_t entries = field<uint8_t>(page, zero_page::e820_entries);
    if (entries == 0) {
        log::error("linux64: boot_params has an empty e820 table");
        return Error::Corrupt;
    }
    if (entries > zero_page::e820_max_entries) {
        log::warn("linux64: e820 count {} exceeds the table, using {}", entries, zero_page::e820_max_entries);
        entries = zero_page::e820_max_entries;
    }
    for (size_t i = 0; i < entries; ++i) {
        auto entry = field<E820Entry>(page, zero_page::e820_table + i * sizeof(E820Entry));
        boot_info_add_memory(info, entry.addr, entry.size, memory_type_from_e820(entry.type));
    }

    uint64_t ramdisk = field<uint32_t>(page, zero_page::ramdisk_image) | (uint64_t(field<uint32_t>(page, zero_page::ext_ramdisk_image)) << 32);
    uint64_t ramdisk_size = field<uint32_t>(page, zero_page::ramdisk_size) | (uint64_t(field<uint32_t>(page, zero_page::ext_ramdisk_size)) << 32);
    if (ramdisk != 0 && ramdisk_size != 0)
        boot_info_add_module(info, ramdisk, ramdisk_size, "initrd", 6);
    return ok();
}

} // namespace skiff::boot
