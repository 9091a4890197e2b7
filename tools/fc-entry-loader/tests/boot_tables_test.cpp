// Host tests for the boot structures fc-entry-loader writes: the bytes must
// match what Firecracker (pre-1.8) puts in guest memory.
#include "tools/fc-entry-loader/boot_tables.h"

#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace skiff;
using namespace skiff::fc_loader;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

void append_e820(std::vector<uint8_t>& table, uint64_t base, uint64_t size, uint32_t type)
{
    uint8_t record[20];
    std::memcpy(record, &base, 8);
    std::memcpy(record + 8, &size, 8);
    std::memcpy(record + 16, &type, 4);
    table.insert(table.end(), record, record + 20);
}

RamMap ram_of(std::initializer_list<MemoryRange> ranges)
{
    RamMap map;
    for (auto r : ranges)
        map.ranges[map.count++] = r;
    return map;
}

void expect_entry(const E820Map& map, size_t i, uint64_t base, uint64_t size)
{
    ASSERT_LT(i, map.count);
    EXPECT_EQ(map.entries[i].address, base) << "entry " << i;
    EXPECT_EQ(map.entries[i].size, size) << "entry " << i;
    EXPECT_EQ(map.entries[i].type, fc::e820_ram) << "entry " << i;
}

uint8_t sum(const uint8_t* p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i)
        s = static_cast<uint8_t>(s + p[i]);
    return s;
}

} // namespace

TEST(FcQemuE820, KeepsRamEntriesSorted)
{
    std::vector<uint8_t> table;
    append_e820(table, 4 * GiB, 512 * MiB, 1);
    append_e820(table, 0xfeffc000, 0x4000, 2);
    append_e820(table, 0, 3 * GiB, 1);
    auto map = parse_qemu_e820(table);
    ASSERT_TRUE(map);
    ASSERT_EQ(map->count, 2u);
    EXPECT_EQ(map->ranges[0].base, 0u);
    EXPECT_EQ(map->ranges[0].size, 3 * GiB);
    EXPECT_EQ(map->ranges[1].base, 4 * GiB);
    EXPECT_EQ(map->total(), 3 * GiB + 512 * MiB);
}

TEST(FcQemuE820, RefusesMalformedTables)
{
    std::vector<uint8_t> ragged(19, 0);
    clear_log();
    EXPECT_EQ(parse_qemu_e820(ragged).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("not a whole number"));

    std::vector<uint8_t> overlapping;
    append_e820(overlapping, 0, 128 * MiB, 1);
    append_e820(overlapping, 64 * MiB, 128 * MiB, 1);
    clear_log();
    EXPECT_EQ(parse_qemu_e820(overlapping).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("overlap"));

    std::vector<uint8_t> wrapping;
    append_e820(wrapping, ~0ull - 10, 100, 1);
    clear_log();
    EXPECT_EQ(parse_qemu_e820(wrapping).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("wraps"));

    std::vector<uint8_t> reserved_only;
    append_e820(reserved_only, 0, 128 * MiB, 2);
    EXPECT_EQ(parse_qemu_e820(reserved_only).error(), Error::Corrupt);
}

TEST(FcQemuE820, FallbackFromRamSizeSplitsAt3GiB)
{
    auto small = ram_map_from_size(128 * MiB);
    ASSERT_EQ(small.count, 1u);
    EXPECT_EQ(small.ranges[0].size, 128 * MiB);
    auto large = ram_map_from_size(4 * GiB);
    ASSERT_EQ(large.count, 2u);
    EXPECT_EQ(large.ranges[0].size, 3 * GiB);
    EXPECT_EQ(large.ranges[1].base, 4 * GiB);
    EXPECT_EQ(large.ranges[1].size, 1 * GiB);
}

TEST(FcE820, SmallMemoryIsLowRamPlusHighRam)
{
    auto map = build_e820(ram_of({ { 0, 128 * MiB } }));
    ASSERT_TRUE(map);
    ASSERT_EQ(map->count, 2u);
    expect_entry(*map, 0, 0, 0x9fc00);
    expect_entry(*map, 1, MiB, 127 * MiB);
    EXPECT_TRUE(map->ram_contains(MiB, MiB));
    EXPECT_FALSE(map->ram_contains(0x9f000, 0x2000));
    EXPECT_FALSE(map->ram_contains(127 * MiB, 2 * MiB));
}

TEST(FcE820, QemuSplitAbove3GiB)
{
    auto map = build_e820(ram_of({ { 0, 3 * GiB }, { 4 * GiB, 512 * MiB } }));
    ASSERT_TRUE(map);
    ASSERT_EQ(map->count, 3u);
    expect_entry(*map, 1, MiB, 3 * GiB - MiB);
    expect_entry(*map, 2, 4 * GiB, 512 * MiB);
}

TEST(FcE820, CutsFirecrackersMmioGap)
{
    // RAM straight through the gap is never reported inside it.
    auto map = build_e820(ram_of({ { 0, 5 * GiB } }));
    ASSERT_TRUE(map);
    ASSERT_EQ(map->count, 3u);
    expect_entry(*map, 1, MiB, 0xd0000000 - MiB);
    expect_entry(*map, 2, 4 * GiB, GiB);
    EXPECT_FALSE(map->ram_contains(0xd0000000, 0x1000));
}

TEST(FcE820, RefusesMachinesWithoutUsableRam)
{
    clear_log();
    EXPECT_EQ(build_e820(ram_of({ { MiB, 128 * MiB } })).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("under the boot structures"));
    clear_log();
    EXPECT_EQ(build_e820(ram_of({ { 0, 0xa0000 } })).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("no RAM above 1 MiB"));
}

TEST(FcCommandLine, FitsWithNul)
{
    char area[fc::cmdline_max_size];
    std::memset(area, 'z', sizeof(area));
    EXPECT_EQ(place_command_line(area, "console=ttyS0 quiet"), 20u);
    EXPECT_STREQ(area, "console=ttyS0 quiet");
}

TEST(FcCommandLine, TruncatesOverLongLineWithWarning)
{
    char area[fc::cmdline_max_size];
    std::string text(3000, 'x');
    clear_log();
    EXPECT_EQ(place_command_line(area, text), fc::cmdline_max_size);
    EXPECT_EQ(area[fc::cmdline_max_size - 1], '\0');
    EXPECT_EQ(std::strlen(area), fc::cmdline_max_size - 1);
    EXPECT_TRUE(log_contains("truncated to 2047", log::Level::Warn));
}

TEST(FcBootParams, SetupHeaderAndE820AtLinuxOffsets)
{
    auto e820 = build_e820(ram_of({ { 0, 256 * MiB } }));
    ASSERT_TRUE(e820);
    std::vector<uint8_t> page(4096, 0xcc);
    fill_boot_params(*reinterpret_cast<fc::BootParams*>(page.data()), *e820, 42);
    auto u16 = [&](size_t o) { uint16_t v; std::memcpy(&v, &page[o], 2); return v; };
    auto u32 = [&](size_t o) { uint32_t v; std::memcpy(&v, &page[o], 4); return v; };
    auto u64 = [&](size_t o) { uint64_t v; std::memcpy(&v, &page[o], 8); return v; };
    EXPECT_EQ(u16(0x1fe), 0xaa55);
    EXPECT_EQ(u32(0x202), 0x53726448u);
    EXPECT_EQ(page[0x210], 0xff);
    EXPECT_EQ(u32(0x228), 0x20000u);
    EXPECT_EQ(u32(0x238), 42u);
    EXPECT_EQ(u32(0x230), 0x1000000u);
    EXPECT_EQ(u64(0x70), 0u);
    EXPECT_EQ(page[0x1e8], 2);
    EXPECT_EQ(u64(0x2d0), 0u);
    EXPECT_EQ(u64(0x2d8), 0x9fc00u);
    EXPECT_EQ(u32(0x2e0), 1u);
    EXPECT_EQ(u64(0x2d0 + 20), MiB);
    EXPECT_EQ(u64(0x2d8 + 20), 255 * MiB);
    // Nothing else is left over from before.
    EXPECT_EQ(page[0], 0);
    EXPECT_EQ(page[0x1f1], 0);
    EXPECT_EQ(page[4095], 0);
}

TEST(FcMpTable, LayoutMatchesFirecracker)
{
    for (unsigned cpus : { 1u, 2u, 7u, 254u }) {
        SCOPED_TRACE(cpus);
        std::vector<uint8_t> area(8192, 0xcc);
        auto size = write_mptable(area, fc::mptable_address, cpus);
        ASSERT_TRUE(size);
        EXPECT_EQ(*size, 16u + 44 + 20 * cpus + 8 + 8 + 24 * 8 + 2 * 8);
        EXPECT_EQ(std::memcmp(area.data(), "_MP_", 4), 0);
        EXPECT_EQ(sum(area.data(), 16), 0);
        uint32_t config;
        std::memcpy(&config, &area[4], 4);
        EXPECT_EQ(config, fc::mptable_address + 16);
        EXPECT_EQ(area[8], 1);
        EXPECT_EQ(area[9], 4);

        const uint8_t* table = &area[16];
        uint16_t length;
        std::memcpy(&length, table + 4, 2);
        EXPECT_EQ(length, *size - 16);
        EXPECT_EQ(std::memcmp(table, "PCMP", 4), 0);
        EXPECT_EQ(sum(table, length), 0);
        EXPECT_EQ(std::memcmp(table + 8, "FC      ", 8), 0);
        EXPECT_EQ(std::memcmp(table + 16, "000000000000", 12), 0);

        const uint8_t* entry = table + 44;
        for (unsigned cpu = 0; cpu < cpus; ++cpu, entry += 20) {
            EXPECT_EQ(entry[0], 0);
            EXPECT_EQ(entry[1], cpu);
            EXPECT_EQ(entry[2], 0x14);
            EXPECT_EQ(entry[3], cpu == 0 ? 3 : 1);
        }
        EXPECT_EQ(entry[0], 1);
        EXPECT_EQ(std::memcmp(entry + 2, "ISA   ", 6), 0);
        entry += 8;
        EXPECT_EQ(entry[0], 2);
        EXPECT_EQ(entry[1], cpus + 1);
        uint32_t ioapic;
        std::memcpy(&ioapic, entry + 4, 4);
        EXPECT_EQ(ioapic, 0xfec00000u);
        entry += 8;
        for (unsigned irq = 0; irq < 24; ++irq, entry += 8) {
            EXPECT_EQ(entry[0], 3);
            EXPECT_EQ(entry[5], irq);
            EXPECT_EQ(entry[6], cpus + 1);
            EXPECT_EQ(entry[7], irq);
        }
        EXPECT_EQ(entry[0], 4);
        EXPECT_EQ(entry[1], 3); // ExtINT
        EXPECT_EQ(entry[7], 0);
        EXPECT_EQ(entry[8], 4);
        EXPECT_EQ(entry[9], 1); // NMI
        EXPECT_EQ(entry[14], 0xff);
        EXPECT_EQ(entry[15], 1);
        EXPECT_EQ(area[*size], 0xcc) << "wrote past the table";
    }
}

TEST(FcMpTable, RefusesBadCpuCountsAndSmallAreas)
{
    std::vector<uint8_t> area(8192);
    clear_log();
    EXPECT_EQ(write_mptable(area, fc::mptable_address, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(write_mptable(area, fc::mptable_address, 255).error(), Error::InvalidArgument);
    EXPECT_TRUE(log_contains("outside 1..254"));
    std::vector<uint8_t> small(fc::mptable_size(4) - 1);
    EXPECT_EQ(write_mptable(small, fc::mptable_address, 4).error(), Error::OutOfRange);
}

TEST(FcPageTables, IdentityMapFirstGiB)
{
    std::vector<uint64_t> pml4(512, 7), pdpt(512, 7), pd(512, 7);
    fill_page_tables(std::span<uint64_t, 512>(pml4.data(), 512), std::span<uint64_t, 512>(pdpt.data(), 512),
        std::span<uint64_t, 512>(pd.data(), 512));
    EXPECT_EQ(pml4[0], 0xa003u);
    EXPECT_EQ(pdpt[0], 0xb003u);
    for (uint64_t i = 0; i < 512; ++i)
        EXPECT_EQ(pd[i], (i << 21) + 0x83);
    for (size_t i = 1; i < 512; ++i) {
        EXPECT_EQ(pml4[i], 0u);
        EXPECT_EQ(pdpt[i], 0u);
    }
}

TEST(FcDescriptors, GdtAsFirecrackerBeforeLtr)
{
    uint64_t gdt[4] = { 1, 1, 1, 1 }, idt[1] = { 1 };
    fill_descriptor_tables(gdt, idt);
    EXPECT_EQ(gdt[0], 0u);
    EXPECT_EQ(gdt[1], 0x00af9b000000ffffu);
    EXPECT_EQ(gdt[2], 0x00cf93000000ffffu);
    // Available TSS; ltr turns it into Firecracker's busy 0x008f8b000000ffff.
    EXPECT_EQ(gdt[3], 0x008f89000000ffffu);
    EXPECT_EQ(idt[0], 0u);
}
