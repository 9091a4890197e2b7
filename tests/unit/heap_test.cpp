#include "kernel/mm/heap.h"

#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace skiff;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

constexpr size_t page = 4096;

// Pages from the host allocator, with bookkeeping so the tests can check
// that the heap returns exactly what it took. `budget` caps the pages
// outstanding; `quarantine` keeps freed regions mapped so a double free of a
// large block reads the heap's own stale header instead of host memory.
class TestSource final : public PageSource {
public:
    explicit TestSource(size_t budget = SIZE_MAX, bool quarantine = false)
        : m_budget(budget), m_quarantine(quarantine)
    {
    }
    ~TestSource()
    {
        for (auto& [address, count] : m_regions)
            std::free(address);
        for (void* address : m_quarantined)
            std::free(address);
    }

    Result<void*> allocate_pages(size_t count) override
    {
        std::lock_guard guard(m_mutex);
        if (count == 0 || m_outstanding + count > m_budget) {
            ++m_refusals;
            return Error::OutOfMemory;
        }
        void* address = std::aligned_alloc(page, count * page);
        if (!address)
            return Error::OutOfMemory;
        m_regions[address] = count;
        m_outstanding += count;
        return address;
    }

    void free_pages(void* address, size_t count) override
    {
        std::lock_guard guard(m_mutex);
        auto it = m_regions.find(address);
        if (it == m_regions.end() || it->second != count) {
            ++m_bad_frees;
            return;
        }
        m_regions.erase(it);
        m_outstanding -= count;
        if (m_quarantine)
            m_quarantined.push_back(address);
        else
            std::free(address);
    }

    size_t outstanding()
    {
        std::lock_guard guard(m_mutex);
        return m_outstanding;
    }
    size_t bad_frees()
    {
        std::lock_guard guard(m_mutex);
        return m_bad_frees;
    }
    size_t refusals()
    {
        std::lock_guard guard(m_mutex);
        return m_refusals;
    }

private:
    std::mutex m_mutex;
    std::map<void*, size_t> m_regions;
    std::vector<void*> m_quarantined;
    size_t m_budget;
    bool m_quarantine;
    size_t m_outstanding { 0 };
    size_t m_bad_frees { 0 };
    size_t m_refusals { 0 };
};

struct Report {
    std::string what;
    const void* address;
};
std::mutex g_reports_mutex;
std::vector<Report> g_reports;

void record_report(const char* what, const void* address)
{
    std::lock_guard guard(g_reports_mutex);
    g_reports.push_back({ what, address });
}

std::vector<Report> reports()
{
    std::lock_guard guard(g_reports_mutex);
    return g_reports;
}

uint8_t pattern_byte(uint32_t seed, size_t i) { return static_cast<uint8_t>(seed * 2654435761u + i * 131 + (i >> 8)); }

void fill(void* p, size_t size, uint32_t seed)
{
    auto* bytes = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = pattern_byte(seed, i);
}

// Index of the first byte that differs from the pattern, or size.
size_t check(const void* p, size_t size, uint32_t seed)
{
    auto* bytes = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < size; ++i) {
        if (bytes[i] != pattern_byte(seed, i))
            return i;
    }
    return size;
}

struct Live {
    void* p;
    size_t size;
    uint32_t seed;
};

// Most pages the heap may keep once every block is freed: one cached slab
// per size class (a slab is at most 8 pages).
constexpr size_t max_idle_pages = 14 * 8;

class HeapTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override
    {
        clear_log();
        std::lock_guard guard(g_reports_mutex);
        g_reports.clear();
    }
    bool debug() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(DebugChecks, HeapTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? std::string("Debug") : std::string("Fast"); });

} // namespace

TEST_P(HeapTest, EverySizeFromZeroToOneMiB)
{
    TestSource source;
    Heap heap(source, debug());
    std::vector<size_t> sizes { 0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 127, 128,
                                129, 255, 256, 257, 500, 511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 1535,
                                1536, 1537, 2047, 2048, 2049, 3000, 4000, 4032, 4033, 4095, 4096, 4097, 8191,
                                8192, 8193, 65535, 65536, 65537, 300000, 1048575, 1048576 };
    std::vector<Live> live;
    size_t total = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
        size_t size = sizes[i];
        void* p = heap.allocate(size);
        ASSERT_NE(p, nullptr) << size;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
        size_t usable = heap.usable_size(p);
        if (debug())
            EXPECT_EQ(usable, size);
        else
            EXPECT_GE(usable, size);
        fill(p, size, static_cast<uint32_t>(i));
        live.push_back({ p, size, static_cast<uint32_t>(i) });
        total += size;
    }
    // Every block still holds its own pattern: nothing overlapped.
    for (auto& block : live)
        EXPECT_EQ(check(block.p, block.size, block.seed), block.size) << block.size;
    // Two zero-size blocks are distinct.
    EXPECT_NE(live[0].p, heap.allocate(0));

    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.bytes_in_use, total);
    EXPECT_EQ(stats.live_allocations, sizes.size() + 1);
    EXPECT_EQ(stats.pages_in_use, source.outstanding());

    std::mt19937 rng(7);
    std::shuffle(live.begin(), live.end(), rng);
    for (auto& block : live) {
        ASSERT_EQ(check(block.p, block.size, block.seed), block.size) << block.size;
        heap.free(block.p);
    }
    stats = heap.stats();
    EXPECT_EQ(stats.bytes_in_use, 0u);
    EXPECT_EQ(stats.live_allocations, 1u);
    EXPECT_EQ(stats.frees, sizes.size());
    EXPECT_EQ(stats.corruption_detected, 0u);
    EXPECT_EQ(stats.failed_allocations, 0u);
    EXPECT_EQ(stats.pages_in_use, source.outstanding());
    EXPECT_LE(stats.pages_in_use, max_idle_pages);
    EXPECT_EQ(source.bad_frees(), 0u);
    EXPECT_TRUE(reports().empty());
}

TEST_P(HeapTest, AlignmentsUpToPageAndBeyond)
{
    TestSource source;
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    std::vector<Live> live;
    uint32_t seed = 0;
    for (size_t alignment = 1; alignment <= 4096; alignment *= 2) {
        for (size_t size : { 0, 1, 24, 100, 1000, 2000, 3000, 5000, 70000 }) {
            void* p = heap.allocate(size, alignment);
            ASSERT_NE(p, nullptr) << size << " " << alignment;
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % std::max<size_t>(alignment, 16), 0u) << size << " " << alignment;
            EXPECT_GE(heap.usable_size(p), size);
            fill(p, size, ++seed);
            live.push_back({ p, size, seed });
        }
    }
    // Alignments beyond a page are for big blocks, but small ones work too.
    for (size_t alignment : { size_t(8192), size_t(65536), Heap::max_alignment }) {
        for (size_t size : { size_t(8), size_t(100000) }) {
            void* p = heap.allocate(size, alignment);
            ASSERT_NE(p, nullptr) << size << " " << alignment;
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << size << " " << alignment;
            fill(p, size, ++seed);
            live.push_back({ p, size, seed });
        }
    }
    for (auto& block : live)
        ASSERT_EQ(check(block.p, block.size, block.seed), block.size) << block.size;

    // A moving reallocate keeps the alignment the block was made with.
    void* aligned = heap.allocate(40, 256);
    ASSERT_NE(aligned, nullptr);
    fill(aligned, 40, 999);
    aligned = heap.reallocate(aligned, 3000);
    ASSERT_NE(aligned, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 256, 0u);
    EXPECT_EQ(check(aligned, 40, 999), 40u);
    void* big = heap.allocate(10000, 65536);
    ASSERT_NE(big, nullptr);
    big = heap.reallocate(big, 300000);
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % 65536, 0u);
    heap.free(aligned);
    heap.free(big);

    for (auto& block : live)
        heap.free(block.p);
    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.bytes_in_use, 0u);
    EXPECT_EQ(stats.live_allocations, 0u);
    EXPECT_EQ(stats.pages_in_use, source.outstanding());
    EXPECT_LE(stats.pages_in_use, max_idle_pages);
    EXPECT_TRUE(reports().empty());
    EXPECT_EQ(source.bad_frees(), 0u);
}

TEST_P(HeapTest, RandomBlocksNeverOverlapAndStatsStayExact)
{
    TestSource source;
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    std::mt19937 rng(42);
    auto random_size = [&] {
        uint32_t kind = rng() % 100;
        if (kind < 85)
            return size_t(rng() % 2049);
        if (kind < 97)
            return size_t(2049 + rng() % 30000);
        return size_t(rng() % 400000);
    };
    auto random_alignment = [&] { return rng() % 4 == 0 ? size_t(1) << (rng() % 13) : size_t(16); };

    std::vector<Live> live;
    size_t bytes = 0, allocations = 0, frees = 0;
    uint32_t seed = 0;
    auto allocate_some = [&](int count) {
        for (int i = 0; i < count; ++i) {
            size_t size = random_size();
            size_t alignment = random_alignment();
            void* p = heap.allocate(size, alignment);
            ASSERT_NE(p, nullptr);
            ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % std::max<size_t>(alignment, 16), 0u);
            fill(p, size, ++seed);
            live.push_back({ p, size, seed });
            bytes += size;
            ++allocations;
        }
    };
    auto verify_all = [&] {
        for (auto& block : live)
            ASSERT_EQ(check(block.p, block.size, block.seed), block.size) << block.p << " size " << block.size;
        // No two blocks share a byte.
        std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
        for (auto& block : live)
            ranges.emplace_back(reinterpret_cast<uintptr_t>(block.p), reinterpret_cast<uintptr_t>(block.p) + block.size);
        std::sort(ranges.begin(), ranges.end());
        for (size_t i = 1; i < ranges.size(); ++i)
            ASSERT_LE(ranges[i - 1].second, ranges[i].first);
        HeapStats stats = heap.stats();
        EXPECT_EQ(stats.bytes_in_use, bytes);
        EXPECT_EQ(stats.allocations, allocations);
        EXPECT_EQ(stats.frees, frees);
        EXPECT_EQ(stats.live_allocations, live.size());
        EXPECT_EQ(stats.pages_in_use, source.outstanding());
    };
    auto free_fraction = [&](int percent) {
        std::shuffle(live.begin(), live.end(), rng);
        size_t keep = live.size() * (100 - percent) / 100;
        while (live.size() > keep) {
            Live block = live.back();
            live.pop_back();
            ASSERT_EQ(check(block.p, block.size, block.seed), block.size);
            heap.free(block.p);
            bytes -= block.size;
            ++frees;
        }
    };

    allocate_some(3000);
    verify_all();
    free_fraction(50);
    verify_all();
    allocate_some(2000);
    verify_all();
    free_fraction(100);
    verify_all();

    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.bytes_in_use, 0u);
    EXPECT_GE(stats.peak_bytes_in_use, 1u);
    EXPECT_LE(stats.pages_in_use, max_idle_pages);
    EXPECT_TRUE(reports().empty());
    EXPECT_EQ(source.bad_frees(), 0u);
}

TEST(Heap, DebugChecksSwitchOnlyBeforeTheFirstAllocation)
{
    TestSource source;
    Heap heap(source);
    EXPECT_FALSE(heap.debug_checks());
    ASSERT_TRUE(heap.set_debug_checks(true).has_value());
    EXPECT_TRUE(heap.debug_checks());
    void* p = heap.allocate(40);
    ASSERT_NE(p, nullptr);
    // The block has a canary: switching the checks off now would misread it.
    clear_log();
    EXPECT_EQ(heap.set_debug_checks(false).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("debug checks cannot change", log::Level::Error));
    EXPECT_TRUE(heap.debug_checks());
    EXPECT_TRUE(heap.set_debug_checks(true).has_value()); // no change asked
    static_cast<char*>(p)[40] = 'x'; // still caught as an overflow at free
    clear_log();
    heap.free(p);
    EXPECT_TRUE(log_contains("overflow", log::Level::Error));
}

TEST(Heap, StatsAreExact)
{
    TestSource source;
    Heap heap(source, false);
    void* a = heap.allocate(100);
    ASSERT_NE(a, nullptr);
    HeapStats s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 100u);
    EXPECT_EQ(s.peak_bytes_in_use, 100u);
    EXPECT_EQ(s.allocations, 1u);
    EXPECT_EQ(s.frees, 0u);
    EXPECT_EQ(s.live_allocations, 1u);
    EXPECT_EQ(s.pages_in_use, 1u); // one slab page for the 128-byte class

    void* b = heap.allocate(5000); // header + 5000 bytes: 2 pages
    ASSERT_NE(b, nullptr);
    s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 5100u);
    EXPECT_EQ(s.peak_bytes_in_use, 5100u);
    EXPECT_EQ(s.pages_in_use, 3u);
    EXPECT_EQ(source.outstanding(), 3u);

    heap.free(a);
    s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 5000u);
    EXPECT_EQ(s.peak_bytes_in_use, 5100u);
    EXPECT_EQ(s.frees, 1u);
    EXPECT_EQ(s.live_allocations, 1u);
    EXPECT_EQ(s.pages_in_use, 3u); // the empty slab is kept as the class's cache

    // Grows in place: the two pages have room.
    void* b2 = heap.reallocate(b, 6000);
    EXPECT_EQ(b2, b);
    s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 6000u);
    EXPECT_EQ(s.peak_bytes_in_use, 6000u);
    EXPECT_EQ(s.allocations, 2u);
    EXPECT_EQ(s.frees, 1u);

    // Moves: one allocation and one free more.
    void* b3 = heap.reallocate(b2, 20000);
    ASSERT_NE(b3, nullptr);
    EXPECT_NE(b3, b2);
    s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 20000u);
    EXPECT_EQ(s.peak_bytes_in_use, 26000u); // old and new block were live together during the copy
    EXPECT_EQ(s.allocations, 3u);
    EXPECT_EQ(s.frees, 2u);
    EXPECT_EQ(s.live_allocations, 1u);
    EXPECT_EQ(s.pages_in_use, 1u + 5u); // slab + ceil((64 + 20000) / 4096)

    EXPECT_EQ(heap.allocate(SIZE_MAX), nullptr);
    EXPECT_EQ(heap.allocate_zeroed(SIZE_MAX, 2), nullptr);
    s = heap.stats();
    EXPECT_EQ(s.failed_allocations, 2u);
    EXPECT_EQ(s.allocations, 3u);

    heap.free(b3);
    heap.free(nullptr);
    s = heap.stats();
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.peak_bytes_in_use, 26000u);
    EXPECT_EQ(s.allocations, 3u);
    EXPECT_EQ(s.frees, 3u);
    EXPECT_EQ(s.live_allocations, 0u);
    EXPECT_EQ(s.pages_in_use, 1u);
    EXPECT_EQ(s.corruption_detected, 0u);
    EXPECT_EQ(source.outstanding(), 1u);
}

TEST_P(HeapTest, EmptySlabsGoBackToTheSource)
{
    TestSource source;
    Heap heap(source, debug());
    std::vector<void*> blocks;
    for (int i = 0; i < 2000; ++i) {
        blocks.push_back(heap.allocate(64));
        ASSERT_NE(blocks.back(), nullptr);
    }
    size_t busy_pages = heap.stats().pages_in_use;
    EXPECT_GE(busy_pages, 2000u * 64 / page);
    for (void* p : blocks)
        heap.free(p);
    HeapStats stats = heap.stats();
    // Only the one cached slab of the 64-byte class remains.
    EXPECT_GE(stats.pages_in_use, 1u);
    EXPECT_LE(stats.pages_in_use, 8u);
    EXPECT_EQ(stats.pages_in_use, source.outstanding());
    size_t idle_pages = stats.pages_in_use;
    // The cached slab serves the next requests without asking the source.
    for (int i = 0; i < 10; ++i)
        blocks[i] = heap.allocate(64);
    EXPECT_EQ(heap.stats().pages_in_use, idle_pages);
    for (int i = 0; i < 10; ++i)
        heap.free(blocks[i]);
    EXPECT_EQ(source.bad_frees(), 0u);
}

TEST_P(HeapTest, ReallocateGrowsAndShrinksPreservingData)
{
    TestSource source;
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);

    void* p = heap.reallocate(nullptr, 10);
    ASSERT_NE(p, nullptr);
    fill(p, 10, 5);
    size_t current = 10;
    for (size_t size : { 11, 16, 30, 100, 1000, 2048, 3000, 70000, 1048576, 1048000, 200000, 5000, 1500, 40, 3 }) {
        void* q = heap.reallocate(p, size);
        ASSERT_NE(q, nullptr) << size;
        size_t kept = std::min(size, current);
        ASSERT_EQ(check(q, kept, 5), kept) << "data lost growing/shrinking to " << size;
        EXPECT_GE(heap.usable_size(q), size);
        fill(q, size, 5);
        EXPECT_EQ(heap.stats().bytes_in_use, size);
        p = q;
        current = size;
    }
    // Shrinking a 1 MiB block to a few bytes gives its pages back.
    EXPECT_LE(heap.stats().pages_in_use, max_idle_pages);

    // realloc(p, 0) keeps a valid (empty) block.
    void* empty = heap.reallocate(p, 0);
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(heap.stats().bytes_in_use, 0u);
    EXPECT_EQ(heap.stats().live_allocations, 1u);
    heap.free(empty);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
    EXPECT_TRUE(reports().empty());
}

TEST_P(HeapTest, AllocateZeroedClearsAndRefusesOverflow)
{
    TestSource source;
    Heap heap(source, debug());
    // Dirty a slot, free it, and get it back through calloc.
    void* dirty = heap.allocate(100);
    ASSERT_NE(dirty, nullptr);
    std::memset(dirty, 0xff, 100);
    heap.free(dirty);
    auto* zeroed = static_cast<uint8_t*>(heap.allocate_zeroed(10, 10));
    ASSERT_NE(zeroed, nullptr);
    EXPECT_EQ(zeroed, dirty);
    EXPECT_TRUE(std::all_of(zeroed, zeroed + 100, [](uint8_t b) { return b == 0; }));

    auto* big = static_cast<uint8_t*>(heap.allocate_zeroed(1000, 100));
    ASSERT_NE(big, nullptr);
    EXPECT_TRUE(std::all_of(big, big + 100000, [](uint8_t b) { return b == 0; }));

    void* empty = heap.allocate_zeroed(0, 5);
    EXPECT_NE(empty, nullptr);

    clear_log();
    size_t failed = heap.stats().failed_allocations;
    EXPECT_EQ(heap.allocate_zeroed(SIZE_MAX / 2, 3), nullptr);
    EXPECT_EQ(heap.allocate_zeroed(size_t(1) << 33, size_t(1) << 33), nullptr);
    EXPECT_EQ(heap.stats().failed_allocations, failed + 2);
    EXPECT_TRUE(log_contains("overflows", log::Level::Error));

    heap.free(zeroed);
    heap.free(big);
    heap.free(empty);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST_P(HeapTest, ExhaustedSourceGivesNullAndRecovers)
{
    TestSource source(8);
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    std::vector<void*> blocks;
    clear_log();
    for (;;) {
        void* p = heap.allocate(1000);
        if (!p)
            break;
        blocks.push_back(p);
        ASSERT_LT(blocks.size(), 1000u) << "budget not enforced";
    }
    EXPECT_FALSE(blocks.empty());
    EXPECT_GT(source.refusals(), 0u);
    EXPECT_TRUE(log_contains("out of memory", log::Level::Warn));
    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.failed_allocations, 1u);
    EXPECT_EQ(stats.live_allocations, blocks.size());
    EXPECT_LE(stats.pages_in_use, 8u);

    // Large requests fail too, and are counted.
    EXPECT_EQ(heap.allocate(100000), nullptr);
    EXPECT_EQ(heap.stats().failed_allocations, 2u);
    EXPECT_EQ(heap.reallocate(blocks[0], 100000), nullptr);
    EXPECT_EQ(heap.stats().failed_allocations, 3u);
    EXPECT_NE(heap.usable_size(blocks[0]), 0u); // a failed reallocate leaves the block alone

    // Freeing a block makes room again.
    heap.free(blocks.back());
    blocks.pop_back();
    void* again = heap.allocate(1000);
    EXPECT_NE(again, nullptr);
    blocks.push_back(again);
    for (void* p : blocks)
        heap.free(p);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
    EXPECT_TRUE(reports().empty());
}

TEST_P(HeapTest, AbsurdRequestsAreRefusedAndLogged)
{
    TestSource source;
    Heap heap(source, debug());
    clear_log();
    EXPECT_EQ(heap.allocate(SIZE_MAX), nullptr);
    EXPECT_TRUE(log_contains("refusing", log::Level::Error));
    EXPECT_EQ(heap.allocate(Heap::max_allocation + 1), nullptr);
    EXPECT_EQ(heap.allocate(16, 3), nullptr);
    EXPECT_EQ(heap.allocate(16, 0), nullptr);
    EXPECT_EQ(heap.allocate(16, Heap::max_alignment * 2), nullptr);
    EXPECT_EQ(heap.stats().failed_allocations, 5u);
    EXPECT_EQ(source.outstanding(), 0u);

    void* p = heap.allocate(64);
    ASSERT_NE(p, nullptr);
    fill(p, 64, 3);
    EXPECT_EQ(heap.reallocate(p, SIZE_MAX), nullptr);
    EXPECT_EQ(check(p, 64, 3), 64u);
    heap.free(p);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
    EXPECT_EQ(heap.stats().corruption_detected, 0u);
}

TEST_P(HeapTest, DoubleFreeOfSmallBlockIsCaught)
{
    TestSource source;
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    void* a = heap.allocate(48);
    void* b = heap.allocate(48);
    void* c = heap.allocate(48);
    heap.free(b);
    heap.free(b);
    auto got = reports();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].what.find("double free"), std::string::npos);
    EXPECT_EQ(got[0].address, b);
    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.corruption_detected, 1u);
    EXPECT_EQ(stats.frees, 1u);
    EXPECT_EQ(stats.live_allocations, 2u);

    // The slot went onto the free list once: two new blocks are distinct.
    void* x = heap.allocate(48);
    void* y = heap.allocate(48);
    ASSERT_NE(x, nullptr);
    ASSERT_NE(y, nullptr);
    EXPECT_NE(x, y);
    for (void* p : { x, y })
        EXPECT_TRUE(p != a && p != c);
    fill(x, 48, 1);
    fill(y, 48, 2);
    EXPECT_EQ(check(x, 48, 1), 48u);

    // The last block of a slab: the emptied slab is cached, so it is still caught.
    for (void* p : { a, c, x, y })
        heap.free(p);
    heap.free(y);
    EXPECT_EQ(reports().size(), 2u);
    EXPECT_EQ(heap.stats().live_allocations, 0u);

    // Realloc and usable_size of a freed block are refused too.
    EXPECT_EQ(heap.reallocate(y, 10), nullptr);
    EXPECT_EQ(heap.usable_size(y), 0u);
    EXPECT_EQ(reports().size(), 4u);
    EXPECT_EQ(heap.stats().corruption_detected, 4u);
}

TEST_P(HeapTest, DoubleFreeOfLargeBlockIsCaught)
{
    TestSource source(SIZE_MAX, true);
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    void* p = heap.allocate(100000);
    ASSERT_NE(p, nullptr);
    heap.free(p);
    EXPECT_EQ(source.outstanding(), 0u);
    heap.free(p);
    auto got = reports();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].what.find("double free"), std::string::npos);
    EXPECT_EQ(got[0].address, p);
    EXPECT_EQ(source.bad_frees(), 0u); // the pages were not returned twice
    EXPECT_EQ(heap.stats().frees, 1u);

    void* q = heap.allocate(100000);
    ASSERT_NE(q, nullptr);
    fill(q, 100000, 8);
    EXPECT_EQ(check(q, 100000, 8), 100000u);
    heap.free(q);
    EXPECT_EQ(reports().size(), 1u);
}

TEST(Heap, OverflowByOneByteIsCaughtWithDebugChecks)
{
    clear_log();
    {
        std::lock_guard guard(g_reports_mutex);
        g_reports.clear();
    }
    TestSource source;
    Heap heap(source, true);
    heap.set_corruption_handler(record_report);

    for (size_t size : { size_t(0), size_t(24), size_t(32), size_t(2048), size_t(10000) }) {
        size_t before = reports().size();
        auto* p = static_cast<uint8_t*>(heap.allocate(size));
        ASSERT_NE(p, nullptr);
        void* keep = heap.allocate(size); // keeps the slab busy
        p[size] = 0x11;
        heap.free(p);
        auto got = reports();
        ASSERT_EQ(got.size(), before + 1) << size;
        EXPECT_NE(got.back().what.find("canary"), std::string::npos);
        EXPECT_EQ(got.back().address, p);
        // Left alone: still counted as live, and reallocate refuses it too.
        EXPECT_EQ(heap.reallocate(p, size + 100), nullptr);
        EXPECT_EQ(reports().size(), before + 2);
        heap.free(keep);
    }
    EXPECT_TRUE(log_contains("canary", log::Level::Error));
    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.corruption_detected, 10u);
    EXPECT_EQ(stats.live_allocations, 5u);

    // Still usable.
    void* fine = heap.allocate(24);
    ASSERT_NE(fine, nullptr);
    fill(fine, 24, 4);
    heap.free(fine);
    EXPECT_EQ(heap.stats().corruption_detected, 10u);
}

TEST(Heap, WriteAfterFreeIsCaughtWithDebugChecks)
{
    {
        std::lock_guard guard(g_reports_mutex);
        g_reports.clear();
    }
    TestSource source;
    Heap heap(source, true);
    heap.set_corruption_handler(record_report);
    auto* p = static_cast<uint8_t*>(heap.allocate(64));
    void* keep = heap.allocate(64);
    heap.free(p);
    p[10] = 0x42; // a stale pointer writes into the freed block
    void* next = heap.allocate(64);
    ASSERT_NE(next, nullptr);
    EXPECT_NE(next, p); // the damaged slot is quarantined, not handed out
    auto got = reports();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].what.find("write after free"), std::string::npos);
    heap.free(next);
    heap.free(keep);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST(Heap, OverwrittenFreeListIsCaught)
{
    {
        std::lock_guard guard(g_reports_mutex);
        g_reports.clear();
    }
    TestSource source;
    Heap heap(source, false);
    heap.set_corruption_handler(record_report);
    auto* a = static_cast<uint8_t*>(heap.allocate(32));
    auto* b = static_cast<uint8_t*>(heap.allocate(32));
    void* keep = heap.allocate(32);
    heap.free(a);
    heap.free(b);
    // A stale pointer smashes b's header (and with it the free-list link).
    std::memset(b - 16, 0x41, 16);
    void* c = heap.allocate(32);
    void* d = heap.allocate(32);
    ASSERT_NE(c, nullptr);
    ASSERT_NE(d, nullptr);
    EXPECT_NE(c, d);
    for (void* p : { c, d }) {
        EXPECT_NE(p, static_cast<void*>(a));
        EXPECT_NE(p, static_cast<void*>(b));
        EXPECT_NE(p, keep);
    }
    auto got = reports();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].what.find("free list corrupted"), std::string::npos);
    heap.free(c);
    heap.free(d);
    heap.free(keep);
}

TEST_P(HeapTest, ForeignPointersAreRefused)
{
    TestSource source;
    TestSource other_source;
    Heap heap(source, debug());
    Heap other(other_source, debug());
    heap.set_corruption_handler(record_report);
    auto* p = static_cast<uint8_t*>(heap.allocate(256));
    ASSERT_NE(p, nullptr);
    std::memset(p, 0, 256);
    alignas(16) static uint8_t outside[64] = {};

    heap.free(outside + 32);          // never ours
    heap.free(p + 32);                // inside one of our blocks
    heap.free(p + 1);                 // misaligned
    void* theirs = other.allocate(64); // another heap's block
    ASSERT_NE(theirs, nullptr);
    heap.free(theirs);
    void* theirs_large = other.allocate(50000);
    heap.free(theirs_large);
    EXPECT_EQ(heap.usable_size(p + 64), 0u);

    auto got = reports();
    ASSERT_EQ(got.size(), 6u);
    for (auto& report : got)
        EXPECT_NE(report.what.find("not from this heap"), std::string::npos) << report.what;
    EXPECT_EQ(got[0].address, outside + 32);
    EXPECT_EQ(got[1].address, p + 32);
    EXPECT_EQ(got[3].address, theirs);
    EXPECT_EQ(heap.stats().corruption_detected, 6u);
    EXPECT_EQ(heap.stats().frees, 0u);

    // Nothing was disturbed: both heaps free their own blocks normally.
    EXPECT_EQ(other.usable_size(theirs) >= 64, true);
    other.free(theirs);
    other.free(theirs_large);
    EXPECT_EQ(other.stats().live_allocations, 0u);
    heap.free(p);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
    EXPECT_EQ(reports().size(), 6u);
    EXPECT_EQ(source.bad_frees() + other_source.bad_frees(), 0u);
}

TEST(Heap, DefaultHandlerLogsAndLeavesBlockAlone)
{
    TestSource source;
    Heap heap(source, false);
    void* a = heap.allocate(20);
    void* b = heap.allocate(20);
    heap.free(a);
    clear_log();
    heap.free(a);
    EXPECT_TRUE(log_contains("double free", log::Level::Error));
    EXPECT_EQ(heap.stats().corruption_detected, 1u);
    // A handler can be set and cleared again.
    heap.set_corruption_handler(record_report);
    heap.set_corruption_handler(nullptr);
    clear_log();
    heap.free(a);
    EXPECT_TRUE(log_contains("double free", log::Level::Error));
    heap.free(b);
    EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST_P(HeapTest, FourThreadsStress)
{
    TestSource source;
    Heap heap(source, debug());
    heap.set_corruption_handler(record_report);
    // Blocks handed between threads, so frees hit slabs other CPUs allocate from.
    constexpr size_t mailbox_size = 64;
    std::vector<std::atomic<Live*>> mailbox(mailbox_size);
    std::atomic<int> bad { 0 };

    auto worker = [&](uint32_t id) {
        std::mt19937 rng(100 + id);
        std::vector<Live> mine;
        uint32_t seed = id << 24;
        auto release = [&](Live block) {
            if (check(block.p, block.size, block.seed) != block.size)
                ++bad;
            heap.free(block.p);
        };
        for (int op = 0; op < 20000; ++op) {
            uint32_t r = rng() % 100;
            if (r < 45 || mine.empty()) {
                size_t size = rng() % 8 == 0 ? rng() % 20000 : rng() % 700;
                size_t alignment = rng() % 8 == 0 ? size_t(1) << (rng() % 10) : 16;
                void* p = heap.allocate(size, alignment);
                if (!p || reinterpret_cast<uintptr_t>(p) % std::max<size_t>(alignment, 16) != 0) {
                    ++bad;
                    continue;
                }
                fill(p, size, ++seed);
                mine.push_back({ p, size, seed });
            } else if (r < 80) {
                size_t index = rng() % mine.size();
                release(mine[index]);
                mine[index] = mine.back();
                mine.pop_back();
            } else if (r < 90) {
                Live& block = mine[rng() % mine.size()];
                size_t size = rng() % 4 == 0 ? rng() % 10000 : rng() % 600;
                void* q = heap.reallocate(block.p, size);
                if (!q || check(q, std::min(size, block.size), block.seed) != std::min(size, block.size)) {
                    ++bad;
                    continue;
                }
                fill(q, size, block.seed);
                block.p = q;
                block.size = size;
            } else {
                // Swap a block with the mailbox; free whatever another thread left.
                size_t index = rng() % mine.size();
                auto* parcel = new Live(mine[index]);
                mine[index] = mine.back();
                mine.pop_back();
                Live* previous = mailbox[rng() % mailbox_size].exchange(parcel);
                if (previous) {
                    release(*previous);
                    delete previous;
                }
            }
        }
        for (auto& block : mine)
            release(block);
    };
    std::vector<std::thread> threads;
    for (uint32_t id = 1; id <= 4; ++id)
        threads.emplace_back(worker, id);
    for (auto& t : threads)
        t.join();
    for (auto& slot : mailbox) {
        if (Live* parcel = slot.exchange(nullptr)) {
            EXPECT_EQ(check(parcel->p, parcel->size, parcel->seed), parcel->size);
            heap.free(parcel->p);
            delete parcel;
        }
    }

    EXPECT_EQ(bad.load(), 0);
    HeapStats stats = heap.stats();
    EXPECT_EQ(stats.live_allocations, 0u);
    EXPECT_EQ(stats.bytes_in_use, 0u);
    EXPECT_EQ(stats.allocations, stats.frees);
    EXPECT_EQ(stats.failed_allocations, 0u);
    EXPECT_EQ(stats.corruption_detected, 0u);
    EXPECT_EQ(stats.pages_in_use, source.outstanding());
    EXPECT_LE(stats.pages_in_use, max_idle_pages);
    EXPECT_EQ(source.bad_frees(), 0u);
    EXPECT_TRUE(reports().empty());
}
