#include "kernel/mm/memory_map.h"

#include "lib/log.h"

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

} // namespace

Result<size_t> normalize_memory_map(std::span<const MemoryRange> in, std::span<MemoryRange> out)
{
    if (!in.empty() && !out.empty() && spans_overlap(in, out)) {
        log::error("memory map: input and output buffers overlap");
        return Error::InvalidArgument;
    }

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

Result<size_t> usable_ranges(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
    uint64_t align, std::span<MemoryRange> out)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        log::error("memory map: alignment {:#x} is not a power of two", align);
        return Error::InvalidArgument;
    }
    uint64_t previous_end = 0;
    for (size_t i = 0; i < normalized.size(); ++i) {
        Extent e = extent_of(normalized[i]);
        if (e.wrapped || (i > 0 && normalized[i].base < previous_end)) {
            log::error("memory map: entry {} ({:#x}+{:#x}) is out of order or wraps; map not normalised", i,
                normalized[i].base, normalized[i].length);
            return Error::InvalidArgument;
        }
        previous_end = e.end;
    }

    size_t count = 0;
    for (const MemoryRange& range : normalized) {
        if (range.type != MemoryType::Usable || range.length == 0)
            continue;
        uint64_t cursor = range.base;
        uint64_t end = range.end();
        while (cursor < end) {
            // Step over every excluded range that covers the cursor.
            for (bool moved = true; moved;) {
                moved = false;
                for (const MemoryRange& hole : excluded) {
                    Extent x = extent_of(hole);
                    if (!x.empty() && x.base <= cursor && x.end > cursor) {
                        cursor = x.end;
                        moved = true;
                    }
                }
            }
            if (cursor >= end)
                break;
            uint64_t piece_end = end;
            for (const MemoryRange& hole : excluded) {
                Extent x = extent_of(hole);
                if (!x.empty() && x.base > cursor && x.base < piece_end)
                    piece_end = x.base;
            }

            uint64_t mask = align - 1;
            if (cursor <= top - mask) {
                uint64_t aligned_base = (cursor + mask) & ~mask;
                uint64_t aligned_end = piece_end & ~mask;
                if (aligned_base < aligned_end) {
                    if (count == out.size()) {
                        log::warn("memory map: only {} output entries for usable RAM; ranges from {:#x} up dropped",
                            out.size(), aligned_base);
                        return Error::Full;
                    }
                    out[count++] = { aligned_base, aligned_end - aligned_base, MemoryType::Usable };
                }
            }
            cursor = piece_end;
        }
    }
    return count;
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
