#include "arch/x86_64/boot/boot_protocols.h"
#include "arch/x86_64/boot/protocol_structs.h"
#include "lib/log.h"

namespace skiff::boot {

MemoryType memory_type_from_e820(uint32_t type)
{
    switch (type) {
    case 1: return MemoryType::Usable;
    case 3: return MemoryType::AcpiReclaimable;
    case 4: return MemoryType::AcpiNvs;
    case 5: return MemoryType::Unusable;
    default: return MemoryType::Reserved; // 2 and anything unknown
    }
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
        // Scratch, written before it is read: not worth zeroing at boot.
        [[gnu::section(".noinit")]] static char text[BootInfo::max_command_line + 1];
        size_t length = read_string(memory, start.cmdline_paddr, text, sizeof(text));
        boot_info_set_command_line(info, text, length);
    }
    info.acpi_rsdp = start.rsdp_paddr;

    if (start.version < 1 || start.memmap_paddr == 0 || start.memmap_entries == 0) {
        log::error("pvh: start info version {} carries no memory map", start.version);
        return Error::Unsupported;
    }
    if (start.memmap_entries > 4 * BootInfo::max_memory_ranges)
        log::warn("pvh: {} memory map entries, keeping {}", start.memmap_entries, BootInfo::max_memory_ranges);
    uint32_t entries = start.memmap_entries;
    if (entries > BootInfo::max_memory_ranges)
        entries = BootInfo::max_memory_ranges;
    for (uint32_t i = 0; i < entries; ++i) {
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
