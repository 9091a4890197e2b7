#include "arch/x86_64/boot/boot_protocols.h"
#include "arch/x86_64/boot/protocol_structs.h"
#include "lib/log.h"
#include "lib/one_test.h"

#include <algorithm>
#include <iterator>

namespace skiff::boot {

MemoryType memory_type_from_e820(uint32_t type)
{
    // 0, 2 and anything unknown (clamped to the last slot) are reserved. A
    // lookup rather than a switch: no branch per memory-map entry on the boot path.
    static constexpr MemoryType types[] = { MemoryType::Reserved, MemoryType::Usable, MemoryType::Reserved,
        MemoryType::AcpiReclaimable, MemoryType::AcpiNvs, MemoryType::Unusable, MemoryType::Reserved };
    return types[std::min<uint32_t>(type, std::size(types) - 1)];
}

namespace {

// Copies a NUL-terminated string of at most `max` bytes out of loader memory.
[[gnu::always_inline]] inline size_t read_string(const PhysicalMemory& memory, uint64_t address, char* out, size_t max)
{
    size_t length = 0;
    while (length + 1 < max) {
        char c;
        if (!memory.read(address + length, &c, 1) || c == '\0')
            break;
        out[length++] = c;
    }
    out[length] = '\0';
    return length;
}

} // namespace

Result<void> convert_pvh(const PhysicalMemory& memory, uint64_t start_info_address, BootInfo& info)
{
    HvmStartInfo start; // filled by the read, or not used
    if (!memory.read(start_info_address, &start, sizeof(start))) {
        log::error("pvh: start info at {:#x} is not readable", start_info_address);
        return Error::Corrupt;
    }
    if (start.magic != hvm_start_magic) {
        log::error("pvh: bad start info magic {:#x}", start.magic);
        return Error::Corrupt;
    }

    if (start.cmdline_paddr != 0) {
        // Straight into BootInfo; a line that fills it is cut there.
        auto& line = info.command_line;
        size_t length = read_string(memory, start.cmdline_paddr, line.data(), line.size());
        info.command_line_length = length;
        char next;
        info.command_line_truncated = length + 1 == line.size()
            && memory.read(start.cmdline_paddr + length, &next, 1) && next != '\0';
    }
    info.acpi_rsdp = start.rsdp_paddr;

    if (as_one_test((start.version < 1) | (start.memmap_paddr == 0) | (start.memmap_entries == 0))) {
        log::error("pvh: start info version {} carries no memory map", start.version);
        return Error::Unsupported;
    }
    if (start.memmap_entries > 4 * BootInfo::max_memory_ranges)
        log::warn("pvh: {} memory map entries, keeping {}", start.memmap_entries, BootInfo::max_memory_ranges);
    uint32_t count = start.memmap_entries;
    if (count > BootInfo::max_memory_ranges)
        count = BootInfo::max_memory_ranges;
    for (uint32_t i = 0; i < count; ++i) {
        HvmMemmapEntry entry;
        if (!memory.read(start.memmap_paddr + uint64_t(i) * sizeof(entry), &entry, sizeof(entry))) {
            log::error("pvh: memory map entry {} is not readable", i);
            return Error::Corrupt;
        }
        boot_info_add_memory(info, entry.addr, entry.size, memory_type_from_e820(entry.type));
    }

    if (start.nr_modules != 0 && start.modlist_paddr != 0) {
        uint32_t modules = start.nr_modules;
        if (modules > BootInfo::max_modules) {
            log::warn("pvh: {} modules, keeping {}", modules, BootInfo::max_modules);
            modules = BootInfo::max_modules;
        }
        for (uint32_t i = 0; i < modules; ++i) {
            HvmModlistEntry entry;
            if (!memory.read(start.modlist_paddr + uint64_t(i) * sizeof(entry), &entry, sizeof(entry))) {
                log::error("pvh: module entry {} is not readable", i);
                return Error::Corrupt;
            }
            char name[64] = "";
            if (entry.cmdline_paddr)
                read_string(memory, entry.cmdline_paddr, name, sizeof(name));
            boot_info_add_module(info, entry.paddr, entry.size, name, sizeof(name));
        }
    }
    return ok();
}

} // namespace skiff::boot
