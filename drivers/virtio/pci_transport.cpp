#include "drivers/virtio/pci_transport.h"

#include "drivers/virtio/virtio_spec.h"
#include "lib/log.h"

namespace skiff::virtio {

namespace {

// The largest window Skiff maps for one capability: the common, ISR and
// device areas are tiny; a notify area has 2-4 bytes per queue, up to 64 KiB.
constexpr uint32_t max_window = 1u << 20;

struct CapabilityRegion {
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
    uint32_t notify_multiplier;
    bool present;
};

void enable_decoding(pci::Function& function, uint16_t decode)
{
    uint16_t command = function.config_read16(pci::config::command);
    uint16_t wanted = uint16_t(command | decode | pci::config::command_bus_master);
    if (wanted != command)
        function.config_write16(pci::config::command, wanted);
}

} // namespace

std::optional<uint32_t> pci_device_type(pci::Function& function)
{
    if (function.config_read16(pci::config::vendor_id) != pci_ids::vendor)
        return std::nullopt;
    uint16_t device = function.config_read16(pci::config::device_id);
    if (device >= pci_ids::first_modern && device <= pci_ids::last_modern)
        return uint32_t(device - pci_ids::first_modern);
    if (device >= pci_ids::first_transitional && device <= pci_ids::last_transitional)
        return function.config_read16(pci::config::subsystem_id);
    return std::nullopt;
}

// --- modern ---

Result<void> PciModernTransport::probe()
{
    std::optional<uint32_t> type = pci_device_type(m_function);
    if (!type)
        return Error::NotFound;
    m_device_type = *type;

    CapabilityRegion regions[6] {};
    pci::for_each_capability(m_function, [&](uint8_t id, uint8_t offset) {
        if (id != pci::capability::vendor_specific)
            return true;
        uint8_t length = m_function.config_read8(uint16_t(offset + pci_cap::length));
        uint8_t cfg_type = m_function.config_read8(uint16_t(offset + pci_cap::type));
        if (length < pci_cap::minimum_length || cfg_type == 0 || cfg_type > pci_cap::type_pci)
            return true;
        CapabilityRegion& region = regions[cfg_type];
        // The spec lets a device list a structure several times, best first.
        if (region.present)
            return true;
        uint8_t bar = m_function.config_read8(uint16_t(offset + pci_cap::bar));
        if (bar > 5)
            return true;
        region.bar = bar;
        region.offset = m_function.config_read32(uint16_t(offset + pci_cap::offset));
        region.length = m_function.config_read32(uint16_t(offset + pci_cap::region_length));
        if (cfg_type == pci_cap::type_notify) {
            if (length < pci_cap::notify_multiplier + 4)
                return true;
            region.notify_multiplier = m_function.config_read32(uint16_t(offset + pci_cap::notify_multiplier));
        }
        region.present = true;
        return true;
    });

    const CapabilityRegion& common = regions[pci_cap::type_common];
    const CapabilityRegion& notify = regions[pci_cap::type_notify];
    const CapabilityRegion& isr = regions[pci_cap::type_isr];
    const CapabilityRegion& device = regions[pci_cap::type_device];
    if (!common.present && !notify.present && !isr.present)
        return Error::NotFound;
    if (!common.present || !notify.present || !isr.present) {
        log::error("virtio-pci: modern capabilities incomplete (common {}, notify {}, isr {})", common.present, notify.present, isr.present);
        return Error::Corrupt;
    }
    if (common.length < pci_common::minimum_length || notify.length < 2 || isr.length < 1) {
        log::error("virtio-pci: modern capability regions too small (common {}, notify {}, isr {})", common.length, notify.length, isr.length);
        return Error::Corrupt;
    }

    auto map = [&](const CapabilityRegion& region, const char* what) -> Result<IoWindow*> {
        uint32_t length = region.length > max_window ? max_window : region.length;
        auto window = m_function.map_bar(region.bar, region.offset, length);
        if (window.is_error())
            log::error("virtio-pci: cannot map the {} region (BAR {} offset {:#x} length {:#x}): {}", what, region.bar, region.offset,
                length, error_name(window.error()));
        return window;
    };
    enable_decoding(m_function, pci::config::command_memory | pci::config::command_io);
    m_common = TRY(map(common, "common"));
    m_notify = TRY(map(notify, "notify"));
    m_isr = TRY(map(isr, "ISR"));
    if (device.present && device.length > 0)
        m_device = TRY(map(device, "device"));
    m_notify_multiplier = notify.notify_multiplier;
    m_num_queues = m_common->read16(pci_common::num_queues);
    return ok();
}

uint64_t PciModernTransport::device_features()
{
    m_common->write32(pci_common::device_feature_select, 0);
    uint64_t low = m_common->read32(pci_common::device_feature);
    m_common->write32(pci_common::device_feature_select, 1);
    uint64_t high = m_common->read32(pci_common::device_feature);
    return low | (high << 32);
}

void PciModernTransport::set_driver_features(uint64_t features)
{
    m_common->write32(pci_common::driver_feature_select, 0);
    m_common->write32(pci_common::driver_feature, uint32_t(features));
    m_common->write32(pci_common::driver_feature_select, 1);
    m_common->write32(pci_common::driver_feature, uint32_t(features >> 32));
}

void PciModernTransport::config_write8(uint32_t offset, uint8_t value)
{
    if (m_device)
        m_device->write8(offset, value);
}
void PciModernTransport::config_write16(uint32_t offset, uint16_t value)
{
    if (m_device)
        m_device->write16(offset, value);
}
void PciModernTransport::config_write32(uint32_t offset, uint32_t value)
{
    if (m_device)
        m_device->write32(offset, value);
}

uint16_t PciModernTransport::queue_max_size(uint16_t index)
{
    if (index >= m_num_queues || index >= max_queues)
        return 0;
    m_common->write16(pci_common::queue_select, index);
    if (m_common->read16(pci_common::queue_enable) != 0)
        return 0;
    uint16_t size = m_common->read16(pci_common::queue_size);
    return size > max_queue_size ? uint16_t(max_queue_size) : size;
}

Result<void> PciModernTransport::setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses)
{
    if (index >= m_num_queues || index >= max_queues) {
        log::error("virtio-pci: queue {} does not exist (device has {})", index, m_num_queues);
        return Error::InvalidArgument;
    }
    m_common->write16(pci_common::queue_select, index);
    uint16_t maximum = m_common->read16(pci_common::queue_size);
    if (size == 0 || size > maximum) {
        log::error("virtio-pci: queue {} of {} entries does not fit the device's maximum {}", index, size, maximum);
        return Error::InvalidArgument;
    }
    m_common->write16(pci_common::queue_size, size);
    if (m_msix_vector) {
        m_common->write16(pci_common::queue_msix_vector, *m_msix_vector);
        if (m_common->read16(pci_common::queue_msix_vector) != *m_msix_vector) {
            log::error("virtio-pci: device refused MSI-X vector {} for queue {}", *m_msix_vector, index);
            return Error::Unsupported;
        }
    }
    auto write64 = [&](uint32_t offset, uint64_t value) {
        m_common->write32(offset, uint32_t(value));
        m_common->write32(offset + 4, uint32_t(value >> 32));
    };
    write64(pci_common::queue_desc, addresses.descriptors);
    write64(pci_common::queue_driver, addresses.avail);
    write64(pci_common::queue_device, addresses.used);

    uint64_t notify_offset = uint64_t(m_common->read16(pci_common::queue_notify_off)) * m_notify_multiplier;
    if (notify_offset + 2 > m_notify->size()) {
        log::error("virtio-pci: queue {} notify offset {:#x} lies outside the notify region ({} bytes)", index, notify_offset,
            m_notify->size());
        return Error::Corrupt;
    }
    m_notify_offsets[index] = uint32_t(notify_offset);
    m_common->write16(pci_common::queue_enable, 1);
    return ok();
}

void PciModernTransport::notify(uint16_t index)
{
    if (index < max_queues && m_notify_offsets[index])
        m_notify->write16(*m_notify_offsets[index], index);
}

uint32_t PciModernTransport::acknowledge_interrupt()
{
    // Reading the ISR clears it and deasserts INTx.
    uint8_t pending = m_isr->read8(0);
    if (pending == 0xff)
        return 0;
    return pending & (interrupt::used_buffer | interrupt::config_change);
}

Result<void> PciModernTransport::use_msix_vector(std::optional<uint16_t> vector)
{
    m_msix_vector = vector;
    auto result = after_reset();
    if (result.is_error())
        m_msix_vector = std::nullopt;
    return result;
}

Result<void> PciModernTransport::after_reset()
{
    m_notify_offsets = {};
    uint16_t vector = m_msix_vector.value_or(msix_no_vector);
    m_common->write16(pci_common::config_msix_vector, vector);
    if (m_msix_vector && m_common->read16(pci_common::config_msix_vector) != vector) {
        log::error("virtio-pci: device refused MSI-X vector {} for configuration changes", vector);
        return Error::Unsupported;
    }
    return ok();
}

// --- legacy ---

Result<void> PciLegacyTransport::probe()
{
    std::optional<uint32_t> type = pci_device_type(m_function);
    if (!type)
        return Error::NotFound;
    uint16_t device = m_function.config_read16(pci::config::device_id);
    if (device > pci_ids::last_transitional) {
        log::error("virtio-pci: device {:#x} is modern-only but lacks modern capabilities", device);
        return Error::NotFound;
    }
    m_device_type = *type;
    pci::Bar bar = m_function.bar(0);
    if (bar.kind != pci::Bar::Kind::Io || bar.size < pci_legacy::config) {
        log::error("virtio-pci: legacy device without a usable I/O BAR 0");
        return Error::NotFound;
    }
    uint32_t size = bar.size > 0x10000 ? 0x10000 : uint32_t(bar.size);
    auto window = m_function.map_bar(0, 0, size);
    if (window.is_error()) {
        log::error("virtio-pci: cannot map legacy I/O BAR 0: {}", error_name(window.error()));
        return window.error();
    }
    m_registers = *window;
    enable_decoding(m_function, pci::config::command_io);
    return ok();
}

uint16_t PciLegacyTransport::queue_max_size(uint16_t index)
{
    m_registers->write16(pci_legacy::queue_select, index);
    if (m_registers->read32(pci_legacy::queue_pfn) != 0)
        return 0;
    uint16_t size = m_registers->read16(pci_legacy::queue_size);
    return size > max_queue_size ? 0 : size;
}

Result<void> PciLegacyTransport::setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses)
{
    m_registers->write16(pci_legacy::queue_select, index);
    uint16_t fixed = m_registers->read16(pci_legacy::queue_size);
    if (size == 0 || size != fixed) {
        log::error("virtio-pci: legacy queue {} has {} entries, not {}", index, fixed, size);
        return Error::InvalidArgument;
    }
    uint64_t frame = addresses.descriptors / legacy_queue_align;
    RingLayout layout = ring_layout(size);
    if (addresses.descriptors % legacy_queue_align != 0 || frame > 0xffffffffull
        || addresses.avail != addresses.descriptors + layout.avail || addresses.used != addresses.descriptors + layout.used) {
        log::error("virtio-pci: legacy queue {} at {:#x} is not in the legacy layout", index, addresses.descriptors);
        return Error::InvalidArgument;
    }
    if (m_msix_vector) {
        m_registers->write16(pci_legacy::queue_msix_vector, *m_msix_vector);
        if (m_registers->read16(pci_legacy::queue_msix_vector) != *m_msix_vector) {
            log::error("virtio-pci: device refused MSI-X vector {} for queue {}", *m_msix_vector, index);
            return Error::Unsupported;
        }
    }
    m_registers->write32(pci_legacy::queue_pfn, uint32_t(frame));
    return ok();
}

uint32_t PciLegacyTransport::acknowledge_interrupt()
{
    uint8_t pending = m_registers->read8(pci_legacy::isr);
    if (pending == 0xff)
        return 0;
    return pending & (interrupt::used_buffer | interrupt::config_change);
}

Result<void> PciLegacyTransport::use_msix_vector(std::optional<uint16_t> vector)
{
    m_msix_enabled = vector.has_value();
    m_msix_vector = vector;
    auto result = after_reset();
    if (result.is_error())
        m_msix_vector = std::nullopt;
    return result;
}

Result<void> PciLegacyTransport::after_reset()
{
    if (!m_msix_vector)
        return ok();
    m_registers->write16(pci_legacy::config_msix_vector, *m_msix_vector);
    if (m_registers->read16(pci_legacy::config_msix_vector) != *m_msix_vector) {
        log::error("virtio-pci: device refused MSI-X vector {} for configuration changes", *m_msix_vector);
        return Error::Unsupported;
    }
    return ok();
}

} // namespace skiff::virtio
