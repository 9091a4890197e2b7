// The three boot entries' converters, fed synthetic loader structures laid
// out as QEMU, Firecracker and GRUB lay them out.
#include "arch/x86_64/boot/boot_protocols.h"
#include "arch/x86_64/boot/protocol_structs.h"
#include "tests/unit/support/fake_memory.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace skiff;
using namespace skiff::boot;
using skiff::testing::FakeMemory;

namespace {

void place_string(FakeMemory& memory, uint64_t address, const std::string& text)
{
    memory.place(address, text.c_str(), text.size() + 1);
}

struct PvhFixture {
    FakeMemory memory;
    HvmStartInfo start {};
    std::vector<HvmMemmapEntry> map;

    PvhFixture()
    {
        start.magic = hvm_start_magic;
        start.version = 1;
        start.cmdline_paddr = 0x2000;
        start.rsdp_paddr = 0xf59d0;
        start.memmap_paddr = 0x3000;
        map = { { 0, 0x9fc00, 1, 0 }, { 0x9fc00, 0x400, 2, 0 }, { 0xf0000, 0x10000, 2, 0 }, { 0x100000, 0x7ee0000, 1, 0 } };
        place_string(memory, 0x2000, "loglevel=debug -- --exit 7");
    }
    void commit()
    {
        start.memmap_entries = uint32_t(map.size());
        memory.place(0x1000, start);
        memory.place(0x3000, map.data(), map.size() * sizeof(HvmMemmapEntry));
    }
};

} // namespace

TEST(Pvh, ConvertsQemuStartInfo)
{
    PvhFixture f;
    f.commit();
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 42);
    ASSERT_TRUE(convert_pvh(f.memory, 0x1000, info));
    EXPECT_EQ(info.command_line_view(), "loglevel=debug -- --exit 7");
    EXPECT_EQ(info.acpi_rsdp, 0xf59d0u);
    ASSERT_EQ(info.memory_range_count, 4u);
    EXPECT_EQ(info.memory_map[3].base, 0x100000u);
    EXPECT_EQ(info.memory_map[3].type, MemoryType::Usable);
    EXPECT_EQ(info.memory_map[1].type, MemoryType::Reserved);
    EXPECT_EQ(info.entry_tsc, 42u);
}

TEST(Pvh, RefusesBadMagicAndMissingMemoryMap)
{
    PvhFixture f;
    f.start.magic = 0x12345678;
    f.commit();
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 0);
    skiff::testing::clear_log();
    EXPECT_EQ(convert_pvh(f.memory, 0x1000, info).error(), Error::Corrupt);
    EXPECT_TRUE(skiff::testing::log_contains("bad start info magic"));

    PvhFixture g;
    g.start.version = 0;
    g.commit();
    boot_info_reset(info, BootProtocol::Pvh, 0);
    EXPECT_EQ(convert_pvh(g.memory, 0x1000, info).error(), Error::Unsupported);
    EXPECT_EQ(convert_pvh(g.memory, 0xdead000, info).error(), Error::Corrupt);
}

TEST(Pvh, HugeEntryCountsAreBoundedAndUnreadableEntriesRefused)
{
    PvhFixture f;
    f.commit();
    HvmStartInfo start = f.start;
    start.memmap_entries = 0xffffffff;
    f.memory.place(0x1000, start);
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 0);
    // Only four entries exist: reading entry 4 fails and the map is refused.
    EXPECT_EQ(convert_pvh(f.memory, 0x1000, info).error(), Error::Corrupt);
    EXPECT_LE(info.memory_range_count, BootInfo::max_memory_ranges);
}

TEST(Pvh, UnterminatedCommandLineIsBounded)
{
    PvhFixture f;
    std::string long_line(10000, 'x');
    f.memory.place(0x2000, long_line.data(), long_line.size()); // no NUL
    f.commit();
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 0);
    ASSERT_TRUE(convert_pvh(f.memory, 0x1000, info));
    EXPECT_EQ(info.command_line_length, BootInfo::max_command_line - 1);
    EXPECT_TRUE(info.command_line_truncated);
    EXPECT_EQ(info.command_line[info.command_line_length], '\0');
}

TEST(Pvh, CommandLineThatExactlyFitsIsNotTruncated)
{
    PvhFixture f;
    std::string line(BootInfo::max_command_line - 1, 'y');
    f.memory.place(0x2000, line.c_str(), line.size() + 1);
    f.commit();
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 0);
    ASSERT_TRUE(convert_pvh(f.memory, 0x1000, info));
    EXPECT_EQ(info.command_line_view(), line);
    EXPECT_FALSE(info.command_line_truncated);

    // One byte more is cut, and said to be.
    std::string longer = line + "z";
    f.memory.place(0x2000, longer.c_str(), longer.size() + 1);
    boot_info_reset(info, BootProtocol::Pvh, 0);
    ASSERT_TRUE(convert_pvh(f.memory, 0x1000, info));
    EXPECT_EQ(info.command_line_view(), line);
    EXPECT_TRUE(info.command_line_truncated);
}

namespace {

// Firecracker's zero page: e820 as its arch/x86_64 code writes it.
std::vector<uint8_t> firecracker_zero_page(uint32_t cmdline_ptr, uint8_t e820_count)
{
    std::vector<uint8_t> page(4096, 0);
    auto put32 = [&](size_t offset, uint32_t v) { std::memcpy(&page[offset], &v, 4); };
    auto put16 = [&](size_t offset, uint16_t v) { std::memcpy(&page[offset], &v, 2); };
    put16(zero_page::boot_flag, 0xaa55);
    put32(zero_page::header_magic, zero_page::header_magic_value);
    page[zero_page::type_of_loader] = 0xff;
    put32(zero_page::cmd_line_ptr, cmdline_ptr);
    put32(zero_page::cmdline_size, 2048);
    page[zero_page::e820_entries] = e820_count;
    E820Entry entries[3] = { { 0, 0x9fc00, 1 }, { 0x9fc00, 0xe0000 - 0x9fc00, 2 }, { 0x100000, 0x7f00000, 1 } };
    std::memcpy(&page[zero_page::e820_table], entries, sizeof(entries));
    return page;
}

} // namespace

TEST(Linux64, ConvertsFirecrackerBootParams)
{
    FakeMemory memory;
    auto page = firecracker_zero_page(0x20000, 3);
    memory.place(0x7000, page.data(), page.size());
    place_string(memory, 0x20000, "reboot=k panic=1 pci=off virtio_mmio.device=4K@0xd0000000:5 -- x");
    BootInfo info;
    boot_info_reset(info, BootProtocol::Linux64, 0);
    ASSERT_TRUE(convert_linux64(memory, 0x7000, info));
    EXPECT_EQ(info.command_line_view(), "reboot=k panic=1 pci=off virtio_mmio.device=4K@0xd0000000:5 -- x");
    ASSERT_EQ(info.memory_range_count, 3u);
    EXPECT_EQ(info.memory_map[1].type, MemoryType::Reserved);
    EXPECT_EQ(info.memory_map[2].length, 0x7f00000u);
    EXPECT_EQ(info.module_count, 0u);
}

TEST(Linux64, RefusesMissingHeaderAndEmptyE820)
{
    FakeMemory memory;
    auto page = firecracker_zero_page(0x20000, 3);
    page[zero_page::header_magic] = 'X';
    memory.place(0x7000, page.data(), page.size());
    BootInfo info;
    boot_info_reset(info, BootProtocol::Linux64, 0);
    skiff::testing::clear_log();
    EXPECT_EQ(convert_linux64(memory, 0x7000, info).error(), Error::Corrupt);
    EXPECT_TRUE(skiff::testing::log_contains("no HdrS"));

    auto empty = firecracker_zero_page(0x20000, 0);
    memory.place(0x7000, empty.data(), empty.size());
    EXPECT_EQ(convert_linux64(memory, 0x7000, info).error(), Error::Corrupt);
}

TEST(Linux64, OversizedE820CountIsClampedAndCommandLineMayBeAbsent)
{
    FakeMemory memory;
    auto page = firecracker_zero_page(0, 255);
    memory.place(0x7000, page.data(), page.size());
    BootInfo info;
    boot_info_reset(info, BootProtocol::Linux64, 0);
    skiff::testing::clear_log();
    ASSERT_TRUE(convert_linux64(memory, 0x7000, info));
    EXPECT_TRUE(skiff::testing::log_contains("exceeds the table"));
    EXPECT_EQ(info.command_line_length, 0u);
    EXPECT_LE(info.memory_range_count, BootInfo::max_memory_ranges);
}

TEST(Linux64, InitrdBecomesAModule)
{
    FakeMemory memory;
    auto page = firecracker_zero_page(0, 3);
    uint32_t image = 0x4000000, size = 0x1000;
    std::memcpy(&page[zero_page::ramdisk_image], &image, 4);
    std::memcpy(&page[zero_page::ramdisk_size], &size, 4);
    memory.place(0x7000, page.data(), page.size());
    BootInfo info;
    boot_info_reset(info, BootProtocol::Linux64, 0);
    ASSERT_TRUE(convert_linux64(memory, 0x7000, info));
    ASSERT_EQ(info.module_count, 1u);
    EXPECT_EQ(info.modules[0].base, 0x4000000u);
    EXPECT_STREQ(info.modules[0].name.data(), "initrd");
}

namespace {

class MbiBuilder {
public:
    MbiBuilder() { m_bytes.resize(8, 0); }
    void tag(uint32_t type, const std::vector<uint8_t>& payload)
    {
        uint32_t size = uint32_t(8 + payload.size());
        append32(type);
        append32(size);
        m_bytes.insert(m_bytes.end(), payload.begin(), payload.end());
        while (m_bytes.size() % 8)
            m_bytes.push_back(0);
    }
    std::vector<uint8_t> finish()
    {
        tag(multiboot2_tag::end, {});
        uint32_t total = uint32_t(m_bytes.size());
        std::memcpy(m_bytes.data(), &total, 4);
        return m_bytes;
    }

private:
    void append32(uint32_t v)
    {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        m_bytes.insert(m_bytes.end(), b, b + 4);
    }
    std::vector<uint8_t> m_bytes;
};

std::vector<uint8_t> bytes_of(const std::string& s)
{
    std::vector<uint8_t> v(s.begin(), s.end());
    v.push_back(0);
    return v;
}

std::vector<uint8_t> memory_map_payload(uint32_t entry_size, const std::vector<Multiboot2MemoryMapEntry>& entries)
{
    std::vector<uint8_t> payload(8, 0);
    uint32_t version = 0;
    std::memcpy(&payload[0], &entry_size, 4);
    std::memcpy(&payload[4], &version, 4);
    for (const auto& entry : entries) {
        size_t at = payload.size();
        payload.resize(at + entry_size, 0);
        std::memcpy(&payload[at], &entry, sizeof(entry));
    }
    return payload;
}

} // namespace

TEST(Multiboot2, ConvertsGrubInformation)
{
    MbiBuilder builder;
    builder.tag(multiboot2_tag::command_line, bytes_of("console=ttyS0 -- a b"));
    builder.tag(multiboot2_tag::memory_map, memory_map_payload(24, { { 0, 0x9fc00, 1, 0 }, { 0x100000, 0x3ff00000, 1, 0 }, { 0xfffc0000, 0x40000, 2, 0 } }));
    std::vector<uint8_t> rsdp(20, 0);
    std::memcpy(rsdp.data(), "RSD PTR ", 8);
    builder.tag(multiboot2_tag::acpi_old, rsdp);
    std::vector<uint8_t> module(8, 0);
    uint32_t start = 0x2000000, end = 0x2001000;
    std::memcpy(&module[0], &start, 4);
    std::memcpy(&module[4], &end, 4);
    auto name = bytes_of("initrd.img");
    module.insert(module.end(), name.begin(), name.end());
    builder.tag(multiboot2_tag::module, module);
    auto mbi = builder.finish();

    FakeMemory memory;
    memory.place(0x10000, mbi.data(), mbi.size());
    BootInfo info;
    boot_info_reset(info, BootProtocol::Multiboot2, 0);
    ASSERT_TRUE(convert_multiboot2(memory, multiboot2_boot_magic, 0x10000, info));
    EXPECT_EQ(info.command_line_view(), "console=ttyS0 -- a b");
    ASSERT_EQ(info.memory_range_count, 3u);
    EXPECT_EQ(info.memory_map[2].type, MemoryType::Reserved);
    EXPECT_EQ(info.acpi_rsdp_copy_length, 20u);
    EXPECT_EQ(std::memcmp(info.acpi_rsdp_copy.data(), "RSD PTR ", 8), 0);
    ASSERT_EQ(info.module_count, 1u);
    EXPECT_EQ(info.modules[0].size, 0x1000u);
    EXPECT_STREQ(info.modules[0].name.data(), "initrd.img");
}

TEST(Multiboot2, LargerEntrySizeIsHonoured)
{
    MbiBuilder builder;
    builder.tag(multiboot2_tag::memory_map, memory_map_payload(32, { { 0, 0x9fc00, 1, 0 }, { 0x100000, 0x1000000, 1, 0 } }));
    auto mbi = builder.finish();
    FakeMemory memory;
    memory.place(0x10000, mbi.data(), mbi.size());
    BootInfo info;
    boot_info_reset(info, BootProtocol::Multiboot2, 0);
    ASSERT_TRUE(convert_multiboot2(memory, multiboot2_boot_magic, 0x10000, info));
    ASSERT_EQ(info.memory_range_count, 2u);
    EXPECT_EQ(info.memory_map[1].base, 0x100000u);
}

TEST(Multiboot2, RefusesMalformedInformation)
{
    BootInfo info;
    FakeMemory memory;
    boot_info_reset(info, BootProtocol::Multiboot2, 0);
    EXPECT_EQ(convert_multiboot2(memory, 0x2badb002, 0x10000, info).error(), Error::Corrupt);

    // A tag whose size runs past the structure.
    MbiBuilder builder;
    builder.tag(multiboot2_tag::command_line, bytes_of("x"));
    auto mbi = builder.finish();
    uint32_t bad_size = 4096;
    std::memcpy(&mbi[12], &bad_size, 4);
    memory.place(0x10000, mbi.data(), mbi.size());
    skiff::testing::clear_log();
    EXPECT_EQ(convert_multiboot2(memory, multiboot2_boot_magic, 0x10000, info).error(), Error::Corrupt);
    EXPECT_TRUE(skiff::testing::log_contains("invalid size"));

    // A tag of size zero would loop forever if trusted.
    auto zero = builder.finish();
    uint32_t zero_size = 0;
    std::memcpy(&zero[12], &zero_size, 4);
    memory.place(0x20000, zero.data(), zero.size());
    EXPECT_EQ(convert_multiboot2(memory, multiboot2_boot_magic, 0x20000, info).error(), Error::Corrupt);

    // No memory map at all.
    MbiBuilder only_command_line;
    only_command_line.tag(multiboot2_tag::command_line, bytes_of("x"));
    auto no_map = only_command_line.finish();
    memory.place(0x30000, no_map.data(), no_map.size());
    EXPECT_EQ(convert_multiboot2(memory, multiboot2_boot_magic, 0x30000, info).error(), Error::Unsupported);

    // Misaligned structure, and a memory map with an impossible entry size.
    EXPECT_EQ(convert_multiboot2(memory, multiboot2_boot_magic, 0x30004, info).error(), Error::Corrupt);
    MbiBuilder bad_map;
    bad_map.tag(multiboot2_tag::memory_map, memory_map_payload(8, {}));
    auto bad = bad_map.finish();
    memory.place(0x40000, bad.data(), bad.size());
    EXPECT_EQ(convert_multiboot2(memory, multiboot2_boot_magic, 0x40000, info).error(), Error::Corrupt);
}

TEST(BootInfo, MemoryMapOverflowIsFlaggedNotWritten)
{
    BootInfo info;
    boot_info_reset(info, BootProtocol::Pvh, 0);
    for (size_t i = 0; i < BootInfo::max_memory_ranges + 10; ++i)
        boot_info_add_memory(info, i * 0x1000, 0x1000, MemoryType::Usable);
    EXPECT_EQ(info.memory_range_count, BootInfo::max_memory_ranges);
    EXPECT_TRUE(info.memory_map_truncated);
    // A wrapping range is clipped.
    BootInfo other;
    boot_info_reset(other, BootProtocol::Pvh, 0);
    boot_info_add_memory(other, ~uint64_t(0) - 10, 100, MemoryType::Usable);
    EXPECT_GE(other.memory_map[0].base + other.memory_map[0].length, other.memory_map[0].base);
}
