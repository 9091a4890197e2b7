// How a virtio driver reaches its device, whatever the bus: feature bits,
// status, device configuration space, queue setup, notifications and the
// interrupt status. Implementations: virtio-mmio version 2 and legacy version
// 1 (mmio_transport.h), modern and legacy virtio-pci (pci_transport.h). All
// of them work over IoWindow, so host tests drive them with fake registers.
//
// The device is untrusted: values read through a transport are checked by
// the caller before they are used as sizes, indices or offsets.
#pragma once

#include "lib/result.h"

#include <cstdint>
#include <optional>

namespace skiff::virtio {

struct QueueAddresses {
    uint64_t descriptors;
    uint64_t avail; // "driver area"
    uint64_t used;  // "device area"
};

class Transport {
public:
    // For log lines: "virtio-mmio v2", "virtio-pci modern", ...
    virtual const char* kind() const = 0;
    virtual uint32_t device_type() = 0;
    // Legacy (pre-1.0) interface: no FEATURES_OK, no VERSION_1, 32 feature
    // bits, queues given as one page frame in the legacy layout.
    virtual bool legacy() const = 0;
    // Legacy PCI cannot change a queue's size: the driver must use the maximum.
    virtual bool queue_size_fixed() const { return false; }

    virtual uint64_t device_features() = 0;
    virtual void set_driver_features(uint64_t features) = 0;
    virtual uint8_t status() = 0;
    virtual void set_status(uint8_t value) = 0;

    // Raw device-configuration accesses (offsets from the start of the
    // device-specific area). Prefer the checked reads below.
    virtual uint8_t config_read8_raw(uint32_t offset) = 0;
    virtual uint16_t config_read16_raw(uint32_t offset) = 0;
    virtual uint32_t config_read32_raw(uint32_t offset) = 0;
    virtual void config_write8(uint32_t offset, uint8_t value) = 0;
    virtual void config_write16(uint32_t offset, uint16_t value) = 0;
    virtual void config_write32(uint32_t offset, uint32_t value) = 0;
    // Bumped by the device whenever the configuration changes; transports
    // without one (legacy) report nullopt.
    virtual std::optional<uint32_t> config_generation() { return std::nullopt; }

    // 0 when the queue does not exist (or is already in use).
    virtual uint16_t queue_max_size(uint16_t index) = 0;
    // Programs size and ring addresses and enables the queue. Addresses point
    // into one region laid out as virtio::ring_layout(size) says (legacy
    // transports need exactly that layout, 4 KiB aligned).
    virtual Result<void> setup_queue(uint16_t index, uint16_t size, const QueueAddresses& addresses) = 0;
    virtual void notify(uint16_t index) = 0;
    // Reads which interrupt causes are pending (virtio::interrupt bits) and
    // acknowledges them. With MSI-X this may read 0: the vector says it all.
    virtual uint32_t acknowledge_interrupt() = 0;

    // PCI with MSI-X: route the configuration-change interrupt and every
    // queue set up afterwards to this MSI-X table entry (nullopt: none). Kept
    // across reset(). Others: Unsupported.
    virtual Result<void> use_msix_vector(std::optional<uint16_t> vector) { return Error::Unsupported; }

    // Writes status 0 and waits, boundedly, for the device to read back 0;
    // then restores transport state the reset cleared (MSI-X vectors).
    Result<void> reset();

    // Configuration reads that retry while the generation changes under them
    // (a 64-bit field is two 32-bit reads). A generation that never settles
    // is a broken device: Error::DeviceBroken with a log line.
    Result<uint8_t> config_read8(uint32_t offset);
    Result<uint16_t> config_read16(uint32_t offset);
    Result<uint32_t> config_read32(uint32_t offset);
    Result<uint64_t> config_read64(uint32_t offset);

protected:
    ~Transport() = default;
    virtual Result<void> after_reset() { return ok(); }

private:
    template<typename Read>
    auto read_stable(Read&& read) -> Result<decltype(read())>;
};

// Device initialisation (spec 3.1.1), up to the point where the driver sets
// up its queues: reset, ACKNOWLEDGE, DRIVER, feature negotiation. Accepts
// the offered bits among `wanted` (plus VERSION_1 and ACCESS_PLATFORM on
// modern devices); refuses a modern device without VERSION_1, a device
// lacking any `required` bit, or one that does not keep FEATURES_OK. On
// failure the device is left with FAILED set and the reason is logged.
// Returns the negotiated features.
Result<uint64_t> negotiate_features(Transport& transport, const char* who, uint64_t wanted, uint64_t required = 0);
// DRIVER_OK: the device is live.
void set_driver_ok(Transport& transport);
// Sets FAILED and logs why; for any failure after negotiate_features().
void fail_device(Transport& transport, const char* who, const char* why);

} // namespace skiff::virtio
