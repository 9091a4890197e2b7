// Validates a kernel ELF the way Firecracker's loader would take it (64-bit,
// x86_64, ET_EXEC, PT_LOAD segments placed at p_paddr from 1 MiB up, entry a
// physical address inside the 1 GiB identity map) and turns it into a list of
// copies. Portable: works on bytes the caller read, never touches memory.
//
// Errors: Corrupt (malformed headers), Unsupported (not a 64-bit x86_64
// executable), OutOfRange (a segment outside RAM or over the boot area),
// InvalidArgument (unusable entry point).
#pragma once

#include "lib/result.h"
#include "tools/fc-entry-loader/boot_tables.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace skiff::fc_loader {

constexpr size_t elf_header_size = 64;
constexpr size_t elf_program_header_size = 56;
constexpr size_t max_program_headers = 64;
constexpr size_t max_load_segments = 16;
// Segments must also end below 4 GiB: the loader only maps that much itself.
constexpr uint64_t loadable_limit = 1ull << 32;

struct ElfHeaderInfo {
    uint64_t entry;
    uint64_t program_header_offset;
    uint16_t program_header_count;

    size_t program_headers_size() const { return program_header_count * elf_program_header_size; }
};

// `header` is the first bytes of the file (at least elf_header_size of them).
Result<ElfHeaderInfo> parse_elf_header(std::span<const uint8_t> header, uint64_t file_size);

struct LoadSegment {
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t address;
    uint64_t memory_size;
};

struct LoadPlan {
    uint64_t entry;
    std::array<LoadSegment, max_load_segments> segments;
    size_t count;
};

// `program_headers` holds header.program_headers_size() bytes read from
// header.program_header_offset.
Result<LoadPlan> plan_load(const ElfHeaderInfo& header, std::span<const uint8_t> program_headers, uint64_t file_size,
    const E820Map& e820);

} // namespace skiff::fc_loader
