// Memory-map normalisation. Loaders hand over maps that may be unsorted,
// overlapping, with reserved holes punched into RAM, zero-length or wrapping
// entries; everything after boot wants a clean, sorted list.
//
// Addresses are half-open [base, base + length). The byte at 2^64 - 1 is never
// part of a range: an entry reaching 2^64 is clipped to end at 2^64 - 1 (and
// logged), so every end() fits in 64 bits. No physical memory lives there.
//
// No heap and no large stack buffers: both passes sweep the address space
// boundary by boundary, O(n^2) in the number of entries (n <= 128 in practice:
// BootInfo::max_memory_ranges), which is far below a millisecond. A map that
// is already sorted and free of overlaps (what VMMs and GRUB hand over) is
// copied instead: under TCG, code that never runs is never translated.
#pragma once

#include "kernel/boot_info.h"
#include "lib/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skiff {

// Output entries normalize_memory_map() may need for n input entries: n ranges
// have at most 2n distinct boundaries, so at most 2n - 1 pieces between them.
constexpr size_t normalized_capacity(size_t input_count) { return input_count == 0 ? 0 : 2 * input_count - 1; }

// Writes a sorted, non-overlapping map to `out`, in which adjacent ranges of
// the same type are merged. Where entries overlap the higher MemoryType wins
// (Usable < AcpiReclaimable < AcpiNvs < Reserved < Unusable); an unknown type
// value is treated as Reserved. Zero-length entries are dropped; addresses no
// entry covers stay absent. `in` and `out` must not overlap.
//
// Returns the number of entries written. If `out` is too small the result is
// Error::Full and `out` is entirely filled with the correct normalised map of
// the lowest addresses: a valid, usable prefix (everything above is lost).
// normalized_capacity(in.size()) entries always suffice.
Result<size_t> normalize_memory_map(std::span<const MemoryRange> in, std::span<MemoryRange> out);

// Lowest address at or above `lowest`, aligned to `align` (a power of two),
// where `size` bytes lie inside one Usable range of a normalised map and clear
// of every excluded range (any order, may overlap; zero-length ones ignored):
// where the kernel can put something before any allocator exists. NotFound if
// no such place exists, InvalidArgument for a zero size or a bad alignment.
Result<uint64_t> first_fit(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
    uint64_t size, uint64_t align, uint64_t lowest);

// Sum of the lengths of all ranges of `type` (saturates instead of wrapping if
// handed an unnormalised map).
uint64_t total_of_type(std::span<const MemoryRange> normalized, MemoryType type);

// End of the highest range of any type (0 for an empty map).
uint64_t highest_address(std::span<const MemoryRange> normalized);

} // namespace skiff
