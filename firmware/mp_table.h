// The Intel MultiProcessor Specification (1.4) table: the only CPU and
// interrupt description Firecracker before 1.8 gives (at 0x9fc00). A 16-byte
// floating pointer "_MP_" leads to a "PCMP" configuration table of entries:
// processors (20 bytes), buses, IOAPICs, I/O and local interrupt assignments
// (8 bytes each). Untrusted like any firmware table: checksums, lengths and
// the entry count are verified, and an unknown entry type ends parsing (its
// length cannot be known).
#pragma once

#include "firmware/physical_memory.h"
#include "firmware/platform.h"
#include "lib/result.h"

#include <cstddef>
#include <cstdint>

namespace skiff::mp {

struct [[gnu::packed]] FloatingPointer {
    char signature[4]; // "_MP_"
    uint32_t config_table;
    uint8_t length; // in 16-byte units: 1
    uint8_t spec_revision; // 1 or 4
    uint8_t checksum;
    uint8_t features[5]; // [0]: default configuration type (0: table present); [1] bit 7: IMCR present
};
static_assert(sizeof(FloatingPointer) == 16);

struct [[gnu::packed]] ConfigHeader {
    char signature[4]; // "PCMP"
    uint16_t base_length; // header and base entries
    uint8_t spec_revision;
    uint8_t checksum; // over base_length bytes
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t local_apic_address;
    uint16_t extended_length;
    uint8_t extended_checksum;
    uint8_t reserved;
};
static_assert(sizeof(ConfigHeader) == 44);
static_assert(offsetof(ConfigHeader, entry_count) == 34 && offsetof(ConfigHeader, local_apic_address) == 36);

enum EntryType : uint8_t { processor = 0, bus = 1, io_apic = 2, io_interrupt = 3, local_interrupt = 4 };

struct [[gnu::packed]] ProcessorEntry {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags; // bit 0: enabled, bit 1: bootstrap processor
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
};
struct [[gnu::packed]] BusEntry {
    uint8_t type;
    uint8_t bus_id;
    char bus_type[6]; // "ISA   ", "PCI   ", ...
};
struct [[gnu::packed]] IoApicEntry {
    uint8_t type;
    uint8_t id;
    uint8_t version;
    uint8_t flags; // bit 0: usable
    uint32_t address;
};
// I/O (type 3) and local (type 4) interrupt assignments share this layout.
struct [[gnu::packed]] InterruptEntry {
    uint8_t type;
    uint8_t interrupt_type; // 0 INT (vectored), 1 NMI, 2 SMI, 3 ExtINT
    uint16_t flags; // MPS INTI: polarity bits 0-1, trigger bits 2-3
    uint8_t source_bus;
    uint8_t source_irq;
    uint8_t destination_apic; // 0xff: all
    uint8_t destination_pin;
};
static_assert(sizeof(ProcessorEntry) == 20 && sizeof(BusEntry) == 8 && sizeof(IoApicEntry) == 8);
static_assert(sizeof(InterruptEntry) == 8);

constexpr uint8_t processor_enabled = 1u << 0;
constexpr uint8_t processor_bsp = 1u << 1;
constexpr uint8_t io_apic_usable = 1u << 0;
constexpr uint8_t feature2_imcr_present = 1u << 7;
constexpr uint8_t interrupt_type_int = 0;
// Without the pin count (an IOAPIC register) GSI bases are assigned assuming this many pins each.
constexpr uint32_t assumed_ioapic_pins = 24;

// Reads and validates a floating pointer (signature, length, checksum).
Result<FloatingPointer> read_floating_pointer(const PhysicalMemory& memory, uint64_t address);

// hint (if nonzero), else the EBDA's first KiB, the last KiB of base memory
// (0x9fc00 with 640 KiB) and 0xF0000-0xFFFFF on 16-byte boundaries.
Result<uint64_t> find_floating_pointer(const PhysicalMemory& memory, uint64_t hint);

// Fills cpus, ioapics, overrides (ISA-bus INT assignments), local_apic_address,
// legacy_pic_present and imcr_present after clearing them, and sets
// info.mp_floating_pointer. On error they are left empty.
Result<void> parse_mp_table(const PhysicalMemory& memory, uint64_t floating_pointer, PlatformInfo& info);

} // namespace skiff::mp
