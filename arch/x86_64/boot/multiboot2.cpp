#include "arch/x86_64/boot/boot_protocols.h"
#include "arch/x86_64/boot/protocol_structs.h"
#include "lib/log.h"

namespace skiff::boot {

namespace {

constexpr uint32_t max_information_size = 1u << 20;

Result<void> read_memory_map(const PhysicalMemory& memory, uint64_t tag, uint32_t tag_size, BootInfo& info)
{
    Multiboot2MemoryMapHeader header;
    if (tag_size < sizeof(header) || !memory.read(tag, &header, sizeof(header))) {
        log::error("multiboot2: memory map tag is truncated");
        return Error::Corrupt;
    }
    if (header.entry_size < sizeof(Multiboot2MemoryMapEntry) || header.entry_size > 256) {
        log::error("multiboot2: memory map entry size {} is invalid", header.entry_size);
        return Error::Corrupt;
    }
    for (uint64_t offset = sizeof(header); offset + header.entry_size <= tag_size; offset += header.entry_size) {
        Multiboot2MemoryMapEntry entry;
        if (!memory.read(tag + offset, &entry, sizeof(entry))) {
            log::error("multiboot2: memory map entry at {:#x} is not readable", tag + offset);
            return Error::Corrupt;
        }
        boot_info_add_memory(info, entry.base, entry.length, memory_type_from_e820(entry.type));
    }
    return ok();
}

void read_text(const PhysicalMemory& memory, uint64_t address, uint64_t limit, char* out, size_t max, size_t& length)
{
    length = 0;
    while (length + 1 < max && length < limit) {
        char c;
        if (!memory.read(address + length, &c, 1) || c == '\0')
            break;
        out[length++] = c;
    }
    out[length] = '\0';
}

} // namespace

Result<void> convert_multiboot2(const PhysicalMemory& memory, uint32_t magic, uint64_t mbi, BootInfo& info)
{
    if (magic != multiboot2_boot_magic) {
        log::error("multiboot2: bad boot magic {:#x}", magic);
        return Error::Corrupt;
    }
    uint32_t header[2];
    if ((mbi & 7) != 0 || !memory.read(mbi, header, sizeof(header))) {
        log::error("multiboot2: information structure at {:#x} is not readable or misaligned", mbi);
        return Error::Corrupt;
    }
    uint32_t total_size = header[0];
    if (total_size < 16 || total_size > max_information_size) {
        log::error("multiboot2: information structure size {} is invalid", total_size);
        return Error::Corrupt;
    }

    bool have_memory_map = false;
    uint64_t offset = 8;
    while (offset + sizeof(Multiboot2TagHeader) <= total_size) {
        uint64_t tag = mbi + offset;
        Multiboot2TagHeader tag_header;
        if (!memory.read(tag, &tag_header, sizeof(tag_header))) {
            log::error("multiboot2: tag at {:#x} is not readable", tag);
            return Error::Corrupt;
        }
        if (tag_header.type == multiboot2_tag::end)
            break;
        if (tag_header.size < sizeof(tag_header) || tag_header.size > total_size - offset) {
            log::error("multiboot2: tag type {} has invalid size {}", tag_header.type, tag_header.size);
            return Error::Corrupt;
        }
        uint64_t payload = tag + sizeof(tag_header);
        uint32_t payload_size = tag_header.size - sizeof(tag_header);

        switch (tag_header.type) {
        case multiboot2_tag::command_line: {
            // Scratch, written before it is read: not worth zeroing at boot.
            [[gnu::section(".noinit")]] static char text[BootInfo::max_command_line + 1];
            size_t length;
            read_text(memory, payload, payload_size, text, sizeof(text), length);
            boot_info_set_command_line(info, text, length);
            break;
        }
        case multiboot2_tag::memory_map:
            TRY(read_memory_map(memory, tag, tag_header.size, info));
            have_memory_map = true;
            break;
        case multiboot2_tag::module: {
            Multiboot2ModuleHeader module;
            if (tag_header.size < sizeof(module) || !memory.read(tag, &module, sizeof(module)) || module.mod_end < module.mod_start) {
                log::warn("multiboot2: module tag is malformed, ignored");
                break;
            }
            char name[64];
            size_t length;
            read_text(memory, tag + sizeof(module), tag_header.size - sizeof(module), name, sizeof(name), length);
            boot_info_add_module(info, module.mod_start, module.mod_end - module.mod_start, name, length);
            break;
        }
        case multiboot2_tag::acpi_old:
        case multiboot2_tag::acpi_new: {
            // A copy of the RSDP; the newer (XSDT-capable) one wins.
            size_t length = payload_size < info.acpi_rsdp_copy.size() ? payload_size : info.acpi_rsdp_copy.size();
            if (info.acpi_rsdp_copy_length != 0 && tag_header.type == multiboot2_tag::acpi_old)
                break;
            if (length >= 20 && memory.read(payload, info.acpi_rsdp_copy.data(), length))
                info.acpi_rsdp_copy_length = length;
            break;
        }
        default:
            break;
        }
        offset += (tag_header.size + 7) & ~uint64_t(7);
    }

    if (!have_memory_map) {
        log::error("multiboot2: the loader gave no memory map");
        return Error::Unsupported;
    }
    return ok();
}

} // namespace skiff::boot
