#include "tools/fc-entry-loader/elf_plan.h"

#include "lib/log.h"
#include "tools/fc-entry-loader/firecracker_layout.h"

#include <cstring>

namespace skiff::fc_loader {

namespace {

constexpr uint8_t elf_class_64 = 2;
constexpr uint8_t elf_data_little = 1;
constexpr uint8_t elf_version_current = 1;
constexpr uint16_t elf_type_exec = 2;
constexpr uint16_t elf_machine_x86_64 = 62;
constexpr uint32_t pt_load = 1;

template<typename T>
T read_le(std::span<const uint8_t> bytes, size_t offset)
{
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

// a + b <= limit, without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

} // namespace

Result<ElfHeaderInfo> parse_elf_header(std::span<const uint8_t> header, uint64_t file_size)
{
    if (header.size() < elf_header_size || file_size < elf_header_size) {
        log::error("kernel: {} bytes is too small for an ELF header", file_size);
        return Error::Corrupt;
    }
    if (header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F') {
        log::error("kernel: not an ELF file (magic {:02x} {:02x} {:02x} {:02x})", header[0], header[1], header[2],
            header[3]);
        return Error::Corrupt;
    }
    if (header[4] != elf_class_64) {
        log::error("kernel: ELF class {} is not 64-bit", header[4]);
        return Error::Unsupported;
    }
    if (header[5] != elf_data_little) {
        log::error("kernel: ELF data encoding {} is not little-endian", header[5]);
        return Error::Unsupported;
    }
    if (header[6] != elf_version_current || read_le<uint32_t>(header, 20) != elf_version_current) {
        log::error("kernel: unknown ELF version");
        return Error::Unsupported;
    }
    uint16_t type = read_le<uint16_t>(header, 16);
    if (type != elf_type_exec) {
        log::error("kernel: ELF type {} is not ET_EXEC", type);
        return Error::Unsupported;
    }
    uint16_t machine = read_le<uint16_t>(header, 18);
    if (machine != elf_machine_x86_64) {
        log::error("kernel: ELF machine {} is not x86_64", machine);
        return Error::Unsupported;
    }

    ElfHeaderInfo info {};
    info.entry = read_le<uint64_t>(header, 24);
    info.program_header_offset = read_le<uint64_t>(header, 32);
    uint16_t entry_size = read_le<uint16_t>(header, 54);
    info.program_header_count = read_le<uint16_t>(header, 56);
    if (entry_size != elf_program_header_size) {
        log::error("kernel: program header size {} is not {}", entry_size, elf_program_header_size);
        return Error::Corrupt;
    }
    if (info.program_header_count == 0 || info.program_header_count > max_program_headers) {
        log::error("kernel: {} program headers (want 1..{})", info.program_header_count, max_program_headers);
        return Error::Corrupt;
    }
    if (!fits(info.program_header_offset, info.program_headers_size(), file_size)) {
        log::error("kernel: program headers at {:#x} run past the end of the {}-byte file", info.program_header_offset,
            file_size);
        return Error::Corrupt;
    }
    return info;
}

Result<LoadPlan> plan_load(const ElfHeaderInfo& header, std::span<const uint8_t> program_headers, uint64_t file_size,
    const E820Map& e820)
{
    if (program_headers.size() < header.program_headers_size()) {
        log::error("kernel: program header table truncated");
        return Error::Corrupt;
    }
    LoadPlan plan {};
    plan.entry = header.entry;
    for (size_t i = 0; i < header.program_header_count; ++i) {
        auto ph = program_headers.subspan(i * elf_program_header_size, elf_program_header_size);
        if (read_le<uint32_t>(ph, 0) != pt_load)
            continue;
        LoadSegment segment {};
        segment.file_offset = read_le<uint64_t>(ph, 8);
        segment.address = read_le<uint64_t>(ph, 24);
        segment.file_size = read_le<uint64_t>(ph, 32);
        segment.memory_size = read_le<uint64_t>(ph, 40);

        if (segment.file_size > segment.memory_size) {
            log::error("kernel: segment {} has file size {:#x} above its memory size {:#x}", i, segment.file_size,
                segment.memory_size);
            return Error::Corrupt;
        }
        if (!fits(segment.file_offset, segment.file_size, file_size)) {
            log::error("kernel: segment {} bytes [{:#x}, +{:#x}) run past the end of the {}-byte file", i,
                segment.file_offset, segment.file_size, file_size);
            return Error::Corrupt;
        }
        if (segment.memory_size == 0)
            continue;
        if (segment.address < fc::himem_start) {
            log::error("kernel: segment {} at {:#x} is below 1 MiB, over the boot structures and the loader",
                i, segment.address);
            return Error::OutOfRange;
        }
        if (!fits(segment.address, segment.memory_size, loadable_limit)) {
            log::error("kernel: segment {} at {:#x}+{:#x} ends above 4 GiB (not supported by this loader)", i,
                segment.address, segment.memory_size);
            return Error::OutOfRange;
        }
        if (!e820.ram_contains(segment.address, segment.memory_size)) {
            log::error("kernel: segment {} at [{:#x}, {:#x}) is not inside guest RAM", i, segment.address,
                segment.address + segment.memory_size);
            return Error::OutOfRange;
        }
        if (plan.count == max_load_segments) {
            log::error("kernel: more than {} loadable segments", max_load_segments);
            return Error::Corrupt;
        }
        plan.segments[plan.count++] = segment;
    }
    if (plan.count == 0) {
        log::error("kernel: no loadable segments");
        return Error::Corrupt;
    }

    // Firecracker jumps to e_entry as a physical address with only 1 GiB
    // mapped; an entry outside every segment means a virtual e_entry.
    if (plan.entry < fc::himem_start || plan.entry >= fc::identity_map_size) {
        log::error("kernel: entry {:#x} is outside [1 MiB, 1 GiB), the identity-mapped range", plan.entry);
        return Error::InvalidArgument;
    }
    bool entry_loaded = false;
    for (size_t i = 0; i < plan.count; ++i) {
        const auto& s = plan.segments[i];
        if (plan.entry >= s.address && plan.entry - s.address < s.memory_size)
            entry_loaded = true;
    }
    if (!entry_loaded) {
        log::error("kernel: entry {:#x} is not inside any loaded segment (is e_entry a virtual address?)", plan.entry);
        return Error::InvalidArgument;
    }
    return plan;
}

} // namespace skiff::fc_loader
