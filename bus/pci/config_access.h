// How the bus code reaches any function's configuration space: port
// 0xCF8/0xCFC (mechanism #1, 256 bytes per function) or ECAM (memory mapped,
// 4 KiB per function). Host tests implement it over synthetic config spaces.
//
// The public accessors check what every backend needs checked, so backends
// only move bits: an access must be naturally aligned and inside the
// function's configuration space, else a read gives all-ones (what an absent
// function reads as) and a write is dropped.
#pragma once

#include "bus/pci/pci_function.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skiff::pci {

class ConfigAccess {
public:
    // Bytes of configuration space the function has here: 256 (ports), 4096
    // (ECAM), 0 when this access cannot reach the segment or bus at all.
    virtual uint32_t config_size(const Address& address) const = 0;

    uint8_t read8(const Address& address, uint16_t offset) { return fits(address, offset, 1) ? raw_read8(address, offset) : 0xff; }
    uint16_t read16(const Address& address, uint16_t offset)
    {
        return fits(address, offset, 2) ? raw_read16(address, offset) : 0xffff;
    }
    uint32_t read32(const Address& address, uint16_t offset)
    {
        return fits(address, offset, 4) ? raw_read32(address, offset) : 0xffffffff;
    }
    void write8(const Address& address, uint16_t offset, uint8_t value)
    {
        if (fits(address, offset, 1))
            raw_write8(address, offset, value);
    }
    void write16(const Address& address, uint16_t offset, uint16_t value)
    {
        if (fits(address, offset, 2))
            raw_write16(address, offset, value);
    }
    void write32(const Address& address, uint16_t offset, uint32_t value)
    {
        if (fits(address, offset, 4))
            raw_write32(address, offset, value);
    }

protected:
    ~ConfigAccess() = default;

    // Called only with aligned offsets inside config_size().
    virtual uint8_t raw_read8(const Address& address, uint16_t offset) = 0;
    virtual uint16_t raw_read16(const Address& address, uint16_t offset) = 0;
    virtual uint32_t raw_read32(const Address& address, uint16_t offset) = 0;
    virtual void raw_write8(const Address& address, uint16_t offset, uint8_t value) = 0;
    virtual void raw_write16(const Address& address, uint16_t offset, uint16_t value) = 0;
    virtual void raw_write32(const Address& address, uint16_t offset, uint32_t value) = 0;

private:
    bool fits(const Address& address, uint16_t offset, uint16_t width) const
    {
        return address.device < 32 && address.function < 8 && offset % width == 0
            && uint32_t(offset) + width <= config_size(address);
    }
};

// "bb:dd.f" (with "ssss:" when the segment is not 0) for log lines.
struct AddressText {
    char text[16];
    size_t length;
    std::string_view view() const { return { text, length }; }
};
AddressText address_text(const Address& address);

} // namespace skiff::pci
