// virtio over PCI (spec 4.1). Modern devices (1.0+) describe their register
// blocks with vendor-specific capabilities; transitional devices (PCI device
// ids 0x1000-0x103f) also offer the legacy register layout in I/O BAR 0,
// which is the fallback when the modern capabilities are missing.
#pragma once

#include "bus/pci/pci_function.h"
#include "drivers/virtio/transport.h"

#include <array>
#include <optional>

namespace skiff::virtio {

namespace pci_ids {
constexpr uint16_t vendor = 0x1af4;
constexpr uint16_t first_transitional = 0x1000;
constexpr uint16_t last_transitional = 0x103f;
constexpr uint16_t first_modern = 0x1040;
constexpr uint16_t last_modern = 0x107f;
} // namespace pci_ids

// The virtio device type of a PCI function, or nullopt when it is not a
// virtio device (wrong vendor or device id).
std::optional<uint32_t> pci_device_type(pci::Function& function);

// Layout of the vendor-specific capability (struct virtio_pci_cap).
namespace pci_cap {
constexpr uint8_t length = 2;
constexpr uint8_t type = 3;
constexpr uint8_t bar = 4;
constexpr uint8_t offset = 8;
constexpr uint8_t region_length = 12;
constexpr uint8_t notify_multiplier = 16; // notify capability only
constexpr uint8_t minimum_length = 16;

constexpr uint8_t type_common = 1;
constexpr uint8_t type_notify = 2;
constexpr uint8_t type_isr = 3;
constexpr uint8_t type_device = 4;
constexpr uint8_t type_pci = 5;
} // namespace pci_cap

// struct virtio_pci_common_cfg.
namespace pci_common {
constexpr uint32_t device_feature_select = 0x00;
constexpr uint32_t device_feature = 0x04;
constexpr uint32_t driver_feature_select = 0x08;
constexpr uint32_t driver_feature = 0x0c;
constexpr uint32_t config_msix_vector = 0x10;
constexpr uint32_t num_queues = 0x12;
constexpr uint32_t device_status = 0x14;
constexpr uint32_t config_generation = 0x15;
constexpr uint32_t queue_select = 0x16;
constexpr uint32_t queue_size = 0x18;
constexpr uint32_t queue_msix_vector = 0x1a;
constexpr uint32_t queue_enable = 0x1c;
constexpr uint32_t queue_notify_off = 0x1e;
constexpr uint32_t queue_desc = 0x20;
constexpr uint32_t queue_driver = 0x28;
constexpr uint32_t queue_device = 0x30;
constexpr uint32_t minimum_length = 0x38;
} // namespace pci_common

// The legacy I/O BAR 0 layout.
namespace pci_legacy {
constexpr uint32_t device_features = 0x00;
constexpr uint32_t driver_features = 0x04;
constexpr uint32_t queue_pfn = 0x08;
constexpr uint32_t queue_size = 0x0c;
constexpr uint32_t queue_select = 0x0e;
constexpr uint32_t queue_notify = 0x10;
constexpr uint32_t device_status = 0x12;
constexpr uint32_t isr = 0x13;
constexpr uint32_t config_msix_vector = 0x14; // only while MSI-X is enabled
constexpr uint32_t queue_msix_vector = 0x16;
constexpr uint32_t config = 0x14;
constexpr uint32_t config_with_msix = 0x18;
} // namespace pci_legacy

constexpr uint16_t msix_no_vector = 0xffff;

class PciModernTransport final : public Transport {
public:
    static constexpr unsigned max_queues = 16;

    explicit PciModernTransport(pci::Function& function) : m_function(function) {}

    // Finds the COMMON, NOTIFY, ISR and DEVICE capabilities and maps their
    // windows. NotFound when the function has no modern capabilities (the
    // caller may fall back to legacy), Corrupt when they are unusable.
    Result<void> probe();

    const char* kind() const override { return "virtio-pci modern"; }
    uint32_t device_type() override { return m_device_type; }
    bool legacy() const override { return false; }

    uint64_t device_features() override;
    void set_driver_features(uint64_t features) override;
    uint8_t status() override { return m_common->read8(pci_common::device_status); }
    void set_status(uint8_t value) override { m_common->write8(pci_common::device_status, value); }

    uint8_t config_read8_raw(uint32_t offset) override { return m_device ? m_device->read8(offset) : 0xff; }
    uint16_t config_read16_raw(uint32_t offset) override { return m_device ? m_device->read16(offset) : 0xffff; }
    uint32_t config_read32_raw(uint32_t offset) override { return m_device ? m_device->read32(offset) : 0xffffffff; }
    void config_write8(uint32_t offset, uint8_t value) override;
    void config_write16(uint32_t offset, uint16_t value) override;
    void config_write32(uint32_t offset, uint32_t value) override;
    std::optional<uint32_t> config_generation() override { return m_common->read8(pci_common::config_generation); }

    uint16_t queue_max_size(uint16_t index) override;
    Result<void> setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses) override;
    void notify(uint16_t index) override;
    uint32_t acknowledge_interrupt() override;
    Result<void> use_msix_vector(std::optional<uint16_t> vector) override;

protected:
    Result<void> after_reset() override;

private:
    pci::Function& m_function;
    IoWindow* m_common { nullptr };
    IoWindow* m_notify { nullptr };
    IoWindow* m_isr { nullptr };
    IoWindow* m_device { nullptr };
    uint32_t m_notify_multiplier { 0 };
    uint32_t m_device_type { 0 };
    uint16_t m_num_queues { 0 };
    std::optional<uint16_t> m_msix_vector;
    // Where each queue's notification goes, inside the notify window.
    std::array<std::optional<uint32_t>, max_queues> m_notify_offsets {};
};

class PciLegacyTransport final : public Transport {
public:
    explicit PciLegacyTransport(pci::Function& function) : m_function(function) {}

    // Maps I/O BAR 0. NotFound if the function has no I/O BAR 0.
    Result<void> probe();

    const char* kind() const override { return "virtio-pci legacy"; }
    uint32_t device_type() override { return m_device_type; }
    bool legacy() const override { return true; }
    bool queue_size_fixed() const override { return true; }

    uint64_t device_features() override { return m_registers->read32(pci_legacy::device_features); }
    void set_driver_features(uint64_t features) override { m_registers->write32(pci_legacy::driver_features, uint32_t(features)); }
    uint8_t status() override { return m_registers->read8(pci_legacy::device_status); }
    void set_status(uint8_t value) override { m_registers->write8(pci_legacy::device_status, value); }

    uint8_t config_read8_raw(uint32_t offset) override { return m_registers->read8(config_base() + offset); }
    uint16_t config_read16_raw(uint32_t offset) override { return m_registers->read16(config_base() + offset); }
    uint32_t config_read32_raw(uint32_t offset) override { return m_registers->read32(config_base() + offset); }
    void config_write8(uint32_t offset, uint8_t value) override { m_registers->write8(config_base() + offset, value); }
    void config_write16(uint32_t offset, uint16_t value) override { m_registers->write16(config_base() + offset, value); }
    void config_write32(uint32_t offset, uint32_t value) override { m_registers->write32(config_base() + offset, value); }

    uint16_t queue_max_size(uint16_t index) override;
    Result<void> setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses) override;
    void notify(uint16_t index) override { m_registers->write16(pci_legacy::queue_notify, index); }
    uint32_t acknowledge_interrupt() override;
    // Call only once MSI-X is enabled on the function: the device-specific
    // configuration then moves from offset 0x14 to 0x18.
    Result<void> use_msix_vector(std::optional<uint16_t> vector) override;

protected:
    Result<void> after_reset() override;

private:
    uint32_t config_base() const { return m_msix_enabled ? pci_legacy::config_with_msix : pci_legacy::config; }

    pci::Function& m_function;
    IoWindow* m_registers { nullptr };
    uint32_t m_device_type { 0 };
    std::optional<uint16_t> m_msix_vector;
    // MSI-X on in the function moves the device configuration, whether or
    // not the device took our vector.
    bool m_msix_enabled { false };
};

} // namespace skiff::virtio
