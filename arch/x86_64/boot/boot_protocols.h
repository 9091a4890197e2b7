// Converters from each loader's structures into BootInfo. Portable: they read
// loader memory only through PhysicalMemory, so host tests and fuzzers feed
// them synthetic structures. Loader structures are not trusted: every pointer
// and count is checked, and a problem is logged and refused.
#pragma once

#include "firmware/physical_memory.h"
#include "kernel/boot_info.h"
#include "lib/result.h"

#include <cstdint>

namespace skiff::boot {

// PVH: `start_info` is the hvm_start_info address the loader put in EBX.
Result<void> convert_pvh(const PhysicalMemory& memory, uint64_t start_info, BootInfo& info);

// Linux 64-bit boot protocol: `boot_params` is the zero page address from RSI.
Result<void> convert_linux64(const PhysicalMemory& memory, uint64_t boot_params, BootInfo& info);

// multiboot2: `magic` from EAX, `mbi` the information structure from EBX.
Result<void> convert_multiboot2(const PhysicalMemory& memory, uint32_t magic, uint64_t mbi, BootInfo& info);

// e820 / PVH / multiboot2 memory types share the same numbering.
MemoryType memory_type_from_e820(uint32_t type);

} // namespace skiff::boot
