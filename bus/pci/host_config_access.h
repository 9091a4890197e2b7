// Configuration space on real hardware: ECAM for the buses the MCFG covers,
// port 0xCF8/0xCFC (mechanism #1) for segment 0 otherwise. Image only.
#pragma once

#include "bus/pci/config_access.h"
#include "bus/pci/mcfg.h"
#include "lib/spinlock.h"

#include <array>
#include <cstdint>

namespace skiff::pci {

class HostConfigAccess final : public ConfigAccess {
public:
    constexpr HostConfigAccess() = default;

    // Takes the ECAM regions (may be empty) and checks whether mechanism #1
    // answers (an address written to 0xCF8 reads back).
    void init(const EcamRegions& ecam);
    bool has_ports() const { return m_ports; }
    bool has_ecam() const { return m_ecam.count > 0; }
    const EcamRegions& ecam() const { return m_ecam; }

    uint32_t config_size(const Address& address) const override;

protected:
    uint8_t raw_read8(const Address& address, uint16_t offset) override;
    uint16_t raw_read16(const Address& address, uint16_t offset) override;
    uint32_t raw_read32(const Address& address, uint16_t offset) override;
    void raw_write8(const Address& address, uint16_t offset, uint8_t value) override;
    void raw_write16(const Address& address, uint16_t offset, uint16_t value) override;
    void raw_write32(const Address& address, uint16_t offset, uint32_t value) override;

private:
    // The function's ECAM page, its bus mapped on first use; null when
    // ECAM does not cover it (or mapping failed).
    volatile uint8_t* ecam_function(const Address& address);
    void select(const Address& address, uint16_t offset);

    EcamRegions m_ecam {};
    // One bit per bus of each region: mapped already.
    std::array<std::array<uint64_t, 4>, EcamRegions::capacity> m_mapped {};
    bool m_ports { false };
    SpinLock m_map_lock;
    IrqSpinLock m_port_lock; // 0xCF8 then 0xCFC is one access
};

} // namespace skiff::pci
