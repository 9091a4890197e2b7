#include "kernel/mm/page_allocator.h"

#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

using namespace skiff;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

constexpr uint64_t page = PageAllocator::page_size;

// An allocator over [base, base + pages * 4 KiB) with its own bitmap storage.
struct Fixture {
    explicit Fixture(uint64_t base, size_t pages, bool all_free = true)
        : bitmap(PageAllocator::bitmap_words_for(base, base + pages * page))
    {
        EXPECT_TRUE(allocator.init(base, base + pages * page, bitmap).has_value());
        if (all_free)
            allocator.add_free_range(base, pages * page);
    }
    std::vector<uint64_t> bitmap;
    PageAllocator allocator;
};

} // namespace

static_assert(PageAllocator::bitmap_words_for(0, 0) == 0);
static_assert(PageAllocator::bitmap_words_for(0x1000, 0x1000 + 64 * 4096) == 1);
static_assert(PageAllocator::bitmap_words_for(0x1000, 0x1000 + 65 * 4096) == 2);
static_assert(PageAllocator::bitmap_words_for(0x1000, 0x1000 + 1 * 4096) == 1);

TEST(PageAllocator, InitRejectsBadArguments)
{
    std::vector<uint64_t> bitmap(4);
    PageAllocator allocator;

    clear_log();
    auto r = allocator.init(0x1001, 0x100000, bitmap);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("not page aligned", log::Level::Error));

    EXPECT_EQ(allocator.init(0x1000, 0x100800, bitmap).error(), Error::InvalidArgument);
    EXPECT_EQ(allocator.init(0x100000, 0x100000, bitmap).error(), Error::InvalidArgument);
    EXPECT_EQ(allocator.init(0x200000, 0x100000, bitmap).error(), Error::InvalidArgument);

    // 257 pages need 5 words.
    clear_log();
    EXPECT_EQ(allocator.init(0, 257 * page, bitmap).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("needs 5 words, got 4", log::Level::Error));

    // The uninitialised allocator refuses everything safely.
    EXPECT_EQ(allocator.allocate().error(), Error::OutOfMemory);
    EXPECT_EQ(allocator.free(0x1000).error(), Error::InvalidArgument);
    EXPECT_FALSE(allocator.is_free(0));

    ASSERT_TRUE(allocator.init(0, 256 * page, bitmap).has_value());
    EXPECT_EQ(allocator.total_pages(), 256u);
    // Everything starts used.
    EXPECT_EQ(allocator.free_pages(), 0u);
    EXPECT_EQ(allocator.managed_pages(), 0u);
    EXPECT_FALSE(allocator.is_free(0));
    EXPECT_EQ(allocator.allocate().error(), Error::OutOfMemory);
}

TEST(PageAllocator, FreeRangeRoundsInwardAndClips)
{
    Fixture f(0x100000, 64, false);
    PageAllocator& a = f.allocator;

    // [0x100064, 0x10306c): only pages 0x101000 and 0x102000 are whole.
    a.add_free_range(0x100064, 3 * page + 8);
    EXPECT_EQ(a.free_pages(), 2u);
    EXPECT_FALSE(a.is_free(0x100000));
    EXPECT_TRUE(a.is_free(0x101000));
    EXPECT_TRUE(a.is_free(0x102000));
    EXPECT_FALSE(a.is_free(0x103000));

    // Less than a page: nothing.
    a.add_free_range(0x105010, 0x800);
    EXPECT_EQ(a.free_pages(), 2u);

    // Freeing again does not count twice.
    a.add_free_range(0x101000, 2 * page);
    EXPECT_EQ(a.free_pages(), 2u);
    EXPECT_EQ(a.managed_pages(), 2u);

    // Clipped at both ends, and logged.
    clear_log();
    a.add_free_range(0, 0x100000 + 64 * page + 0x100000);
    EXPECT_EQ(a.free_pages(), 64u);
    EXPECT_EQ(a.managed_pages(), 64u);
    EXPECT_TRUE(log_contains("clipped"));

    // Wholly outside: ignored, logged, no wrap-around at the top of memory.
    clear_log();
    a.add_free_range(0xffff'ffff'ffff'0000ull, 0x20000);
    EXPECT_EQ(a.free_pages(), 64u);
    EXPECT_TRUE(log_contains("outside"));
}

TEST(PageAllocator, ReserveRoundsOutward)
{
    Fixture f(0x100000, 64);
    PageAllocator& a = f.allocator;
    ASSERT_EQ(a.free_pages(), 64u);

    // [0x101fff, 0x103001) touches pages 0x101000, 0x102000 and 0x103000.
    a.reserve_range(0x101fff, 0x1002);
    EXPECT_EQ(a.free_pages(), 61u);
    EXPECT_EQ(a.managed_pages(), 61u);
    EXPECT_TRUE(a.is_free(0x100000));
    EXPECT_FALSE(a.is_free(0x101000));
    EXPECT_FALSE(a.is_free(0x102000));
    EXPECT_FALSE(a.is_free(0x103000));
    EXPECT_TRUE(a.is_free(0x104000));

    // Reserving outside the range or reserving twice changes nothing.
    a.reserve_range(0, 0x1000);
    a.reserve_range(0x102000, 0x10);
    EXPECT_EQ(a.free_pages(), 61u);

    // Up to the very top of the address space without wrapping.
    a.reserve_range(0x13f000, UINT64_MAX - 0x13f000);
    EXPECT_EQ(a.free_pages(), 60u);
    EXPECT_FALSE(a.is_free(0x13f000));

    // Nothing reserved is ever allocated.
    std::set<uint64_t> got;
    while (auto r = a.allocate())
        got.insert(*r);
    EXPECT_EQ(got.size(), 60u);
    for (uint64_t reserved : { 0x101000ull, 0x102000ull, 0x103000ull, 0x13f000ull })
        EXPECT_EQ(got.count(reserved), 0u);
}

TEST(PageAllocator, AllocatesEveryPageOnceThenOutOfMemory)
{
    // 200 pages: the bitmap has a partial last word.
    Fixture f(0x200000, 200);
    PageAllocator& a = f.allocator;
    std::set<uint64_t> got;
    for (int i = 0; i < 200; ++i) {
        auto r = a.allocate();
        ASSERT_TRUE(r.has_value()) << i;
        EXPECT_EQ(*r % page, 0u);
        EXPECT_GE(*r, 0x200000u);
        EXPECT_LT(*r, 0x200000u + 200 * page);
        EXPECT_FALSE(a.is_free(*r));
        EXPECT_TRUE(got.insert(*r).second) << "page handed out twice";
    }
    EXPECT_EQ(a.free_pages(), 0u);
    EXPECT_EQ(a.allocate().error(), Error::OutOfMemory);
    EXPECT_EQ(a.allocate(2).error(), Error::OutOfMemory);

    // A freed page is found again even though the next-fit hint has moved past it.
    ASSERT_TRUE(a.free(0x200000 + 3 * page).has_value());
    EXPECT_TRUE(a.is_free(0x200000 + 3 * page));
    auto again = a.allocate();
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, 0x200000u + 3 * page);

    for (uint64_t address : got)
        ASSERT_TRUE(a.free(address).has_value());
    EXPECT_EQ(a.free_pages(), 200u);
    EXPECT_EQ(a.managed_pages(), 200u);
}

TEST(PageAllocator, RejectsBadRequests)
{
    Fixture f(0, 64);
    clear_log();
    EXPECT_EQ(f.allocator.allocate(0).error(), Error::InvalidArgument);
    EXPECT_EQ(f.allocator.allocate(1, 3).error(), Error::InvalidArgument);
    EXPECT_EQ(f.allocator.allocate(1, 0).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("bad request", log::Level::Error));
    EXPECT_EQ(f.allocator.allocate(65).error(), Error::OutOfMemory);
    EXPECT_EQ(f.allocator.free_pages(), 64u);
}

TEST(PageAllocator, AlignmentIsOfThePhysicalAddress)
{
    // The base is not 64 KiB aligned, so index alignment would be wrong.
    Fixture f(0x101000, 512);
    PageAllocator& a = f.allocator;
    for (size_t align : { 2u, 4u, 16u, 64u }) {
        auto r = a.allocate(1, align);
        ASSERT_TRUE(r.has_value()) << align;
        EXPECT_EQ(*r % (align * page), 0u) << align;
        auto run = a.allocate(3, align);
        ASSERT_TRUE(run.has_value()) << align;
        EXPECT_EQ(*run % (align * page), 0u) << align;
        for (int i = 0; i < 3; ++i)
            EXPECT_FALSE(a.is_free(*run + i * page));
    }
    // No 1 MiB aligned run of 4 pages inside [0x101000, 0x301000) except at 0x200000.
    auto big = a.allocate(4, 256);
    ASSERT_TRUE(big.has_value());
    EXPECT_EQ(*big, 0x200000u);
    EXPECT_EQ(a.allocate(4, 256).error(), Error::OutOfMemory);
}

TEST(PageAllocator, ContiguousRunsAcrossWordBoundaries)
{
    Fixture f(0, 256, false);
    PageAllocator& a = f.allocator;
    // Free pages 10-12 (too short), 60-70 (spans words 0 and 1), 120-200.
    a.add_free_range(10 * page, 3 * page);
    a.add_free_range(60 * page, 11 * page);
    a.add_free_range(120 * page, 81 * page);

    auto r = a.allocate(8);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 60 * page);
    for (int i = 60; i < 68; ++i)
        EXPECT_FALSE(a.is_free(i * page));
    EXPECT_TRUE(a.is_free(68 * page));

    // 4 pages no longer fit at 68-70: the run comes from 120.
    auto r2 = a.allocate(4);
    ASSERT_TRUE(r2.has_value());
    EXPECT_EQ(*r2, 120 * page);

    // A run covering a whole word plus parts of two more: 124..199 (page 200 stays free).
    auto r3 = a.allocate(76);
    ASSERT_TRUE(r3.has_value());
    EXPECT_EQ(*r3, 124 * page);
    EXPECT_EQ(a.allocate(4).error(), Error::OutOfMemory);
    EXPECT_EQ(a.free_pages(), 7u); // 10-12, 68-70, 200

    ASSERT_TRUE(a.free(*r3, 76).has_value());
    ASSERT_TRUE(a.free(*r, 8).has_value());
    ASSERT_TRUE(a.free(*r2, 4).has_value());
    EXPECT_EQ(a.free_pages(), 95u);
}

TEST(PageAllocator, AllocateBelowALimit)
{
    // [512 KiB, 8 MiB)
    Fixture f(0x80000, (0x800000 - 0x80000) / page);
    PageAllocator& a = f.allocator;
    constexpr uint64_t one_mib = 0x100000;

    std::vector<uint64_t> low;
    while (auto r = a.allocate_below(one_mib, 2)) {
        EXPECT_LE(*r + 2 * page, one_mib);
        low.push_back(*r);
    }
    EXPECT_EQ(low.size(), 64u); // (1 MiB - 512 KiB) / 8 KiB
    EXPECT_EQ(a.allocate_below(one_mib, 1).error(), Error::OutOfMemory);
    // Plenty of memory remains above the limit.
    EXPECT_TRUE(a.allocate(1).has_value());
    // A limit at or below the base can never be met.
    EXPECT_EQ(a.allocate_below(0x80000, 1).error(), Error::OutOfMemory);
    EXPECT_EQ(a.allocate_below(0, 1).error(), Error::OutOfMemory);

    // Aligned and below 4 MiB.
    auto aligned = a.allocate_below(0x400000, 4, 64);
    ASSERT_TRUE(aligned.has_value());
    EXPECT_EQ(*aligned % (64 * page), 0u);
    EXPECT_LE(*aligned + 4 * page, 0x400000u);

    ASSERT_TRUE(a.free(low.front(), 2).has_value());
    auto again = a.allocate_below(one_mib, 2);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, low.front());
}

TEST(PageAllocator, DoubleFreeIsRefusedAndLeavesStateUnchanged)
{
    Fixture f(0x100000, 128);
    PageAllocator& a = f.allocator;
    auto run = a.allocate(4);
    ASSERT_TRUE(run.has_value());
    ASSERT_TRUE(a.free(*run + page).has_value());
    size_t free_before = a.free_pages();

    clear_log();
    auto r = a.free(*run, 4);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("double free", log::Level::Error));
    EXPECT_EQ(a.free_pages(), free_before);
    EXPECT_FALSE(a.is_free(*run));
    EXPECT_TRUE(a.is_free(*run + page));
    EXPECT_FALSE(a.is_free(*run + 2 * page));
    EXPECT_FALSE(a.is_free(*run + 3 * page));

    clear_log();
    EXPECT_EQ(a.free(*run + page).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("double free", log::Level::Error));
    EXPECT_EQ(a.free_pages(), free_before);

    // Freeing the remaining pages one by one works.
    ASSERT_TRUE(a.free(*run).has_value());
    ASSERT_TRUE(a.free(*run + 2 * page, 2).has_value());
    EXPECT_EQ(a.free_pages(), 128u);
}

TEST(PageAllocator, FreeOutsideRangeOrMisalignedIsRefused)
{
    Fixture f(0x100000, 64);
    PageAllocator& a = f.allocator;
    auto p = a.allocate();
    ASSERT_TRUE(p.has_value());
    size_t before = a.free_pages();

    clear_log();
    EXPECT_EQ(a.free(0x1000).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("outside", log::Level::Error));
    EXPECT_EQ(a.free(0x100000 + 64 * page).error(), Error::InvalidArgument);
    // Starts inside, runs past the limit.
    EXPECT_EQ(a.free(0x100000 + 63 * page, 2).error(), Error::InvalidArgument);
    EXPECT_EQ(a.free(0x100000, SIZE_MAX).error(), Error::InvalidArgument);
    clear_log();
    EXPECT_EQ(a.free(*p + 8).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("unaligned", log::Level::Error));
    EXPECT_EQ(a.free(*p, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(a.free_pages(), before);
    EXPECT_FALSE(a.is_free(*p));
}

TEST(PageAllocator, LargeRangeSinglePagesAndRuns)
{
    // 1 GiB: 262144 pages, 4096 bitmap words.
    constexpr size_t pages = 262144;
    Fixture f(0x4000'0000, pages);
    PageAllocator& a = f.allocator;
    EXPECT_EQ(a.free_pages(), pages);
    std::vector<uint64_t> taken;
    taken.reserve(pages);
    while (auto r = a.allocate())
        taken.push_back(*r);
    EXPECT_EQ(taken.size(), pages);
    std::sort(taken.begin(), taken.end());
    EXPECT_EQ(std::adjacent_find(taken.begin(), taken.end()), taken.end());
    // Free one page in every 1024 and one whole 2 MiB chunk: the only 2 MiB
    // aligned 512-page run is that chunk.
    for (size_t i = 0; i < pages; i += 1024)
        ASSERT_TRUE(a.free(taken[i], 1).has_value()) << i;
    constexpr uint64_t chunk = 0x4000'0000 + 101 * 512 * page;
    ASSERT_TRUE(a.free(chunk, 512).has_value());
    EXPECT_EQ(a.free_pages(), pages / 1024 + 512);
    auto run = a.allocate(512, 512);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(*run, chunk);
    EXPECT_EQ(a.allocate(2).error(), Error::OutOfMemory);
}

TEST(PageAllocator, ConcurrentAllocateAndFreeAccountsForEveryPage)
{
    constexpr size_t pages = 1024;
    constexpr uint64_t base = 0x1000'0000;
    Fixture f(base, pages);
    PageAllocator& a = f.allocator;
    // owner[i] is the thread holding page i; a page handed to two threads at once is a bug.
    std::vector<std::atomic<int>> owner(pages);
    std::atomic<int> conflicts { 0 };
    std::atomic<int> failures { 0 };

    auto worker = [&](int id) {
        std::vector<std::pair<uint64_t, size_t>> held;
        unsigned seed = 1234u + id;
        for (int round = 0; round < 4000; ++round) {
            seed = seed * 1103515245u + 12345u;
            bool take = held.size() < 8 || (seed >> 16) % 3 != 0;
            if (take) {
                size_t count = 1 + (seed >> 20) % 4;
                size_t align = (seed >> 24) % 4 == 0 ? 4 : 1;
                auto r = count == 1 && align == 1 ? a.allocate() : a.allocate(count, align);
                if (!r)
                    continue; // momentarily out of memory is fine
                for (size_t i = 0; i < count; ++i) {
                    int expected = 0;
                    if (!owner[(*r - base) / page + i].compare_exchange_strong(expected, id))
                        ++conflicts;
                }
                held.emplace_back(*r, count);
            } else {
                auto [address, count] = held.back();
                held.pop_back();
                for (size_t i = 0; i < count; ++i)
                    owner[(address - base) / page + i].store(0);
                if (!a.free(address, count))
                    ++failures;
            }
        }
        for (auto [address, count] : held) {
            for (size_t i = 0; i < count; ++i)
                owner[(address - base) / page + i].store(0);
            if (!a.free(address, count))
                ++failures;
        }
    };
    std::vector<std::thread> threads;
    for (int id = 1; id <= 4; ++id)
        threads.emplace_back(worker, id);
    for (auto& t : threads)
        t.join();

    EXPECT_EQ(conflicts.load(), 0);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(a.free_pages(), pages);
    for (size_t i = 0; i < pages; ++i)
        ASSERT_TRUE(a.is_free(base + i * page)) << i;
}
