// The kernel's memory: physical pages from the boot memory map, the heap on
// top of them, and bounded reads of firmware memory.
#pragma once

#include "firmware/physical_memory.h"
#include "kernel/boot_info.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/page_allocator.h"
#include "lib/result.h"

#include <span>

namespace skiff::memory {

// Smallest amount of usable RAM Skiff will run with.
constexpr uint64_t minimum_usable_bytes = 4ull << 20;

// Builds the page allocator from the memory map, excluding the image, boot
// modules and the null page, then the heap. Error::OutOfMemory when the
// machine has too little RAM.
Result<void> init(const BootInfo& boot_info, bool heap_debug_checks);

// Which memory-map ranges the kernel maps at boot: RAM and ACPI ranges
// anywhere, other reserved ranges only below 4 GiB (firmware areas). Large
// reserved windows high up (QEMU pc lists a 12 GiB one at 1 TiB) are address
// space, not memory, and mapping them would cost most of the boot.
bool mapped_at_boot(const MemoryRange& range);
// The ranges to map, filtered by mapped_at_boot().
std::span<const MemoryRange> boot_mapped_ranges();

PageAllocator& pages();
Heap& heap();
std::span<const MemoryRange> normalized_map();
uint64_t usable_bytes();
uint64_t ram_bytes();

// Reads of firmware memory for the table parsers: any range the memory map
// lists (of any type) and the first MiB; nothing else, so a corrupt table
// cannot steer the kernel into device registers.
const PhysicalMemory& firmware_memory();
// The first page is never mapped (null dereferences fault); its contents are
// kept so firmware_memory() can still read the BIOS data area.
void preserve_null_page();

} // namespace skiff::memory
