// discover_platform end to end: which source wins on each machine, the
// fallbacks when one is broken, and the fuzz seed corpus.
#include "firmware/acpi.h"
#include "firmware/platform.h"
#include "firmware/testing/fuzz_input.h"
#include "firmware/testing/synthetic_tables.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace skiff;
using namespace skiff::testing;

namespace {

class PlatformTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }
};

TEST_F(PlatformTest, QemuPc)
{
    Machine m = qemu_pc(4);
    auto result = discover_platform(m.memory, 0, 0);
    ASSERT_TRUE(result);
    PlatformInfo& info = *result;
    EXPECT_FALSE(info.fadt_read);
    acpi::read_fadt(m.memory, info);
    EXPECT_EQ(info.source, PlatformSource::Acpi);
    EXPECT_EQ(info.cpu_count, 4u);
    EXPECT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.override_count, 5u);
    EXPECT_TRUE(info.legacy_pic_present);
    EXPECT_EQ(info.rsdp, m.rsdp);
    EXPECT_EQ(info.root_table, m.rsdt);
    EXPECT_EQ(info.madt, m.madt);
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_EQ(info.dsdt, m.dsdt);
    EXPECT_EQ(info.mcfg, 0u);
    EXPECT_EQ(info.mp_floating_pointer, 0u);
    EXPECT_FALSE(info.power.s5_available); // read only when a power-off needs it
    PlatformInfo resolved = info;
    ASSERT_TRUE(acpi::resolve_s5(m.memory, resolved));
    EXPECT_TRUE(resolved.power.s5_available);
    EXPECT_TRUE(info.power.reset_available);

    log_platform(info);
    EXPECT_TRUE(log_contains("platform: 4 CPU(s) from acpi"));
    EXPECT_TRUE(log_contains("IOAPIC id 0 at 0xfec00000, GSI base 0"));
    EXPECT_TRUE(log_contains("S5 register present"));
}

TEST_F(PlatformTest, QemuQ35UsesTheXsdtAndFindsMcfg)
{
    Machine m = qemu_q35(8);
    auto result = discover_platform(m.memory, 0, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::Acpi);
    EXPECT_EQ(result->root_table, m.xsdt);
    EXPECT_EQ(result->mcfg, 0u); // located with the FADT, on first need
    acpi::read_fadt(m.memory, *result);
    EXPECT_EQ(result->mcfg, m.mcfg);
    EXPECT_EQ(result->cpu_count, 8u);
}

TEST_F(PlatformTest, FirecrackerWithAcpi)
{
    Machine m = firecracker_acpi(3);
    auto result = discover_platform(m.memory, m.rsdp_hint, 0);
    ASSERT_TRUE(result);
    PlatformInfo& info = *result;
    acpi::read_fadt(m.memory, info);
    EXPECT_EQ(info.source, PlatformSource::Acpi);
    EXPECT_EQ(info.rsdp, 0xe0000u);
    EXPECT_EQ(info.root_table, m.xsdt);
    ASSERT_EQ(info.cpu_count, 3u);
    EXPECT_TRUE(info.cpus[0].is_bsp_hint);
    EXPECT_EQ(info.cpus[2].apic_id, 2u);
    ASSERT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.ioapics[0].id, 0);
    EXPECT_EQ(info.override_count, 0u);
    EXPECT_FALSE(info.legacy_pic_present);
    EXPECT_TRUE(info.power.hardware_reduced);
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_FALSE(info.power.reset_available);
}

TEST_F(PlatformTest, FirecrackerBeforeAcpi)
{
    Machine m = firecracker_mptable(2);
    auto result = discover_platform(m.memory, 0, 0);
    ASSERT_TRUE(result);
    const PlatformInfo& info = *result;
    EXPECT_EQ(info.source, PlatformSource::MpTable);
    EXPECT_EQ(info.mp_floating_pointer, 0x9fc00u);
    EXPECT_EQ(info.cpu_count, 2u);
    EXPECT_EQ(info.ioapics[0].id, 3);
    EXPECT_EQ(info.override_count, 16u);
    EXPECT_TRUE(info.legacy_pic_present);
    EXPECT_EQ(info.rsdp, 0u);
    EXPECT_EQ(info.fadt, 0u);
    EXPECT_FALSE(info.power.s5_available);
    EXPECT_TRUE(log_contains("no RSDP found"));
}

TEST_F(PlatformTest, BrokenMadtFallsBackToTheMpTableAndKeepsPowerControl)
{
    Machine m = firecracker_acpi(2);
    m.memory.write(0xf0000, firecracker_mp_table(0xf0000, 4));
    m.memory.byte(m.madt + 44) ^= 0x01; // MADT checksum
    auto result = discover_platform(m.memory, m.rsdp_hint, 0);
    ASSERT_TRUE(result);
    PlatformInfo& info = *result;
    acpi::read_fadt(m.memory, info);
    EXPECT_EQ(info.source, PlatformSource::MpTable);
    EXPECT_EQ(info.cpu_count, 4u);
    EXPECT_EQ(info.mp_floating_pointer, 0xf0000u);
    EXPECT_EQ(info.madt, 0u);
    EXPECT_EQ(info.fadt, m.fadt);
    EXPECT_TRUE(info.power.hardware_reduced);
    EXPECT_TRUE(log_contains("APIC at"));
    EXPECT_TRUE(log_contains("checksum mismatch"));
    EXPECT_TRUE(log_contains("ACPI has no usable MADT; trying the MP table"));
}

TEST_F(PlatformTest, ZeroLengthMadtEntryFallsBackToTheMpTable)
{
    Machine m = qemu_pc(4);
    MadtBuilder madt;
    madt.local_apic(0, 0, 1).raw({ 9, 0 }).local_apic(1, 1, 1);
    m.memory.write(m.madt, madt.build());
    m.memory.write(0x9fc00 + 0x100, firecracker_mp_table(0x9fc00 + 0x100, 2));
    auto result = discover_platform(m.memory, 0, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::MpTable);
    EXPECT_EQ(result->cpu_count, 2u);
    PlatformInfo resolved = *result; // S5 still comes from the FADT and DSDT
    ASSERT_TRUE(acpi::resolve_s5(m.memory, resolved));
    EXPECT_TRUE(resolved.power.s5_available);
    EXPECT_TRUE(log_contains("has length 0"));
}

TEST_F(PlatformTest, BrokenRsdpFallsBackToTheMpTable)
{
    Machine m = firecracker_mptable(2);
    auto bad = rsdp(2, 0, 0x9f000);
    bad[32] ^= 0x01; // extended checksum
    m.memory.write(0xe0000, bad);
    auto result = discover_platform(m.memory, 0xe0000, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::MpTable);
    EXPECT_TRUE(log_contains("extended checksum mismatch"));
}

TEST_F(PlatformTest, BothBrokenIsNotFound)
{
    Machine m = firecracker_mptable(2);
    m.memory.byte(0x9fc10 + 44 + 1) ^= 0x01; // MP configuration table checksum
    auto bad = rsdp(0, 0x9f000, 0);
    bad[8] ^= 0x01;
    m.memory.write(0xe0000, bad);
    auto result = discover_platform(m.memory, 0, 0);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), Error::NotFound);
    EXPECT_TRUE(log_contains("RSDP at 0xe0000: checksum mismatch"));
    EXPECT_TRUE(log_contains("configuration table at 0x9fc10: checksum mismatch"));
    EXPECT_TRUE(log_contains("neither a usable MADT nor an MP table", log::Level::Error));
}

TEST_F(PlatformTest, NothingReadable)
{
    FakeMemory nothing;
    auto result = discover_platform(nothing, 0xe0000, 0x9fc00);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), Error::NotFound);
    EXPECT_TRUE(log_contains("RSDP at 0xe0000 is not readable"));
    EXPECT_TRUE(log_contains("floating pointer at 0x9fc00 is not readable"));
}

TEST_F(PlatformTest, RsdpCopyFromMultiboot2)
{
    Machine m = qemu_q35(2);
    auto copy = m.memory.dump(m.rsdp, 36);
    m.memory.write(m.rsdp, std::vector<uint8_t>(36, 0));
    auto result = discover_platform(m.memory, 0, 0, copy);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::Acpi);
    EXPECT_EQ(result->rsdp, 0u);
    EXPECT_EQ(result->root_table, m.xsdt);
    EXPECT_TRUE(log_contains("copy from the boot loader"));
}

TEST_F(PlatformTest, DirectMappedMemory)
{
    std::vector<uint8_t> ram(0x100000, 0);
    auto table = firecracker_mp_table(0x9fc00, 3);
    std::copy(table.begin(), table.end(), ram.begin() + 0x9fc00);
    DirectMappedMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());

    uint32_t word = 0;
    EXPECT_TRUE(memory.read(0x9fc00, &word, 4));
    EXPECT_EQ(word, 0x5f504d5fu); // "_MP_"
    EXPECT_TRUE(memory.read(ram.size() - 4, &word, 4));
    EXPECT_FALSE(memory.read(ram.size() - 3, &word, 4));
    EXPECT_FALSE(memory.read(ram.size() + 16, &word, 4));
    EXPECT_FALSE(memory.read(UINT64_MAX - 1, &word, 4));

    auto result = discover_platform(memory, 0, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::MpTable);
    EXPECT_EQ(result->cpu_count, 3u);
}

TEST_F(PlatformTest, AddCpuDeduplicatesAndTruncates)
{
    PlatformInfo info;
    add_cpu(info, { 7, 0, false, false });
    add_cpu(info, { 7, 1, true, true }); // same APIC id: merged, now enabled
    ASSERT_EQ(info.cpu_count, 1u);
    EXPECT_TRUE(info.cpus[0].enabled);
    EXPECT_EQ(info.cpus[0].acpi_uid, 0u);
    for (uint32_t id = 100; id < 400; ++id)
        add_cpu(info, { id, id, false, true });
    EXPECT_EQ(info.cpu_count, PlatformInfo::max_cpus);
    EXPECT_TRUE(info.cpus_truncated);

    info.clear_interrupt_topology();
    EXPECT_EQ(info.cpu_count, 0u);
    EXPECT_FALSE(info.cpus_truncated);
}

// ---- Fuzz seeds ----
//
// The corpus under tests/fuzz/corpus/firmware_*_fuzz/ is written by this test
// when SKIFF_WRITE_FIRMWARE_SEEDS=1 is set, and checked on every run: each
// seed must still describe a machine the parsers accept, so the fuzzers start
// from deep inside the parsers rather than at the first checksum.

struct Seed {
    std::string name;
    std::vector<uint8_t> bytes;
    PlatformSource expected;
};

std::filesystem::path corpus_root() { return std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus"; }

std::vector<Seed> acpi_seeds()
{
    constexpr uint64_t w = acpi_fuzz_window;
    std::vector<Seed> seeds;
    auto extent = [&](uint64_t last, size_t last_size) { return size_t(last + last_size - w); };
    {
        Machine m = qemu_pc(4, w + 0x40, w);
        seeds.push_back({ "qemu_pc_rsdt", fuzz_input(m.memory, w, extent(m.rsdt, 44), 0), PlatformSource::Acpi });
        seeds.push_back({ "qemu_pc_rsdt_repair", fuzz_input(m.memory, w, extent(m.rsdt, 44), fuzz_repair_checksums), PlatformSource::Acpi });
    }
    {
        Machine m = qemu_q35(2, w + 0x40, w);
        seeds.push_back({ "qemu_q35_xsdt", fuzz_input(m.memory, w, extent(m.xsdt, 60), fuzz_repair_checksums), PlatformSource::Acpi });
    }
    {
        Machine m = firecracker_acpi(2, w + 0x100, w);
        seeds.push_back({ "firecracker_acpi_hint", fuzz_input(m.memory, w, extent(m.xsdt, 52), fuzz_repair_checksums | fuzz_pass_hint), PlatformSource::Acpi });
    }
    {
        // Sparse, x2APIC, online-capable, overrides and an override of the local APIC address.
        Machine m = firecracker_acpi(1, w + 0x100, w);
        MadtBuilder madt;
        for (uint8_t id : { 0, 1, 2, 8, 9, 10 })
            madt.local_apic(id, id, 1);
        madt.local_apic(11, 11, 2).local_x2apic(0x100, 1, 12).local_x2apic(1, 1, 13);
        madt.io_apic(0, 0xfec00000, 0).interrupt_override(0, 2, 0).interrupt_override(9, 9, 0xf);
        madt.local_apic_nmi(0xff, 0, 1).local_apic_address_override(0xfee00000);
        auto table = madt.build();
        uint64_t at = w + 0x800;
        m.memory.write(at, table);
        m.memory.write(m.xsdt, xsdt({ m.fadt, at }));
        seeds.push_back({ "firecracker_acpi_rich_madt", fuzz_input(m.memory, w, extent(at, table.size()), fuzz_repair_checksums | fuzz_pass_hint), PlatformSource::Acpi });
    }
    return seeds;
}

std::vector<Seed> mp_seeds()
{
    constexpr uint64_t w = mp_fuzz_window;
    std::vector<Seed> seeds;
    auto add = [&](std::string name, const std::vector<uint8_t>& table, uint8_t flags) {
        std::vector<uint8_t> input { flags };
        input.insert(input.end(), table.begin(), table.end());
        seeds.push_back({ std::move(name), std::move(input), PlatformSource::MpTable });
    };
    add("firecracker_1cpu", firecracker_mp_table(w, 1, 16), 0);
    add("firecracker_4cpu_repair", firecracker_mp_table(w, 4, 16), fuzz_repair_checksums);
    add("firecracker_8cpu_24irq_hint", firecracker_mp_table(w, 8, 24), fuzz_repair_checksums | fuzz_pass_hint);
    MpTableBuilder mixed;
    mixed.feature2 = 0x80;
    mixed.processor(0, 1).processor(1, 0).processor(2, 3).bus(0, "ISA").bus(1, "PCI");
    mixed.io_apic(4, 0xfec00000).io_apic(5, 0xfec10000);
    mixed.io_interrupt(0, 0xf, 0, 9, 4, 9).io_interrupt(0, 0, 0, 0, 4, 2).io_interrupt(0, 5, 0, 4, 5, 4);
    mixed.io_interrupt(3, 0, 0, 0, 4, 0).io_interrupt(0, 0xf, 1, 16, 4, 16).io_interrupt(0, 0, 0, 8, 0xff, 8);
    mixed.local_interrupt(3, 0, 0).local_interrupt(1, 0xff, 1);
    add("mixed_two_ioapics_repair", mixed.build(w), fuzz_repair_checksums);
    MpTableBuilder standard;
    standard.feature1 = 5;
    add("default_configuration", standard.build(w), 0);
    return seeds;
}

void check_seeds(const std::string& target, const std::vector<Seed>& seeds, bool acpi)
{
    auto directory = corpus_root() / target;
    if (std::getenv("SKIFF_WRITE_FIRMWARE_SEEDS")) {
        std::filesystem::create_directories(directory);
        for (const auto& seed : seeds) {
            std::ofstream out(directory / seed.name, std::ios::binary);
            out.write(reinterpret_cast<const char*>(seed.bytes.data()), std::streamsize(seed.bytes.size()));
        }
    }
    auto run = [&](const std::vector<uint8_t>& bytes) {
        auto machine = acpi ? acpi_fuzz_machine(bytes.data(), bytes.size()) : mp_fuzz_machine(bytes.data(), bytes.size());
        return discover_platform(machine.memory, machine.rsdp_hint, machine.mp_hint);
    };
    auto load = [](const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    // Each seed, as generated and as committed, describes a machine the parsers accept.
    ASSERT_TRUE(std::filesystem::is_directory(directory)) << directory;
    for (const auto& seed : seeds) {
        auto generated = run(seed.bytes);
        ASSERT_TRUE(generated) << seed.name;
        EXPECT_EQ(generated->source, seed.expected) << seed.name;
        auto path = directory / seed.name;
        ASSERT_TRUE(std::filesystem::exists(path)) << path << " (regenerate: SKIFF_WRITE_FIRMWARE_SEEDS=1)";
        auto committed = run(load(path));
        ASSERT_TRUE(committed) << path;
        EXPECT_EQ(committed->source, seed.expected) << path;
    }
    // Anything else in the corpus (inputs added by hand later) must at least not crash.
    for (const auto& entry : std::filesystem::directory_iterator(directory))
        (void)run(load(entry.path()));
}

TEST_F(PlatformTest, AcpiFuzzSeeds) { check_seeds("firmware_acpi_fuzz", acpi_seeds(), true); }

TEST_F(PlatformTest, MpFuzzSeeds) { check_seeds("firmware_mp_fuzz", mp_seeds(), false); }

TEST_F(PlatformTest, FuzzRepairMakesChecksumsRight)
{
    // A seed whose checksums were all broken parses once repaired.
    Machine m = qemu_q35(2, acpi_fuzz_window + 0x40, acpi_fuzz_window);
    auto input = fuzz_input(m.memory, acpi_fuzz_window, 0x600, fuzz_repair_checksums);
    for (uint64_t table : { m.rsdp + 8, m.rsdp + 32, m.xsdt + 9, m.madt + 9, m.fadt + 9, m.dsdt + 9 })
        input[1 + (table - acpi_fuzz_window)] ^= 0x5a;
    auto machine = acpi_fuzz_machine(input.data(), input.size());
    auto result = discover_platform(machine.memory, 0, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->source, PlatformSource::Acpi);
    PlatformInfo resolved = *result;
    ASSERT_TRUE(acpi::resolve_s5(machine.memory, resolved));
    EXPECT_TRUE(resolved.power.s5_available);

    input[0] = 0; // no repair: refused
    auto broken = acpi_fuzz_machine(input.data(), input.size());
    EXPECT_FALSE(discover_platform(broken.memory, 0, 0));

    auto mp = firecracker_mp_table(mp_fuzz_window, 2);
    std::vector<uint8_t> mp_input { fuzz_repair_checksums };
    mp_input.insert(mp_input.end(), mp.begin(), mp.end());
    mp_input[1 + 10] ^= 0x33;
    mp_input[1 + 16 + 7] ^= 0x33;
    auto mp_machine = mp_fuzz_machine(mp_input.data(), mp_input.size());
    EXPECT_TRUE(discover_platform(mp_machine.memory, 0, 0));
}

} // namespace
