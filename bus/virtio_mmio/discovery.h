// virtio-mmio at boot: the transports the command line names, else those the
// ACPI DSDT/SSDTs describe (LNRO0005), each handed to the virtio driver.
// Image only.
#pragma once

#include "lib/result.h"

#include <cstddef>

namespace skiff {
class CommandLine;
class PhysicalMemory;
struct PlatformInfo;
}

namespace skiff::virtio_mmio {

// Returns how many transports a driver took (empty slots and device types
// without a driver are logged, not errors). Never fails today; the Result
// leaves room for a caller that must know probing could not run at all.
Result<size_t> discover_virtio_mmio(const CommandLine& command_line, const PlatformInfo& platform,
    const PhysicalMemory& memory);

} // namespace skiff::virtio_mmio
