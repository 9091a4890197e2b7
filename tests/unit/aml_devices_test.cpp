// The AML device scanner: QEMU microvm's real DSDT (captured from QEMU 7.2
// with two virtio-blk-device transports), QEMU pc/q35 DSDTs (large, full of
// methods and fields, no LNRO0005), Firecracker's layout built by hand, and
// every way a table can be truncated, corrupt or odd.
#include "firmware/acpi.h"
#include "firmware/aml_devices.h"
#include "firmware/testing/synthetic_tables.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

using namespace skiff;
using namespace skiff::testing;
using acpi::AmlDeviceScan;

namespace {

// QEMU 7.2 `-M microvm` (ACPI on) with two virtio-blk-device: the DSDT as the
// guest sees it. Devices VR23 (0xfeb02e00, GSI 47) and VR22 (0xfeb02c00, GSI
// 46) in \_SB, after FWCF, COM1, RTC, GED and PWRB; \_S5 at the end.
const uint8_t microvm_dsdt[] = {
    0x44, 0x53, 0x44, 0x54, 0xd8, 0x01, 0x00, 0x00, 0x02, 0x0d, 0x42, 0x4f, 0x43, 0x48, 0x53, 0x20,
    0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x42, 0x58, 0x50, 0x43,
    0x01, 0x00, 0x00, 0x00, 0x10, 0x42, 0x1a, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x2e, 0x46, 0x57,
    0x43, 0x46, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x51, 0x45, 0x4d, 0x55, 0x30, 0x30, 0x30, 0x32,
    0x00, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a, 0x0b, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0d, 0x0a,
    0x0a, 0x47, 0x01, 0x10, 0x05, 0x10, 0x05, 0x01, 0x0c, 0x79, 0x00, 0x5b, 0x82, 0x32, 0x43, 0x4f,
    0x4d, 0x31, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x08, 0x5f, 0x55, 0x49,
    0x44, 0x01, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a, 0x0f, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10,
    0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00, 0x5b,
    0x82, 0x25, 0x52, 0x54, 0x43, 0x5f, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0b, 0x00,
    0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01,
    0x08, 0x22, 0x00, 0x01, 0x79, 0x00, 0x5b, 0x82, 0x4c, 0x06, 0x47, 0x45, 0x44, 0x5f, 0x08, 0x5f,
    0x48, 0x49, 0x44, 0x0d, 0x41, 0x43, 0x50, 0x49, 0x30, 0x30, 0x31, 0x33, 0x00, 0x08, 0x5f, 0x55,
    0x49, 0x44, 0x0d, 0x47, 0x45, 0x44, 0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0e, 0x0a, 0x0b,
    0x89, 0x06, 0x00, 0x03, 0x01, 0x09, 0x00, 0x00, 0x00, 0x79, 0x00, 0x5b, 0x80, 0x45, 0x52, 0x45,
    0x47, 0x00, 0x0c, 0x00, 0x00, 0xa0, 0xfe, 0x0a, 0x04, 0x5b, 0x81, 0x0b, 0x45, 0x52, 0x45, 0x47,
    0x43, 0x45, 0x53, 0x45, 0x4c, 0x20, 0x14, 0x1d, 0x5f, 0x45, 0x56, 0x54, 0x09, 0x70, 0x45, 0x53,
    0x45, 0x4c, 0x60, 0xa0, 0x10, 0x93, 0x7b, 0x60, 0x0a, 0x02, 0x00, 0x0a, 0x02, 0x86, 0x50, 0x57,
    0x52, 0x42, 0x0a, 0x80, 0x5b, 0x82, 0x19, 0x50, 0x57, 0x52, 0x42, 0x08, 0x5f, 0x48, 0x49, 0x44,
    0x0d, 0x50, 0x4e, 0x50, 0x30, 0x43, 0x30, 0x43, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x5b,
    0x82, 0x42, 0x04, 0x56, 0x52, 0x32, 0x33, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x4c, 0x4e, 0x52,
    0x4f, 0x30, 0x30, 0x30, 0x35, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a, 0x17, 0x08, 0x5f, 0x43,
    0x43, 0x41, 0x01, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01,
    0x00, 0x2e, 0xb0, 0xfe, 0x00, 0x02, 0x00, 0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x2f, 0x00, 0x00,
    0x00, 0x79, 0x00, 0x5b, 0x82, 0x42, 0x04, 0x56, 0x52, 0x32, 0x32, 0x08, 0x5f, 0x48, 0x49, 0x44,
    0x0d, 0x4c, 0x4e, 0x52, 0x4f, 0x30, 0x30, 0x30, 0x35, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a,
    0x16, 0x08, 0x5f, 0x43, 0x43, 0x41, 0x01, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x1a, 0x0a, 0x17,
    0x86, 0x09, 0x00, 0x01, 0x00, 0x2c, 0xb0, 0xfe, 0x00, 0x02, 0x00, 0x00, 0x89, 0x06, 0x00, 0x01,
    0x01, 0x2e, 0x00, 0x00, 0x00, 0x79, 0x00, 0x10, 0x10, 0x5c, 0x00, 0x08, 0x5f, 0x53, 0x35, 0x5f,
    0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
};

std::vector<uint8_t> corpus_file(const char* name)
{
    std::string path = __FILE__;
    path = path.substr(0, path.rfind('/')) + "/../fuzz/corpus/aml_devices_fuzz/" + name;
    std::ifstream file(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

std::span<const uint8_t> body_of(std::span<const uint8_t> table) { return table.subspan(36); }

AmlDeviceScan scan_aml(std::span<const uint8_t> aml, std::string_view id = acpi::virtio_mmio_hardware_id)
{
    AmlDeviceScan scan;
    acpi::find_devices_in_aml(aml, id, scan);
    return scan;
}

// ---- A little AML assembler ----

Bytes package(std::initializer_list<uint8_t> opcode, const Bytes& contents)
{
    Bytes b;
    b.raw(opcode).raw(aml_pkg_length(contents.size()).data).raw(contents.data);
    return b;
}
Bytes seg(std::string_view name)
{
    Bytes b;
    return b.text(name, 4);
}
Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes b;
    for (const Bytes& part : parts)
        b.raw(part.data);
    return b;
}
Bytes device(std::string_view name, std::initializer_list<Bytes> body)
{
    return package({ 0x5b, 0x82 }, concat({ seg(name), concat(body) }));
}
Bytes scope(const Bytes& name, std::initializer_list<Bytes> body) { return package({ 0x10 }, concat({ name, concat(body) })); }
Bytes name(std::string_view n, const Bytes& value) { return concat({ Bytes().raw({ 0x08 }), seg(n), value }); }
Bytes string(std::string_view text)
{
    Bytes b;
    b.u8(0x0d).text(text, text.size()).u8(0);
    return b;
}
Bytes integer(uint64_t v)
{
    Bytes b;
    if (v == 0)
        return b.u8(0x00);
    if (v == 1)
        return b.u8(0x01);
    if (v <= 0xff)
        return b.u8(0x0a).u8(v);
    if (v <= 0xffff)
        return b.u8(0x0b).u16(v);
    if (v <= 0xffffffff)
        return b.u8(0x0c).u32(v);
    return b.u8(0x0e).u64(v);
}
Bytes eisa_id(uint32_t raw)
{
    Bytes b;
    return b.u8(0x0c).u32(raw);
}
// ResourceTemplate () { descriptors... EndTag }
Bytes resource_template(std::initializer_list<Bytes> descriptors)
{
    Bytes data = concat(descriptors);
    data.raw({ 0x79, 0x00 });
    return package({ 0x11 }, concat({ integer(data.size()), data }));
}
Bytes memory32_fixed(uint32_t base, uint32_t length)
{
    Bytes b;
    return b.raw({ 0x86, 0x09, 0x00, 0x01 }).u32(base).u32(length);
}
Bytes extended_interrupt(uint32_t gsi, bool edge, bool active_low)
{
    Bytes b;
    return b.raw({ 0x89, 0x06, 0x00, uint8_t(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0)), 0x01 }).u32(gsi);
}
Bytes qword_memory(uint64_t minimum, uint64_t length)
{
    Bytes b;
    b.raw({ 0x8a, 43, 0, 0x00, 0x0c, 0x01 }).u64(0).u64(minimum).u64(minimum + length - 1).u64(0).u64(length);
    return b;
}
Bytes dword_memory(uint32_t minimum, uint32_t length)
{
    Bytes b;
    b.raw({ 0x87, 23, 0, 0x00, 0x0c, 0x01 }).u32(0).u32(minimum).u32(minimum + length - 1).u32(0).u32(length);
    return b;
}
Bytes dword_io(uint32_t minimum, uint32_t length)
{
    Bytes b;
    b.raw({ 0x87, 23, 0, 0x01, 0x0c, 0x03 }).u32(0).u32(minimum).u32(minimum + length - 1).u32(0).u32(length);
    return b;
}

// Firecracker's add_virtio_aml(): Device (Vnnn) at the DSDT root.
Bytes firecracker_device(unsigned index, uint32_t base, uint32_t gsi)
{
    char n[5];
    std::snprintf(n, sizeof(n), "V%03u", index);
    return device(n, { name("_HID", string("LNRO0005")), name("_UID", integer(index)), name("_CCA", integer(1)),
                          name("_CRS", resource_template({ memory32_fixed(base, 0x1000), extended_interrupt(gsi, true, false) })) });
}

class AmlDevicesTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }
};

// ---- Real tables ----

TEST_F(AmlDevicesTest, QemuMicrovmDsdt)
{
    AmlDeviceScan scan = scan_aml(body_of(microvm_dsdt));
    ASSERT_EQ(scan.count, 2u);
    const acpi::AmlMmioDevice& first = scan.devices[0];
    EXPECT_EQ(std::string(first.name.data(), 4), "VR23");
    EXPECT_EQ(first.base, 0xfeb02e00u);
    EXPECT_EQ(first.size, 0x200u);
    EXPECT_EQ(first.interrupt, 47u);
    EXPECT_FALSE(first.isa_irq);
    EXPECT_TRUE(first.level_triggered); // QEMU writes Level, ActiveHigh
    EXPECT_FALSE(first.active_low);
    EXPECT_EQ(std::string(scan.devices[1].name.data(), 4), "VR22");
    EXPECT_EQ(scan.devices[1].base, 0xfeb02c00u);
    EXPECT_EQ(scan.devices[1].interrupt, 46u);
    EXPECT_EQ(scan.skipped, 0u);
    EXPECT_EQ(scan.resyncs, 0u); // every term of QEMU's DSDT was measured
    EXPECT_FALSE(log_contains("", log::Level::Warn));
}

TEST_F(AmlDevicesTest, QemuMicrovmDsdtThroughPhysicalMemory)
{
    FakeMemory memory;
    memory.map(0xefc00, 0x400);
    memory.write(0xefc80, std::span<const uint8_t>(microvm_dsdt));
    AmlDeviceScan scan;
    ASSERT_TRUE(acpi::find_devices_in_table(memory, 0xefc80, acpi::virtio_mmio_hardware_id, scan));
    ASSERT_EQ(scan.count, 2u);
    EXPECT_EQ(scan.devices[0].base, 0xfeb02e00u);
    EXPECT_EQ(scan.devices[1].interrupt, 46u);
}

TEST_F(AmlDevicesTest, OtherIdsInTheMicrovmDsdt)
{
    // GED (ACPI0013): an interrupt, no memory. COM1 (EisaId PNP0501): I/O only.
    AmlDeviceScan ged = scan_aml(body_of(microvm_dsdt), "ACPI0013");
    EXPECT_EQ(ged.count, 0u);
    EXPECT_EQ(ged.skipped, 1u);
    EXPECT_TRUE(log_contains("ACPI0013 device GED_: _CRS has no memory range", log::Level::Warn));
    AmlDeviceScan com = scan_aml(body_of(microvm_dsdt), "PNP0501");
    EXPECT_EQ(com.skipped, 1u);
    EXPECT_TRUE(log_contains("PNP0501 device COM1: _CRS has no memory range", log::Level::Warn));
}

TEST_F(AmlDevicesTest, QemuPcAndQ35DsdtsHaveNoVirtioMmioAndAreWalkedWhole)
{
    for (const char* file : { "qemu_pc_dsdt", "qemu_q35_dsdt" }) {
        std::vector<uint8_t> table = corpus_file(file);
        ASSERT_GT(table.size(), 1000u) << file;
        clear_log();
        AmlDeviceScan scan = scan_aml(body_of(table));
        EXPECT_EQ(scan.count, 0u) << file;
        EXPECT_EQ(scan.skipped, 0u) << file;
        EXPECT_EQ(scan.resyncs, 0u) << file; // methods, fields, regions: all measured
        EXPECT_FALSE(scan.step_limit_hit) << file;
        // The walker reaches COM1 deep inside \_SB.PCI0 (an EisaId _HID).
        AmlDeviceScan com = scan_aml(body_of(table), "PNP0501");
        EXPECT_EQ(com.skipped, 1u) << file;
        EXPECT_TRUE(log_contains("PNP0501 device COM1", log::Level::Warn)) << file;
    }
}

// ---- Firecracker's layout ----

TEST_F(AmlDevicesTest, FirecrackerSeedOfTheFuzzCorpus)
{
    // The seed: two Vnnn devices at the root, a GED, and COM1 in \_SB.
    std::vector<uint8_t> table = corpus_file("firecracker_dsdt");
    ASSERT_GT(table.size(), 36u);
    AmlDeviceScan scan = scan_aml(body_of(table));
    ASSERT_EQ(scan.count, 2u);
    EXPECT_EQ(scan.devices[0].base, 0xd0000000u);
    EXPECT_EQ(scan.devices[0].interrupt, 5u);
    EXPECT_FALSE(scan.devices[0].level_triggered);
    EXPECT_EQ(scan.devices[1].base, 0xd0001000u);
    EXPECT_EQ(scan.devices[1].interrupt, 6u);
    EXPECT_EQ(scan.resyncs, 0u);
}

TEST_F(AmlDevicesTest, FirecrackerRootLevelDevices)
{
    Bytes ged = device("GED_", { name("_HID", string("ACPI0013")), name("_UID", integer(0)),
                                   name("_CRS", resource_template({ extended_interrupt(9, true, false) })) });
    Bytes aml = concat({ firecracker_device(0, 0xd0000000, 5), firecracker_device(1, 0xd0001000, 6), ged });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 2u);
    EXPECT_EQ(std::string(scan.devices[0].name.data(), 4), "V000");
    EXPECT_EQ(scan.devices[0].base, 0xd0000000u);
    EXPECT_EQ(scan.devices[0].size, 0x1000u);
    EXPECT_EQ(scan.devices[0].interrupt, 5u);
    EXPECT_FALSE(scan.devices[0].level_triggered);
    EXPECT_FALSE(scan.devices[0].active_low);
    EXPECT_EQ(scan.devices[1].base, 0xd0001000u);
    EXPECT_EQ(scan.devices[1].interrupt, 6u);
}

TEST_F(AmlDevicesTest, AddressSpaceDescriptorsAndSmallIrq)
{
    Bytes small_irq_level_low;
    small_irq_level_low.raw({ 0x23, 0x20, 0x00, 0x08 }); // IRQ 5, level, active low
    Bytes aml = concat({
        device("Q000", { name("_HID", string("LNRO0005")),
                           name("_CRS", resource_template({ qword_memory(0x4000000000ull, 0x200), extended_interrupt(40, false, true) })) }),
        device("D000", { name("_HID", string("LNRO0005")),
                           name("_CRS", resource_template({ dword_io(0x1000, 0x100), dword_memory(0xc0001000, 0x1000), small_irq_level_low })) }),
    });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 2u);
    EXPECT_EQ(scan.devices[0].base, 0x4000000000ull);
    EXPECT_EQ(scan.devices[0].size, 0x200u);
    EXPECT_EQ(scan.devices[0].interrupt, 40u);
    EXPECT_TRUE(scan.devices[0].level_triggered);
    EXPECT_TRUE(scan.devices[0].active_low);
    EXPECT_EQ(scan.devices[1].base, 0xc0001000u); // the I/O range is not the register block
    EXPECT_EQ(scan.devices[1].interrupt, 5u);
    EXPECT_TRUE(scan.devices[1].isa_irq);
    EXPECT_TRUE(scan.devices[1].level_triggered);
    EXPECT_TRUE(scan.devices[1].active_low);
}

// ---- Matching ----

TEST_F(AmlDevicesTest, CompatibleIdsMatchToo)
{
    Bytes crs = name("_CRS", resource_template({ memory32_fixed(0xd0000000, 0x1000), extended_interrupt(5, true, false) }));
    Bytes cid_package = package({ 0x12 }, concat({ Bytes().u8(2), string("PNP0C02"), string("LNRO0005") }));
    Bytes aml = concat({
        device("CID0", { name("_HID", string("VEND0001")), name("_CID", string("LNRO0005")), crs }),
        device("CID1", { name("_HID", eisa_id(0x0105d041)), name("_CID", cid_package),
                           name("_CRS", resource_template({ memory32_fixed(0xd0001000, 0x1000), extended_interrupt(6, true, false) })) }),
        device("NOPE", { name("_HID", string("LNRO0006")),
                           name("_CRS", resource_template({ memory32_fixed(0xd0002000, 0x1000), extended_interrupt(7, true, false) })) }),
    });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 2u);
    EXPECT_EQ(std::string(scan.devices[0].name.data(), 4), "CID0");
    EXPECT_EQ(std::string(scan.devices[1].name.data(), 4), "CID1");
}

TEST_F(AmlDevicesTest, EisaIdsAreDecoded)
{
    // EisaId ("PNP0C0C") as iasl writes it.
    Bytes aml = device("PWRB", { name("_HID", eisa_id(0x0c0cd041)),
                                   name("_CRS", resource_template({ memory32_fixed(0xfed00000, 0x400), extended_interrupt(8, true, false) })) });
    AmlDeviceScan scan = scan_aml(aml.data, "PNP0C0C");
    EXPECT_EQ(scan.count, 1u);
}

TEST_F(AmlDevicesTest, NamesOfNestedObjectsAreNotTheDevices)
{
    Bytes crs = name("_CRS", resource_template({ memory32_fixed(0xd0000000, 0x1000), extended_interrupt(5, true, false) }));
    Bytes aml = concat({
        // A _HID inside a Scope () inside the device names another object.
        device("OUT0", { scope(Bytes().raw({ '\\' }).text("_SB_", 4), { name("_HID", string("LNRO0005")) }), crs }),
        // A child device matches; its parent does not.
        device("PAR0", { name("_HID", string("PNP0A03")),
                           device("KID0", { name("_HID", string("LNRO0005")),
                                              name("_CRS", resource_template({ memory32_fixed(0xd0001000, 0x1000), extended_interrupt(6, true, false) })) }),
                           name("_CRS", resource_template({ memory32_fixed(0xd0002000, 0x1000), extended_interrupt(7, true, false) })) }),
    });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 1u);
    EXPECT_EQ(std::string(scan.devices[0].name.data(), 4), "KID0");
    EXPECT_EQ(scan.devices[0].base, 0xd0001000u);
}

TEST_F(AmlDevicesTest, StatusNotPresentSkipsTheDevice)
{
    Bytes crs = name("_CRS", resource_template({ memory32_fixed(0xd0000000, 0x1000), extended_interrupt(5, true, false) }));
    Bytes aml = concat({ device("OFF0", { name("_HID", string("LNRO0005")), name("_STA", integer(0)), crs }),
        device("ON00", { name("_HID", string("LNRO0005")), name("_STA", integer(0x0f)),
                           name("_CRS", resource_template({ memory32_fixed(0xd0001000, 0x1000), extended_interrupt(6, true, false) })) }) });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 1u);
    EXPECT_EQ(std::string(scan.devices[0].name.data(), 4), "ON00");
    EXPECT_EQ(scan.skipped, 1u);
    EXPECT_TRUE(log_contains("device OFF0: _STA 0x0 says not present", log::Level::Info));
}

TEST_F(AmlDevicesTest, ComputedResourcesAreReportedNotEvaluated)
{
    Bytes method_crs = package({ 0x14 }, concat({ seg("_CRS"), Bytes().u8(0), Bytes().raw({ 0xa4, 0x00 }) }));
    Bytes aml = concat({ device("MCRS", { name("_HID", string("LNRO0005")), method_crs }),
        device("NCRS", { name("_HID", string("LNRO0005")) }),
        device("SCRS", { name("_HID", string("LNRO0005")), name("_CRS", string("nonsense")) }) });
    AmlDeviceScan scan = scan_aml(aml.data);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_EQ(scan.skipped, 3u);
    EXPECT_TRUE(log_contains("device MCRS: _CRS is a method, which this scanner does not evaluate", log::Level::Warn));
    EXPECT_TRUE(log_contains("device NCRS has no _CRS", log::Level::Warn));
    EXPECT_TRUE(log_contains("device SCRS: _CRS is not a buffer", log::Level::Warn));
}

TEST_F(AmlDevicesTest, ResynchronisesAfterStatementsItCannotMeasure)
{
    // Store (0x1234, Local0) and an OperationRegion with a computed offset at
    // declaration level, then the device.
    Bytes store;
    store.raw({ 0x70, 0x0b, 0x34, 0x12, 0x60 });
    Bytes region;
    region.raw({ 0x5b, 0x80 }).text("REG0", 4).raw({ 0x00, 0x72, 0x0a, 0x01, 0x0a, 0x02, 0x00, 0x0a, 0x10 });
    Bytes aml = concat({ store, region, firecracker_device(0, 0xd0000000, 5) });
    AmlDeviceScan scan = scan_aml(aml.data);
    ASSERT_EQ(scan.count, 1u);
    EXPECT_GE(scan.resyncs, 1u);
    EXPECT_EQ(scan.devices[0].base, 0xd0000000u);
}

// ---- Limits ----

TEST_F(AmlDevicesTest, CapacityIsEnforced)
{
    Bytes aml;
    for (unsigned i = 0; i < AmlDeviceScan::capacity + 3; ++i)
        aml.raw(firecracker_device(i, 0xd0000000 + i * 0x1000, 5 + i).data);
    AmlDeviceScan scan = scan_aml(aml.data);
    EXPECT_EQ(scan.count, AmlDeviceScan::capacity);
    EXPECT_TRUE(scan.truncated);
    EXPECT_TRUE(log_contains("more than 32 LNRO0005 devices", log::Level::Warn));
}

TEST_F(AmlDevicesTest, DeepNestingIsCut)
{
    Bytes inner = firecracker_device(0, 0xd0000000, 5);
    for (int i = 0; i < 40; ++i)
        inner = scope(seg("S___"), { inner });
    AmlDeviceScan scan = scan_aml(inner.data);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_TRUE(log_contains("nests deeper than", log::Level::Warn));
    // At a depth real tables use, the device is found.
    Bytes shallow = firecracker_device(0, 0xd0000000, 5);
    for (int i = 0; i < 6; ++i)
        shallow = scope(seg("S___"), { shallow });
    EXPECT_EQ(scan_aml(shallow.data).count, 1u);
}

// ---- Corruption ----

TEST_F(AmlDevicesTest, EveryTruncationIsSafe)
{
    // Cut the microvm body at every length: devices are reported only when
    // complete, and then with the right values.
    std::span<const uint8_t> body = body_of(microvm_dsdt);
    for (size_t length = 0; length <= body.size(); ++length) {
        std::vector<uint8_t> cut(body.begin(), body.begin() + length);
        AmlDeviceScan scan = scan_aml(cut);
        for (const auto& d : scan.list()) {
            EXPECT_TRUE((d.base == 0xfeb02e00 && d.interrupt == 47) || (d.base == 0xfeb02c00 && d.interrupt == 46))
                << "length " << length;
            EXPECT_EQ(d.size, 0x200u);
        }
    }
    clear_log();
    EXPECT_EQ(scan_aml(std::span<const uint8_t>(body.data(), body.size() - 1)).count, 2u); // only _S5 is cut
}

TEST_F(AmlDevicesTest, EverySingleByteCorruptionIsSafe)
{
    std::span<const uint8_t> body = body_of(microvm_dsdt);
    std::vector<uint8_t> bytes(body.begin(), body.end());
    for (size_t i = 0; i < bytes.size(); ++i) {
        for (uint8_t value : { uint8_t(0x00), uint8_t(0xff), uint8_t(0x5b), uint8_t(0x82), uint8_t(0x10), uint8_t(0x7f) }) {
            uint8_t saved = bytes[i];
            bytes[i] = value;
            AmlDeviceScan scan = scan_aml(bytes);
            EXPECT_LE(scan.count, AmlDeviceScan::capacity);
            bytes[i] = saved;
        }
    }
}

TEST_F(AmlDevicesTest, DeviceRunningPastTheTableIsIgnored)
{
    // The table ends before the device's PkgLength says it does.
    Bytes aml = firecracker_device(0, 0xd0000000, 5);
    aml.data.resize(aml.data.size() - 5);
    EXPECT_EQ(scan_aml(aml.data).count, 0u);
}

TEST_F(AmlDevicesTest, DescriptorRunningPastTheBufferIsRefused)
{
    Bytes bad_memory;
    bad_memory.raw({ 0x86, 0x40, 0x00, 0x01 }).u32(0xd0000000).u32(0x1000); // claims 64 bytes
    Bytes aml = device("BAD0", { name("_HID", string("LNRO0005")),
                                   name("_CRS", resource_template({ bad_memory, extended_interrupt(5, true, false) })) });
    AmlDeviceScan scan = scan_aml(aml.data);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_EQ(scan.skipped, 1u);
    EXPECT_TRUE(log_contains("device BAD0: _CRS descriptor 0x86 runs past the buffer", log::Level::Warn));
}

TEST_F(AmlDevicesTest, ZeroSizedAndEmptyResourcesAreNotDevices)
{
    Bytes aml = concat({ device("ZER0", { name("_HID", string("LNRO0005")),
                                            name("_CRS", resource_template({ memory32_fixed(0xd0000000, 0), extended_interrupt(5, true, false) })) }),
        device("NIRQ", { name("_HID", string("LNRO0005")), name("_CRS", resource_template({ memory32_fixed(0xd0000000, 0x1000) })) }) });
    AmlDeviceScan scan = scan_aml(aml.data);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_EQ(scan.skipped, 2u);
    EXPECT_TRUE(log_contains("device ZER0: _CRS has no memory range", log::Level::Warn));
    EXPECT_TRUE(log_contains("device NIRQ: _CRS has no interrupt", log::Level::Warn));
}

// ---- Tables ----

TEST_F(AmlDevicesTest, TableChecksAndSsdts)
{
    Machine m = firecracker_acpi();
    // Firecracker's synthetic DSDT device has no _CRS: skipped, not reported.
    PlatformInfo platform;
    platform.dsdt = m.dsdt;
    platform.root_table = m.xsdt;
    auto none = acpi::find_virtio_mmio_devices(m.memory, platform);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->count, 0u);
    EXPECT_EQ(none->skipped, 1u);

    // Add an SSDT with a complete device and list it in the XSDT.
    Bytes ssdt_body = firecracker_device(3, 0xd0003000, 8);
    auto ssdt = sdt("SSDT", 2, ssdt_body);
    uint64_t ssdt_at = 0x90000;
    m.memory.write(ssdt_at, ssdt);
    uint64_t xsdt_at = 0x91000;
    m.memory.write(xsdt_at, xsdt({ m.fadt, m.madt, ssdt_at }));
    platform.root_table = xsdt_at;
    auto found = acpi::find_virtio_mmio_devices(m.memory, platform);
    ASSERT_TRUE(found);
    ASSERT_EQ(found->count, 1u);
    EXPECT_EQ(found->devices[0].base, 0xd0003000u);
    EXPECT_EQ(found->devices[0].interrupt, 8u);

    // A DSDT pointer at something else is refused by signature.
    AmlDeviceScan scan;
    clear_log();
    EXPECT_FALSE(acpi::find_devices_in_table(m.memory, m.madt, acpi::virtio_mmio_hardware_id, scan));
    EXPECT_TRUE(log_contains("is not a DSDT or SSDT", log::Level::Warn));
    // A bad checksum is refused before any AML is read.
    m.memory.byte(ssdt_at + 40) ^= 0xff;
    EXPECT_FALSE(acpi::find_devices_in_table(m.memory, ssdt_at, acpi::virtio_mmio_hardware_id, scan));
    EXPECT_EQ(scan.count, 0u);

    PlatformInfo no_acpi;
    EXPECT_FALSE(acpi::find_virtio_mmio_devices(m.memory, no_acpi));
}

} // namespace
