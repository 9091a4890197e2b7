#include "kernel/mm/page_allocator.h"

#include "lib/log.h"

#include <algorithm>
#include <bit>

namespace skiff {

namespace {

constexpr uint64_t all_ones = ~uint64_t(0);

// Bits [from, to) of one word; 0 <= from < to <= 64.
constexpr uint64_t bit_mask(unsigned from, unsigned to)
{
    uint64_t below_to = to == 64 ? all_ones : (uint64_t(1) << to) - 1;
    return below_to & (all_ones << from);
}

// End of [base, base+length) without wrapping past the top of the address space.
constexpr uint64_t saturating_end(uint64_t base, uint64_t length)
{
    uint64_t end = base + length;
    return end < base ? all_ones : end;
}

// Bits set in a word, without POPCNT (std::popcount becomes a libgcc call on
// CPUs that lack it, QEMU's default model among them).
constexpr size_t count_bits(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555);
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
    return static_cast<size_t>((x * 0x0101010101010101) >> 56);
}
static_assert(count_bits(0) == 0 && count_bits(~uint64_t(0)) == 64 && count_bits(0x8000000000000001) == 2);

// Not std::has_single_bit: that becomes a libgcc popcount call on CPUs without POPCNT.
constexpr bool valid_alignment(size_t align_pages) { return align_pages != 0 && (align_pages & (align_pages - 1)) == 0; }

} // namespace

Result<void> PageAllocator::init(uint64_t base, uint64_t limit, std::span<uint64_t> bitmap)
{
    if (base % page_size != 0 || limit % page_size != 0 || limit <= base) {
        log::error("page allocator: range [{:#x}, {:#x}) is empty or not page aligned", base, limit);
        return Error::InvalidArgument;
    }
    size_t words = bitmap_words_for(base, limit);
    if (bitmap.size() < words) {
        log::error("page allocator: bitmap for [{:#x}, {:#x}) needs {} words, got {}", base, limit, words,
                   bitmap.size());
        return Error::InvalidArgument;
    }

    LockGuard guard(m_lock);
    m_base = base;
    m_limit = limit;
    m_bitmap = bitmap.data();
    m_words = words;
    m_total = static_cast<size_t>((limit - base) / page_size);
    m_free = 0;
    m_managed = 0;
    m_hint_word = 0;
    // The bits past m_total in the last word stay set forever, so searches
    // never have to special-case the tail.
    std::fill(m_bitmap, m_bitmap + m_words, all_ones);
    return ok();
}

void PageAllocator::add_free_range(uint64_t base, uint64_t length)
{
    if (length == 0)
        return;
    uint64_t end = saturating_end(base, length);
    if (base > all_ones - (page_size - 1))
        return;
    uint64_t first = (base + page_size - 1) & ~(page_size - 1);
    uint64_t last = end & ~(page_size - 1);
    if (first >= last) {
        log::debug("page allocator: free range [{:#x}, {:#x}) holds no whole page", base, end);
        return;
    }

    auto [clipped_first, clipped_last] = change_range(first, last, false);
    if (clipped_first != first || clipped_last != last) {
        if (clipped_first < clipped_last)
            log::info("page allocator: free range [{:#x}, {:#x}) clipped to [{:#x}, {:#x})", first, last,
                      clipped_first, clipped_last);
        else
            log::info("page allocator: free range [{:#x}, {:#x}) lies outside [{:#x}, {:#x}), ignored", first,
                      last, m_base, m_limit);
    }
}

void PageAllocator::reserve_range(uint64_t base, uint64_t length)
{
    if (length == 0)
        return;
    uint64_t end = saturating_end(base, length);
    uint64_t first = base & ~(page_size - 1);
    uint64_t last = end > all_ones - (page_size - 1) ? (all_ones & ~(page_size - 1))
                                                      : (end + page_size - 1) & ~(page_size - 1);

    change_range(first, last, true);
}

PageAllocator::Clipped PageAllocator::change_range(uint64_t first, uint64_t last, bool used)
{
    LockGuard guard(m_lock);
    Clipped clipped { std::max(first, m_base), std::min(last, m_limit) };
    if (clipped.first < clipped.last) {
        size_t changed = update_locked(static_cast<size_t>((clipped.first - m_base) / page_size),
                                       static_cast<size_t>((clipped.last - clipped.first) / page_size), used);
        m_free = used ? m_free - changed : m_free + changed;
        m_managed = used ? m_managed - changed : m_managed + changed;
    }
    return clipped;
}

Result<uint64_t> PageAllocator::allocate(size_t pages, size_t align_pages)
{
    return allocate_in(0, SIZE_MAX, pages, align_pages, true);
}

Result<uint64_t> PageAllocator::allocate_below(uint64_t max_address, size_t pages, size_t align_pages)
{
    uint64_t base = m_base;
    if (max_address <= base)
        return allocate_in(0, 0, pages, align_pages, false);
    uint64_t below = (max_address - base) / page_size;
    return allocate_in(0, below > SIZE_MAX ? SIZE_MAX : static_cast<size_t>(below), pages, align_pages, false);
}

Result<uint64_t> PageAllocator::allocate_in(size_t first_page, size_t end_page, size_t pages, size_t align_pages,
                                            bool whole_range)
{
    if (pages == 0 || !valid_alignment(align_pages)) {
        log::error("page allocator: bad request for {} pages aligned to {} pages", pages, align_pages);
        return Error::InvalidArgument;
    }

    LockGuard guard(m_lock);
    end_page = std::min(end_page, m_total);
    if (pages > m_free || first_page >= end_page)
        return Error::OutOfMemory;

    size_t found;
    if (pages == 1 && align_pages == 1 && whole_range) {
        found = take_single_locked();
    } else if (whole_range) {
        // Start where single pages are being taken and wrap around, so multi-page
        // requests do not always eat the (often precious) low memory first.
        size_t start = std::min(m_hint_word * 64, m_total);
        found = find_run_locked(start, m_total, pages, align_pages);
        if (found == no_page)
            found = find_run_locked(0, std::min(m_total, start + pages - 1), pages, align_pages);
    } else {
        found = find_run_locked(first_page, end_page, pages, align_pages);
    }
    if (found == no_page)
        return Error::OutOfMemory;

    update_locked(found, pages, true);
    m_free -= pages;
    return m_base + static_cast<uint64_t>(found) * page_size;
}

Result<void> PageAllocator::free(uint64_t address, size_t pages)
{
    if (pages == 0 || address % page_size != 0) {
        log::error("page allocator: refusing to free {} pages at unaligned or empty {:#x}", pages, address);
        return Error::InvalidArgument;
    }

    size_t already_free;
    {
        LockGuard guard(m_lock);
        if (address < m_base || address >= m_limit || pages > (m_limit - address) / page_size) {
            already_free = no_page;
        } else {
            size_t first = static_cast<size_t>((address - m_base) / page_size);
            already_free = find_bit_locked(first, first + pages, false);
            if (already_free == first + pages) {
                update_locked(first, pages, false);
                m_free += pages;
                return ok();
            }
        }
    }
    if (already_free == no_page) {
        log::error("page allocator: refusing to free {} pages at {:#x}: outside [{:#x}, {:#x})", pages, address,
                   m_base, m_limit);
    } else {
        log::error("page allocator: double free of page {:#x} (freeing {} pages at {:#x}), nothing freed",
                   m_base + static_cast<uint64_t>(already_free) * page_size, pages, address);
    }
    return Error::InvalidArgument;
}

bool PageAllocator::is_free(uint64_t address) const
{
    LockGuard guard(m_lock);
    if (address < m_base || address >= m_limit)
        return false;
    size_t index = static_cast<size_t>((address - m_base) / page_size);
    return (m_bitmap[index / 64] & (uint64_t(1) << (index % 64))) == 0;
}

size_t PageAllocator::free_pages() const
{
    LockGuard guard(m_lock);
    return m_free;
}

size_t PageAllocator::total_pages() const
{
    LockGuard guard(m_lock);
    return m_total;
}

size_t PageAllocator::managed_pages() const
{
    LockGuard guard(m_lock);
    return m_managed;
}

size_t PageAllocator::take_single_locked()
{
    // Full words are skipped with one compare, so a mostly-used bitmap costs
    // one load per 64 pages.
    for (size_t step = 0; step < m_words; ++step) {
        size_t word = m_hint_word + step;
        if (word >= m_words)
            word -= m_words;
        if (m_bitmap[word] != all_ones) {
            m_hint_word = word;
            return word * 64 + static_cast<size_t>(std::countr_one(m_bitmap[word]));
        }
    }
    return no_page;
}

size_t PageAllocator::find_run_locked(size_t first, size_t end, size_t pages, size_t align_pages) const
{
    size_t candidate = align_index(first, align_pages);
    while (candidate < end && end - candidate >= pages) {
        size_t used = find_bit_locked(candidate, candidate + pages, true);
        if (used == candidate + pages)
            return candidate;
        size_t next_free = find_bit_locked(used + 1, end, false);
        if (next_free >= end)
            break;
        candidate = align_index(next_free, align_pages);
    }
    return no_page;
}

size_t PageAllocator::find_bit_locked(size_t first, size_t end, bool used) const
{
    while (first < end) {
        size_t word = first / 64;
        unsigned from = static_cast<unsigned>(first % 64);
        unsigned to = end - word * 64 >= 64 ? 64 : static_cast<unsigned>(end - word * 64);
        uint64_t bits = used ? m_bitmap[word] : ~m_bitmap[word];
        bits &= bit_mask(from, to);
        if (bits != 0)
            return word * 64 + static_cast<size_t>(std::countr_zero(bits));
        first = word * 64 + to;
    }
    return end;
}

size_t PageAllocator::update_locked(size_t first, size_t count, bool used)
{
    // One loop for partial and whole words alike: under TCG each distinct
    // instruction costs far more to translate than to run.
    size_t end = first + count;
    size_t changed = 0;
    uint64_t fill = used ? ~uint64_t(0) : 0;
    while (first < end) {
        size_t word = first / 64;
        unsigned from = static_cast<unsigned>(first % 64);
        if (from == 0 && end - first >= 64) {
            // Whole words: freeing all of RAM at boot is made of these.
            uint64_t before = m_bitmap[word];
            m_bitmap[word] = fill;
            changed += before == ~fill ? 64 : count_bits(before ^ fill);
            first += 64;
            continue;
        }
        unsigned to = end - word * 64 >= 64 ? 64 : static_cast<unsigned>(end - word * 64);
        uint64_t mask = bit_mask(from, to);
        uint64_t before = m_bitmap[word];
        uint64_t after = used ? before | mask : before & ~mask;
        m_bitmap[word] = after;
        changed += count_bits(before ^ after);
        first = word * 64 + to;
    }
    return changed;
}

size_t PageAllocator::align_index(size_t index, size_t align_pages) const
{
    // Alignment is of the physical address, not of the index: base need not
    // be aligned to align_pages.
    uint64_t frame = m_base / page_size + index;
    uint64_t remainder = frame & (align_pages - 1);
    if (remainder == 0)
        return index;
    uint64_t step = align_pages - remainder;
    return step > SIZE_MAX - index ? SIZE_MAX : index + static_cast<size_t>(step);
}

void free_usable_memory(PageAllocator& pages, std::span<const MemoryRange> normalized,
                        std::span<const MemoryRange> excluded)
{
    for (const MemoryRange& range : normalized) {
        if (range.type == MemoryType::Usable)
            pages.add_free_range(range.base, range.length);
    }
    for (const MemoryRange& range : excluded)
        pages.reserve_range(range.base, range.length);
}

uint64_t count_free_pages(std::span<const MemoryRange> normalized, std::span<const MemoryRange> excluded,
                          uint64_t limit)
{
    // Rounded as add_free_range (inward) and reserve_range (outward) round,
    // clipped as change_range clips; written with min/max rather than
    // branches, as it runs on every boot.
    constexpr uint64_t mask = PageAllocator::page_size - 1;
    constexpr uint64_t highest_page = all_ones & ~mask;
    // Capped first, so the addition cannot wrap: the top page's start stays put.
    auto round_up = [](uint64_t x) { return ((x < highest_page ? x : highest_page) + mask) & ~mask; };
    uint64_t top = limit & ~mask;
    uint64_t free = 0;
    for (const MemoryRange& range : normalized) {
        if (range.type != MemoryType::Usable)
            continue;
        uint64_t first = round_up(range.base);
        uint64_t last = std::min(saturating_end(range.base, range.length) & ~mask, top);
        // Sweep the excluded ranges (sorted by base) across [first, last).
        uint64_t position = first;
        for (const MemoryRange& taken : excluded) {
            uint64_t taken_first = taken.base & ~mask;
            // Both computed, then one chosen: a select, not a branch.
            uint64_t taken_rounded = round_up(saturating_end(taken.base, taken.length));
            uint64_t taken_last = taken.length == 0 ? taken_first : taken_rounded;
            uint64_t gap_end = std::max(taken_first, position);
            uint64_t covered_end = std::min(taken_last, last);
            if (gap_end < covered_end) {
                free += (gap_end - position) / PageAllocator::page_size;
                position = covered_end;
            }
        }
        if (position < last)
            free += (last - position) / PageAllocator::page_size;
    }
    return free;
}

void sort_by_base(std::span<MemoryRange> ranges)
{
    for (size_t i = 1; i < ranges.size(); ++i) {
        MemoryRange moving = ranges[i];
        size_t j = i;
        for (; j > 0 && ranges[j - 1].base > moving.base; --j)
            ranges[j] = ranges[j - 1];
        ranges[j] = moving;
    }
}

} // namespace skiff
