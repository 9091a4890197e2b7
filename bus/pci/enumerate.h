// Finding the functions on a PCI segment: bus 0 (or the segment's first bus)
// and every bus behind a PCI-PCI bridge, numbered as the firmware left them.
// Skiff does not renumber buses or assign BARs. Portable: ConfigAccess only.
#pragma once

#include "bus/pci/config_access.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace skiff::pci {

namespace bridge {
constexpr uint16_t primary_bus = 0x18;
constexpr uint16_t secondary_bus = 0x19;
constexpr uint16_t subordinate_bus = 0x1a;
} // namespace bridge

constexpr uint8_t header_type_mask = 0x7f;
constexpr uint8_t header_multi_function = 0x80;
constexpr uint8_t header_type_endpoint = 0;
constexpr uint8_t header_type_bridge = 1;

struct FunctionInfo {
    Address address;
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t header_type; // without the multi-function bit
    uint32_t class_code; // class << 16 | subclass << 8 | prog-if
    uint8_t revision;
};

using FunctionVisitor = void (*)(void* context, const FunctionInfo& function);

// Visits every present function (vendor id not 0xffff or 0x0000), bus by
// bus from root_bus, then the buses behind each bridge found. Functions 1-7
// are probed only when function 0 says multi-function. A bridge whose
// secondary bus is unset, not above its own bus, or already scanned (a
// loop) is logged and not followed. Returns the number of functions visited.
size_t enumerate(ConfigAccess& access, uint16_t segment, uint8_t root_bus, FunctionVisitor visit, void* context);

template<typename Visit>
size_t enumerate(ConfigAccess& access, uint16_t segment, uint8_t root_bus, Visit&& visit)
{
    using Callable = std::remove_reference_t<Visit>;
    return enumerate(access, segment, root_bus,
        [](void* context, const FunctionInfo& function) { (*static_cast<Callable*>(context))(function); },
        const_cast<void*>(static_cast<const void*>(&visit)));
}

} // namespace skiff::pci
