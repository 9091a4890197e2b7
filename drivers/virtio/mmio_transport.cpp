#include "drivers/virtio/mmio_transport.h"

#include "drivers/virtio/virtio_spec.h"
#include "lib/log.h"

namespace skiff::virtio {

Result<void> MmioTransport::probe()
{
    if (m_registers.size() < mmio::minimum_window) {
        log::error("virtio-mmio: register window of {} bytes is too small", m_registers.size());
        return Error::InvalidArgument;
    }
    uint32_t magic = m_registers.read32(mmio::magic_value);
    if (magic != mmio::magic) {
        log::warn("virtio-mmio: no device (magic value {:#x})", magic);
        return Error::NotFound;
    }
    uint32_t version = m_registers.read32(mmio::version);
    if (version != 1 && version != 2) {
        log::warn("virtio-mmio: unsupported transport version {}", version);
        return Error::Unsupported;
    }
    m_version = version;
    return ok();
}

uint64_t MmioTransport::device_features()
{
    m_registers.write32(mmio::device_features_select, 0);
    uint64_t low = m_registers.read32(mmio::device_features);
    m_registers.write32(mmio::device_features_select, 1);
    uint64_t high = m_registers.read32(mmio::device_features);
    return low | (high << 32);
}

void MmioTransport::set_driver_features(uint64_t features)
{
    m_registers.write32(mmio::driver_features_select, 0);
    m_registers.write32(mmio::driver_features, uint32_t(features));
    m_registers.write32(mmio::driver_features_select, 1);
    m_registers.write32(mmio::driver_features, uint32_t(features >> 32));
}

std::optional<uint32_t> MmioTransport::config_generation()
{
    if (m_version == 1)
        return std::nullopt;
    return m_registers.read32(mmio::config_generation);
}

uint16_t MmioTransport::queue_max_size(uint16_t index)
{
    m_registers.write32(mmio::queue_select, index);
    // A queue already live is not ours to set up again.
    if (m_version == 2 && m_registers.read32(mmio::queue_ready) != 0)
        return 0;
    if (m_version == 1 && m_registers.read32(mmio::queue_pfn) != 0)
        return 0;
    uint32_t size = m_registers.read32(mmio::queue_size_max);
    return size > max_queue_size ? uint16_t(max_queue_size) : uint16_t(size);
}

Result<void> MmioTransport::setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses)
{
    m_registers.write32(mmio::queue_select, index);
    uint32_t maximum = m_registers.read32(mmio::queue_size_max);
    if (size == 0 || size > maximum) {
        log::error("virtio-mmio: queue {} of {} entries does not fit the device's maximum {}", index, size, maximum);
        return Error::InvalidArgument;
    }
    m_registers.write32(mmio::queue_size, size);
    if (m_version == 1) {
        uint64_t frame = addresses.descriptors / legacy_queue_align;
        RingLayout layout = ring_layout(size);
        if (addresses.descriptors % legacy_queue_align != 0 || frame > 0xffffffffull
            || addresses.avail != addresses.descriptors + layout.avail || addresses.used != addresses.descriptors + layout.used) {
            log::error("virtio-mmio: legacy queue {} at {:#x} is not in the legacy layout", index, addresses.descriptors);
            return Error::InvalidArgument;
        }
        m_registers.write32(mmio::guest_page_size, legacy_queue_align);
        m_registers.write32(mmio::queue_align, legacy_queue_align);
        m_registers.write32(mmio::queue_pfn, uint32_t(frame));
        return ok();
    }
    m_registers.write32(mmio::queue_desc_low, uint32_t(addresses.descriptors));
    m_registers.write32(mmio::queue_desc_high, uint32_t(addresses.descriptors >> 32));
    m_registers.write32(mmio::queue_driver_low, uint32_t(addresses.avail));
    m_registers.write32(mmio::queue_driver_high, uint32_t(addresses.avail >> 32));
    m_registers.write32(mmio::queue_device_low, uint32_t(addresses.used));
    m_registers.write32(mmio::queue_device_high, uint32_t(addresses.used >> 32));
    m_registers.write32(mmio::queue_ready, 1);
    if (m_registers.read32(mmio::queue_ready) != 1) {
        log::error("virtio-mmio: queue {} did not become ready", index);
        return Error::DeviceBroken;
    }
    return ok();
}

uint32_t MmioTransport::acknowledge_interrupt()
{
    uint32_t pending = m_registers.read32(mmio::interrupt_status);
    // All-ones is what a window reads when the device is gone; not causes.
    if (pending == 0xffffffff)
        return 0;
    pending &= interrupt::used_buffer | interrupt::config_change;
    if (pending)
        m_registers.write32(mmio::interrupt_ack, pending);
    return pending;
}

} // namespace skiff::virtio
