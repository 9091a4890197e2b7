// Device interrupts, for drivers. Handlers run in interrupt context with
// interrupts off: they must not block; they acknowledge their device, note
// the work and wake whoever waits (Completion, wait queues).
#pragma once

#include "lib/result.h"

#include <cstdint>

namespace skiff::irq {

using Handler = void (*)(void* context);

// A line through the IOAPIC: a GSI with its trigger mode and polarity. PCI
// INTx lines are level-triggered, active low; ISA and virtio-mmio lines on
// microvm and Firecracker are edge-triggered, active high.
struct Line {
    uint32_t gsi;
    bool level_triggered;
    bool active_low;
};
Result<void> attach_line(const Line& line, Handler handler, void* context);
Result<void> mask_line(uint32_t gsi);

// An MSI / MSI-X message: program `address` and `data` into the device's
// table entry; the interrupt then calls the handler.
struct MsiMessage {
    uint64_t address;
    uint32_t data;
    uint8_t vector;
};
Result<MsiMessage> allocate_msi(Handler handler, void* context);

} // namespace skiff::irq
