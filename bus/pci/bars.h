// Base address registers: what each one decodes and how large it is.
// Portable: works through ConfigAccess only.
#pragma once

#include "bus/pci/config_access.h"

#include <array>
#include <cstdint>

namespace skiff::pci {

constexpr unsigned max_bars = 6;

// BARs a header type has: 6 for endpoints (type 0), 2 for PCI-PCI bridges
// (type 1), none for CardBus bridges or unknown types.
unsigned bar_count(uint8_t header_type);

// Decodes and sizes every BAR of the function the standard way: memory and
// I/O decoding are switched off in the command register while all-ones is
// written to each BAR, then each BAR and the command register are restored.
// The upper half of a 64-bit BAR reads as Kind::None. Sizes come from the
// lowest writable address bit, so a malformed mask still gives a power of two.
// Malformed BARs (reserved type, a 64-bit BAR with no register left for its
// upper half) are logged and read as Kind::None.
std::array<Bar, max_bars> read_bars(ConfigAccess& access, const Address& address, uint8_t header_type);

} // namespace skiff::pci
