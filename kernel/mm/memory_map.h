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
// BootInfo::max_memory_ranges), which is far below a millisecond.
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

// Output entries usable_ranges() may need: each excluded range can split one
// usable piece in two.
constexpr size_t usable_capacity(size_t normalized_count, size_t excluded_count)
{
    return normalized_count + excluded_count;
}

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

// Usable RAM of a normalised map minus the excluded ranges (kernel image, boot
// modules, low memory, ...; any order, may overlap, zero-length ones are
// ignored), each remaining piece shrunk inward to `align` (a power of two) and
// dropped if nothing is left. The result is sorted and non-overlapping; all
// ranges have type Usable.
//
// Error::InvalidArgument if `align` is not a power of two or `normalized` is
// not sorted and non-overlapping. Error::Full as for normalize_memory_map (out
// is filled with the lowest pieces); usable_capacity() entries always suffice.
Result<size_t> usable_ranges(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
    uint64_t align, std::span<MemoryRange> out);

// Sum of the lengths of all ranges of `type` (saturates instead of wrapping if
// handed an unnormalised map).
uint64_t total_of_type(std::span<const MemoryRange> normalized, MemoryType type);

// End of the highest range of any type (0 for an empty map).
uint64_t highest_address(std::span<const MemoryRange> normalized);

} // namespace skiff
