// Capability lists, walked defensively: the list lives in device-writable
// configuration space, so it may point into the header or loop.
// Portable: works on any pci::Function.
#pragma once

#include "bus/pci/config_access.h"
#include "bus/pci/pci_function.h"
#include "lib/log.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff::pci {

constexpr uint8_t first_capability_offset = 0x40;

// Like pci::for_each_capability, but a corrupt list is told apart from a
// short one: a pointer into the header (below 0x40) or back to a capability
// already visited ends the walk with one warning and Error::Corrupt.
// visit(id, offset) returns false to stop early (then ok()).
template<typename Visit>
Result<void> walk_capabilities(Function& function, Visit&& visit)
{
    if (!(function.config_read16(config::status) & config::status_capabilities))
        return ok();
    uint64_t visited = 0; // one bit per dword of the 256-byte space
    uint8_t offset = function.config_read8(config::capabilities_pointer) & 0xfc;
    while (offset != 0) {
        if (offset < first_capability_offset) {
            log::warn("pci: {} capability list points into the header ({:#x}); walk stopped",
                address_text(function.address()).view(), offset);
            return Error::Corrupt;
        }
        uint64_t bit = uint64_t(1) << (offset / 4);
        if (visited & bit) {
            log::warn("pci: {} capability list loops back to {:#x}; walk stopped",
                address_text(function.address()).view(), offset);
            return Error::Corrupt;
        }
        visited |= bit;
        if (!visit(function.config_read8(offset), offset))
            return ok();
        offset = function.config_read8(static_cast<uint16_t>(offset + 1)) & 0xfc;
    }
    return ok();
}

// Config offset of the first capability with this id; NotFound when absent,
// Corrupt when the list is.
Result<uint8_t> find_capability(Function& function, uint8_t id);

} // namespace skiff::pci
