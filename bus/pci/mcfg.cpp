#include "bus/pci/mcfg.h"

#include "firmware/acpi.h"
#include "lib/log.h"

namespace skiff::pci {

namespace {

// MCFG: the 36-byte header, 8 reserved bytes, then 16-byte allocations.
constexpr uint64_t allocations_offset = 44;
constexpr uint64_t allocation_size = 16;
constexpr uint32_t max_allocations = 64;
constexpr uint64_t physical_address_limit = 1ull << 52;

struct [[gnu::packed]] Allocation {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus;
    uint8_t end_bus;
    uint32_t reserved;
};
static_assert(sizeof(Allocation) == allocation_size);

} // namespace

const EcamRegion* EcamRegions::find(uint16_t segment, uint8_t bus) const
{
    for (const EcamRegion& region : list()) {
        if (region.covers(segment, bus))
            return &region;
    }
    return nullptr;
}

Result<EcamRegions> parse_mcfg(const PhysicalMemory& memory, uint64_t address)
{
    acpi::SdtHeader header = TRY(acpi::read_table_header(memory, address, "MCFG"));
    if (header.length < allocations_offset) {
        log::warn("pci: MCFG is {} bytes, too short for its own header", header.length);
        return Error::Corrupt;
    }
    uint64_t entries = (header.length - allocations_offset) / allocation_size;
    if ((header.length - allocations_offset) % allocation_size != 0)
        log::warn("pci: MCFG length {} leaves a partial allocation; it is ignored", header.length);
    if (entries > max_allocations) {
        log::warn("pci: MCFG lists {} allocations; only the first {} are read", entries, max_allocations);
        entries = max_allocations;
    }

    EcamRegions out;
    for (uint64_t i = 0; i < entries; ++i) {
        Allocation entry;
        if (!read_object(memory, address + allocations_offset + i * allocation_size, entry)) {
            log::warn("pci: MCFG allocation {} is unreadable", i);
            return Error::Io;
        }
        uint64_t base = entry.base;
        uint8_t start = entry.start_bus, end = entry.end_bus;
        uint64_t buses = end >= start ? uint64_t(end) - start + 1 : 0;
        // The table's base is bus 0's; only buses start..end are backed.
        uint64_t first = base + uint64_t(start) * ecam_bytes_per_bus;
        if (base == 0 || base % ecam_bytes_per_bus != 0) {
            log::warn("pci: MCFG allocation {}: ECAM base {:#x} is zero or not 1 MiB aligned; skipped", i, base);
            continue;
        }
        if (buses == 0) {
            log::warn("pci: MCFG allocation {}: bus range {}-{} is inverted; skipped", i, start, end);
            continue;
        }
        if (!range_fits(base, (uint64_t(end) + 1) * ecam_bytes_per_bus)
            || first + buses * ecam_bytes_per_bus > physical_address_limit) {
            log::warn("pci: MCFG allocation {}: ECAM {:#x} for buses {}-{} lies beyond the physical address space; skipped",
                i, base, start, end);
            continue;
        }
        bool overlaps = false;
        for (const EcamRegion& other : out.list())
            overlaps = overlaps || (other.segment == entry.segment && start <= other.end_bus && other.start_bus <= end);
        if (overlaps) {
            log::warn("pci: MCFG allocation {}: segment {} buses {}-{} are already covered; skipped", i,
                uint16_t(entry.segment), start, end);
            continue;
        }
        if (out.count == EcamRegions::capacity) {
            log::warn("pci: MCFG has more than {} usable allocations; the rest are ignored", EcamRegions::capacity);
            break;
        }
        out.regions[out.count++] = EcamRegion { first, entry.segment, start, end };
    }
    return out;
}

} // namespace skiff::pci
