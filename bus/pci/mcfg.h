// ACPI's MCFG: where each PCI segment's memory-mapped configuration space
// (ECAM) lives. Portable: reads the table through PhysicalMemory.
#pragma once

#include "firmware/physical_memory.h"
#include "lib/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace skiff::pci {

// 1 MiB of ECAM per bus: 32 devices x 8 functions x 4 KiB.
constexpr uint64_t ecam_bytes_per_bus = 1u << 20;

struct EcamRegion {
    uint64_t base; // ECAM address of start_bus (the table's base is that of bus 0)
    uint16_t segment;
    uint8_t start_bus;
    uint8_t end_bus;

    bool covers(uint16_t segment_number, uint8_t bus) const
    {
        return segment_number == segment && bus >= start_bus && bus <= end_bus;
    }
    uint64_t size() const { return (uint64_t(end_bus) - start_bus + 1) * ecam_bytes_per_bus; }
};

struct EcamRegions {
    static constexpr size_t capacity = 8;
    std::array<EcamRegion, capacity> regions {};
    size_t count = 0;

    std::span<const EcamRegion> list() const { return { regions.data(), count }; }
    const EcamRegion* find(uint16_t segment, uint8_t bus) const;
};

// Validates the MCFG at `address` (header, checksum) and returns its usable
// allocations. Entries with a zero or misaligned base, an inverted bus range,
// a range beyond the physical address space, or buses another entry already
// covers are skipped with a warning. Corrupt when the table itself is bad.
Result<EcamRegions> parse_mcfg(const PhysicalMemory& memory, uint64_t address);

} // namespace skiff::pci
