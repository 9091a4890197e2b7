#include "kernel/mm/memory_map.h"
#include "kernel/mm/page_allocator.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace skiff;
using skiff::testing::captured_log;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

constexpr auto U = MemoryType::Usable;
constexpr auto R = MemoryType::Reserved;
constexpr auto AR = MemoryType::AcpiReclaimable;
constexpr auto AN = MemoryType::AcpiNvs;
constexpr auto X = MemoryType::Unusable;

using Map = std::vector<MemoryRange>;

// [base, end) notation keeps the expected maps readable.
MemoryRange r(uint64_t base, uint64_t end, MemoryType type) { return { base, end - base, type }; }

std::string describe(const Map& map)
{
    std::string out;
    for (const MemoryRange& range : map) {
        char line[96];
        std::snprintf(line, sizeof(line), "[%#llx, %#llx) %u\n", (unsigned long long)range.base,
            (unsigned long long)(range.base + range.length), unsigned(range.type));
        out += line;
    }
    return out;
}

bool same(const Map& a, const Map& b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const MemoryRange& x, const MemoryRange& y) {
        return x.base == y.base && x.length == y.length && x.type == y.type;
    });
}

#define EXPECT_MAP(actual, expected) EXPECT_TRUE(same(actual, expected)) << "got:\n" << describe(actual) << "want:\n" << describe(expected)

Map normalize(const Map& in)
{
    Map out(normalized_capacity(in.size()));
    auto result = normalize_memory_map(in, out);
    EXPECT_TRUE(result.has_value());
    out.resize(result.value_or(0));
    return out;
}

// Free runs of a page allocator that was handed `normalized` and `excluded`
// the way memory::init does it.
Map usable(const Map& normalized, const Map& excluded)
{
    uint64_t limit = 0;
    for (const MemoryRange& range : normalized) {
        if (range.type == U)
            limit = range.end() & ~uint64_t(0xfff);
    }
    Map runs;
    if (limit == 0)
        return runs;
    std::vector<uint64_t> bitmap(PageAllocator::bitmap_words_for(0, limit));
    PageAllocator pages;
    EXPECT_TRUE(pages.init(0, limit, bitmap).has_value());
    free_usable_memory(pages, normalized, excluded);
    for (uint64_t address = 0; address < limit; address += 0x1000) {
        if (!pages.is_free(address))
            continue;
        if (!runs.empty() && runs.back().end() == address)
            runs.back().length += 0x1000;
        else
            runs.push_back(r(address, address + 0x1000, U));
    }
    return runs;
}

} // namespace

TEST(MemoryMap, EmptyInput)
{
    EXPECT_TRUE(normalize({}).empty());
    EXPECT_TRUE(normalize({ r(5, 5, U), { 0, 0, R } }).empty());
    EXPECT_EQ(highest_address({}), 0u);
    EXPECT_EQ(total_of_type({}, U), 0u);
    EXPECT_EQ(normalized_capacity(0), 0u);
}

TEST(MemoryMap, UnsortedInputIsSorted)
{
    EXPECT_MAP(normalize({ r(0x3000, 0x4000, U), r(0x1000, 0x2000, R), r(0, 0x800, AN) }),
        (Map { r(0, 0x800, AN), r(0x1000, 0x2000, R), r(0x3000, 0x4000, U) }));
}

TEST(MemoryMap, ReservedWinsPartialOverlapsBothDirections)
{
    // Reserved overlapping the start of RAM, listed after and before it.
    EXPECT_MAP(normalize({ r(0x1000, 0x5000, U), r(0x0, 0x2000, R) }), (Map { r(0, 0x2000, R), r(0x2000, 0x5000, U) }));
    EXPECT_MAP(normalize({ r(0x0, 0x2000, R), r(0x1000, 0x5000, U) }), (Map { r(0, 0x2000, R), r(0x2000, 0x5000, U) }));
    // Reserved overlapping the end of RAM.
    EXPECT_MAP(normalize({ r(0x1000, 0x5000, U), r(0x4000, 0x8000, R) }), (Map { r(0x1000, 0x4000, U), r(0x4000, 0x8000, R) }));
    EXPECT_MAP(normalize({ r(0x4000, 0x8000, R), r(0x1000, 0x5000, U) }), (Map { r(0x1000, 0x4000, U), r(0x4000, 0x8000, R) }));
}

TEST(MemoryMap, FullOverlaps)
{
    // Reserved covering all of RAM: RAM disappears.
    EXPECT_MAP(normalize({ r(0x2000, 0x3000, U), r(0x1000, 0x4000, R) }), (Map { r(0x1000, 0x4000, R) }));
    EXPECT_MAP(normalize({ r(0x1000, 0x4000, R), r(0x2000, 0x3000, U) }), (Map { r(0x1000, 0x4000, R) }));
    // Identical extent, different types: the higher one wins in both orders.
    EXPECT_MAP(normalize({ r(0, 0x1000, U), r(0, 0x1000, X) }), (Map { r(0, 0x1000, X) }));
    EXPECT_MAP(normalize({ r(0, 0x1000, AR), r(0, 0x1000, U) }), (Map { r(0, 0x1000, AR) }));
}

TEST(MemoryMap, ReservedInsideRamSplitsIt)
{
    auto map = normalize({ r(0, 0x10000, U), r(0x4000, 0x5000, R) });
    EXPECT_MAP(map, (Map { r(0, 0x4000, U), r(0x4000, 0x5000, R), r(0x5000, 0x10000, U) }));
    EXPECT_EQ(map.size(), normalized_capacity(2)); // the bound is tight
}

TEST(MemoryMap, AdjacentSameTypeMerged)
{
    EXPECT_MAP(normalize({ r(0x2000, 0x3000, U), r(0, 0x1000, U), r(0x1000, 0x2000, U) }), (Map { r(0, 0x3000, U) }));
    // Overlapping same-type ranges merge too.
    EXPECT_MAP(normalize({ r(0, 0x1800, R), r(0x1000, 0x3000, R) }), (Map { r(0, 0x3000, R) }));
    // Not merged across a gap.
    EXPECT_MAP(normalize({ r(0, 0x1000, U), r(0x1001, 0x2000, U) }), (Map { r(0, 0x1000, U), r(0x1001, 0x2000, U) }));
}

TEST(MemoryMap, AdjacentDifferentTypesNotMerged)
{
    EXPECT_MAP(normalize({ r(0, 0x1000, U), r(0x1000, 0x2000, AR), r(0x2000, 0x3000, AN), r(0x3000, 0x4000, R) }),
        (Map { r(0, 0x1000, U), r(0x1000, 0x2000, AR), r(0x2000, 0x3000, AN), r(0x3000, 0x4000, R) }));
}

TEST(MemoryMap, ZeroLengthDropped)
{
    EXPECT_MAP(normalize({ r(0x1000, 0x1000, R), r(0, 0x2000, U), { 0x500, 0, X } }), (Map { r(0, 0x2000, U) }));
}

TEST(MemoryMap, DuplicatesCollapse)
{
    EXPECT_MAP(normalize({ r(0, 0x1000, U), r(0, 0x1000, U), r(0, 0x1000, U) }), (Map { r(0, 0x1000, U) }));
}

TEST(MemoryMap, UnknownTypeTreatedAsReserved)
{
    clear_log();
    auto map = normalize({ r(0, 0x3000, U), r(0x1000, 0x2000, static_cast<MemoryType>(17)) });
    EXPECT_MAP(map, (Map { r(0, 0x1000, U), r(0x1000, 0x2000, R), r(0x2000, 0x3000, U) }));
    EXPECT_TRUE(log_contains("unknown type 17", log::Level::Warn));
}

TEST(MemoryMap, WrappingEntryIsClippedAndLogged)
{
    clear_log();
    constexpr uint64_t top = UINT64_MAX;
    auto map = normalize({ { 0xffff'ffff'ffff'f000, 0x2000, R }, r(0, 0x1000, U) });
    EXPECT_MAP(map, (Map { r(0, 0x1000, U), r(0xffff'ffff'ffff'f000, top, R) }));
    EXPECT_TRUE(log_contains("wraps past the top", log::Level::Warn));
    EXPECT_EQ(highest_address(map), top);

    clear_log();
    map = normalize({ { 0x1000, UINT64_MAX, U } });
    EXPECT_MAP(map, (Map { r(0x1000, top, U) }));
    EXPECT_TRUE(log_contains("wraps", log::Level::Warn));
    EXPECT_EQ(total_of_type(map, U), top - 0x1000);

    // An entry at the very top has nothing left after clipping.
    map = normalize({ { UINT64_MAX, 5, U } });
    EXPECT_TRUE(map.empty());
}

TEST(MemoryMap, OutputTooSmallGivesFullWithValidPrefix)
{
    Map in { r(0, 0x10000, U), r(0x4000, 0x5000, R), r(0x8000, 0x9000, R) };
    Map out(3);
    clear_log();
    auto result = normalize_memory_map(in, out);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error(), Error::Full);
    EXPECT_MAP(out, (Map { r(0, 0x4000, U), r(0x4000, 0x5000, R), r(0x5000, 0x8000, U) }));
    EXPECT_TRUE(log_contains("only 3 output entries", log::Level::Warn));

    Map none;
    EXPECT_EQ(normalize_memory_map(in, none).error(), Error::Full);

    // Exactly enough: no error.
    Map exact(5);
    auto fits = normalize_memory_map(in, exact);
    ASSERT_TRUE(fits.has_value());
    EXPECT_EQ(*fits, 5u);
}

TEST(MemoryMap, OverlappingBuffersRefused)
{
    Map buffer { r(0, 0x1000, U), r(0x1000, 0x2000, U), {}, {} };
    auto result = normalize_memory_map(std::span<const MemoryRange>(buffer.data(), 2), std::span<MemoryRange>(buffer.data() + 1, 3));
    EXPECT_EQ(result.error(), Error::InvalidArgument);
}

// Firecracker's Linux-boot e820 (current layout) for a 4 GiB VM, in the order
// Firecracker writes it: low RAM, the EBDA/MP table/ACPI system area up to
// 1 MiB, the PCI MMCONFIG window below 4 GiB, RAM above 4 GiB, then RAM from
// 1 MiB to the 32-bit MMIO gap at 3 GiB.
TEST(MemoryMap, RealFirecrackerMap)
{
    const Map firecracker {
        { 0x0, 0x9fc00, U },
        { 0x9fc00, 0x60400, R },
        { 0xf000'0000, 0x1000'0000, R },
        { 0x1'0000'0000, 0x4000'0000, U },
        { 0x10'0000, 0xc000'0000 - 0x10'0000, U },
    };
    clear_log();
    auto map = normalize(firecracker);
    EXPECT_MAP(map,
        (Map { r(0, 0x9fc00, U), r(0x9fc00, 0x100000, R), r(0x100000, 0xc000'0000, U), r(0xf000'0000, 0x1'0000'0000, R),
            r(0x1'0000'0000, 0x1'4000'0000, U) }));
    EXPECT_EQ(total_of_type(map, U), (4ull << 30) - 0x60400); // all RAM but the system area below 1 MiB
    EXPECT_EQ(highest_address(map), 0x1'4000'0000u);
    EXPECT_TRUE(captured_log().empty());

    // Skip low memory and a 1.5 MiB kernel image at 1 MiB.
    Map excluded { r(0, 0x100000, R), r(0x100000, 0x280000, R) };
    EXPECT_MAP(usable(map, excluded), (Map { r(0x280000, 0xc000'0000, U), r(0x1'0000'0000, 0x1'4000'0000, U) }));
}

// QEMU `-M pc -m 512` e820 as SeaBIOS reports it.
TEST(MemoryMap, RealQemuPcMap)
{
    const Map qemu {
        r(0x0, 0x9fc00, U),
        r(0x9fc00, 0xa0000, R),
        r(0xf0000, 0x100000, R),
        r(0x100000, 0x1ffe0000, U),
        r(0x1ffe0000, 0x20000000, R),
        r(0xfeffc000, 0xff000000, R),
        r(0xfffc0000, 0x1'0000'0000, R),
    };
    auto map = normalize(qemu);
    EXPECT_MAP(map, qemu); // already normal: nothing to merge
    Map shuffled(qemu.rbegin(), qemu.rend());
    std::swap(shuffled[1], shuffled[4]);
    EXPECT_MAP(normalize(shuffled), qemu);
    EXPECT_EQ(total_of_type(map, U), 0x9fc00u + (0x1ffe0000u - 0x100000u));
    EXPECT_EQ(total_of_type(map, R), 0x400u + 0x10000u + 0x20000u + 0x4000u + 0x40000u);
    EXPECT_EQ(highest_address(map), 0x1'0000'0000u);

    // Exclude low memory, the kernel image and two boot modules (unsorted).
    Map excluded {
        r(0x1000000, 0x1002345, R),      // module
        r(0x100000, 0x181234, R),        // kernel image
        r(0, 0x100000, R),               // below 1 MiB
        r(0x1ffd0000, 0x1ffe8000, R),    // module reaching past the end of RAM
    };
    EXPECT_MAP(usable(map, excluded),
        (Map { r(0x182000, 0x1000000, U), r(0x1003000, 0x1ffd0000, U) }));
}

TEST(MemoryMap, ExclusionOfImageAndModules)
{
    Map map = normalize({ r(0, 0x100000, U) });
    // Image at the start, module in the middle, overlapping exclusions, a
    // zero-length one and one outside RAM.
    Map excluded { r(0, 0x10000, R), r(0x40000, 0x50000, R), r(0x48000, 0x60000, R), { 0x80000, 0, R },
        r(0x200000, 0x300000, R) };
    EXPECT_MAP(usable(map, excluded), (Map { r(0x10000, 0x40000, U), r(0x60000, 0x100000, U) }));
    // Excluding everything leaves nothing.
    EXPECT_TRUE(usable(map, { r(0, 0x200000, R) }).empty());
    // Non-usable ranges never show up.
    Map mixed = normalize({ r(0, 0x1000, R), r(0x1000, 0x2000, AR), r(0x2000, 0x3000, U) });
    EXPECT_MAP(usable(mixed, {}), (Map { r(0x2000, 0x3000, U) }));
    // An exclusion takes every page it touches.
    EXPECT_MAP(usable(map, { r(0x1800, 0x2001, R) }), (Map { r(0, 0x1000, U), r(0x3000, 0x100000, U) }));
}

TEST(MemoryMap, PartialPagesAreNotUsable)
{
    Map map = normalize({ r(0x1001, 0x2fff, U), r(0x10000, 0x10800, U), r(0x20000, 0x23000, U) });
    EXPECT_MAP(usable(map, {}), (Map { r(0x20000, 0x23000, U) }));
}

TEST(MemoryMap, FirstFitSkipsExclusionsAndOtherTypes)
{
    Map map = normalize({ r(0, 0x9f000, U), r(0x9f000, 0x100000, R), r(0x100000, 0x800000, U),
        r(0x900000, 0xa00000, U) });
    Map excluded { r(0x100000, 0x1666a0, R), r(0x200000, 0x201000, R) }; // image, module
    // Above the image, aligned up to the page.
    EXPECT_EQ(first_fit(map, excluded, 0x1000, 0x1000, 0x100000).value_or(0), 0x167000u);
    // Too big for the gap before the module: after it.
    EXPECT_EQ(first_fit(map, excluded, 0x9a000, 0x1000, 0x100000).value_or(0), 0x201000u);
    // Too big for the first RAM range: the next one.
    EXPECT_EQ(first_fit(map, excluded, 0x80000, 0x1000, 0x7c0000).value_or(0), 0x900000u);
    EXPECT_EQ(first_fit(map, excluded, 0x100000, 0x100000, 0x100000).value_or(0), 0x300000u);
    // Never below `lowest`, never in reserved memory, NotFound when nothing fits.
    EXPECT_EQ(first_fit(map, {}, 0x1000, 0x1000, 0).value_or(1), 0u);
    EXPECT_EQ(first_fit(map, {}, 0x1000, 0x1000, 0x9f000).value_or(0), 0x100000u);
    EXPECT_EQ(first_fit(map, excluded, 0x800000, 0x1000, 0).error(), Error::NotFound);
    Map top = normalize({ r(0xffff'ffff'ffff'0000, 0xffff'ffff'ffff'f001, U) });
    EXPECT_EQ(first_fit(top, {}, 0x1000, 0x1000, 0).value_or(0), 0xffff'ffff'ffff'0000u);
    EXPECT_EQ(first_fit(top, {}, 0x2000, 0x100000, 0).error(), Error::NotFound); // aligning would wrap
}

TEST(MemoryMap, FirstFitRejectsBadArguments)
{
    Map map = normalize({ r(0, 0x10000, U) });
    clear_log();
    EXPECT_EQ(first_fit(map, {}, 0, 0x1000, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(first_fit(map, {}, 0x1000, 0x1800, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(first_fit(map, {}, 0x1000, 0, 0).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("cannot place", log::Level::Error));
}

TEST(MemoryMap, OrderedMapIsCopiedWithNeighboursMerged)
{
    // QEMU's e820 shape, plus a zero-length entry and touching RAM.
    Map in { r(0, 0x9fc00, U), r(0x9fc00, 0xa0000, R), r(0xf0000, 0x100000, R), { 0x100000, 0, U },
        r(0x100000, 0x4000000, U), r(0x4000000, 0x8000000, U), r(0xfeffc000, 0xff000000, R) };
    EXPECT_MAP(normalize(in), (Map { r(0, 0x9fc00, U), r(0x9fc00, 0xa0000, R), r(0xf0000, 0x100000, R),
                                  r(0x100000, 0x8000000, U), r(0xfeffc000, 0xff000000, R) }));
    // Too small an output: Full, with the lowest entries, as for any map.
    Map small(2);
    EXPECT_EQ(normalize_memory_map(in, small).error(), Error::Full);
    EXPECT_MAP(small, (Map { r(0, 0x9fc00, U), r(0x9fc00, 0xa0000, R) }));
    // One entry out of order: the whole map goes through the sweep.
    Map shuffled { r(0x100000, 0x200000, U), r(0, 0x1000, U), r(0x1000, 0x2000, U) };
    EXPECT_MAP(normalize(shuffled), (Map { r(0, 0x2000, U), r(0x100000, 0x200000, U) }));
}

// Randomised comparison with a per-byte model on a 64-byte address space.
TEST(MemoryMap, MatchesPerByteReferenceModel)
{
    constexpr int space = 96; // entries may reach past 64
    std::mt19937_64 rng(12345);
    for (int iteration = 0; iteration < 20000; ++iteration) {
        Map in(rng() % 12);
        for (MemoryRange& range : in) {
            range.base = rng() % 64;
            range.length = rng() % 4 == 0 ? 0 : rng() % 24;
            range.type = static_cast<MemoryType>(rng() % 16 == 0 ? 9 : rng() % 5);
        }
        if (iteration % 2 == 1) {
            // Sorted and without overlaps, as loaders hand maps over: the
            // copying path (unless an unknown type sends it to the sweep).
            std::sort(in.begin(), in.end(), [](const MemoryRange& a, const MemoryRange& b) { return a.base < b.base; });
            uint64_t end = 0;
            for (MemoryRange& range : in) {
                range.base = std::max(range.base, end);
                range.length = std::min<uint64_t>(range.length, space - range.base);
                end = std::max(end, range.base + range.length);
            }
        }
        // Reference: the winning rank of every byte, -1 where nothing is.
        std::array<int, space> model;
        model.fill(-1);
        for (const MemoryRange& range : in) {
            int type = static_cast<int>(range.type);
            int rank = type > 4 ? 3 : type; // unknown types count as Reserved
            for (uint64_t b = range.base; b < range.base + range.length; ++b)
                model[b] = std::max(model[b], rank);
        }

        Map out = normalize(in);
        ASSERT_LE(out.size(), normalized_capacity(in.size()));
        std::array<int, space> got;
        got.fill(-1);
        for (size_t i = 0; i < out.size(); ++i) {
            ASSERT_GT(out[i].length, 0u);
            if (i > 0) {
                ASSERT_LE(out[i - 1].base + out[i - 1].length, out[i].base) << "overlap or unsorted";
                ASSERT_FALSE(out[i - 1].base + out[i - 1].length == out[i].base && out[i - 1].type == out[i].type)
                    << "not coalesced";
            }
            for (uint64_t b = out[i].base; b < out[i].end(); ++b)
                got[b] = static_cast<int>(out[i].type);
        }
        ASSERT_EQ(got, model) << "input:\n" << describe(in) << "output:\n" << describe(out);

        // A too-small output holds exactly the prefix of the full answer.
        if (!out.empty()) {
            Map small(out.size() - 1);
            auto result = normalize_memory_map(in, small);
            ASSERT_EQ(result.error(), Error::Full);
            ASSERT_TRUE(same(small, Map(out.begin(), out.end() - 1)));
        }

        // Handed to a page allocator: with each model byte standing for
        // 1 KiB, a 4 KiB page is free exactly when its four units are usable
        // RAM and no (non-empty) exclusion touches it.
        constexpr uint64_t unit = 1024;
        Map excluded(rng() % 4);
        for (MemoryRange& range : excluded)
            range = { rng() % 80, rng() % 12, R };
        auto scaled = [](const Map& map) {
            Map out;
            for (const MemoryRange& range : map)
                out.push_back({ range.base * unit, range.length * unit, range.type });
            return out;
        };
        std::array<bool, space> clear {};
        for (int b = 0; b < space; ++b)
            clear[b] = model[b] == 0;
        for (const MemoryRange& range : excluded) {
            for (uint64_t b = range.base; b < range.base + range.length && b < space; ++b)
                clear[b] = false;
        }
        Map expected;
        for (int page = 0; page < space / 4; ++page) {
            if (!(clear[4 * page] && clear[4 * page + 1] && clear[4 * page + 2] && clear[4 * page + 3]))
                continue;
            uint64_t base = uint64_t(page) * 4 * unit;
            if (!expected.empty() && expected.back().end() == base)
                expected.back().length += 4 * unit;
            else
                expected.push_back(r(base, base + 4 * unit, U));
        }
        Map pieces = usable(scaled(out), scaled(excluded));
        ASSERT_TRUE(same(pieces, expected)) << "input:\n" << describe(in) << "excluded:\n" << describe(excluded)
                                            << "got:\n" << describe(pieces) << "want:\n" << describe(expected);

        // first_fit finds the lowest aligned run of clear bytes at or above `lowest`.
        uint64_t align = uint64_t(1) << (rng() % 4);
        uint64_t size = 1 + rng() % 16;
        uint64_t lowest = rng() % 48;
        uint64_t want = UINT64_MAX;
        for (uint64_t c = (lowest + align - 1) & ~(align - 1); c + size <= space && want == UINT64_MAX; c += align) {
            bool fits = true;
            for (uint64_t b = c; b < c + size; ++b)
                fits = fits && clear[b];
            if (fits)
                want = c;
        }
        auto placed = first_fit(out, excluded, size, align, lowest);
        if (want == UINT64_MAX)
            ASSERT_EQ(placed.error(), Error::NotFound) << describe(in) << "excluded:\n" << describe(excluded);
        else
            ASSERT_EQ(placed.value_or(UINT64_MAX), want) << describe(in) << "excluded:\n" << describe(excluded)
                                                        << "size " << size << " align " << align << " lowest " << lowest;

        // total_of_type agrees with the model.
        uint64_t usable_bytes = uint64_t(std::count(model.begin(), model.end(), 0));
        ASSERT_EQ(total_of_type(out, U), usable_bytes);
        int last = space - 1;
        while (last >= 0 && model[last] < 0)
            --last;
        ASSERT_EQ(highest_address(out), uint64_t(last + 1));
    }
}

// memory::init reports usable memory from count_free_pages() at boot and
// builds the bitmap only on first use: the two must agree on every map.
TEST(MemoryMap, CountFreePagesMatchesTheAllocator)
{
    std::mt19937_64 random(20261126);
    auto pick = [&](uint64_t bound) { return bound == 0 ? 0 : random() % bound; };
    for (int round = 0; round < 3000; ++round) {
        constexpr uint64_t span = 4ull << 20;
        Map raw;
        for (uint64_t i = 0, n = 1 + pick(6); i < n; ++i) {
            uint64_t base = pick(span);
            raw.push_back({ base, 1 + pick(span / 2), pick(3) == 0 ? R : U });
        }
        Map normalized = normalize(raw);
        uint64_t limit = 0;
        for (const MemoryRange& range : normalized) {
            if (range.type == U)
                limit = range.end() & ~uint64_t(0xfff);
        }
        if (limit == 0)
            continue;
        Map excluded;
        for (uint64_t i = 0, n = pick(5); i < n; ++i)
            excluded.push_back({ pick(span + span / 4), pick(span / 4), R });
        if (pick(4) == 0 && !excluded.empty())
            excluded.push_back(excluded.front()); // a duplicate
        std::vector<uint64_t> bitmap(PageAllocator::bitmap_words_for(0, limit));
        PageAllocator pages;
        ASSERT_TRUE(pages.init(0, limit, bitmap).has_value());
        free_usable_memory(pages, normalized, excluded);

        Map sorted = excluded;
        sort_by_base(sorted);
        ASSERT_TRUE(std::is_sorted(sorted.begin(), sorted.end(),
            [](const MemoryRange& a, const MemoryRange& b) { return a.base < b.base; }));
        uint64_t counted = count_free_pages(normalized, sorted, limit);
        ASSERT_EQ(counted, pages.free_pages()) << "map:\n" << describe(normalized) << "excluded:\n" << describe(excluded);

        // memory::init counts the bitmap's pages out before first_fit places
        // it: a first_fit block must take exactly that many free pages.
        uint64_t block_pages = 1 + pick(8);
        auto block = first_fit(normalized, excluded, block_pages * 0x1000, 0x1000, 0x100000);
        if (!block)
            continue;
        sorted.push_back({ *block, block_pages * 0x1000, R });
        sort_by_base(sorted);
        ASSERT_EQ(count_free_pages(normalized, sorted, limit), counted - block_pages)
            << "block at " << std::hex << *block << "\nmap:\n" << describe(normalized);
    }
}

TEST(MemoryMap, CountFreePagesRoundsLikeTheAllocator)
{
    // Usable ranges lose partial pages; excluded ranges take every page they touch.
    Map map { r(0, 0x9fc00, U), r(0x100000, 0x800000, U) };
    Map excluded { { 0, 0x1000, R }, { 0x100800, 0x1000, R }, { 0x7ff000, 0x2000, R } };
    // 0x9f pages below 1 MiB minus the null page, 0x700 above minus 2 (image) and 1 (top).
    EXPECT_EQ(count_free_pages(map, excluded, 0x800000), (0x9fu - 1) + (0x700u - 2 - 1));
    EXPECT_EQ(count_free_pages(map, excluded, 0x400000), (0x9fu - 1) + (0x300u - 2));
}
