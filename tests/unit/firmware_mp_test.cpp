// The Intel MP table parser against Firecracker's layout, hand-built tables
// and corruption.
#include "firmware/mp_table.h"
#include "firmware/testing/synthetic_tables.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

using namespace skiff;
using namespace skiff::testing;

namespace {

class MpTableTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }
};

constexpr uint64_t table_at = 0x9fc00;

Machine machine_with(const MpTableBuilder& builder, uint64_t at = table_at)
{
    Machine m;
    m.memory.map(0, 0x100000);
    m.mp_pointer = at;
    m.mp_config = at + 16;
    m.memory.write(at, builder.build(at));
    return m;
}

TEST_F(MpTableTest, FirecrackerLayout)
{
    Machine m = firecracker_mptable(4, 16);
    auto pointer = mp::find_floating_pointer(m.memory, 0);
    ASSERT_TRUE(pointer);
    EXPECT_EQ(*pointer, 0x9fc00u);

    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, *pointer, info));
    EXPECT_EQ(info.mp_floating_pointer, 0x9fc00u);
    ASSERT_EQ(info.cpu_count, 4u);
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(info.cpus[i].apic_id, i);
        EXPECT_EQ(info.cpus[i].acpi_uid, CpuDescriptor::no_acpi_uid);
        EXPECT_EQ(info.cpus[i].is_bsp_hint, i == 0);
        EXPECT_TRUE(info.cpus[i].enabled);
    }
    EXPECT_EQ(info.local_apic_address, 0xfee00000u);
    ASSERT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.ioapics[0].id, 5); // cpus + 1
    EXPECT_EQ(info.ioapics[0].address, 0xfec00000u);
    EXPECT_EQ(info.ioapics[0].gsi_base, 0u);
    ASSERT_EQ(info.override_count, 16u);
    for (uint8_t irq = 0; irq < 16; ++irq) {
        const InterruptOverride* route = info.find_override(irq);
        ASSERT_NE(route, nullptr) << int(irq);
        EXPECT_EQ(route->gsi, irq);
        EXPECT_FALSE(route->active_low);
        EXPECT_FALSE(route->level_triggered);
    }
    EXPECT_TRUE(info.legacy_pic_present);
    EXPECT_FALSE(info.imcr_present);
}

TEST_F(MpTableTest, FirecrackerLayoutWith24InterruptsAndManyCpus)
{
    Machine m = firecracker_mptable(32, 24);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, 0x9fc00, info));
    EXPECT_EQ(info.cpu_count, 32u);
    EXPECT_EQ(info.ioapics[0].id, 33);
    EXPECT_EQ(info.override_count, 24u);
    EXPECT_EQ(info.find_override(23)->gsi, 23u);
}

TEST_F(MpTableTest, ScanLocations)
{
    MpTableBuilder builder;
    builder.processor(0, 3).io_apic(1, 0xfec00000);

    // EBDA named by the BDA.
    Machine ebda = machine_with(builder, 0x9d000);
    ebda.memory.write16(0x40e, 0x9d00);
    EXPECT_EQ(mp::find_floating_pointer(ebda.memory, 0).value(), 0x9d000u);

    // Last KiB of base memory as the BDA reports it (512 KiB here).
    Machine base = machine_with(builder, 0x7fc00 + 0x30);
    base.memory.write16(0x413, 512);
    EXPECT_EQ(mp::find_floating_pointer(base.memory, 0).value(), 0x7fc30u);

    // The BIOS ROM area.
    Machine rom = machine_with(builder, 0xf6a90);
    EXPECT_EQ(mp::find_floating_pointer(rom.memory, 0).value(), 0xf6a90u);

    // A hint wins; a bad hint is logged and the scan still finds the table.
    EXPECT_EQ(mp::find_floating_pointer(rom.memory, 0xf6a90).value(), 0xf6a90u);
    EXPECT_EQ(mp::find_floating_pointer(rom.memory, 0x5000).value(), 0xf6a90u);
    EXPECT_TRUE(log_contains("MP pointer 0x5000 is unusable"));

    // Only a sliver of the ROM area is readable: the scan must not need whole chunks.
    FakeMemory sliver;
    sliver.map(0xf6a80, 0x30);
    MpTableBuilder pointer_only;
    pointer_only.feature1 = 5;
    sliver.write(0xf6a90, pointer_only.build(0xf6a90));
    EXPECT_EQ(mp::find_floating_pointer(sliver, 0).value(), 0xf6a90u);

    // Off a 16-byte boundary it is not found by the scan.
    clear_log();
    Machine unaligned = machine_with(builder, 0xf6a98);
    EXPECT_EQ(mp::find_floating_pointer(unaligned.memory, 0).error(), Error::NotFound);
    EXPECT_TRUE(log_contains("no MP floating pointer found"));
}

TEST_F(MpTableTest, DisabledCpusAndBspElsewhere)
{
    MpTableBuilder builder;
    builder.processor(0, 1).processor(1, 0).processor(2, 3).processor(6, 1).processor(2, 1);
    builder.bus(0, "ISA").io_apic(7, 0xfec00000);
    Machine m = machine_with(builder);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, m.mp_pointer, info));
    ASSERT_EQ(info.cpu_count, 3u);
    EXPECT_EQ(info.cpus[0].apic_id, 0u);
    EXPECT_FALSE(info.cpus[0].is_bsp_hint);
    EXPECT_EQ(info.cpus[1].apic_id, 2u);
    EXPECT_TRUE(info.cpus[1].is_bsp_hint);
    EXPECT_EQ(info.cpus[2].apic_id, 6u);
}

TEST_F(MpTableTest, InterruptAssignments)
{
    MpTableBuilder builder;
    builder.feature2 = 0x80; // IMCR present
    builder.processor(0, 3);
    // Entries out of spec order: interrupts before the buses and IOAPICs they name.
    builder.io_interrupt(0, 0x000f, 0, 9, 4, 9);   // active low, level
    builder.io_interrupt(0, 0x0000, 0, 0, 4, 2);   // timer on pin 2
    builder.io_interrupt(0, 0x0005, 0, 4, 5, 4);   // high/edge on the second IOAPIC
    builder.io_interrupt(3, 0x0000, 0, 0, 4, 0);   // ExtINT: not a routable IRQ
    builder.io_interrupt(0, 0x000f, 1, 16, 4, 16); // PCI bus: not an ISA route
    builder.io_interrupt(0, 0x0000, 0, 7, 9, 7);   // unknown IOAPIC
    builder.io_interrupt(0, 0x0000, 0, 8, 0xff, 8); // all IOAPICs: the first
    builder.io_interrupt(0, 0x000a, 0, 3, 4, 3);   // reserved polarity/trigger
    builder.bus(0, "ISA").bus(1, "PCI").bus(2, "EISA");
    builder.io_apic(4, 0xfec00000).io_apic(3, 0xfec10000, 0).io_apic(5, 0xfec20000);
    builder.local_interrupt(3, 0, 0).local_interrupt(1, 0xff, 1);
    Machine m = machine_with(builder);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, m.mp_pointer, info));
    EXPECT_TRUE(info.imcr_present);
    ASSERT_EQ(info.ioapic_count, 2u); // id 3 is unusable
    EXPECT_EQ(info.ioapics[0].gsi_base, 0u);
    EXPECT_EQ(info.ioapics[1].id, 5);
    EXPECT_EQ(info.ioapics[1].gsi_base, 24u);
    ASSERT_EQ(info.override_count, 5u);
    EXPECT_TRUE(info.find_override(9)->active_low);
    EXPECT_TRUE(info.find_override(9)->level_triggered);
    EXPECT_EQ(info.find_override(0)->gsi, 2u);
    EXPECT_EQ(info.find_override(4)->gsi, 28u);
    EXPECT_FALSE(info.find_override(4)->active_low);
    EXPECT_EQ(info.find_override(8)->gsi, 8u);
    EXPECT_FALSE(info.find_override(3)->active_low);
    EXPECT_EQ(info.find_override(16), nullptr);
    EXPECT_EQ(info.find_override(7), nullptr);
    EXPECT_TRUE(log_contains("unknown IOAPIC id 9"));
    EXPECT_TRUE(log_contains("reserved flags"));
    EXPECT_TRUE(log_contains("IOAPIC id 3 is marked unusable"));
}

TEST_F(MpTableTest, UnknownEntryTypeStopsParsingSafely)
{
    MpTableBuilder builder;
    builder.processor(0, 3).processor(1, 1);
    builder.raw({ 0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 });
    builder.processor(2, 1);
    Machine m = machine_with(builder);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, m.mp_pointer, info));
    EXPECT_EQ(info.cpu_count, 2u);
    EXPECT_TRUE(log_contains("unknown entry type 128"));
}

TEST_F(MpTableTest, DefaultConfiguration)
{
    MpTableBuilder builder;
    builder.feature1 = 5;
    Machine m = machine_with(builder);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, m.mp_pointer, info));
    EXPECT_EQ(info.cpu_count, 2u);
    EXPECT_TRUE(info.cpus[0].is_bsp_hint);
    ASSERT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.ioapics[0].id, 2);
    EXPECT_EQ(info.find_override(0)->gsi, 2u);
    EXPECT_EQ(info.find_override(2), nullptr);
    EXPECT_EQ(info.find_override(15)->gsi, 15u);
    EXPECT_TRUE(log_contains("default configuration type 5"));

    clear_log();
    builder.feature1 = 9;
    Machine bad = machine_with(builder);
    EXPECT_EQ(mp::parse_mp_table(bad.memory, bad.mp_pointer, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("unknown default configuration type 9"));
    EXPECT_EQ(info.cpu_count, 0u);
}

TEST_F(MpTableTest, EntryCountMismatchIsOnlyAWarning)
{
    MpTableBuilder builder;
    builder.processor(0, 3).processor(1, 1);
    builder.entry_count = 1;
    Machine m = machine_with(builder);
    PlatformInfo info;
    ASSERT_TRUE(mp::parse_mp_table(m.memory, m.mp_pointer, info));
    EXPECT_EQ(info.cpu_count, 2u);
    EXPECT_TRUE(log_contains("header claims 1 entries, the table holds 2"));
}

// ---- Corruption ----

TEST_F(MpTableTest, FloatingPointerRefusals)
{
    Machine m = firecracker_mptable(2);
    m.memory.byte(0x9fc04) ^= 0x01; // config pointer; checksum now wrong
    EXPECT_EQ(mp::read_floating_pointer(m.memory, 0x9fc00).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("floating pointer at 0x9fc00: checksum mismatch"));
    EXPECT_EQ(mp::find_floating_pointer(m.memory, 0).error(), Error::NotFound);

    clear_log();
    Machine length = firecracker_mptable(2);
    length.memory.byte(0x9fc08) = 2;
    length.memory.byte(0x9fc0a) -= 1; // keep the 16-byte checksum right
    EXPECT_EQ(mp::read_floating_pointer(length.memory, 0x9fc00).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("has length 2"));

    clear_log();
    Machine revision = firecracker_mptable(2);
    revision.memory.byte(0x9fc09) = 3;
    revision.memory.byte(0x9fc0a) += 1;
    EXPECT_EQ(mp::read_floating_pointer(revision.memory, 0x9fc00).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("unknown specification revision 3"));

    clear_log();
    FakeMemory empty;
    EXPECT_EQ(mp::read_floating_pointer(empty, 0x9fc00).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("not readable"));
    EXPECT_EQ(mp::find_floating_pointer(empty, 0).error(), Error::NotFound);
}

// Rewrites the config table header field at `offset` and repairs the
// checksum, so only the field itself is wrong.
void patch_config(Machine& m, size_t offset, std::vector<uint8_t> bytes)
{
    m.memory.write(m.mp_config + offset, bytes);
    uint16_t length = uint16_t(m.memory.byte(m.mp_config + 4) | (m.memory.byte(m.mp_config + 5) << 8));
    auto table = m.memory.dump(m.mp_config, length);
    set_checksum(table, 7, 0, length);
    m.memory.write8(m.mp_config + 7, table[7]);
}

TEST_F(MpTableTest, ConfigurationTableRefusals)
{
    PlatformInfo info;
    Machine checksum = firecracker_mptable(2);
    checksum.memory.byte(checksum.mp_config + 44 + 1) ^= 0x04; // an APIC id
    EXPECT_EQ(mp::parse_mp_table(checksum.memory, 0x9fc00, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("configuration table at 0x9fc10: checksum mismatch"));
    EXPECT_EQ(info.cpu_count, 0u);
    EXPECT_EQ(info.mp_floating_pointer, 0u);

    clear_log();
    Machine signature = firecracker_mptable(2);
    patch_config(signature, 0, { 'P', 'C', 'M', 'Q' });
    EXPECT_EQ(mp::parse_mp_table(signature.memory, 0x9fc00, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("expected \"PCMP\""));

    clear_log();
    Machine absurd = firecracker_mptable(2);
    patch_config(absurd, 34, { 0xff, 0xff });
    EXPECT_EQ(mp::parse_mp_table(absurd.memory, 0x9fc00, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("entry count 65535 cannot fit"));

    clear_log();
    Machine tiny = firecracker_mptable(2);
    tiny.memory.write16(tiny.mp_config + 4, 40);
    patch_config(tiny, 0, { 'P' });
    EXPECT_EQ(mp::parse_mp_table(tiny.memory, 0x9fc00, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("length 40 is shorter than its 44-byte header"));

    clear_log();
    Machine cut = firecracker_mptable(2);
    // Length ends 10 bytes into the first processor entry.
    cut.memory.write16(cut.mp_config + 4, 44 + 10);
    patch_config(cut, 0, { 'P' });
    EXPECT_EQ(mp::parse_mp_table(cut.memory, 0x9fc00, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("entry type 0 at offset 44 runs past the table end (54 bytes)"));

    clear_log();
    Machine nowhere = firecracker_mptable(2);
    nowhere.memory.write32(0x9fc04, 0xdead0000);
    nowhere.memory.byte(0x9fc0a) = 0;
    {
        auto pointer = nowhere.memory.dump(0x9fc00, 16);
        set_checksum(pointer, 10, 0, 16);
        nowhere.memory.write8(0x9fc0a, pointer[10]);
    }
    EXPECT_EQ(mp::parse_mp_table(nowhere.memory, 0x9fc00, info).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("configuration table at 0xdead0000 is not readable"));

    clear_log();
    FakeMemory beyond; // readable memory ends at 0xa0000, like Firecracker's reserved area
    beyond.map(0x9f000, 0x1000);
    beyond.write(0x9fc00, firecracker_mp_table(0x9fc00, 2));
    beyond.write16(0x9fc10 + 4, 0xffff);
    EXPECT_EQ(mp::parse_mp_table(beyond, 0x9fc00, info).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("runs into unreadable memory"));
}

TEST_F(MpTableTest, NoEnabledCpuIsRefused)
{
    MpTableBuilder builder;
    builder.processor(0, 0).bus(0, "ISA").io_apic(1, 0xfec00000);
    Machine m = machine_with(builder);
    PlatformInfo info;
    EXPECT_EQ(mp::parse_mp_table(m.memory, m.mp_pointer, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("lists no enabled CPU"));
    EXPECT_FALSE(info.legacy_pic_present);
}

TEST_F(MpTableTest, NoConfigurationTableAndNoDefault)
{
    MpTableBuilder builder;
    Machine m = machine_with(builder);
    m.memory.write32(m.mp_pointer + 4, 0);
    auto pointer = m.memory.dump(m.mp_pointer, 16);
    set_checksum(pointer, 10, 0, 16);
    m.memory.write8(m.mp_pointer + 10, pointer[10]);
    PlatformInfo info;
    EXPECT_EQ(mp::parse_mp_table(m.memory, m.mp_pointer, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("neither a configuration table nor a default configuration"));
}

} // namespace
