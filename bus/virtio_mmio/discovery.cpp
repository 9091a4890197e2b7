#include "bus/virtio_mmio/discovery.h"

#include "bus/virtio_mmio/device_list.h"
#include "drivers/virtio/virtio_devices.h"
#include "lib/log.h"

namespace skiff::virtio_mmio {

Result<size_t> discover_virtio_mmio(const CommandLine& command_line, const PlatformInfo& platform,
    const PhysicalMemory& memory)
{
    DeviceList list = collect_devices(command_line, platform, memory);
    if (list.empty()) {
        log::info("virtio-mmio: no devices on the command line or in ACPI");
        return size_t(0);
    }
    std::string_view source = list.source() == Source::CommandLine ? "command line" : "ACPI";
    size_t bound = 0;
    for (const DeviceDescription& device : list.devices()) {
        log::info("virtio-mmio: {:#x}+{:#x} on GSI {} ({}, {} {})", device.base, device.size, device.gsi, source,
            device.level_triggered ? "level" : "edge", device.active_low ? "low" : "high");
        // The driver programs the line edge-triggered, active high, as both
        // VMMs raise it. QEMU's DSDT says level, but its transport holds the
        // line high until InterruptACK, so a driver that acknowledges before
        // draining the rings misses no edge.
        auto result = probe_virtio_mmio(device.base, device.size, device.gsi);
        if (result) {
            ++bound;
        } else if (result.error() != Error::NotFound && result.error() != Error::Unsupported) {
            log::warn("virtio-mmio: {:#x}: driver failed: {}", device.base, error_name(result.error()));
        }
    }
    log::info("virtio-mmio: {} device(s) listed, {} bound to a driver", list.size(), bound);
    return bound;
}

} // namespace skiff::virtio_mmio
