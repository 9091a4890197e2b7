// MSI-X: the capability's layout and how a table is programmed. Portable:
// works on any pci::Function (the table is reached through map_bar).
#pragma once

#include "bus/pci/pci_function.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff::pci::msix {

// Capability registers, from the capability's config offset.
constexpr uint16_t message_control = 2;
constexpr uint16_t table_offset_bir = 4;
constexpr uint16_t control_table_size_mask = 0x7ff; // N - 1
constexpr uint16_t control_function_mask = 1u << 14;
constexpr uint16_t control_enable = 1u << 15;
constexpr uint32_t bir_mask = 0x7;

// Table entries.
constexpr uint32_t entry_size = 16;
constexpr uint32_t entry_address_low = 0;
constexpr uint32_t entry_address_high = 4;
constexpr uint32_t entry_data = 8;
constexpr uint32_t entry_vector_control = 12;
constexpr uint32_t vector_masked = 1u << 0;

struct Capability {
    uint8_t offset;        // in configuration space
    unsigned table_size;   // entries
    unsigned table_bar;
    uint32_t table_offset; // within that BAR
};

// NotFound without an MSI-X capability; Corrupt when it names no usable BAR.
Result<Capability> read_capability(Function& function);

// Programs entries 0..count-1 with (addresses[i], data[i]) and unmasks them,
// masks every other entry, enables MSI-X with the function mask held while
// the table is written and cleared last, disables INTx and turns on bus
// mastering (an MSI is a memory write by the device). InvalidArgument when
// count is 0 or exceeds the table.
Result<void> program(Function& function, const uint64_t* addresses, const uint32_t* data, unsigned count);

} // namespace skiff::pci::msix
