// Physical page-frame allocator: one bit per 4 KiB frame in [base, limit),
// set = in use. The bitmap lives in storage the caller supplies, because the
// kernel must carve it out of RAM before any allocator exists.
//
// Life cycle: init() marks every frame used; the kernel then hands over the
// usable RAM with add_free_range() and fences off what it must never give out
// (its own image, boot modules, the bitmap itself) with reserve_range().
//
// Every public call takes an IrqSpinLock, so any CPU or interrupt handler may
// call it at any time.
#pragma once

#include "kernel/boot_info.h"
#include "lib/result.h"
#include "lib/spinlock.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skiff {

class PageAllocator {
public:
    static constexpr uint64_t page_size = 4096;

    // Number of 64-bit words the bitmap for [base, limit) needs.
    static constexpr size_t bitmap_words_for(uint64_t base, uint64_t limit)
    {
        if (limit <= base)
            return 0;
        uint64_t pages = (limit - base + page_size - 1) / page_size;
        return static_cast<size_t>((pages + 63) / 64);
    }

    // InvalidArgument if base/limit are not page aligned, the range is empty
    // or the bitmap is smaller than bitmap_words_for(base, limit).
    Result<void> init(uint64_t base, uint64_t limit, std::span<uint64_t> bitmap);

    // Frees whole pages inside [base, base+length) (rounds inward) and clips
    // to the managed range; clipping is logged.
    void add_free_range(uint64_t base, uint64_t length);
    // Marks every page touching [base, base+length) used (rounds outward).
    void reserve_range(uint64_t base, uint64_t length);

    // A physical address of `pages` contiguous free frames aligned to
    // `align_pages` frames (a power of two). OutOfMemory when no run fits,
    // InvalidArgument for zero pages or a bad alignment.
    Result<uint64_t> allocate(size_t pages = 1, size_t align_pages = 1);
    // Like allocate(), but the whole run lies below max_address (e.g. 1 MiB
    // for an AP trampoline, 4 GiB for 32-bit DMA).
    Result<uint64_t> allocate_below(uint64_t max_address, size_t pages, size_t align_pages = 1);

    // Refuses (logs, InvalidArgument, state unchanged) a misaligned address,
    // a run outside the managed range, or a run with any page already free.
    Result<void> free(uint64_t address, size_t pages = 1);

    // False for addresses outside the managed range.
    bool is_free(uint64_t address) const;

    size_t free_pages() const;
    // Frames covered by the bitmap: (limit - base) / page_size.
    size_t total_pages() const;
    // Usable frames: those add_free_range() made free, less those that
    // reserve_range() later took back while free. Always free + allocated.
    size_t managed_pages() const;

    uint64_t base() const { return m_base; }
    uint64_t limit() const { return m_limit; }

private:
    static constexpr size_t no_page = SIZE_MAX;

    struct Clipped {
        uint64_t first;
        uint64_t last;
    };
    // Frees or takes back the whole pages in [first, last) (page aligned),
    // clipped to the managed range. Out of line: it serves both
    // add_free_range and reserve_range, which boot calls once each per range.
    [[gnu::noinline]] Clipped change_range(uint64_t first, uint64_t last, bool used);
    Result<uint64_t> allocate_in(size_t first_page, size_t end_page, size_t pages, size_t align_pages, bool whole_range);
    size_t take_single_locked();
    size_t find_run_locked(size_t first, size_t end, size_t pages, size_t align_pages) const;
    size_t find_bit_locked(size_t first, size_t end, bool used) const;
    size_t update_locked(size_t first, size_t count, bool used);
    size_t align_index(size_t index, size_t align_pages) const;

    mutable IrqSpinLock m_lock;
    uint64_t m_base { 0 };
    uint64_t m_limit { 0 };
    uint64_t* m_bitmap { nullptr };
    size_t m_words { 0 };
    size_t m_total { 0 };
    size_t m_free { 0 };
    size_t m_managed { 0 };
    size_t m_hint_word { 0 }; // next-fit: single-page searches start here
};

// Hands a normalised memory map to `pages`: every whole page inside a Usable
// range becomes free, then every page an excluded range touches (the image,
// boot modules, the bitmap; any order, may overlap) is taken back.
void free_usable_memory(PageAllocator& pages, std::span<const MemoryRange> normalized,
                        std::span<const MemoryRange> excluded);

// The pages free_usable_memory() leaves free in an allocator covering
// [0, limit), counted without building one: whole pages of Usable ranges
// below `limit`, less every page an excluded range touches. `excluded` must
// be sorted by base (overlaps are fine); sort_by_base() does that.
uint64_t count_free_pages(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
                          uint64_t limit);

// Orders a handful of ranges by base (insertion sort: the excluded list).
void sort_by_base(std::span<MemoryRange> ranges);

} // namespace skiff
