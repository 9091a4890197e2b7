// PCI on synthetic configuration spaces: enumeration (multi-function,
// bridges, absent functions, bridge loops), BAR decoding and sizing, the
// capability walk (including lists that loop), MSI-X table programming,
// BAR windows, INTx routing and the MCFG.
#include "bus/pci/bars.h"
#include "bus/pci/bus_function.h"
#include "bus/pci/capabilities.h"
#include "bus/pci/enumerate.h"
#include "bus/pci/mcfg.h"
#include "bus/pci/msix.h"
#include "bus/pci/testing/fake_config_space.h"
#include "firmware/platform.h"
#include "firmware/testing/synthetic_tables.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace skiff;
using namespace skiff::testing;
using pci::Address;
using pci::Bar;

namespace {

class PciTest : public ::testing::Test {
protected:
    void SetUp() override { clear_log(); }

    pci::FunctionInfo info(Address address)
    {
        pci::FunctionInfo out {};
        out.address = address;
        out.vendor_id = space.read16(address, pci::config::vendor_id);
        out.device_id = space.read16(address, pci::config::device_id);
        out.header_type = space.read8(address, pci::config::header_type) & 0x7f;
        return out;
    }

    FakeConfigSpace space;
    FakeBarMapper mapper;
};

std::string text(const Address& a) { return std::string(pci::address_text(a).view()); }

std::vector<std::string> enumerate_all(FakeConfigSpace& space, uint8_t root = 0)
{
    std::vector<std::string> seen;
    pci::enumerate(space, 0, root, [&](const pci::FunctionInfo& f) { seen.push_back(text(f.address)); });
    return seen;
}

// ---- Configuration access ----

TEST_F(PciTest, AccessesMustBeAlignedAndInsideTheSpace)
{
    FakePciFunction& f = space.add({ 0, 0, 3, 0 }, 0x1af4, 0x1042);
    f.put32(0x40, 0x11223344);
    EXPECT_EQ(space.read32({ 0, 0, 3, 0 }, 0x40), 0x11223344u);
    EXPECT_EQ(space.read16({ 0, 0, 3, 0 }, 0x42), 0x1122u);
    EXPECT_EQ(space.read32({ 0, 0, 3, 0 }, 0x41), 0xffffffffu); // unaligned
    EXPECT_EQ(space.read16({ 0, 0, 3, 0 }, 0x43), 0xffffu);
    EXPECT_EQ(space.read32({ 0, 0, 3, 0 }, 0x100), 0xffffffffu); // beyond 256 bytes
    EXPECT_EQ(space.read8({ 0, 0, 32, 0 }, 0), 0xffu);          // no device 32
    size_t writes = space.writes;
    space.write32({ 0, 0, 3, 0 }, 0x102, 0);
    space.write8({ 0, 0, 3, 9 }, 0, 0);
    EXPECT_EQ(space.writes, writes); // refused before reaching the backend
    EXPECT_EQ(text({ 0, 0, 3, 0 }), "00:03.0");
    EXPECT_EQ(text({ 1, 0x12, 0x1f, 7 }), "0001:12:1f.7");
}

// ---- Enumeration ----

TEST_F(PciTest, EnumeratesMultiFunctionDevicesAndBridges)
{
    space.add({ 0, 0, 0, 0 }, 0x8086, 0x1237, 0x060000);
    // Multi-function device 1: functions 0, 1, 3 (2 absent).
    space.add({ 0, 0, 1, 0 }, 0x8086, 0x7000, 0x060100, 0x80);
    space.add({ 0, 0, 1, 1 }, 0x8086, 0x7010, 0x010180);
    space.add({ 0, 0, 1, 3 }, 0x8086, 0x7113, 0x068000);
    // Single-function device 2 with a stale function 1 that must not be seen.
    space.add({ 0, 0, 2, 0 }, 0x1af4, 0x1001, 0x010000);
    space.add({ 0, 0, 2, 1 }, 0x1af4, 0x1001, 0x010000);
    // A bridge to bus 1, which holds a bridge to bus 2.
    FakePciFunction& bridge = space.add({ 0, 0, 4, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    bridge.put8(0x19, 1);
    bridge.put8(0x1a, 2);
    space.add({ 0, 1, 0, 0 }, 0x1af4, 0x1042, 0x010000);
    FakePciFunction& inner = space.add({ 0, 1, 5, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    inner.put8(0x19, 2);
    space.add({ 0, 2, 7, 0 }, 0x1af4, 0x1041, 0x020000);
    // Nothing at vendor 0x0000 either.
    space.add({ 0, 0, 9, 0 }, 0x0000, 0x0000);

    std::vector<std::string> seen = enumerate_all(space);
    std::vector<std::string> expected = { "00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:04.0",
        "01:00.0", "01:05.0", "02:07.0" };
    EXPECT_EQ(seen, expected);
}

TEST_F(PciTest, BridgeLoopsAndBogusSecondaryBusesAreNotFollowed)
{
    FakePciFunction& a = space.add({ 0, 0, 1, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    a.put8(0x19, 1);
    FakePciFunction& back = space.add({ 0, 1, 0, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    back.put8(0x19, 1); // points at its own bus
    FakePciFunction& again = space.add({ 0, 1, 1, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    again.put8(0x19, 0); // unset
    FakePciFunction& dup = space.add({ 0, 0, 2, 0 }, 0x1b36, 0x0001, 0x060400, 1);
    dup.put8(0x19, 1); // a second way to bus 1
    std::vector<std::string> seen = enumerate_all(space);
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_TRUE(log_contains("bridge 01:00.0 has secondary bus 1 (its own bus is 1); not followed", log::Level::Warn));
    EXPECT_TRUE(log_contains("bridge 01:01.0 has secondary bus 0", log::Level::Warn));
    EXPECT_TRUE(log_contains("bridge 00:02.0 leads to bus 1, which is already scanned", log::Level::Warn));
}

TEST_F(PciTest, EmptyBusFindsNothing)
{
    EXPECT_TRUE(enumerate_all(space).empty());
}

// ---- BARs ----

TEST_F(PciTest, BarsAreDecodedAndSizedWithDecodingOff)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    FakeConfigSpace::io_bar(f, 0, 0xc040, 0x40);
    FakeConfigSpace::memory_bar(f, 1, 0xfebd1000, 0x1000);
    FakeConfigSpace::memory_bar(f, 4, 0xfe000000, 0x4000, true, true);
    f.put16(0x04, 0x0007); // I/O, memory and bus master on, as firmware leaves it

    auto bars = pci::read_bars(space, where, 0);
    EXPECT_EQ(bars[0].kind, Bar::Kind::Io);
    EXPECT_EQ(bars[0].address, 0xc040u);
    EXPECT_EQ(bars[0].size, 0x40u);
    EXPECT_EQ(bars[1].kind, Bar::Kind::Memory32);
    EXPECT_EQ(bars[1].address, 0xfebd1000u);
    EXPECT_EQ(bars[1].size, 0x1000u);
    EXPECT_FALSE(bars[1].prefetchable);
    EXPECT_EQ(bars[2].kind, Bar::Kind::None);
    EXPECT_EQ(bars[3].kind, Bar::Kind::None);
    EXPECT_EQ(bars[4].kind, Bar::Kind::Memory64);
    EXPECT_EQ(bars[4].address, 0xfe000000u);
    EXPECT_EQ(bars[4].size, 0x4000u);
    EXPECT_TRUE(bars[4].prefetchable);
    EXPECT_EQ(bars[5].kind, Bar::Kind::None); // the upper half

    EXPECT_FALSE(f.sized_while_decoding);
    EXPECT_GT(f.bar_writes, 0u);
    // Everything restored.
    EXPECT_EQ(f.read16(0x04), 0x0007u);
    EXPECT_EQ(f.read32(0x10), 0xc041u);
    EXPECT_EQ(f.read32(0x14), 0xfebd1000u);
    EXPECT_EQ(f.read32(0x20), 0xfe00000cu);
    EXPECT_EQ(f.read32(0x24), 0u);
}

TEST_F(PciTest, SixtyFourBitBarAboveFourGigabytes)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    FakeConfigSpace::memory_bar(f, 2, 0x800000000ull, 0x100000000ull, true);
    auto bars = pci::read_bars(space, where, 0);
    EXPECT_EQ(bars[2].kind, Bar::Kind::Memory64);
    EXPECT_EQ(bars[2].address, 0x800000000ull);
    EXPECT_EQ(bars[2].size, 0x100000000ull);
    EXPECT_EQ(f.read32(0x1c), 0x8u);
}

TEST_F(PciTest, MalformedBarsAreIgnoredWithAMessage)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    f.put32(0x10, 0xfebd0006); // memory type 3 (reserved)
    f.bar_writable[0] = 0xfffff000;
    FakeConfigSpace::memory_bar(f, 5, 0xfe000000, 0x1000, true); // 64-bit with no upper half
    f.bar_writable[5] = 0xfffff000;
    auto bars = pci::read_bars(space, where, 0);
    EXPECT_EQ(bars[0].kind, Bar::Kind::None);
    EXPECT_EQ(bars[5].kind, Bar::Kind::None);
    EXPECT_TRUE(log_contains("00:03.0 BAR 0 has the reserved memory type 3", log::Level::Warn));
    EXPECT_TRUE(log_contains("00:03.0 BAR 5 is 64-bit but is the last BAR", log::Level::Warn));
}

TEST_F(PciTest, OddMasksStillGivePowerOfTwoSizes)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    f.put32(0x10, 0xfebd0000);
    f.bar_writable[0] = 0xf0f0f000; // holes in the mask
    auto bars = pci::read_bars(space, where, 0);
    EXPECT_EQ(bars[0].kind, Bar::Kind::Memory32);
    EXPECT_EQ(bars[0].size, 0x1000u);
}

TEST_F(PciTest, BridgesHaveTwoBarsAndCardBusNone)
{
    Address where { 0, 0, 4, 0 };
    FakePciFunction& f = space.add(where, 0x1b36, 0x0001, 0x060400, 1);
    FakeConfigSpace::memory_bar(f, 0, 0xfe800000, 0x1000);
    f.put32(0x18, 0x00020100); // bus numbers live where an endpoint's BAR 2 would be
    auto bars = pci::read_bars(space, where, 1);
    EXPECT_EQ(bars[0].kind, Bar::Kind::Memory32);
    EXPECT_EQ(bars[2].kind, Bar::Kind::None);
    EXPECT_EQ(f.read32(0x18), 0x00020100u); // never written
    EXPECT_EQ(pci::bar_count(2), 0u);
}

// ---- Capabilities ----

TEST_F(PciTest, CapabilityWalkVisitsTheList)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    FakeConfigSpace::capability(f, 0x98, pci::capability::msix, 0x84);
    FakeConfigSpace::capability(f, 0x84, pci::capability::vendor_specific, 0x70);
    FakeConfigSpace::capability(f, 0x70, pci::capability::vendor_specific, 0x00);
    pci::BusFunction function;
    function.attach(space, mapper, info(where), nullptr);
    std::vector<std::pair<uint8_t, uint8_t>> seen;
    EXPECT_TRUE(pci::walk_capabilities(function, [&](uint8_t id, uint8_t offset) {
        seen.emplace_back(id, offset);
        return true;
    }));
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], std::make_pair(uint8_t(0x11), uint8_t(0x98)));
    EXPECT_EQ(seen[2], std::make_pair(uint8_t(0x09), uint8_t(0x70)));
    EXPECT_EQ(*pci::find_capability(function, pci::capability::vendor_specific), 0x84u);
    EXPECT_EQ(pci::find_capability(function, pci::capability::msi).error(), Error::NotFound);
}

TEST_F(PciTest, CapabilityLoopsAndHeaderPointersStopTheWalk)
{
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1042);
    FakeConfigSpace::capability(f, 0x40, pci::capability::vendor_specific, 0x50);
    FakeConfigSpace::capability(f, 0x50, pci::capability::vendor_specific, 0x43); // low bits ignored: 0x40 again
    pci::BusFunction function;
    function.attach(space, mapper, info(where), nullptr);
    size_t visits = 0;
    auto result = pci::walk_capabilities(function, [&](uint8_t, uint8_t) { return ++visits < 1000; });
    EXPECT_EQ(result.error(), Error::Corrupt);
    EXPECT_EQ(visits, 2u);
    EXPECT_TRUE(log_contains("00:03.0 capability list loops back to 0x40", log::Level::Warn));
    EXPECT_EQ(pci::find_capability(function, pci::capability::msix).error(), Error::Corrupt);

    // The interface's own walker is bounded too.
    size_t steps = 0;
    pci::for_each_capability(function, [&](uint8_t, uint8_t) { return ++steps < 1000; });
    EXPECT_LE(steps, 48u);

    clear_log();
    f.put8(0x51, 0x20); // into the header
    EXPECT_EQ(pci::walk_capabilities(function, [](uint8_t, uint8_t) { return true; }).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("points into the header (0x20)", log::Level::Warn));

    // Without the status bit there is no list at all.
    f.put16(0x06, 0);
    EXPECT_EQ(pci::find_capability(function, pci::capability::vendor_specific).error(), Error::NotFound);
}

// ---- MSI-X ----

struct MsixDevice {
    Address where { 0, 0, 3, 0 };
    FakePciFunction* f;
};

MsixDevice msix_device(FakeConfigSpace& space, uint16_t table_entries, uint32_t table_offset_bir)
{
    MsixDevice d;
    d.f = &space.add(d.where, 0x1af4, 0x1042);
    FakeConfigSpace::memory_bar(*d.f, 1, 0xfebd1000, 0x1000);
    FakeConfigSpace::io_bar(*d.f, 0, 0xc000, 0x40);
    FakeConfigSpace::capability(*d.f, 0x98, pci::capability::msix, 0x00);
    d.f->put16(0x9a, uint16_t(table_entries - 1));
    d.f->put32(0x9c, table_offset_bir);
    d.f->put32(0xa0, 0x00000801); // PBA
    d.f->put16(0x04, 0x0003);
    return d;
}

TEST_F(PciTest, MsixTableIsProgrammedAndEnabled)
{
    MsixDevice d = msix_device(space, 4, 0x800 | 1); // table in BAR 1 at 0x800
    pci::BusFunction function;
    function.attach(space, mapper, info(d.where), nullptr);
    uint64_t addresses[2] = { 0xfee00000, 0x1fee01000ull };
    uint32_t data[2] = { 0x4041, 0x4042 };
    ASSERT_TRUE(function.enable_msix(addresses, data, 2));

    ASSERT_EQ(mapper.mapped.size(), 1u);
    EXPECT_EQ(mapper.mapped[0].kind, Bar::Kind::Memory32);
    EXPECT_EQ(mapper.mapped[0].address, 0xfebd1800u);
    EXPECT_EQ(mapper.mapped[0].length, 4u * 16u);
    FakeWindow& table = *mapper.mapped[0].window;
    EXPECT_EQ(table.read32(0x00), 0xfee00000u);
    EXPECT_EQ(table.read32(0x04), 0u);
    EXPECT_EQ(table.read32(0x08), 0x4041u);
    EXPECT_EQ(table.read32(0x0c), 0u); // unmasked
    EXPECT_EQ(table.read32(0x10), 0xfee01000u);
    EXPECT_EQ(table.read32(0x14), 1u);
    EXPECT_EQ(table.read32(0x18), 0x4042u);
    EXPECT_EQ(table.read32(0x1c), 0u);
    EXPECT_EQ(table.read32(0x2c), 1u); // unused entries masked
    EXPECT_EQ(table.read32(0x3c), 1u);

    uint16_t control = d.f->read16(0x9a);
    EXPECT_TRUE(control & pci::msix::control_enable);
    EXPECT_FALSE(control & pci::msix::control_function_mask);
    EXPECT_EQ(control & 0x7ff, 3u); // table size untouched
    uint16_t command = d.f->read16(0x04);
    EXPECT_TRUE(command & pci::config::command_interrupt_disable);
    EXPECT_TRUE(command & pci::config::command_bus_master);
    EXPECT_TRUE(command & pci::config::command_memory);
}

TEST_F(PciTest, MsixRefusals)
{
    {
        MsixDevice d = msix_device(space, 2, 0x800 | 1);
        pci::BusFunction function;
        function.attach(space, mapper, info(d.where), nullptr);
        uint64_t a[3] = {};
        uint32_t v[3] = {};
        EXPECT_EQ(function.enable_msix(a, v, 3).error(), Error::InvalidArgument);
        EXPECT_TRUE(log_contains("asked for 3 MSI-X vectors; the table has 2", log::Level::Warn));
        EXPECT_EQ(function.enable_msix(a, v, 0).error(), Error::InvalidArgument);
        EXPECT_EQ(function.enable_msix(nullptr, v, 1).error(), Error::InvalidArgument);
        EXPECT_FALSE(d.f->read16(0x9a) & pci::msix::control_enable);
    }
    {
        MsixDevice d = msix_device(space, 2, 0x800 | 0); // table "in" the I/O BAR
        pci::BusFunction function;
        function.attach(space, mapper, info(d.where), nullptr);
        uint64_t a[1] = {};
        uint32_t v[1] = {};
        EXPECT_EQ(function.enable_msix(a, v, 1).error(), Error::Corrupt);
        EXPECT_TRUE(log_contains("MSI-X table is in BAR 0, which is not a memory BAR", log::Level::Warn));
    }
    {
        MsixDevice d = msix_device(space, 2, 0x800 | 7);
        pci::BusFunction function;
        function.attach(space, mapper, info(d.where), nullptr);
        uint64_t a[1] = {};
        uint32_t v[1] = {};
        EXPECT_EQ(function.enable_msix(a, v, 1).error(), Error::Corrupt);
    }
    {
        MsixDevice d = msix_device(space, 256, 0xff8 | 1); // 4 KiB table at 0xff8 overruns the BAR
        pci::BusFunction function;
        function.attach(space, mapper, info(d.where), nullptr);
        uint64_t a[1] = {};
        uint32_t v[1] = {};
        EXPECT_EQ(function.enable_msix(a, v, 1).error(), Error::OutOfRange);
    }
    {
        Address where { 0, 0, 5, 0 };
        space.add(where, 0x1af4, 0x1001);
        pci::BusFunction function;
        function.attach(space, mapper, info(where), nullptr);
        uint64_t a[1] = {};
        uint32_t v[1] = {};
        EXPECT_EQ(function.enable_msix(a, v, 1).error(), Error::Unsupported);
    }
}

// ---- BAR windows ----

TEST_F(PciTest, MapBarChecksBoundsAndReusesWindows)
{
    MsixDevice d = msix_device(space, 2, 0x800 | 1);
    FakeConfigSpace::memory_bar(*d.f, 2, 0, 0x1000); // never assigned
    d.f->put16(0x04, 0);
    pci::BusFunction function;
    function.attach(space, mapper, info(d.where), nullptr);

    auto window = function.map_bar(1, 0x100, 0x40);
    ASSERT_TRUE(window);
    EXPECT_EQ(mapper.mapped.back().address, 0xfebd1100u);
    EXPECT_TRUE(d.f->read16(0x04) & pci::config::command_memory);
    EXPECT_FALSE(d.f->read16(0x04) & pci::config::command_io);
    auto again = function.map_bar(1, 0x100, 0x40);
    ASSERT_TRUE(again);
    EXPECT_EQ(*window, *again);
    EXPECT_EQ(mapper.mapped.size(), 1u);

    auto io = function.map_bar(0, 0x10, 0x10);
    ASSERT_TRUE(io);
    EXPECT_EQ(mapper.mapped.back().kind, Bar::Kind::Io);
    EXPECT_EQ(mapper.mapped.back().address, 0xc010u);
    EXPECT_TRUE(d.f->read16(0x04) & pci::config::command_io);

    EXPECT_EQ(function.map_bar(1, 0xfc0, 0x80).error(), Error::OutOfRange);
    EXPECT_EQ(function.map_bar(1, ~uint64_t(0), 0x10).error(), Error::OutOfRange);
    EXPECT_EQ(function.map_bar(1, 0, 0).error(), Error::OutOfRange);
    EXPECT_EQ(function.map_bar(0, 0x30, 0x20).error(), Error::OutOfRange);
    EXPECT_EQ(function.map_bar(2, 0, 0x10).error(), Error::NotFound);
    EXPECT_TRUE(log_contains("BAR 2 was not assigned an address", log::Level::Warn));
    EXPECT_EQ(function.map_bar(3, 0, 0x10).error(), Error::NotFound);
    EXPECT_EQ(function.map_bar(9, 0, 0x10).error(), Error::NotFound);

    mapper.fail_next = true;
    EXPECT_EQ(function.map_bar(1, 0x200, 0x10).error(), Error::Io);
    for (uint32_t i = 0; i < pci::BusFunction::max_windows; ++i)
        (void)function.map_bar(1, 0x400 + i * 0x10, 0x10);
    EXPECT_EQ(function.map_bar(1, 0x800, 0x10).error(), Error::Full);
}

// ---- INTx ----

TEST_F(PciTest, LegacyInterruptRouting)
{
    PlatformInfo platform;
    platform.overrides[0] = InterruptOverride { 0, 2, false, false };
    platform.overrides[1] = InterruptOverride { 11, 11, false, true }; // QEMU: level, active high
    platform.overrides[2] = InterruptOverride { 5, 21, false, false }; // edge: the ISA default
    platform.override_count = 3;
    Address where { 0, 0, 3, 0 };
    FakePciFunction& f = space.add(where, 0x1af4, 0x1001);
    pci::BusFunction function;
    function.attach(space, mapper, info(where), &platform);

    f.put8(0x3d, 0); // no pin
    f.put8(0x3c, 11);
    EXPECT_EQ(function.legacy_interrupt_gsi().error(), Error::NotFound);

    f.put8(0x3d, 1);
    auto line = function.legacy_interrupt();
    ASSERT_TRUE(line);
    EXPECT_EQ(line->gsi, 11u);
    EXPECT_TRUE(line->level_triggered);
    EXPECT_FALSE(line->active_low);

    f.put8(0x3c, 10); // no override: PCI's level, active low
    auto unrouted = function.legacy_interrupt();
    ASSERT_TRUE(unrouted);
    EXPECT_EQ(unrouted->gsi, 10u);
    EXPECT_TRUE(unrouted->level_triggered);
    EXPECT_TRUE(unrouted->active_low);

    f.put8(0x3c, 5); // an edge override moves the GSI only
    auto moved = function.legacy_interrupt();
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->gsi, 21u);
    EXPECT_TRUE(moved->level_triggered);
    EXPECT_TRUE(moved->active_low);

    f.put8(0x3c, 20); // already a GSI
    EXPECT_EQ(*function.legacy_interrupt_gsi(), 20u);

    f.put8(0x3c, 0xff);
    EXPECT_EQ(function.legacy_interrupt_gsi().error(), Error::NotFound);
    EXPECT_TRUE(log_contains("00:03.0 INTA has no interrupt line", log::Level::Warn));
}

// ---- MCFG ----

TEST_F(PciTest, McfgOfQ35)
{
    Machine m = qemu_q35();
    auto regions = pci::parse_mcfg(m.memory, m.mcfg);
    ASSERT_TRUE(regions);
    ASSERT_EQ(regions->count, 1u);
    EXPECT_EQ(regions->regions[0].base, 0xb0000000u);
    EXPECT_EQ(regions->regions[0].segment, 0u);
    EXPECT_EQ(regions->regions[0].start_bus, 0u);
    EXPECT_EQ(regions->regions[0].end_bus, 255u);
    EXPECT_EQ(regions->regions[0].size(), 256u << 20);
    EXPECT_NE(regions->find(0, 200), nullptr);
    EXPECT_EQ(regions->find(1, 0), nullptr);
}

TEST_F(PciTest, McfgEntriesAreCheckedOneByOne)
{
    Bytes body;
    body.zeros(8);
    auto entry = [&](uint64_t base, uint16_t segment, uint8_t start, uint8_t end) {
        body.u64(base).u16(segment).u8(start).u8(end).u32(0);
    };
    entry(0xb0000000, 0, 0, 63);          // good
    entry(0xc0000000, 0, 32, 95);         // overlaps the first on segment 0
    entry(0xc0000000, 1, 16, 31);         // good: segment 1; base is bus 0's
    entry(0, 2, 0, 0);                    // zero base
    entry(0xd0080000, 3, 0, 0);           // not 1 MiB aligned
    entry(0xe0000000, 4, 9, 3);           // inverted
    entry(0xfffffffffff00000ull, 5, 0, 1); // wraps
    body.u32(0xdeadbeef);                 // partial trailing entry
    FakeMemory memory;
    memory.map(0x100000, 0x1000);
    memory.write(0x100000, sdt("MCFG", 1, body));
    auto regions = pci::parse_mcfg(memory, 0x100000);
    ASSERT_TRUE(regions);
    ASSERT_EQ(regions->count, 2u);
    EXPECT_EQ(regions->regions[1].segment, 1u);
    EXPECT_EQ(regions->regions[1].base, 0xc0000000u + (16u << 20));
    EXPECT_EQ(regions->regions[1].start_bus, 16u);
    EXPECT_TRUE(log_contains("allocation 1: segment 0 buses 32-95 are already covered", log::Level::Warn));
    EXPECT_TRUE(log_contains("allocation 3: ECAM base 0x0 is zero or not 1 MiB aligned", log::Level::Warn));
    EXPECT_TRUE(log_contains("allocation 4: ECAM base 0xd0080000", log::Level::Warn));
    EXPECT_TRUE(log_contains("allocation 5: bus range 9-3 is inverted", log::Level::Warn));
    EXPECT_TRUE(log_contains("allocation 6: ECAM 0xfffffffffff00000", log::Level::Warn));
    EXPECT_TRUE(log_contains("partial allocation", log::Level::Warn));
}

TEST_F(PciTest, McfgItselfMustBeValid)
{
    Machine m = qemu_q35();
    m.memory.byte(m.mcfg + 50) ^= 1; // checksum now wrong
    EXPECT_FALSE(pci::parse_mcfg(m.memory, m.mcfg));
    EXPECT_FALSE(pci::parse_mcfg(m.memory, m.madt)); // not an MCFG
}

} // namespace
