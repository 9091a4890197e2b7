// The pci::Function drivers get: one function found by enumeration, reached
// through a ConfigAccess, with its BARs decoded once when attached. Portable:
// BAR windows come from a BarMapper (the image maps registers, host tests
// hand out fakes), and interrupt routing from PlatformInfo.
#pragma once

#include "bus/pci/bars.h"
#include "bus/pci/config_access.h"
#include "bus/pci/enumerate.h"
#include "bus/pci/pci_function.h"
#include "kernel/irq.h"
#include "lib/result.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace skiff {
struct PlatformInfo;
}

namespace skiff::pci {

class BarMapper {
public:
    // A window over [address, address + length) of a BAR of this kind
    // (memory: physical address; I/O: port number). Bounds are checked by
    // the caller.
    virtual Result<IoWindow*> map(Bar::Kind kind, uint64_t address, uint32_t length) = 0;

protected:
    ~BarMapper() = default;
};

class BusFunction final : public Function {
public:
    static constexpr size_t max_windows = 8;

    constexpr BusFunction() = default;
    BusFunction(const BusFunction&) = delete;
    BusFunction& operator=(const BusFunction&) = delete;

    // Binds the object to a function and sizes its BARs (decoding is off for
    // the moment that takes). `platform` (may be null) routes INTx.
    void attach(ConfigAccess& access, BarMapper& mapper, const FunctionInfo& info, const PlatformInfo* platform);
    bool attached() const { return m_access != nullptr; }
    const FunctionInfo& info() const { return m_info; }

    Address address() const override { return m_info.address; }
    uint8_t config_read8(uint16_t offset) override { return m_access->read8(m_info.address, offset); }
    uint16_t config_read16(uint16_t offset) override { return m_access->read16(m_info.address, offset); }
    uint32_t config_read32(uint16_t offset) override { return m_access->read32(m_info.address, offset); }
    void config_write8(uint16_t offset, uint8_t value) override { m_access->write8(m_info.address, offset, value); }
    void config_write16(uint16_t offset, uint16_t value) override { m_access->write16(m_info.address, offset, value); }
    void config_write32(uint16_t offset, uint32_t value) override { m_access->write32(m_info.address, offset, value); }

    Bar bar(unsigned index) override { return index < max_bars ? m_bars[index] : Bar {}; }
    // Also switches on the BAR's decoding (memory or I/O) in the command
    // register. The same range asked again gives the same window.
    Result<IoWindow*> map_bar(unsigned index, uint64_t offset, uint32_t length) override;
    Result<void> enable_msix(const uint64_t* addresses, const uint32_t* data, unsigned count) override;
    Result<uint32_t> legacy_interrupt_gsi() override;

    // The INTx line with its trigger mode and polarity: the interrupt line
    // register (what the firmware routed) through the MADT's ISA overrides.
    // PCI INTx is level-triggered, active low, unless a level-triggered
    // override says otherwise (QEMU's MADT declares IRQs 5, 9, 10 and 11
    // level, active high). An edge override is the ISA default, not a
    // statement about PCI, and changes only the GSI. A line value of 16 or
    // more is taken as a GSI. NotFound without a pin or an assigned line.
    Result<irq::Line> legacy_interrupt();

private:
    struct Mapping {
        uint8_t bar;
        uint64_t offset;
        uint32_t length;
        IoWindow* window;
    };

    ConfigAccess* m_access { nullptr };
    BarMapper* m_mapper { nullptr };
    const PlatformInfo* m_platform { nullptr };
    FunctionInfo m_info {};
    std::array<Bar, max_bars> m_bars {};
    std::array<Mapping, max_windows> m_mappings {};
    size_t m_mapping_count { 0 };
};

} // namespace skiff::pci
