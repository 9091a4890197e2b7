// virtio over memory-mapped registers (spec 4.2): version 2 ("modern") and
// the legacy version 1 layout that older QEMU machine types and some VMMs
// still present. One register block per device; Firecracker and QEMU microvm
// use 4 KiB and 512-byte blocks.
#pragma once

#include "bus/io_window.h"
#include "drivers/virtio/transport.h"

namespace skiff::virtio {

namespace mmio {
constexpr uint32_t magic_value = 0x000;
constexpr uint32_t version = 0x004;
constexpr uint32_t device_id = 0x008;
constexpr uint32_t vendor_id = 0x00c;
constexpr uint32_t device_features = 0x010;
constexpr uint32_t device_features_select = 0x014;
constexpr uint32_t driver_features = 0x020;
constexpr uint32_t driver_features_select = 0x024;
constexpr uint32_t guest_page_size = 0x028; // legacy
constexpr uint32_t queue_select = 0x030;
constexpr uint32_t queue_size_max = 0x034;
constexpr uint32_t queue_size = 0x038;
constexpr uint32_t queue_align = 0x03c; // legacy
constexpr uint32_t queue_pfn = 0x040;   // legacy
constexpr uint32_t queue_ready = 0x044;
constexpr uint32_t queue_notify = 0x050;
constexpr uint32_t interrupt_status = 0x060;
constexpr uint32_t interrupt_ack = 0x064;
constexpr uint32_t status = 0x070;
constexpr uint32_t queue_desc_low = 0x080;
constexpr uint32_t queue_desc_high = 0x084;
constexpr uint32_t queue_driver_low = 0x090;
constexpr uint32_t queue_driver_high = 0x094;
constexpr uint32_t queue_device_low = 0x0a0;
constexpr uint32_t queue_device_high = 0x0a4;
constexpr uint32_t config_generation = 0x0fc;
constexpr uint32_t config = 0x100;

constexpr uint32_t magic = 0x74726976; // "virt"
constexpr uint32_t minimum_window = 0x100;
} // namespace mmio

class MmioTransport final : public Transport {
public:
    explicit MmioTransport(IoWindow& registers) : m_registers(registers) {}

    // Checks the magic value and version; NotFound for a window that is not
    // virtio-mmio, Unsupported for an unknown version. The device type may be
    // 0 (an empty transport slot, as on QEMU microvm).
    Result<void> probe();
    uint32_t version() const { return m_version; }

    const char* kind() const override { return m_version == 1 ? "virtio-mmio v1" : "virtio-mmio v2"; }
    uint32_t device_type() override { return m_registers.read32(mmio::device_id); }
    bool legacy() const override { return m_version == 1; }

    uint64_t device_features() override;
    void set_driver_features(uint64_t features) override;
    uint8_t status() override { return uint8_t(m_registers.read32(mmio::status)); }
    void set_status(uint8_t value) override { m_registers.write32(mmio::status, value); }

    uint8_t config_read8_raw(uint32_t offset) override { return m_registers.read8(mmio::config + offset); }
    uint16_t config_read16_raw(uint32_t offset) override { return m_registers.read16(mmio::config + offset); }
    uint32_t config_read32_raw(uint32_t offset) override { return m_registers.read32(mmio::config + offset); }
    void config_write8(uint32_t offset, uint8_t value) override { m_registers.write8(mmio::config + offset, value); }
    void config_write16(uint32_t offset, uint16_t value) override { m_registers.write16(mmio::config + offset, value); }
    void config_write32(uint32_t offset, uint32_t value) override { m_registers.write32(mmio::config + offset, value); }
    std::optional<uint32_t> config_generation() override;

    uint16_t queue_max_size(uint16_t index) override;
    Result<void> setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses) override;
    void notify(uint16_t index) override { m_registers.write32(mmio::queue_notify, index); }
    uint32_t acknowledge_interrupt() override;

private:
    IoWindow& m_registers;
    uint32_t m_version { 0 };
};

} // namespace skiff::virtio
