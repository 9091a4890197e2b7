// Interprets bytes as memory-map entries (either raw 64-bit values or small
// page-granular ones, so overlaps are common), normalises them and checks the
// output invariants; then places a block clear of exclusions and checks it. abort()s
// on any violation so libFuzzer reports it. Small maps are also handed to a
// page allocator, whose free count must be what count_free_pages() predicts.
#include "kernel/mm/memory_map.h"
#include "kernel/mm/page_allocator.h"

#include "lib/log.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace skiff;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

struct Reader {
    const uint8_t* data;
    size_t size;
    template<typename T>
    bool take(T& value)
    {
        if (size < sizeof(T))
            return false;
        std::memcpy(&value, data, sizeof(T));
        data += sizeof(T);
        size -= sizeof(T);
        return true;
    }
};

bool next_entry(Reader& reader, bool small, MemoryRange& range)
{
    uint8_t type = 0;
    if (small) {
        uint8_t base = 0, length = 0;
        if (!reader.take(base) || !reader.take(length) || !reader.take(type))
            return false;
        range = { uint64_t(base) << 12, uint64_t(length) << 11, static_cast<MemoryType>(type % 6) };
    } else {
        uint64_t base = 0, length = 0;
        if (!reader.take(base) || !reader.take(length) || !reader.take(type))
            return false;
        range = { base, length, static_cast<MemoryType>(type) };
    }
    return true;
}

uint8_t rank(MemoryType type) { return uint8_t(type) > 4 ? 3 : uint8_t(type); }

} // namespace

// Log lines are still formatted (that code sees the hostile values too) but
// then discarded: the capture backend keeps them, and libFuzzer's per-input
// leak check would spend most of the run scanning them.
extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    log::set_backend([](log::Level, std::string_view) {});
    log::set_level(log::Level::Debug);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Reader reader { data, size };
    uint8_t mode = 0;
    if (!reader.take(mode))
        return 0;
    bool small = mode & 1;
    size_t excluded_count = (mode >> 1) & 7;
    uint64_t align = uint64_t(1) << ((mode >> 4) * 2); // 1 .. 2^30

    constexpr size_t max_in = 128;
    MemoryRange in[max_in];
    size_t n = 0;
    while (n < max_in && next_entry(reader, small, in[n]))
        ++n;
    MemoryRange excluded[8];
    size_t m = 0;
    // The exclusions are the first few entries reinterpreted.
    for (; m < excluded_count && m < n; ++m)
        excluded[m] = in[n - 1 - m];

    MemoryRange out[normalized_capacity(max_in)];
    auto result = normalize_memory_map({ in, n }, { out, normalized_capacity(n) });
    check(result.has_value());
    size_t count = *result;
    check(count <= normalized_capacity(n));
    for (size_t i = 0; i < count; ++i) {
        check(out[i].length > 0);
        uint64_t end = 0;
        check(!__builtin_add_overflow(out[i].base, out[i].length, &end));
        check(uint8_t(out[i].type) <= 4);
        if (i > 0) {
            check(out[i - 1].end() <= out[i].base);
            check(!(out[i - 1].end() == out[i].base && out[i - 1].type == out[i].type));
        }
        // The type of each output range is the strongest input covering it.
        int best = -1;
        for (size_t j = 0; j < n; ++j) {
            uint64_t in_end = 0;
            if (__builtin_add_overflow(in[j].base, in[j].length, &in_end))
                in_end = UINT64_MAX;
            if (in[j].base <= out[i].base && in_end > out[i].base && rank(in[j].type) > best)
                best = rank(in[j].type);
        }
        check(best == int(out[i].type));
    }
    // Every input byte (its first one) is covered by something at least as strong.
    for (size_t j = 0; j < n; ++j) {
        if (in[j].length == 0 || in[j].base == UINT64_MAX)
            continue;
        bool covered = false;
        for (size_t i = 0; i < count; ++i) {
            if (out[i].base <= in[j].base && in[j].base < out[i].end()) {
                check(uint8_t(out[i].type) >= rank(in[j].type));
                covered = true;
            }
        }
        check(covered);
    }

    // A too-small output must fail with Full and hold a valid prefix.
    if (count > 1) {
        MemoryRange small_out[normalized_capacity(max_in)];
        auto partial = normalize_memory_map({ in, n }, { small_out, count - 1 });
        check(partial.is_error() && partial.error() == Error::Full);
        for (size_t i = 0; i + 1 < count; ++i)
            check(small_out[i].base == out[i].base && small_out[i].length == out[i].length && small_out[i].type == out[i].type);
    }

    // Somewhere for `align`-aligned data of a fuzzed size: inside one usable
    // range and clear of every exclusion.
    uint64_t block = align * (1 + (n > 0 ? in[0].base % 4 : 0));
    auto placed = first_fit({ out, count }, { excluded, m }, block, align, 0);
    check(placed.has_value() || placed.error() == Error::NotFound);
    if (placed) {
        uint64_t p = *placed;
        check(p % align == 0 && p + block > p);
        bool within = false;
        for (size_t k = 0; k < count; ++k)
            within |= out[k].type == MemoryType::Usable && out[k].base <= p && p + block <= out[k].end();
        check(within);
        for (size_t k = 0; k < m; ++k) {
            uint64_t x_end = 0;
            if (__builtin_add_overflow(excluded[k].base, excluded[k].length, &x_end))
                x_end = UINT64_MAX;
            check(excluded[k].length == 0 || x_end <= p || excluded[k].base >= p + block);
        }
    }
    check(count == 0 || highest_address({ out, count }) == out[count - 1].end());

    // memory::init reports usable memory from count_free_pages() and builds
    // the allocator later: both must agree (maps up to 64 MiB, to keep the
    // bitmap small).
    uint64_t limit = 0;
    for (size_t k = 0; k < count; ++k) {
        if (out[k].type == MemoryType::Usable)
            limit = out[k].end() & ~uint64_t(PageAllocator::page_size - 1);
    }
    if (limit != 0 && limit <= (64ull << 20)) {
        std::vector<uint64_t> bitmap(PageAllocator::bitmap_words_for(0, limit));
        PageAllocator pages;
        check(pages.init(0, limit, bitmap).has_value());
        free_usable_memory(pages, { out, count }, { excluded, m });
        sort_by_base({ excluded, m });
        check(count_free_pages({ out, count }, { excluded, m }, limit) == pages.free_pages());
    }
    return 0;
}
