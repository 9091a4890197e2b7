// PCI at boot: find the configuration mechanism (ECAM from ACPI's MCFG,
// else port 0xCF8/0xCFC), enumerate, and hand every virtio function (vendor
// 0x1af4) to the virtio driver. Image only.
#pragma once

#include "bus/pci/pci_function.h"
#include "kernel/irq.h"
#include "lib/result.h"

#include <cstddef>

namespace skiff {
struct PlatformInfo;
}

namespace skiff::pci {

// Returns how many virtio functions a driver took. A machine without PCI
// (microvm, Firecracker) is not an error: 0, with one info line. The
// Function objects live in a static pool and stay valid forever.
Result<size_t> discover_pci(const PlatformInfo& platform);

// The INTx line (GSI, trigger, polarity) of a function discover_pci handed
// out. Function::legacy_interrupt_gsi() gives only the GSI; QEMU's MADT
// declares the PCI IRQs level-triggered *active high*, so drivers should take
// the polarity from here rather than assume active low. NotFound for a
// Function this module did not create, or one without an INTx line.
Result<irq::Line> legacy_interrupt_line(Function& function);

} // namespace skiff::pci
