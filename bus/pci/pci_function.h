// One PCI function as drivers see it: its configuration space and its BARs.
// The bus code (bus/pci) implements it over port 0xCF8/0xCFC or ECAM; host
// tests implement it over a synthetic configuration space.
#pragma once

#include "bus/io_window.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff::pci {

struct Address {
    uint16_t segment;
    uint8_t bus;
    uint8_t device;   // 0-31
    uint8_t function; // 0-7
};

struct Bar {
    enum class Kind : uint8_t { None, Memory32, Memory64, Io };
    Kind kind { Kind::None };
    uint64_t address { 0 };
    uint64_t size { 0 };
    bool prefetchable { false };
};

namespace config {
constexpr uint16_t vendor_id = 0x00;
constexpr uint16_t device_id = 0x02;
constexpr uint16_t command = 0x04;
constexpr uint16_t status = 0x06;
constexpr uint16_t revision = 0x08;
constexpr uint16_t class_code = 0x09; // prog-if, subclass, class at 0x09..0x0b
constexpr uint16_t header_type = 0x0e;
constexpr uint16_t bar0 = 0x10;
constexpr uint16_t subsystem_id = 0x2e;
constexpr uint16_t capabilities_pointer = 0x34;
constexpr uint16_t interrupt_line = 0x3c;
constexpr uint16_t interrupt_pin = 0x3d;
constexpr uint16_t command_io = 1 << 0;
constexpr uint16_t command_memory = 1 << 1;
constexpr uint16_t command_bus_master = 1 << 2;
constexpr uint16_t command_interrupt_disable = 1 << 10;
constexpr uint16_t status_capabilities = 1 << 4;
} // namespace config

namespace capability {
constexpr uint8_t msi = 0x05;
constexpr uint8_t vendor_specific = 0x09; // virtio's configuration structures
constexpr uint8_t msix = 0x11;
} // namespace capability

class Function {
public:
    virtual Address address() const = 0;
    virtual uint8_t config_read8(uint16_t offset) = 0;
    virtual uint16_t config_read16(uint16_t offset) = 0;
    virtual uint32_t config_read32(uint16_t offset) = 0;
    virtual void config_write8(uint16_t offset, uint8_t value) = 0;
    virtual void config_write16(uint16_t offset, uint16_t value) = 0;
    virtual void config_write32(uint16_t offset, uint32_t value) = 0;

    // The decoded BAR (index 0-5); Kind::None if absent or the upper half of
    // a 64-bit BAR.
    virtual Bar bar(unsigned index) = 0;
    // A window over [offset, offset + length) of a BAR (memory or I/O),
    // mapped on first use. Refuses ranges outside the BAR.
    virtual Result<IoWindow*> map_bar(unsigned index, uint64_t offset, uint32_t length) = 0;

    // Enables MSI-X with one vector per entry in `messages` (address, data),
    // or returns Unsupported when the function has no MSI-X capability.
    virtual Result<void> enable_msix(const uint64_t* addresses, const uint32_t* data, unsigned count) = 0;
    // The legacy INTx line as a GSI (via the firmware's routing), or NotFound.
    virtual Result<uint32_t> legacy_interrupt_gsi() = 0;

protected:
    ~Function() = default;
};

// Walks the capability list starting at config offset 0x34; calls
// visit(id, offset) for each capability until it returns false. Bounded:
// a list that loops or points outside 0x40-0xff stops with a log line.
template<typename Visit>
void for_each_capability(Function& function, Visit&& visit)
{
    if (!(function.config_read16(config::status) & config::status_capabilities))
        return;
    uint8_t offset = function.config_read8(config::capabilities_pointer) & 0xfc;
    for (int steps = 0; offset >= 0x40 && steps < 48; ++steps) {
        uint8_t id = function.config_read8(offset);
        if (!visit(id, offset))
            return;
        offset = function.config_read8(uint16_t(offset + 1)) & 0xfc;
    }
}

} // namespace skiff::pci
