// IoWindow over real hardware: memory-mapped registers and x86 I/O ports.
// Image only.
#pragma once

#include "bus/io_window.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff {

class MmioWindow final : public IoWindow {
public:
    MmioWindow() = default;
    // Maps [physical, physical + size) uncached.
    Result<void> map(uint64_t physical, uint32_t size);

    uint8_t read8(uint32_t offset) override;
    uint16_t read16(uint32_t offset) override;
    uint32_t read32(uint32_t offset) override;
    void write8(uint32_t offset, uint8_t value) override;
    void write16(uint32_t offset, uint16_t value) override;
    void write32(uint32_t offset, uint32_t value) override;
    uint32_t size() const override { return m_size; }
    uint64_t physical() const { return m_physical; }

private:
    bool fits(uint32_t offset, uint32_t width) const { return offset <= m_size && width <= m_size - offset; }
    volatile uint8_t* m_base { nullptr };
    uint64_t m_physical { 0 };
    uint32_t m_size { 0 };
};

class PortWindow final : public IoWindow {
public:
    PortWindow() = default;
    PortWindow(uint16_t base, uint32_t size) : m_base(base), m_size(size) {}

    uint8_t read8(uint32_t offset) override;
    uint16_t read16(uint32_t offset) override;
    uint32_t read32(uint32_t offset) override;
    void write8(uint32_t offset, uint8_t value) override;
    void write16(uint32_t offset, uint16_t value) override;
    void write32(uint32_t offset, uint32_t value) override;
    uint32_t size() const override { return m_size; }

private:
    bool fits(uint32_t offset, uint32_t width) const { return offset <= m_size && width <= m_size - offset && m_base + offset + width <= 0x10000u; }
    uint16_t m_base { 0 };
    uint32_t m_size { 0 };
};

} // namespace skiff
