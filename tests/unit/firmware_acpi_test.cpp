// ACPI parsers against synthetic QEMU- and Firecracker-like tables, and
// against every corruption the parsers promise to refuse.
#include "firmware/acpi.h"
#include "firmware/testing/synthetic_tables.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <set>

using namespace skiff;
using namespace skiff::testing;

namespace {

class AcpiTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }
};

// ---- RSDP ----

TEST_F(AcpiTest, ScanFindsQemuRsdpInTheBiosArea)
{
    Machine m = qemu_pc();
    auto found = acpi::find_rsdp(m.memory, 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0xf5a40u);
    EXPECT_EQ(found->rsdp.revision, 0);
    EXPECT_EQ(found->rsdp.rsdt_address, m.rsdt);
    EXPECT_EQ(found->rsdp.xsdt_address, 0u);
    EXPECT_EQ(std::string(found->rsdp.oem_id.data(), 6), "BOCHS ");
}

TEST_F(AcpiTest, ScanLooksInTheEbdaFirst)
{
    Machine m = qemu_pc();
    // A second valid RSDP in the EBDA's first KiB wins over the F segment one.
    m.memory.write(0x9fc00 + 0x40, rsdp(0, static_cast<uint32_t>(m.rsdt), 0, "EBDA  "));
    auto found = acpi::find_rsdp(m.memory, 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0x9fc40u);
}

TEST_F(AcpiTest, ScanWorksInPartlyReadableMemory)
{
    FakeMemory memory; // nothing but a 48-byte island in the BIOS area
    memory.map(0xe1230, 0x30);
    memory.write(0xe1240, rsdp(0, 0x1000, 0));
    auto found = acpi::find_rsdp(memory, 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0xe1240u);
}

TEST_F(AcpiTest, ScanSkipsCandidatesWithBadChecksums)
{
    Machine m = qemu_pc();
    auto bad = rsdp(0, 0x1234, 0);
    bad[8] ^= 0x55;
    m.memory.write(0xe0000, bad);
    auto found = acpi::find_rsdp(m.memory, 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0xf5a40u);
    EXPECT_TRUE(log_contains("RSDP at 0xe0000: checksum mismatch"));
}

TEST_F(AcpiTest, HintIsUsedAndABadHintFallsBackToTheScan)
{
    Machine m = firecracker_acpi();
    auto found = acpi::find_rsdp(m.memory, 0xe0000);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0xe0000u);
    EXPECT_EQ(found->rsdp.revision, 2);
    EXPECT_EQ(found->rsdp.xsdt_address, m.xsdt);

    clear_log();
    auto rescued = acpi::find_rsdp(m.memory, 0x12340);
    ASSERT_TRUE(rescued);
    EXPECT_EQ(rescued->address, 0xe0000u);
    EXPECT_TRUE(log_contains("RSDP address 0x12340 is unusable"));
}

TEST_F(AcpiTest, RsdpCopyFromTheBootLoader)
{
    Machine m = qemu_q35();
    auto copy = rsdp(2, static_cast<uint32_t>(m.rsdt), m.xsdt);
    // Make the memory copy invisible: only the boot loader's bytes remain.
    m.memory.write(m.rsdp, std::vector<uint8_t>(36, 0));
    auto found = acpi::find_rsdp(m.memory, 0, copy);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, 0u);
    EXPECT_EQ(found->rsdp.xsdt_address, m.xsdt);

    // A damaged copy falls back to scanning, which finds nothing here.
    clear_log();
    copy[20] = 0xff;
    EXPECT_EQ(acpi::find_rsdp(m.memory, 0, copy).error(), Error::NotFound);
    EXPECT_TRUE(log_contains("copy from the boot loader"));
    EXPECT_TRUE(log_contains("no RSDP found"));
}

TEST_F(AcpiTest, RsdpValidation)
{
    auto good = rsdp(2, 0x1000, 0x2000);
    ASSERT_TRUE(acpi::parse_rsdp(good));

    auto short_copy = std::vector<uint8_t>(good.begin(), good.begin() + 12);
    EXPECT_EQ(acpi::parse_rsdp(short_copy).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("shorter than the 20-byte"));

    auto v1_bad = good;
    v1_bad[16] ^= 1; // RSDT address: breaks both checksums, the 20-byte one is checked first
    EXPECT_EQ(acpi::parse_rsdp(v1_bad).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("checksum mismatch"));

    clear_log();
    auto extended_bad = good;
    extended_bad[24] ^= 1; // XSDT address: only the extended checksum covers it
    EXPECT_EQ(acpi::parse_rsdp(extended_bad).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("extended checksum mismatch"));

    clear_log();
    auto huge = good;
    huge[20] = 0x00;
    huge[21] = 0x10; // length 4096
    set_checksum(huge, 8, 0, 20);
    EXPECT_EQ(acpi::parse_rsdp(huge).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("implausible length 4096"));

    clear_log();
    auto signature = good;
    signature[0] = 'X';
    EXPECT_EQ(acpi::parse_rsdp(signature).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("signature"));

    clear_log();
    auto v2_truncated = std::vector<uint8_t>(good.begin(), good.begin() + 30);
    EXPECT_EQ(acpi::parse_rsdp(v2_truncated).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("only 30 bytes"));

    clear_log();
    EXPECT_EQ(acpi::parse_rsdp(rsdp(0, 0, 0)).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("neither an RSDT nor an XSDT"));

    // ACPI 1.0 has no length field: whatever those bytes hold is never used
    // as one, not even while explaining why the RSDP was refused.
    clear_log();
    auto v1_garbage_length = rsdp(0, 0, 0);
    v1_garbage_length.resize(36, 0xff); // bytes past the 20 that would be a length of 0xffffffff
    EXPECT_EQ(acpi::parse_rsdp(v1_garbage_length).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("neither an RSDT nor an XSDT"));
}

TEST_F(AcpiTest, RsdpAtTheEdgeOfReadableMemoryIsRefused)
{
    FakeMemory memory;
    memory.map(0x1000, 0x10);
    EXPECT_EQ(acpi::read_rsdp(memory, 0x1000).error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("not readable"));
    EXPECT_FALSE(acpi::read_rsdp(memory, UINT64_MAX - 4));
}

// ---- Root tables ----

TEST_F(AcpiTest, RsdtListsQemuTables)
{
    Machine m = qemu_pc();
    auto root = acpi::open_root_table(m.memory, acpi::read_rsdp(m.memory, m.rsdp).value());
    ASSERT_TRUE(root);
    EXPECT_FALSE(root->extended);
    EXPECT_EQ(root->address, m.rsdt);
    EXPECT_EQ(root->entry_count, 2u);
    EXPECT_EQ(acpi::find_table(m.memory, *root, "FACP").value(), m.fadt);
    EXPECT_EQ(acpi::find_table(m.memory, *root, "APIC").value(), m.madt);
    EXPECT_EQ(acpi::find_table(m.memory, *root, "MCFG").error(), Error::NotFound);
}

TEST_F(AcpiTest, XsdtIsPreferredOverTheRsdt)
{
    Machine m = qemu_q35();
    auto root = acpi::open_root_table(m.memory, acpi::read_rsdp(m.memory, m.rsdp).value());
    ASSERT_TRUE(root);
    EXPECT_TRUE(root->extended);
    EXPECT_EQ(root->address, m.xsdt);
    EXPECT_EQ(root->entry_count, 3u);
    EXPECT_EQ(acpi::find_table(m.memory, *root, "MCFG").value(), m.mcfg);
}

TEST_F(AcpiTest, BadXsdtFallsBackToTheRsdt)
{
    Machine m = qemu_q35();
    m.memory.byte(m.xsdt + 40) ^= 0x10; // an entry changes, the checksum does not
    auto root = acpi::open_root_table(m.memory, acpi::read_rsdp(m.memory, m.rsdp).value());
    ASSERT_TRUE(root);
    EXPECT_FALSE(root->extended);
    EXPECT_EQ(root->address, m.rsdt);
    EXPECT_TRUE(log_contains("XSDT at"));
    EXPECT_TRUE(log_contains("checksum mismatch"));
    EXPECT_TRUE(log_contains("falling back to the RSDT"));
}

TEST_F(AcpiTest, TableHeaderValidation)
{
    Machine m = qemu_pc();
    ASSERT_TRUE(acpi::read_table_header(m.memory, m.madt, "APIC"));

    EXPECT_EQ(acpi::read_table_header(m.memory, m.madt, "FACP").error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("has signature \"APIC\", expected \"FACP\""));

    clear_log();
    m.memory.write32(m.madt + 4, 20);
    EXPECT_EQ(acpi::read_table_header(m.memory, m.madt, "APIC").error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("length 20 is shorter than the 36-byte header"));

    clear_log();
    m.memory.write32(m.madt + 4, 0x7fffffff);
    EXPECT_EQ(acpi::read_table_header(m.memory, m.madt, "APIC").error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("exceeds the 1048576 byte limit"));

    clear_log();
    m.memory.write32(m.madt + 4, 0x30000); // past the end of the mapped RAM
    EXPECT_EQ(acpi::read_table_header(m.memory, m.madt, "APIC").error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("runs into unreadable memory"));

    clear_log();
    EXPECT_EQ(acpi::read_table_header(m.memory, 0xdead0000, "APIC").error(), Error::OutOfRange);
    EXPECT_TRUE(log_contains("APIC at 0xdead0000 is not readable"));
}

TEST_F(AcpiTest, RootEntriesPointingNowhereAreSkipped)
{
    Machine m = qemu_pc();
    m.memory.write(m.rsdt, rsdt({ 0, 0xdead0000, 0xfffffff0, uint32_t(m.fadt), uint32_t(m.madt) }));
    auto root = acpi::open_root_table(m.memory, acpi::read_rsdp(m.memory, m.rsdp).value());
    ASSERT_TRUE(root);
    EXPECT_EQ(root->entry_count, 5u);
    EXPECT_EQ(acpi::find_table(m.memory, *root, "APIC").value(), m.madt);
}

TEST_F(AcpiTest, NoUsableRootTable)
{
    Machine m = qemu_pc();
    m.memory.byte(m.rsdt + 36) ^= 1;
    EXPECT_EQ(acpi::open_root_table(m.memory, acpi::read_rsdp(m.memory, m.rsdp).value()).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("RSDT at"));
    EXPECT_TRUE(log_contains("no usable RSDT or XSDT"));
}

// ---- MADT ----

TEST_F(AcpiTest, QemuMadt)
{
    Machine m = qemu_pc(4);
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, m.madt, info));
    EXPECT_EQ(info.madt, m.madt);
    ASSERT_EQ(info.cpu_count, 4u);
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(info.cpus[i].apic_id, i);
        EXPECT_EQ(info.cpus[i].acpi_uid, i);
        EXPECT_EQ(info.cpus[i].is_bsp_hint, i == 0);
        EXPECT_TRUE(info.cpus[i].enabled);
    }
    EXPECT_FALSE(info.cpus_truncated);
    EXPECT_EQ(info.local_apic_address, 0xfee00000u);
    EXPECT_TRUE(info.legacy_pic_present);
    ASSERT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.ioapics[0].id, 0);
    EXPECT_EQ(info.ioapics[0].address, 0xfec00000u);
    EXPECT_EQ(info.ioapics[0].gsi_base, 0u);

    ASSERT_EQ(info.override_count, 5u);
    const InterruptOverride* timer = info.find_override(0);
    ASSERT_NE(timer, nullptr);
    EXPECT_EQ(timer->gsi, 2u);
    EXPECT_FALSE(timer->active_low);
    EXPECT_FALSE(timer->level_triggered);
    for (uint8_t irq : { 5, 9, 10, 11 }) {
        const InterruptOverride* pci = info.find_override(irq);
        ASSERT_NE(pci, nullptr) << int(irq);
        EXPECT_EQ(pci->gsi, irq);
        EXPECT_FALSE(pci->active_low);
        EXPECT_TRUE(pci->level_triggered);
    }
    EXPECT_EQ(info.find_override(4), nullptr);
}

uint64_t place_madt(Machine& m, const MadtBuilder& madt)
{
    m.memory.write(m.madt, madt.build());
    return m.madt;
}

TEST_F(AcpiTest, SparseApicIds)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    uint8_t ids[] = { 0, 1, 2, 8, 9, 10 };
    for (uint8_t i = 0; i < 6; ++i)
        madt.local_apic(i, ids[i], 1);
    madt.io_apic(11, 0xfec00000, 0);
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    ASSERT_EQ(info.cpu_count, 6u);
    for (size_t i = 0; i < 6; ++i)
        EXPECT_EQ(info.cpus[i].apic_id, ids[i]);
    EXPECT_EQ(info.ioapics[0].id, 11);
}

TEST_F(AcpiTest, DisabledAndOnlineCapableCpus)
{
    Machine m = qemu_pc();
    MadtBuilder madt; // revision 5: online-capable is defined
    madt.local_apic(0, 0, 0); // disabled: skipped, and not the BSP hint
    madt.local_apic(1, 1, 1);
    madt.local_apic(2, 2, 2); // online-capable
    madt.local_apic(3, 3, 0);
    madt.local_apic(4, 4, 1);
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    ASSERT_EQ(info.cpu_count, 3u);
    EXPECT_EQ(info.cpus[0].apic_id, 1u);
    EXPECT_TRUE(info.cpus[0].is_bsp_hint);
    EXPECT_TRUE(info.cpus[0].enabled);
    EXPECT_EQ(info.cpus[1].apic_id, 2u);
    EXPECT_FALSE(info.cpus[1].enabled);
    EXPECT_FALSE(info.cpus[1].is_bsp_hint);
    EXPECT_EQ(info.cpus[2].apic_id, 4u);
    EXPECT_FALSE(info.cpus[2].is_bsp_hint);

    // Before MADT revision 5 bit 1 was reserved: such a CPU is just disabled.
    madt.revision = 4;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    ASSERT_EQ(info.cpu_count, 2u);
    EXPECT_EQ(info.cpus[1].apic_id, 4u);
}

TEST_F(AcpiTest, X2apicEntriesAndDuplicates)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    madt.local_apic(0, 0, 1);
    madt.local_apic(1, 1, 1);
    madt.local_x2apic(1, 1, 1); // the same CPU again, as x2APIC
    madt.local_x2apic(0x100, 1, 2);
    madt.local_x2apic(0x12345, 1, 3);
    madt.local_x2apic(0xffffffff, 1, 4); // placeholder
    madt.local_apic(5, 0xff, 1);         // placeholder
    madt.local_x2apic(0x200, 0, 6);      // disabled
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    ASSERT_EQ(info.cpu_count, 4u);
    EXPECT_EQ(info.cpus[0].apic_id, 0u);
    EXPECT_EQ(info.cpus[1].apic_id, 1u);
    EXPECT_EQ(info.cpus[2].apic_id, 0x100u);
    EXPECT_EQ(info.cpus[2].acpi_uid, 2u);
    EXPECT_EQ(info.cpus[3].apic_id, 0x12345u);
    std::set<uint32_t> ids;
    for (const auto& cpu : info.cpu_list())
        ids.insert(cpu.apic_id);
    EXPECT_EQ(ids.size(), info.cpu_count);
}

TEST_F(AcpiTest, TooManyCpusAreTruncated)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    // 300 x2APIC entries make a 4.8 KiB MADT: copied to the heap, not the stack buffer.
    for (uint32_t i = 0; i < 300; ++i)
        madt.local_x2apic(i * 2, 1, i);
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    EXPECT_EQ(info.cpu_count, 256u);
    EXPECT_TRUE(info.cpus_truncated);
    EXPECT_EQ(info.cpus[255].apic_id, 510u);
    EXPECT_TRUE(log_contains("more than 256 CPUs"));
}

TEST_F(AcpiTest, OverrideFlagsAndLimits)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    madt.local_apic(0, 0, 1);
    madt.io_apic(0, 0xfec00000, 0);
    madt.io_apic(1, 0xfec01000, 24);
    madt.interrupt_override(9, 9, 0x000f);  // active low, level (SCI on real hardware)
    madt.interrupt_override(9, 20, 0x0000); // duplicate: first wins
    madt.interrupt_override(4, 40, 0x0001); // active high, conforming trigger
    madt.interrupt_override(7, 7, 0x0000, 1); // bus 1: not ISA
    madt.local_apic_address_override(0xfee10000);
    madt.local_apic_nmi(0xff, 5, 1);
    madt.raw({ 0x7f, 4, 0xaa, 0xbb }); // unknown type: skipped by its length
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, madt), info));
    EXPECT_EQ(info.local_apic_address, 0xfee10000u);
    ASSERT_EQ(info.ioapic_count, 2u);
    EXPECT_EQ(info.ioapics[1].gsi_base, 24u);
    ASSERT_EQ(info.override_count, 2u);
    EXPECT_TRUE(info.find_override(9)->active_low);
    EXPECT_TRUE(info.find_override(9)->level_triggered);
    EXPECT_EQ(info.find_override(9)->gsi, 9u);
    EXPECT_EQ(info.find_override(4)->gsi, 40u);
    EXPECT_FALSE(info.find_override(4)->active_low);
    EXPECT_EQ(info.find_override(7), nullptr);
    EXPECT_TRUE(log_contains("second override for IRQ 9"));
    EXPECT_TRUE(log_contains("bus 1"));

    clear_log();
    MadtBuilder many;
    many.local_apic(0, 0, 1);
    for (uint8_t i = 0; i < 10; ++i)
        many.io_apic(i, 0xfec00000 + i * 0x1000, i * 24);
    for (uint8_t irq = 0; irq < 30; ++irq)
        many.interrupt_override(irq, irq, 0);
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, many), info));
    EXPECT_EQ(info.ioapic_count, 8u);
    EXPECT_EQ(info.override_count, 24u);
    EXPECT_TRUE(log_contains("more than 8 IOAPICs"));
    EXPECT_TRUE(log_contains("more than 24 interrupt overrides"));
}

TEST_F(AcpiTest, ZeroLengthMadtEntryIsCorruption)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    madt.local_apic(0, 0, 1);
    madt.raw({ 0x7f, 0 }); // would loop forever if trusted
    madt.local_apic(1, 1, 1);
    PlatformInfo info;
    EXPECT_EQ(acpi::parse_madt(m.memory, place_madt(m, madt), info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("has length 0"));
    EXPECT_EQ(info.cpu_count, 0u);
    EXPECT_EQ(info.madt, 0u);
}

TEST_F(AcpiTest, MadtEntryPastTheEndIsCorruption)
{
    Machine m = qemu_pc();
    MadtBuilder madt;
    madt.local_apic(0, 0, 1);
    madt.raw({ 1, 12, 0, 0, 0, 0 }); // IOAPIC entry cut short by the table's end
    PlatformInfo info;
    EXPECT_EQ(acpi::parse_madt(m.memory, place_madt(m, madt), info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("runs past the table end"));
    EXPECT_EQ(info.cpu_count, 0u);

    clear_log();
    MadtBuilder stray;
    stray.local_apic(0, 0, 1);
    stray.raw({ 0 }); // one byte: not even an entry header
    EXPECT_EQ(acpi::parse_madt(m.memory, place_madt(m, stray), info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("too short for an entry"));

    clear_log();
    MadtBuilder short_entry;
    short_entry.raw({ 0, 4, 0, 0 }); // local APIC entry of length 4
    EXPECT_EQ(acpi::parse_madt(m.memory, place_madt(m, short_entry), info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("has length 4, needs 8"));
}

TEST_F(AcpiTest, MadtChecksumAndEmptiness)
{
    Machine m = qemu_pc();
    m.memory.byte(m.madt + 44 + 3) ^= 0x01; // an APIC id
    PlatformInfo info;
    EXPECT_EQ(acpi::parse_madt(m.memory, m.madt, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("APIC at"));
    EXPECT_TRUE(log_contains("checksum mismatch"));

    clear_log();
    MadtBuilder none;
    none.io_apic(0, 0xfec00000, 0);
    EXPECT_EQ(acpi::parse_madt(m.memory, place_madt(m, none), info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("lists no usable CPU"));

    clear_log();
    MadtBuilder no_address;
    no_address.local_apic_address = 0;
    no_address.local_apic(0, 0, 1);
    ASSERT_TRUE(acpi::parse_madt(m.memory, place_madt(m, no_address), info));
    EXPECT_EQ(info.local_apic_address, 0xfee00000u);
    EXPECT_TRUE(log_contains("local APIC address is 0"));
}

// ---- FADT ----

TEST_F(AcpiTest, QemuLegacyFadt)
{
    Machine m = qemu_pc();
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_EQ(info.dsdt, m.dsdt);
    const PowerControl& power = info.power;
    EXPECT_FALSE(power.hardware_reduced);
    EXPECT_EQ(power.pm1a_control.space_id, GenericAddress::system_io);
    EXPECT_EQ(power.pm1a_control.address, 0x604u);
    EXPECT_EQ(power.pm1a_control.bit_width, 16);
    EXPECT_FALSE(power.pm1b_control.present());
    EXPECT_FALSE(power.sleep_control.present());
    EXPECT_EQ(power.smi_command_port, 0xb2u);
    EXPECT_EQ(power.acpi_enable_value, 0xf1);
    EXPECT_FALSE(power.s5_available); // read only when a power-off needs it
    ASSERT_TRUE(acpi::resolve_s5(m.memory, info));
    EXPECT_TRUE(power.s5_available);
    EXPECT_EQ(power.slp_typ_a, 0);
    EXPECT_EQ(power.slp_typ_b, 0);
    EXPECT_TRUE(power.reset_available);
    EXPECT_EQ(power.reset_register.space_id, GenericAddress::system_io);
    EXPECT_EQ(power.reset_register.address, 0xcf9u);
    EXPECT_EQ(power.reset_value, 0x0f);
}

TEST_F(AcpiTest, Acpi1FadtUsesThe32BitFields)
{
    Machine m = qemu_pc();
    FadtBuilder fadt;
    fadt.length = 116;
    fadt.revision = 1;
    fadt.dsdt = static_cast<uint32_t>(m.dsdt);
    fadt.pm1a_control = 0x804;
    fadt.pm1b_control = 0x808;
    fadt.pm1_control_length = 2;
    fadt.flags = 1u << 10; // reset flag without a reset register (ACPI 1.0 has none)
    m.memory.write(m.fadt, fadt.build());
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_EQ(info.dsdt, m.dsdt);
    EXPECT_EQ(info.power.pm1a_control.address, 0x804u);
    EXPECT_EQ(info.power.pm1a_control.space_id, GenericAddress::system_io);
    EXPECT_EQ(info.power.pm1b_control.address, 0x808u);
    EXPECT_FALSE(info.power.reset_available);
    EXPECT_FALSE(info.power.s5_available); // read only when a power-off needs it
    ASSERT_TRUE(acpi::resolve_s5(m.memory, info));
    EXPECT_TRUE(info.power.s5_available);
}

TEST_F(AcpiTest, FirecrackerHardwareReducedFadt)
{
    Machine m = firecracker_acpi();
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_TRUE(info.power.hardware_reduced);
    EXPECT_EQ(info.dsdt, m.dsdt); // from X_DSDT: the 32-bit field is 0
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_FALSE(info.power.reset_available);
    EXPECT_FALSE(info.power.pm1a_control.present());
    EXPECT_FALSE(info.power.sleep_control.present());
    EXPECT_EQ(info.power.smi_command_port, 0u);
    EXPECT_EQ(info.boot_arch_flags, (1u << 2) | (1u << 3) | (1u << 4));
    EXPECT_FALSE(acpi::resolve_s5(m.memory, info));
    EXPECT_TRUE(log_contains("DSDT has no \\_S5 object"));
}

TEST_F(AcpiTest, HardwareReducedSleepControlWithS5)
{
    Machine m = firecracker_acpi();
    Bytes aml;
    aml.raw(aml_name_package("_S5_", { aml_byte(5), aml_byte(5) }, true));
    m.memory.write(m.dsdt, dsdt(aml.data));
    FadtBuilder fadt;
    fadt.x_dsdt = m.dsdt;
    fadt.flags = (1u << 20) | (1u << 10);
    fadt.sleep_control = { 0, 8, 0, 1, 0xfe000000 };
    fadt.sleep_status = { 0, 8, 0, 1, 0xfe000001 };
    fadt.reset_register = { 0, 8, 0, 1, 0xfe000002 };
    fadt.reset_value = 1;
    m.memory.write(m.fadt, fadt.build());
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_TRUE(info.power.hardware_reduced);
    EXPECT_FALSE(info.power.s5_available); // read only when a power-off needs it
    ASSERT_TRUE(acpi::resolve_s5(m.memory, info));
    EXPECT_TRUE(info.power.s5_available);
    EXPECT_EQ(info.power.slp_typ_a, 5);
    EXPECT_EQ(info.power.slp_typ_b, 5);
    EXPECT_EQ(info.power.sleep_control.space_id, GenericAddress::system_memory);
    EXPECT_EQ(info.power.sleep_control.address, 0xfe000000u);
    EXPECT_TRUE(info.power.reset_available);
    EXPECT_EQ(info.power.reset_register.address, 0xfe000002u);
}

TEST_F(AcpiTest, FadtRefusals)
{
    Machine m = qemu_pc();
    FadtBuilder tiny;
    tiny.length = 100;
    m.memory.write(m.fadt, tiny.build());
    PlatformInfo info;
    EXPECT_EQ(acpi::parse_fadt(m.memory, m.fadt, info).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("shorter than the 116-byte ACPI 1.0 FADT"));
    EXPECT_EQ(info.fadt, 0u);

    clear_log();
    FadtBuilder odd_reset;
    odd_reset.dsdt = static_cast<uint32_t>(m.dsdt);
    odd_reset.flags = 1u << 10;
    odd_reset.reset_register = { 0x7f, 8, 0, 1, 0x1234 };
    m.memory.write(m.fadt, odd_reset.build());
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_FALSE(info.power.reset_available);
    EXPECT_TRUE(log_contains("address space 127 is not supported"));
}

TEST_F(AcpiTest, BadDsdtOnlyCostsS5)
{
    Machine m = qemu_pc();
    m.memory.byte(m.dsdt + 40) ^= 0xff;
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_EQ(info.dsdt, m.dsdt); // recorded unread; its users validate it
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_FALSE(acpi::resolve_s5(m.memory, info));
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_TRUE(info.power.reset_available);
    EXPECT_TRUE(log_contains("DSDT at"));
    EXPECT_TRUE(log_contains("checksum mismatch"));
}

// ---- \_S5 in AML ----

Result<acpi::SleepType> scan(std::initializer_list<std::vector<uint8_t>> parts)
{
    Bytes b;
    for (const auto& part : parts)
        b.raw(part);
    return acpi::find_s5_in_aml(b.data);
}

TEST_F(AcpiTest, S5IntegerEncodings)
{
    auto zero_one = scan({ aml_name_package("_S5_", { aml_zero(), aml_one() }) });
    ASSERT_TRUE(zero_one);
    EXPECT_EQ(zero_one->a, 0);
    EXPECT_EQ(zero_one->b, 1);

    auto bytes = scan({ aml_neighbours(), aml_name_package("_S5_", { aml_byte(7), aml_byte(5), aml_zero() }) });
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->a, 7);
    EXPECT_EQ(bytes->b, 5);

    auto words = scan({ aml_name_package("_S5_", { aml_word(6), aml_dword(3) }, true) });
    ASSERT_TRUE(words);
    EXPECT_EQ(words->a, 6);
    EXPECT_EQ(words->b, 3);

    // One element carries both values: a in the low byte, b in the next.
    auto packed = scan({ aml_name_package("_S5_", { aml_word(0x0705) }) });
    ASSERT_TRUE(packed);
    EXPECT_EQ(packed->a, 5);
    EXPECT_EQ(packed->b, 7);

    // Parent prefix: Name (^_S5_, ...)
    auto parent = scan({ { 0x08, '^', '^', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x04, 0x01 } });
    ASSERT_TRUE(parent);
    EXPECT_EQ(parent->a, 4);
    EXPECT_EQ(parent->b, 1);
}

TEST_F(AcpiTest, S5WithMultiBytePackageLength)
{
    // 100 elements force a two-byte PkgLength.
    Bytes contents;
    contents.u8(100).raw(aml_byte(3)).raw(aml_byte(4));
    for (int i = 0; i < 98; ++i)
        contents.raw(aml_zero());
    Bytes b;
    b.u8(0x08).text("_S5_", 4).u8(0x12).raw(aml_pkg_length(contents.size()).data).raw(contents.data);
    ASSERT_EQ(b.data[6] >> 6, 1); // the encoding under test
    auto s5 = acpi::find_s5_in_aml(b.data);
    ASSERT_TRUE(s5);
    EXPECT_EQ(s5->a, 3);
    EXPECT_EQ(s5->b, 4);
}

TEST_F(AcpiTest, S5ReferencesAndNonPackagesAreSkipped)
{
    EXPECT_EQ(scan({ aml_neighbours() }).error(), Error::NotFound);
    // Name (_S5_, 5): not a package; a later real definition still counts.
    auto later = scan({ { 0x08, '_', 'S', '5', '_', 0x0a, 0x05 }, aml_name_package("_S5_", { aml_byte(2), aml_byte(2) }) });
    ASSERT_TRUE(later);
    EXPECT_EQ(later->a, 2);
    EXPECT_EQ(scan({ { 'x', '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00 } }).error(), Error::NotFound);
    EXPECT_EQ(acpi::find_s5_in_aml({}).error(), Error::NotFound);
}

TEST_F(AcpiTest, S5Corruption)
{
    auto full = aml_name_package("_S5_", { aml_byte(5), aml_byte(5) });
    // Every truncation inside the package is refused, never read past.
    for (size_t cut = 5; cut < full.size(); ++cut) {
        clear_log();
        std::vector<uint8_t> truncated(full.begin(), full.begin() + cut);
        auto result = acpi::find_s5_in_aml(truncated);
        ASSERT_FALSE(result) << cut;
        EXPECT_EQ(result.error(), Error::Corrupt) << cut;
        EXPECT_TRUE(log_contains("_S5_")) << cut;
    }

    clear_log();
    EXPECT_EQ(scan({ { 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00 } }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("package is empty"));

    clear_log();
    // PkgLength claims more than there is.
    EXPECT_EQ(scan({ { 0x08, '_', 'S', '5', '_', 0x12, 0x30, 0x02, 0x00, 0x00 } }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("runs past the end of the AML"));

    clear_log();
    // Package length says 1 byte: too small for NumElements.
    EXPECT_EQ(scan({ { 0x08, '_', 'S', '5', '_', 0x12, 0x01, 0x02, 0x00 } }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("too small"));

    clear_log();
    // Elements past the package end (NumElements 2, only one element inside).
    EXPECT_EQ(scan({ { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x00, 0x00, 0x00 } }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("truncated"));

    clear_log();
    EXPECT_EQ(scan({ aml_name_package("_S5_", { aml_byte(9), aml_zero() }) }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("do not fit the 3-bit field"));

    clear_log();
    EXPECT_EQ(scan({ aml_name_package("_S5_", { { 0x0d, 'h', 'i', 0 }, aml_zero() }) }).error(), Error::Unsupported);
    EXPECT_TRUE(log_contains("not an integer constant"));
}

TEST_F(AcpiTest, TruncatedDsdtAroundS5)
{
    Machine m = qemu_pc();
    auto s5 = aml_name_package("_S5_", { aml_byte(5), aml_byte(5) });
    Bytes aml;
    aml.raw(aml_neighbours()).raw(s5);
    auto table = dsdt(aml.data);
    // Cut the table in the middle of the package and fix the checksum: a
    // well-formed table whose AML stops short.
    table.resize(table.size() - 2);
    table[4] = static_cast<uint8_t>(table.size());
    table[5] = static_cast<uint8_t>(table.size() >> 8);
    set_checksum(table, 9, 0, table.size());
    m.memory.write(m.dsdt, table);
    EXPECT_EQ(acpi::find_s5_in_dsdt(m.memory, m.dsdt).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("runs past the end of the AML"));

    clear_log();
    PlatformInfo info;
    ASSERT_TRUE(acpi::parse_fadt(m.memory, m.fadt, info));
    EXPECT_FALSE(acpi::resolve_s5(m.memory, info));
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_EQ(info.dsdt, m.dsdt);
}

TEST_F(AcpiTest, LargeDsdtIsScannedThroughTheWindow)
{
    Machine m = qemu_pc();
    Bytes aml;
    for (int i = 0; i < 600; ++i) // 6 KiB of neighbours before _S5, across many windows
        aml.raw(aml_neighbours());
    aml.raw(aml_name_package("_S5_", { aml_byte(6), aml_byte(1) }));
    m.memory.write(m.dsdt + 0x4000, dsdt(aml.data));
    auto s5 = acpi::find_s5_in_dsdt(m.memory, m.dsdt + 0x4000);
    ASSERT_TRUE(s5);
    EXPECT_EQ(s5->a, 6);
    EXPECT_EQ(s5->b, 1);
}

// ---- All of it ----

TEST_F(AcpiTest, DiscoverAcpiOnQemuQ35)
{
    Machine m = qemu_q35(2);
    PlatformInfo info;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, info));
    EXPECT_EQ(info.source, PlatformSource::Acpi);
    EXPECT_EQ(info.rsdp, m.rsdp);
    EXPECT_EQ(info.root_table, m.xsdt);
    EXPECT_TRUE(info.root_table_extended);
    EXPECT_EQ(info.madt, m.madt);
    EXPECT_EQ(info.cpu_count, 2u);
    // The FADT and MCFG are neither located nor read until something needs them.
    EXPECT_FALSE(info.fadt_read);
    EXPECT_EQ(info.fadt, 0u);
    EXPECT_EQ(info.mcfg, 0u);
    EXPECT_EQ(info.dsdt, 0u);
    EXPECT_FALSE(info.power.s5_available); // read only when a power-off needs it
    ASSERT_TRUE(acpi::resolve_s5(m.memory, info)); // finds and reads the FADT, then the DSDT
    EXPECT_TRUE(info.fadt_read);
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_EQ(info.mcfg, m.mcfg);
    EXPECT_EQ(info.dsdt, m.dsdt);
    EXPECT_TRUE(info.power.s5_available);
    EXPECT_TRUE(log_contains("XSDT at"));
}

TEST_F(AcpiTest, ReadFadtParsesOnceAndABadOneLeavesNoPowerControl)
{
    Machine m = qemu_q35(1);
    PlatformInfo info;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, info));
    acpi::read_fadt(m.memory, info);
    ASSERT_TRUE(info.fadt_read);
    EXPECT_EQ(info.dsdt, m.dsdt);
    EXPECT_TRUE(info.power.pm1a_control.present());
    // Read once: a later change to the table is not seen again.
    m.memory.byte(m.fadt + 9) ^= 0x01;
    acpi::read_fadt(m.memory, info);
    EXPECT_EQ(info.fadt, m.fadt);
    m.memory.byte(m.fadt + 9) ^= 0x01;

    // A FADT with a valid checksum but too short to use is located and
    // refused when read.
    clear_log();
    FadtBuilder short_fadt;
    short_fadt.length = 100;
    m.memory.write(m.fadt, short_fadt.build());
    PlatformInfo corrupt;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, corrupt));
    EXPECT_EQ(corrupt.source, PlatformSource::Acpi);
    acpi::read_fadt(m.memory, corrupt);
    EXPECT_TRUE(corrupt.fadt_read);
    EXPECT_EQ(corrupt.fadt, 0u);
    EXPECT_EQ(corrupt.dsdt, 0u);
    EXPECT_FALSE(corrupt.power.pm1a_control.present());
    EXPECT_TRUE(log_contains("FADT unusable; no ACPI power control"));
    EXPECT_FALSE(acpi::resolve_s5(m.memory, corrupt));
}

TEST_F(AcpiTest, DiscoverAcpiWithoutAMadtLeavesTheSourceUnset)
{
    Machine m = qemu_pc();
    m.memory.write(m.rsdt, rsdt({ uint32_t(m.fadt) }));
    PlatformInfo info;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, info));
    EXPECT_EQ(info.source, PlatformSource::None);
    EXPECT_EQ(info.madt, 0u);
    EXPECT_FALSE(info.power.s5_available); // read only when a power-off needs it
    ASSERT_TRUE(acpi::resolve_s5(m.memory, info));
    EXPECT_TRUE(info.power.s5_available);
    EXPECT_TRUE(log_contains("no MADT"));
}

TEST_F(AcpiTest, ReadFadtTakesTheFirstValidCopyAndSaysWhenThereIsNone)
{
    // A corrupt FADT listed first, a good one after it: the good one is used.
    Machine m = qemu_q35(1);
    uint64_t bad_copy = m.fadt + 0x1000;
    std::vector<uint8_t> header = m.memory.dump(m.fadt, 36);
    uint32_t length = header[4] | header[5] << 8 | header[6] << 16 | uint32_t(header[7]) << 24;
    m.memory.write(bad_copy, m.memory.dump(m.fadt, length));
    m.memory.byte(bad_copy + 9) ^= 0x01; // checksum
    m.memory.write(m.xsdt, xsdt({ bad_copy, m.fadt, m.madt, m.mcfg }));
    PlatformInfo info;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, info));
    acpi::read_fadt(m.memory, info);
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_EQ(info.dsdt, m.dsdt);
    EXPECT_TRUE(log_contains("checksum mismatch"));

    // None listed: no power control, said once.
    clear_log();
    m.memory.write(m.xsdt, xsdt({ m.madt }));
    PlatformInfo none;
    ASSERT_TRUE(acpi::discover_acpi(m.memory, 0, {}, none));
    acpi::read_fadt(m.memory, none);
    EXPECT_TRUE(none.fadt_read);
    EXPECT_EQ(none.fadt, 0u);
    EXPECT_EQ(none.mcfg, 0u);
    EXPECT_TRUE(log_contains("no FADT; no ACPI power control"));
    clear_log();
    acpi::read_fadt(m.memory, none);
    EXPECT_FALSE(log_contains("no FADT"));
}

} // namespace
