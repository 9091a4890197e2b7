// Bytes become PCI configuration spaces (format below); enumeration, BAR
// sizing, the capability walk, MSI-X programming, BAR windows and INTx
// routing run over them. Nothing may crash or loop, sized BARs must be
// powers of two inside the BAR's address space, and sizing must leave the
// configuration space exactly as it found it.
//
//   repeated, up to 16 times, 282 bytes each:
//     byte 0   bus (bits 5-7, so buses 0-7) and device (bits 0-4)
//     byte 1   function (bits 0-2)
//     256      configuration space
//     24       writable-bit masks of BARs 0-5 (little-endian u32)
#include "bus/pci/bars.h"
#include "bus/pci/bus_function.h"
#include "bus/pci/capabilities.h"
#include "bus/pci/enumerate.h"
#include "bus/pci/msix.h"
#include "bus/pci/testing/fake_config_space.h"
#include "firmware/platform.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace skiff;
using namespace skiff::testing;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

constexpr size_t chunk = 2 + 256 + 24;
constexpr size_t max_functions = 16;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FakeConfigSpace space;
    for (size_t i = 0; i < max_functions && (i + 1) * chunk <= size; ++i) {
        const uint8_t* c = data + i * chunk;
        pci::Address address { 0, uint8_t(c[0] >> 5), uint8_t(c[0] & 31), uint8_t(c[1] & 7) };
        FakePciFunction& f = space.add(address, 0, 0);
        std::memcpy(f.bytes.data(), c + 2, 256);
        for (unsigned bar = 0; bar < 6; ++bar)
            std::memcpy(&f.bar_writable[bar], c + 2 + 256 + 4 * bar, 4);
    }

    PlatformInfo platform;
    platform.overrides[0] = InterruptOverride { 0, 2, false, false };
    platform.overrides[1] = InterruptOverride { 11, 11, false, true };
    platform.override_count = 2;
    FakeBarMapper mapper;

    std::vector<pci::FunctionInfo> found;
    pci::enumerate(space, 0, 0, [&](const pci::FunctionInfo& info) { found.push_back(info); });
    check(found.size() <= 8 * 32 * 8);

    for (const pci::FunctionInfo& info : found) {
        FakePciFunction* f = space.find(info.address);
        check(f != nullptr);
        auto before = f->bytes;
        pci::BusFunction function;
        function.attach(space, mapper, info, &platform);
        check(f->bytes == before); // sizing restores every register
        check(!f->sized_while_decoding);

        for (unsigned i = 0; i < pci::max_bars; ++i) {
            pci::Bar bar = function.bar(i);
            if (bar.kind == pci::Bar::Kind::None)
                continue;
            check(bar.size != 0 && (bar.size & (bar.size - 1)) == 0);
            if (bar.kind != pci::Bar::Kind::Memory64)
                check(bar.size <= (uint64_t(1) << 32));
            for (uint64_t offset : { uint64_t(0), bar.size / 2, bar.size - 1 }) {
                auto window = function.map_bar(i, offset, 0x10);
                if (window) {
                    check(offset + 0x10 <= bar.size);
                    check((*window)->size() == 0x10);
                }
            }
        }

        size_t visits = 0;
        (void)pci::walk_capabilities(function, [&](uint8_t, uint8_t offset) {
            check(offset >= 0x40);
            return ++visits < 1000;
        });
        check(visits <= 48);

        uint64_t addresses[3] = { 0xfee00000, 0xfee01000, 0xfee02000 };
        uint32_t values[3] = { 0x41, 0x42, 0x43 };
        auto msix = function.enable_msix(addresses, values, 1 + (info.device_id % 3));
        if (msix) {
            auto capability = pci::msix::read_capability(function);
            check(capability.has_value());
            check(function.config_read16(uint16_t(capability->offset + pci::msix::message_control)) & pci::msix::control_enable);
        }
        (void)function.legacy_interrupt();
    }
    return 0;
}
