// Binding virtio devices to drivers. Device objects are created once at
// boot and live for the rest of the run (interrupt handlers point at them).
#include "drivers/virtio/virtio_devices.h"

#include "block/block_device.h"
#include "bus/hardware_windows.h"
#include "bus/pci/discovery.h"
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/pci_transport.h"
#include "drivers/virtio/virtio_blk.h"
#include "drivers/virtio/virtio_spec.h"
#include "kernel/clock.h"
#include "kernel/irq.h"
#include "lib/log.h"

#include <new>

namespace skiff {

namespace {

// The largest virtio-mmio block Skiff maps; real ones are 512 bytes to 4 KiB.
constexpr uint64_t max_mmio_window = 1ull << 20;

template<typename T, typename... Args>
T* create(Args&&... args)
{
    T* object = new (std::nothrow) T(static_cast<Args&&>(args)...);
    if (!object)
        log::error("virtio: out of memory for a device object");
    return object;
}

// How long a device with requests in flight may go without completing any
// before the driver re-kicks it and polls (VirtioBlk::check_progress).
constexpr uint64_t watchdog_period_ns = 50'000'000;

struct BlockWatchdog {
    virtio::VirtioBlk* device;
    clock::Timer timer;
};

void watchdog_tick(void* context)
{
    auto* watchdog = static_cast<BlockWatchdog*>(context);
    if (watchdog->device->check_progress())
        clock::timer_start(watchdog->timer, clock::now_ns() + watchdog_period_ns, watchdog_tick, watchdog);
}

void watchdog_arm(void* context)
{
    auto* watchdog = static_cast<BlockWatchdog*>(context);
    clock::timer_start(watchdog->timer, clock::now_ns() + watchdog_period_ns, watchdog_tick, watchdog);
}

Result<void> bind_block(virtio::Transport& transport, std::string_view where, virtio::VirtioBlk& device, bool poll_mode)
{
    virtio::VirtioBlk::Options options;
    options.poll_mode = poll_mode;
    // Lives as long as the device, which is never torn down: its timer can
    // never fire on a freed device.
    BlockWatchdog* watchdog = nullptr;
    if (!poll_mode) {
        watchdog = create<BlockWatchdog>();
        if (!watchdog)
            return Error::OutOfMemory;
        watchdog->device = &device;
        options.watchdog = { watchdog_arm, watchdog };
    }
    if (auto result = device.init(options); result.is_error()) {
        log::error("virtio: block device at {} not usable: {}", where, error_name(result.error()));
        delete watchdog; // never armed: init failed before any request
        return result.error();
    }
    if (auto result = block::register_device(device); result.is_error())
        return result.error();
    return ok();
}

void log_unsupported(uint32_t type, std::string_view where)
{
    log::info("virtio: {} device (type {}) at {} has no driver; skipped", virtio::device_type_name(type), type, where);
}

} // namespace

Result<void> probe_virtio_mmio(uint64_t base, uint64_t size, uint32_t gsi)
{
    char storage[32];
    std::string_view where = format(storage, "mmio {:#x}", base);
    if (size < virtio::mmio::minimum_window || size > max_mmio_window) {
        log::error("virtio: {} has a register window of {} bytes; refused", where, size);
        return Error::InvalidArgument;
    }
    auto* window = create<MmioWindow>();
    if (!window)
        return Error::OutOfMemory;
    if (auto result = window->map(base, uint32_t(size)); result.is_error()) {
        log::error("virtio: cannot map {}: {}", where, error_name(result.error()));
        delete window;
        return result.error();
    }
    auto* transport = create<virtio::MmioTransport>(*window);
    if (!transport)
        return Error::OutOfMemory;
    if (auto result = transport->probe(); result.is_error()) {
        delete transport;
        return result.error();
    }
    uint32_t type = transport->device_type();
    if (type == virtio::device_type::none) {
        log::debug("virtio: {} is an empty slot", where);
        delete transport;
        return Error::NotFound;
    }
    if (type != virtio::device_type::block) {
        log_unsupported(type, where);
        delete transport;
        return Error::Unsupported;
    }
    auto* device = create<virtio::VirtioBlk>(*transport, virtio::kernel_dma());
    if (!device)
        return Error::OutOfMemory;
    bool poll_mode = false;
    if (auto result = irq::attach_line({ gsi, false, false }, virtio::VirtioBlk::interrupt_entry, device); result.is_error()) {
        log::warn("virtio: cannot attach GSI {} for {} ({}); polling it instead", gsi, where, error_name(result.error()));
        poll_mode = true;
    }
    return bind_block(*transport, where, *device, poll_mode);
}

Result<void> probe_virtio_pci(pci::Function& function)
{
    std::optional<uint32_t> type = virtio::pci_device_type(function);
    if (!type)
        return Error::NotFound;
    pci::Address address = function.address();
    char storage[32];
    std::string_view where = format(storage, "pci {:02x}:{:02x}.{}", address.bus, address.device, address.function);
    if (*type != virtio::device_type::block) {
        log_unsupported(*type, where);
        return Error::Unsupported;
    }

    virtio::Transport* transport = nullptr;
    bool msix_capable = false;
    pci::for_each_capability(function, [&](uint8_t id, uint8_t) {
        msix_capable |= id == pci::capability::msix;
        return true;
    });
    auto* modern = create<virtio::PciModernTransport>(function);
    if (!modern)
        return Error::OutOfMemory;
    if (auto result = modern->probe(); result.is_error()) {
        delete modern;
        if (result.error() != Error::NotFound)
            return result.error();
        auto* legacy = create<virtio::PciLegacyTransport>(function);
        if (!legacy)
            return Error::OutOfMemory;
        if (auto legacy_result = legacy->probe(); legacy_result.is_error()) {
            delete legacy;
            return legacy_result.error();
        }
        transport = legacy;
    } else {
        transport = modern;
    }

    auto* device = create<virtio::VirtioBlk>(*transport, virtio::kernel_dma());
    if (!device)
        return Error::OutOfMemory;
    bool interrupts = false;
    bool msix_enabled = false;
    if (msix_capable) {
        auto message = irq::allocate_msi(virtio::VirtioBlk::interrupt_entry, device);
        msix_enabled = message && function.enable_msix(&message->address, &message->data, 1);
        if (msix_enabled && transport->use_msix_vector(0))
            interrupts = true;
        else if (msix_enabled)
            log::warn("virtio: {} refuses its MSI-X vector", where);
    }
    // With MSI-X enabled INTx is off, so INTx only when MSI-X could not be.
    if (!msix_enabled) {
        // Level-triggered; the polarity is the firmware's (QEMU's MADT makes
        // its PCI IRQs active high, not PCI's native active low).
        auto line = pci::legacy_interrupt_line(function);
        if (line && irq::attach_line(*line, virtio::VirtioBlk::interrupt_entry, device))
            interrupts = true;
    }
    if (!interrupts)
        log::warn("virtio: no interrupt for {}; polling it instead", where);
    else
        log::debug("virtio: {} interrupts by {}", where, msix_enabled ? "MSI-X" : "INTx");
    return bind_block(*transport, where, *device, !interrupts);
}

} // namespace skiff
