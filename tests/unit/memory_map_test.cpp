#include "kernel/mm/memory_map.h"
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

Map usable(const Map& normalized, const Map& excluded, uint64_t align)
{
    Map out(usable_capacity(normalized.size(), excluded.size()));
    auto result = usable_ranges(normalized, excluded, align, out);
    EXPECT_TRUE(result.has_value());
    out.resize(result.value_or(0));
    return out;
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

    // Skip low memory and a 1.5 MiB kernel image at 1 MiB, align to 2 MiB pages.
    Map excluded { r(0, 0x100000, R), r(0x100000, 0x280000, R) };
    EXPECT_MAP(usable(map, excluded, 2 << 20), (Map { r(0x400000, 0xc000'0000, U), r(0x1'0000'0000, 0x1'4000'0000, U) }));
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
    EXPECT_MAP(usable(map, excluded, 4096),
        (Map { r(0x182000, 0x1000000, U), r(0x1003000, 0x1ffd0000, U) }));
}

TEST(MemoryMap, ExclusionOfImageAndModules)
{
    Map map = normalize({ r(0, 0x100000, U) });
    // Image at the start, module in the middle, overlapping exclusions, a
    // zero-length one and one outside RAM.
    Map excluded { r(0, 0x10000, R), r(0x40000, 0x50000, R), r(0x48000, 0x60000, R), { 0x80000, 0, R },
        r(0x200000, 0x300000, R) };
    EXPECT_MAP(usable(map, excluded, 1), (Map { r(0x10000, 0x40000, U), r(0x60000, 0x100000, U) }));
    // Excluding everything leaves nothing.
    EXPECT_TRUE(usable(map, { r(0, 0x200000, R) }, 4096).empty());
    // Non-usable ranges never show up.
    Map mixed = normalize({ r(0, 0x1000, R), r(0x1000, 0x2000, AR), r(0x2000, 0x3000, U) });
    EXPECT_MAP(usable(mixed, {}, 1), (Map { r(0x2000, 0x3000, U) }));
}

TEST(MemoryMap, AlignmentShrinksAndCanLeaveNothing)
{
    Map map = normalize({ r(0x1001, 0x2fff, U), r(0x10000, 0x10800, U), r(0x20000, 0x23000, U) });
    EXPECT_MAP(usable(map, {}, 0x1000), (Map { r(0x20000, 0x23000, U) }));
    EXPECT_MAP(usable(map, {}, 0x800), (Map { r(0x1800, 0x2800, U), r(0x10000, 0x10800, U), r(0x20000, 0x23000, U) }));
    EXPECT_TRUE(usable(map, {}, 0x10000).empty());
    // A range near the top that cannot be rounded up without wrapping.
    Map high = normalize({ r(0xffff'ffff'ffff'f001, 0xffff'ffff'ffff'fff0, U) });
    EXPECT_TRUE(usable(high, {}, 0x1000).empty());
}

TEST(MemoryMap, UsableRangesRejectsBadArguments)
{
    Map map = normalize({ r(0, 0x1000, U) });
    Map out(4);
    clear_log();
    EXPECT_EQ(usable_ranges(map, {}, 0, out).error(), Error::InvalidArgument);
    EXPECT_EQ(usable_ranges(map, {}, 0x1800, out).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("not a power of two", log::Level::Error));
    Map unsorted { r(0x2000, 0x3000, U), r(0, 0x1000, U) };
    clear_log();
    EXPECT_EQ(usable_ranges(unsorted, {}, 1, out).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("not normalised", log::Level::Error));
}

TEST(MemoryMap, UsableRangesFull)
{
    Map map = normalize({ r(0, 0x10000, U) });
    Map excluded { r(0x2000, 0x3000, R), r(0x6000, 0x7000, R) };
    Map out(2);
    auto result = usable_ranges(map, excluded, 0x1000, out);
    EXPECT_EQ(result.error(), Error::Full);
    EXPECT_MAP(out, (Map { r(0, 0x2000, U), r(0x3000, 0x6000, U) }));
    Map enough(usable_capacity(map.size(), excluded.size()));
    EXPECT_EQ(usable_ranges(map, excluded, 0x1000, enough).value_or(0), 3u);
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

        // Usable minus excluded, aligned: compare with maximal runs of the model.
        Map excluded(rng() % 4);
        for (MemoryRange& range : excluded)
            range = { rng() % 80, rng() % 12, R };
        uint64_t align = uint64_t(1) << (rng() % 5);
        std::array<bool, space> free {};
        for (int b = 0; b < space; ++b)
            free[b] = model[b] == 0;
        for (const MemoryRange& range : excluded) {
            for (uint64_t b = range.base; b < range.base + range.length && b < space; ++b)
                free[b] = false;
        }
        Map expected;
        for (int b = 0; b < space;) {
            if (!free[b]) {
                ++b;
                continue;
            }
            int e = b;
            while (e < space && free[e])
                ++e;
            uint64_t lo = (uint64_t(b) + align - 1) & ~(align - 1);
            uint64_t hi = uint64_t(e) & ~(align - 1);
            if (lo < hi)
                expected.push_back(r(lo, hi, U));
            b = e;
        }
        Map pieces = usable(out, excluded, align);
        ASSERT_LE(pieces.size(), usable_capacity(out.size(), excluded.size()));
        ASSERT_TRUE(same(pieces, expected)) << "input:\n" << describe(in) << "excluded:\n" << describe(excluded)
                                            << "align " << align << "\ngot:\n" << describe(pieces) << "want:\n"
                                            << describe(expected);
        // total_of_type agrees with the model.
        uint64_t usable_bytes = uint64_t(std::count(model.begin(), model.end(), 0));
        ASSERT_EQ(total_of_type(out, U), usable_bytes);
        int last = space - 1;
        while (last >= 0 && model[last] < 0)
            --last;
        ASSERT_EQ(highest_address(out), uint64_t(last + 1));
    }
}
