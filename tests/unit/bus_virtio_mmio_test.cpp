// virtio-mmio device lists: the virtio_mmio.device= parser (Firecracker and
// QEMU microvm forms, every way a value can be wrong) and the choice between
// the command line and the DSDT.
#include "bus/virtio_mmio/device_list.h"
#include "firmware/platform.h"
#include "firmware/testing/synthetic_tables.h"
#include "kernel/cmdline.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace skiff;
using namespace skiff::testing;
using skiff::virtio_mmio::DeviceDescription;
using skiff::virtio_mmio::DeviceList;

namespace {

class VirtioMmioListTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }

    DeviceList parse_line(std::string_view text)
    {
        m_line.parse(text);
        DeviceList list;
        virtio_mmio::add_command_line_devices(m_line, list);
        return list;
    }

    CommandLine m_line;
};

DeviceDescription device(uint64_t base, uint64_t size, uint32_t gsi) { return { base, size, gsi, false, false }; }

// ---- One value ----

TEST_F(VirtioMmioListTest, FirecrackerForm)
{
    auto parsed = virtio_mmio::parse_device_parameter("4K@0xd0000000:5");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->base, 0xd0000000u);
    EXPECT_EQ(parsed->size, 4096u);
    EXPECT_EQ(parsed->gsi, 5u);
    EXPECT_FALSE(parsed->level_triggered);
    EXPECT_FALSE(parsed->active_low);
}

TEST_F(VirtioMmioListTest, MicrovmForm)
{
    auto parsed = virtio_mmio::parse_device_parameter("512@0xfeb00e00:12");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->base, 0xfeb00e00u);
    EXPECT_EQ(parsed->size, 512u);
    EXPECT_EQ(parsed->gsi, 12u);
}

TEST_F(VirtioMmioListTest, SuffixesAndBases)
{
    struct Case {
        const char* text;
        uint64_t size, base;
        uint32_t gsi;
    } cases[] = {
        { "1k@4096:7", 1024, 4096, 7 },
        { "2M@0xC0000000:9", 2u << 20, 0xc0000000, 9 },
        { "1G@0x100000000:10", 1u << 30, 0x100000000ull, 10 },
        { "0x200@0xfeb00000:5", 0x200, 0xfeb00000, 5 },
        { "0x1K@0xd0001000:6", 1024, 0xd0001000, 6 },
        { "4096@3489660928:5", 4096, 0xd0000000, 5 },
        { "4K@0xd0000000:5:0", 4096, 0xd0000000, 5 },
        { "4K@0xd0000000:5:-1", 4096, 0xd0000000, 5 },
    };
    for (const Case& c : cases) {
        auto parsed = virtio_mmio::parse_device_parameter(c.text);
        ASSERT_TRUE(parsed) << c.text;
        EXPECT_EQ(parsed->size, c.size) << c.text;
        EXPECT_EQ(parsed->base, c.base) << c.text;
        EXPECT_EQ(parsed->gsi, c.gsi) << c.text;
    }
}

TEST_F(VirtioMmioListTest, MalformedValuesAreRefusedWithAReason)
{
    struct Case {
        const char* text;
        const char* reason;
    } cases[] = {
        { "", "expected <size>@<base>" },
        { "4K", "expected <size>@<base>" },
        { "4K@0xd0000000", "no :<irq>" },
        { "@0xd0000000:5", "size is not a number" },
        { "4Q@0xd0000000:5", "size is not a number" },
        { "4KK@0xd0000000:5", "size is not a number" },
        { "99999999999999999999@0xd0000000:5", "size is not a number" },
        { "4K@:5", "base address is not a number" },
        { "4K@0xzz:5", "base address is not a number" },
        { "4K@0x:5", "base address is not a number" },
        { "4K@0xd0000000:", "interrupt is not a decimal" },
        { "4K@0xd0000000:0x5", "interrupt is not a decimal" },
        { "4K@0xd0000000:-5", "interrupt is not a decimal" },
        { "4K@0xd0000000:5x", "interrupt is not a decimal" },
        { "4K@0xd0000000:99999999999", "interrupt is not a decimal" },
        { "4K@0xd0000000:5:", "device id" },
        { "4K@0xd0000000:5:abc", "device id" },
        { "4K@0xd0000000:5:1:2", "device id" },
        { "4K@0xd0000000:5:2147483648", "device id" },
    };
    for (const Case& c : cases) {
        clear_log();
        EXPECT_FALSE(virtio_mmio::parse_device_parameter(c.text)) << c.text;
        EXPECT_TRUE(log_contains(c.reason, log::Level::Warn)) << c.text;
    }
}

TEST_F(VirtioMmioListTest, HostileTextIsLoggedSafely)
{
    std::string hostile = "4K\x01\x1b[2J@";
    hostile += std::string(300, 'A');
    EXPECT_FALSE(virtio_mmio::parse_device_parameter(hostile));
    ASSERT_FALSE(captured_log().empty());
    const std::string& line = captured_log().back().text;
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    EXPECT_NE(line.find("..."), std::string::npos);
}

// ---- The list's checks ----

TEST_F(VirtioMmioListTest, ImplausibleDevicesAreRefused)
{
    struct Case {
        DeviceDescription device;
        const char* reason;
    } cases[] = {
        { device(0xd0000000, 0, 5), "size is zero" },
        { device(0xd0000000, 0x80, 5), "smaller than" },
        { device(0xd0000000, 2ull << 30, 5), "implausibly large" },
        { device(0xd0000002, 0x1000, 5), "not 4-byte aligned" },
        { device(0xfffffffffffff000ull, 0x1000, 5), "physical address space" },
        { device(1ull << 52, 0x1000, 5), "physical address space" },
        { device(0xd0000000, 0x1000, 256), "interrupt 256 is out of range" },
    };
    for (const Case& c : cases) {
        clear_log();
        DeviceList list;
        EXPECT_FALSE(list.add(c.device, "test")) << c.reason;
        EXPECT_TRUE(list.empty());
        EXPECT_EQ(list.refused(), 1u);
        EXPECT_TRUE(log_contains(c.reason, log::Level::Warn)) << c.reason;
    }
}

TEST_F(VirtioMmioListTest, OverlapsWithEarlierEntriesAreRefused)
{
    DeviceList list;
    ASSERT_TRUE(list.add(device(0xd0000000, 0x1000, 5), "a"));
    ASSERT_TRUE(list.add(device(0xd0001000, 0x1000, 6), "b")); // touching is fine
    EXPECT_FALSE(list.add(device(0xd0000800, 0x1000, 7), "c"));
    EXPECT_TRUE(log_contains("c ignored: 0xd0000800+0x1000 overlaps 0xd0000000+0x1000", log::Level::Warn));
    EXPECT_FALSE(list.add(device(0xcffff000, 0x2000, 7), "d"));
    EXPECT_FALSE(list.add(device(0xcf000000, 0x2000000, 7), "e")); // encloses both
    EXPECT_FALSE(list.add(device(0xd0001000, 0x1000, 8), "f"));
    EXPECT_TRUE(log_contains("listed twice", log::Level::Warn));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list.devices()[1].base, 0xd0001000u);
    EXPECT_EQ(list.refused(), 4u);
}

TEST_F(VirtioMmioListTest, CapacityIsEnforced)
{
    DeviceList list;
    for (size_t i = 0; i < DeviceList::capacity; ++i)
        ASSERT_TRUE(list.add(device(0xd0000000 + i * 0x1000, 0x1000, uint32_t(5 + i)), "x"));
    EXPECT_FALSE(list.add(device(0xe0000000, 0x1000, 5), "one too many"));
    EXPECT_TRUE(log_contains("more than 32 devices", log::Level::Warn));
    EXPECT_EQ(list.size(), DeviceList::capacity);
}

// ---- Whole command lines ----

TEST_F(VirtioMmioListTest, FirecrackerCommandLine)
{
    DeviceList list = parse_line("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
                                 "i8042.nopnp i8042.dumbkbd virtio_mmio.device=4K@0xd0000000:5 "
                                 "virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7 -- app");
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list.source(), virtio_mmio::Source::CommandLine);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(list.devices()[i].base, 0xd0000000u + 0x1000u * i);
        EXPECT_EQ(list.devices()[i].size, 0x1000u);
        EXPECT_EQ(list.devices()[i].gsi, 5u + i);
    }
    EXPECT_EQ(list.refused(), 0u);
}

TEST_F(VirtioMmioListTest, MicrovmCommandLineKeepsOrder)
{
    DeviceList list = parse_line("earlyprintk=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 "
                                 "virtio_mmio.device=512@0xfeb00c00:11");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list.devices()[0].base, 0xfeb00e00u);
    EXPECT_EQ(list.devices()[0].gsi, 12u);
    EXPECT_EQ(list.devices()[1].base, 0xfeb00c00u);
    EXPECT_EQ(list.devices()[1].gsi, 11u);
}

TEST_F(VirtioMmioListTest, BadEntriesAreSkippedAndTheRestKept)
{
    DeviceList list = parse_line("virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=garbage "
                                 "virtio_mmio.device virtio_mmio.device=4K@0xd0000800:6 "
                                 "virtio_mmio.device=0@0xd0004000:8 virtio_mmio.device=4K@0xd0001000:7");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list.devices()[0].base, 0xd0000000u);
    EXPECT_EQ(list.devices()[1].base, 0xd0001000u);
    EXPECT_EQ(list.refused(), 4u);
    EXPECT_TRUE(log_contains("virtio_mmio.device=garbage ignored", log::Level::Warn));
    EXPECT_TRUE(log_contains("without a value", log::Level::Warn));
    EXPECT_TRUE(log_contains("virtio_mmio.device=4K@0xd0000800:6 ignored: 0xd0000800+0x1000 overlaps", log::Level::Warn));
    EXPECT_TRUE(log_contains("virtio_mmio.device=0@0xd0004000:8 ignored: the size is zero", log::Level::Warn));
}

TEST_F(VirtioMmioListTest, NoDevicesOnTheLine)
{
    DeviceList list = parse_line("reboot=k panic=1 -- virtio_mmio.device=4K@0xd0000000:5");
    EXPECT_TRUE(list.empty()); // after "--" it is an application argument
    EXPECT_EQ(list.source(), virtio_mmio::Source::None);
}

// ---- Command line or ACPI ----

// A DSDT with two LNRO0005 devices in QEMU microvm's layout.
std::vector<uint8_t> microvm_like_dsdt()
{
    auto device = [](const char* name, uint32_t base, uint32_t irq) {
        Bytes crs;
        crs.raw({ 0x86, 0x09, 0x00, 0x01 }).u32(base).u32(0x200);
        crs.raw({ 0x89, 0x06, 0x00, 0x01, 0x01 }).u32(irq);
        crs.raw({ 0x79, 0x00 });
        Bytes buffer;
        buffer.raw({ 0x0a, uint8_t(crs.size()) }).raw(crs.data);
        Bytes body;
        body.text(name, 4).raw({ 0x08 }).text("_HID", 4).raw({ 0x0d }).text("LNRO0005", 8).u8(0);
        body.raw({ 0x08 }).text("_CRS", 4).u8(0x11).raw(aml_pkg_length(buffer.size()).data).raw(buffer.data);
        Bytes op;
        op.raw({ 0x5b, 0x82 }).raw(aml_pkg_length(body.size()).data).raw(body.data);
        return op;
    };
    Bytes scope_body;
    scope_body.text("_SB_", 4).raw(device("VR23", 0xfeb02e00, 47).data).raw(device("VR22", 0xfeb02c00, 46).data);
    Bytes aml;
    aml.u8(0x10).raw(aml_pkg_length(scope_body.size()).data).raw(scope_body.data);
    return dsdt(aml.data);
}

struct AcpiMachine {
    FakeMemory memory;
    PlatformInfo platform;
};

AcpiMachine machine_with_dsdt()
{
    AcpiMachine m;
    m.memory.map(0x7000000, 0x10000);
    m.memory.write(0x7000000, microvm_like_dsdt());
    m.platform.dsdt = 0x7000000;
    return m;
}

TEST_F(VirtioMmioListTest, CommandLineWinsOverAcpi)
{
    AcpiMachine m = machine_with_dsdt();
    m_line.parse("virtio_mmio.device=4K@0xd0000000:5");
    DeviceList list = virtio_mmio::collect_devices(m_line, m.platform, m.memory);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list.source(), virtio_mmio::Source::CommandLine);
    EXPECT_EQ(list.devices()[0].base, 0xd0000000u);
}

TEST_F(VirtioMmioListTest, AcpiWhenTheCommandLineNamesNone)
{
    AcpiMachine m = machine_with_dsdt();
    m_line.parse("console=ttyS0");
    DeviceList list = virtio_mmio::collect_devices(m_line, m.platform, m.memory);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list.source(), virtio_mmio::Source::Acpi);
    EXPECT_EQ(list.devices()[0].base, 0xfeb02e00u);
    EXPECT_EQ(list.devices()[0].size, 0x200u);
    EXPECT_EQ(list.devices()[0].gsi, 47u);
    EXPECT_TRUE(list.devices()[0].level_triggered);
    EXPECT_FALSE(list.devices()[0].active_low);
    EXPECT_EQ(list.devices()[1].base, 0xfeb02c00u);
    EXPECT_EQ(list.devices()[1].gsi, 46u);
}

TEST_F(VirtioMmioListTest, AcpiWhenEveryCommandLineEntryIsBad)
{
    AcpiMachine m = machine_with_dsdt();
    m_line.parse("virtio_mmio.device=nonsense");
    DeviceList list = virtio_mmio::collect_devices(m_line, m.platform, m.memory);
    EXPECT_EQ(list.size(), 2u);
    EXPECT_TRUE(log_contains("no usable virtio_mmio.device= entry; looking in ACPI", log::Level::Warn));
}

TEST_F(VirtioMmioListTest, NeitherSourceGivesAnEmptyList)
{
    FakeMemory memory;
    PlatformInfo platform; // no DSDT (Firecracker < 1.8, or acpi=off)
    m_line.parse("reboot=k");
    DeviceList list = virtio_mmio::collect_devices(m_line, platform, memory);
    EXPECT_TRUE(list.empty());
}

TEST_F(VirtioMmioListTest, AcpiDevicesGoThroughTheSameChecks)
{
    // Two DSDT devices claiming the same registers: the second is refused.
    auto table = microvm_like_dsdt();
    // Patch VR22's base (the second Memory32Fixed) to VR23's.
    const uint8_t vr22_base[] = { 0x00, 0x2c, 0xb0, 0xfe };
    auto it = std::search(table.begin(), table.end(), std::begin(vr22_base), std::end(vr22_base));
    ASSERT_NE(it, table.end());
    *(it + 1) = 0x2e;
    set_checksum(table, 9, 0, table.size());
    AcpiMachine m;
    m.memory.map(0x7000000, 0x10000);
    m.memory.write(0x7000000, table);
    m.platform.dsdt = 0x7000000;
    m_line.parse("");
    DeviceList list = virtio_mmio::collect_devices(m_line, m.platform, m.memory);
    EXPECT_EQ(list.size(), 1u);
    EXPECT_TRUE(log_contains("ACPI device VR22 ignored: 0xfeb02e00+0x200 is listed twice", log::Level::Warn));
}

TEST_F(VirtioMmioListTest, SmallIrqDescriptorsFollowTheMadtOverrides)
{
    // IRQ (Edge, ActiveHigh) {9} routed by an override to GSI 20, level/low.
    Bytes crs;
    crs.raw({ 0x86, 0x09, 0x00, 0x01 }).u32(0xd0000000).u32(0x1000);
    crs.raw({ 0x23, 0x00, 0x02, 0x01 }); // mask bit 9, flags: edge
    crs.raw({ 0x79, 0x00 });
    Bytes buffer;
    buffer.raw({ 0x0a, uint8_t(crs.size()) }).raw(crs.data);
    Bytes body;
    body.text("VIO0", 4).raw({ 0x08 }).text("_HID", 4).raw({ 0x0d }).text("LNRO0005", 8).u8(0);
    body.raw({ 0x08 }).text("_CRS", 4).u8(0x11).raw(aml_pkg_length(buffer.size()).data).raw(buffer.data);
    Bytes aml;
    aml.raw({ 0x5b, 0x82 }).raw(aml_pkg_length(body.size()).data).raw(body.data);
    AcpiMachine m;
    m.memory.map(0x7000000, 0x10000);
    m.memory.write(0x7000000, dsdt(aml.data));
    m.platform.dsdt = 0x7000000;
    m.platform.overrides[0] = InterruptOverride { 9, 20, true, true };
    m.platform.override_count = 1;
    m_line.parse("");
    DeviceList list = virtio_mmio::collect_devices(m_line, m.platform, m.memory);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list.devices()[0].gsi, 20u);
    EXPECT_TRUE(list.devices()[0].level_triggered);
    EXPECT_TRUE(list.devices()[0].active_low);
}

} // namespace
