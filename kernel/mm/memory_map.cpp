#include "kernel/mm/memory_map.h"

#include "lib/log.h"
#include "lib/one_test.h"

#include <cstdint>

namespace skiff {

namespace {

constexpr uint64_t top = UINT64_MAX; // exclusive limit of every range, see header

struct Extent {
    uint64_t base;
    uint64_t end;
    bool wrapped;
    bool empty() const { return end <= base; }
};

Extent extent_of(const MemoryRange& range)
{
    uint64_t end = 0;
    if (__builtin_add_overflow(range.base, range.length, &end))
        return { range.base, top, true };
    return { range.base, end, false };
}

constexpr uint8_t max_known_type = static_cast<uint8_t>(MemoryType::Unusable);

bool known_type(MemoryType type) { return static_cast<uint8_t>(type) <= max_known_type; }

// Precedence rank; a type we do not know is not safe to use, so Reserved.
uint8_t rank_of(MemoryType type)
{
    return known_type(type) ? static_cast<uint8_t>(type) : static_cast<uint8_t>(MemoryType::Reserved);
}

bool spans_overlap(std::span<const MemoryRange> a, std::span<MemoryRange> b)
{
    auto a_begin = reinterpret_cast<uintptr_t>(a.data());
    auto a_end = a_begin + a.size_bytes();
    auto b_begin = reinterpret_cast<uintptr_t>(b.data());
    auto b_end = b_begin + b.size_bytes();
    return a_begin < b_end && b_begin < a_end;
}

// Appends [base, end) of `type` to out, merging with the previous entry when
// it touches and has the same type. False if out is full.
bool append(std::span<MemoryRange> out, size_t& count, uint64_t base, uint64_t end, MemoryType type)
{
    if (count > 0 && out[count - 1].end() == base && out[count - 1].type == type) {
        out[count - 1].length += end - base;
        return true;
    }
    if (count == out.size())
        return false;
    out[count++] = { base, end - base, type };
    return true;
}

// Loaders (QEMU, Firecracker, GRUB) hand over maps that are already sorted,
// without overlaps and with known types: for those the result is the input
// with zero-length entries dropped and touching same-type neighbours merged.
// False as soon as an entry needs the sweep (which also does the logging), or
// if `out` fills up (the sweep then produces the Full result). It runs on
// every boot, so each entry is judged in one test: under TCG every branch on
// the boot path is a translation block of its own.
bool copy_ordered_map(std::span<const MemoryRange> in, std::span<MemoryRange> out, size_t& count)
{
    count = 0;
    uint64_t previous_end = 0;
    MemoryType previous_type = MemoryType::Usable;
    for (const MemoryRange& range : in) {
        if (range.length == 0)
            continue;
        uint64_t end;
        bool wrapped = __builtin_add_overflow(range.base, range.length, &end);
        bool merges = (count != 0) & (range.base == previous_end) & (range.type == previous_type);
        bool full = !merges & (count == out.size());
        if (as_one_test(wrapped | !known_type(range.type) | (range.base < previous_end) | full))
            return false;
        // Merging rewrites the previous entry with its old base.
        size_t slot = count - merges;
        uint64_t base = merges ? out[slot].base : range.base;
        out[slot] = { base, end - base, range.type };
        count = slot + 1;
        previous_end = end;
        previous_type = range.type;
    }
    return true;
}

} // namespace

Result<size_t> normalize_memory_map(std::span<const MemoryRange> in, std::span<MemoryRange> out)
{
    if (!in.empty() && !out.empty() && spans_overlap(in, out)) {
        log::error("memory map: input and output buffers overlap");
        return Error::InvalidArgument;
    }
    // Under TCG the sweep below is a tenth of what the boot path translates.
    if (size_t count = 0; copy_ordered_map(in, out, count))
        return count;

    bool any = false;
    uint64_t cursor = top;
    for (const MemoryRange& range : in) {
        Extent e = extent_of(range);
        if (e.wrapped)
            log::warn("memory map: entry {:#x}+{:#x} wraps past the top of the address space; clipped to end at {:#x}",
                range.base, range.length, top);
        if (!known_type(range.type))
            log::warn("memory map: entry {:#x}+{:#x} has unknown type {}; treated as reserved", range.base, range.length,
                static_cast<uint8_t>(range.type));
        if (e.empty())
            continue;
        any = true;
        if (e.base < cursor)
            cursor = e.base;
    }
    if (!any)
        return size_t(0);

    // Sweep the boundaries in address order; between two consecutive
    // boundaries every entry either covers the whole piece or none of it.
    size_t count = 0;
    while (true) {
        bool found = false;
        uint64_t next = top;
        for (const MemoryRange& range : in) {
            Extent e = extent_of(range);
            if (e.empty())
                continue;
            if (e.base > cursor && (!found || e.base < next)) {
                next = e.base;
                found = true;
            }
            if (e.end > cursor && (!found || e.end < next)) {
                next = e.end;
                found = true;
            }
        }
        if (!found)
            break;

        int best = -1;
        for (const MemoryRange& range : in) {
            Extent e = extent_of(range);
            if (!e.empty() && e.base <= cursor && e.end >= next && int(rank_of(range.type)) > best)
                best = rank_of(range.type);
        }
        if (best >= 0 && !append(out, count, cursor, next, static_cast<MemoryType>(best))) {
            log::warn("memory map: only {} output entries; ranges from {:#x} up dropped", out.size(), cursor);
            return Error::Full;
        }
        cursor = next;
    }
    return count;
}

Result<uint64_t> first_fit(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
    uint64_t size, uint64_t align, uint64_t lowest)
{
    if (size == 0 || align == 0 || (align & (align - 1)) != 0) {
        log::error("memory map: cannot place {:#x} bytes aligned to {:#x}", size, align);
        return Error::InvalidArgument;
    }
    uint64_t mask = align - 1;
    for (const MemoryRange& range : normalized) {
        Extent e = extent_of(range);
        if (range.type != MemoryType::Usable || e.end <= lowest)
            continue;
        uint64_t candidate = e.base > lowest ? e.base : lowest;
        // Every step moves the candidate up past an exclusion, so this ends.
        while (candidate <= top - mask) {
            candidate = (candidate + mask) & ~mask;
            if (candidate > e.end || e.end - candidate < size)
                break;
            bool moved = false;
            for (const MemoryRange& hole : excluded) {
                Extent x = extent_of(hole);
                if (!x.empty() && x.base < candidate + size && candidate < x.end) {
                    candidate = x.end;
                    moved = true;
                }
            }
            if (!moved)
                return candidate;
        }
    }
    return Error::NotFound;
}

uint64_t total_of_type(std::span<const MemoryRange> normalized, MemoryType type)
{
    uint64_t total = 0;
    for (const MemoryRange& range : normalized) {
        if (range.type == type && __builtin_add_overflow(total, range.length, &total))
            return UINT64_MAX;
    }
    return total;
}

uint64_t highest_address(std::span<const MemoryRange> normalized)
{
    uint64_t highest = 0;
    for (const MemoryRange& range : normalized) {
        Extent e = extent_of(range);
        if (!e.empty() && e.end > highest)
            highest = e.end;
    }
    return highest;
}

} // namespace skiff
