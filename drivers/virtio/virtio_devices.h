// Entry points for bus discovery: hand each virtio device found to the
// driver for its type. Image only (maps registers, attaches interrupts).
//
// Both return ok() when a driver now owns the device (a block device is in
// the block registry), NotFound when there is no virtio device there (an empty
// virtio-mmio slot, a non-virtio PCI function), Unsupported for device types
// without a driver (logged), and other errors (logged) when binding failed.
#pragma once

#include "bus/pci/pci_function.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff {

// A virtio-mmio register block at [base, base + size), interrupt on `gsi`
// (edge-triggered, active high, as on Firecracker and QEMU microvm).
Result<void> probe_virtio_mmio(uint64_t base, uint64_t size, uint32_t gsi);

// A PCI function; any vendor is accepted and non-virtio ones give NotFound.
// The function must stay valid for as long as the system runs. Modern
// virtio-pci is preferred; transitional devices without the modern
// capabilities use the legacy I/O BAR. Interrupts by MSI-X when the function
// has it, else INTx through the IOAPIC.
Result<void> probe_virtio_pci(pci::Function& function);

} // namespace skiff
