// Memory that devices read and write. Skiff identity-maps RAM, so the CPU
// address and the device (bus) address are the same number today; drivers
// still keep both, so an IOMMU or an offset mapping later changes only this.
#pragma once

#include "lib/result.h"

#include <cstddef>
#include <cstdint>

namespace skiff::dma {

struct Region {
    void* cpu;       // where the CPU reads and writes it
    uint64_t device; // what to program into the device
    size_t size;
};

// Physically contiguous, zeroed, aligned to at least 4 KiB (or `alignment`
// if larger). `below` limits the device address (e.g. 4 GiB for 32-bit DMA).
Result<Region> allocate(size_t size, size_t alignment = 4096, uint64_t below = ~uint64_t(0));
void release(const Region& region);

} // namespace skiff::dma
