// Builds Firecracker's boot structures (e820 map, zero page, MP table, page
// tables, GDT/IDT) into caller-provided memory. Portable: no hardware access,
// so host tests check the exact bytes a guest will read.
#pragma once

#include "lib/result.h"
#include "tools/fc-entry-loader/firecracker_layout.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace skiff::fc_loader {

struct MemoryRange {
    uint64_t base;
    uint64_t size;

    constexpr uint64_t end() const { return base + size; }
};

// RAM as QEMU reports it (etc/e820, type 1 entries), sorted by base.
struct RamMap {
    static constexpr size_t capacity = 16;

    std::array<MemoryRange, capacity> ranges {};
    size_t count { 0 };

    // True if [base, base + size) lies inside one range.
    bool contains(uint64_t base, uint64_t size) const;
    uint64_t total() const;
};

// Parses QEMU's etc/e820 fw_cfg file: packed little-endian {u64 address,
// u64 length, u32 type} records. Refuses a ragged, overlapping or wrapping
// table; entries other than RAM are skipped.
Result<RamMap> parse_qemu_e820(std::span<const uint8_t> file);

// Fallback when etc/e820 is absent: microvm maps up to 3 GiB below 4 GiB and
// the rest from 4 GiB.
RamMap ram_map_from_size(uint64_t ram_size);

// The e820 map handed to the guest.
struct E820Map {
    static constexpr size_t capacity = 1 + 2 * RamMap::capacity;

    std::array<fc::E820Entry, capacity> entries {};
    size_t count { 0 };

    // True if [base, base + size) lies inside one RAM entry.
    bool ram_contains(uint64_t base, uint64_t size) const;
    uint64_t ram_total() const;
};

// Firecracker's map for the RAM QEMU really has: [0, 0x9fc00) and RAM from
// 1 MiB, with the MMIO gap [0xd0000000, 4 GiB) cut out. Refuses a machine
// without RAM under the boot structures or above 1 MiB.
Result<E820Map> build_e820(const RamMap& ram);

// Writes `text` NUL-terminated into `destination` (the 2048-byte command-line
// area), truncating with a warning if it does not fit. Returns the byte count
// including the NUL, which is what Firecracker stores in cmdline_size.
size_t place_command_line(std::span<char> destination, std::string_view text);

// The zero page: setup header and e820 table, everything else zero.
void fill_boot_params(fc::BootParams& params, const E820Map& e820, uint32_t cmdline_size);

// Writes the MP floating pointer and configuration table for `cpus` CPUs
// into `area`, which the guest sees at physical `area_address`. Returns the
// bytes written (fc::mptable_size(cpus)).
Result<size_t> write_mptable(std::span<uint8_t> area, uint64_t area_address, unsigned cpus);

// Identity map of the first 1 GiB with 2 MiB pages (PML4 -> PDPT -> PD).
void fill_page_tables(std::span<uint64_t, 512> pml4, std::span<uint64_t, 512> pdpt, std::span<uint64_t, 512> pd);

// GDT (four entries) and the one-entry IDT. The TSS descriptor is written
// available: loading TR marks it busy, leaving exactly Firecracker's bytes.
void fill_descriptor_tables(std::span<uint64_t, 4> gdt, std::span<uint64_t, 1> idt);

} // namespace skiff::fc_loader
