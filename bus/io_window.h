// A device's register block, whatever reaches it: memory-mapped registers,
// x86 I/O ports, or (in host tests) a simulated device. Drivers and bus code
// touch hardware only through this, so they run unchanged against fakes.
#pragma once

#include <cstdint>

namespace skiff {

class IoWindow {
public:
    virtual uint8_t read8(uint32_t offset) = 0;
    virtual uint16_t read16(uint32_t offset) = 0;
    virtual uint32_t read32(uint32_t offset) = 0;
    virtual void write8(uint32_t offset, uint8_t value) = 0;
    virtual void write16(uint32_t offset, uint16_t value) = 0;
    virtual void write32(uint32_t offset, uint32_t value) = 0;
    // Size of the window in bytes; accesses beyond it are refused by the
    // implementation (reads return all-ones, writes are dropped).
    virtual uint32_t size() const = 0;

protected:
    ~IoWindow() = default;
};

} // namespace skiff
