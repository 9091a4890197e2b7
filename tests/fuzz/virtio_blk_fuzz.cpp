// virtio-blk against a device whose configuration space, request status
// bytes and used ring all come from the fuzz input. Whatever it claims, the
// driver must stay in bounds and every accepted request must be called back
// exactly once (at the latest when the device is declared broken).
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/virtio_blk.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/support/virtio_sim.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace skiff;
using namespace skiff::virtio;

namespace {

using fuzzing::check;
using fuzzing::Input;

struct Slot {
    block::Request request;
    std::vector<uint8_t> buffer;
    int calls { 0 };
    bool accepted { false };
};

void done(block::Request& request) { ++static_cast<Slot*>(request.context)->calls; }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Input input { data, size };
    testing::SimBlk::Geometry geometry;
    geometry.sectors = 64;
    geometry.queue_size = uint16_t(4u << (input.u8() % 4));
    uint8_t flags = input.u8();
    geometry.event_idx = flags & 1;
    geometry.indirect = flags & 2;
    geometry.discard = flags & 4;
    geometry.write_zeroes = flags & 8;
    geometry.read_only = flags & 16;
    testing::SimBlk device(geometry);
    // The configuration space, as the device claims it (or an honest one).
    for (size_t i = 0; (flags & 32) && i < device.config.size() && !input.empty(); ++i) {
        uint8_t byte = input.u8();
        if (byte != 0xff)
            device.config[i] = byte;
    }
    device.offered |= uint64_t(input.u16()) & 0x7ffe; // any virtio-blk feature bits

    testing::SimMmio window(device, 2);
    MmioTransport transport(window);
    check(transport.probe().has_value());
    testing::MallocDma dma;
    VirtioBlk blk(transport, dma);
    device.on_interrupt = [&] { blk.handle_interrupt(); };
    VirtioBlk::Options options;
    options.name = "vdfuzz";
    if (!blk.init(options).has_value())
        return 0;
    check(blk.sector_size() >= 512 && blk.sector_size() <= 65536);

    std::vector<Slot> slots(16);
    size_t next = 0;
    for (int steps = 0; steps < 512 && !input.empty(); ++steps) {
        switch (input.u8() % 7) {
        case 0: {
            if (next == slots.size())
                break;
            Slot& slot = slots[next];
            block::Request& request = slot.request;
            request.operation = static_cast<block::Operation>(input.u8() % 5);
            request.sector = input.u8() % 80;
            request.count = input.u8() % 9;
            slot.buffer.assign(size_t(request.count) * blk.sector_size(), 0);
            request.buffer = slot.buffer.empty() ? nullptr : slot.buffer.data();
            request.callback = done;
            request.context = &slot;
            slot.accepted = blk.submit(request).has_value();
            ++next;
            break;
        }
        case 1: device.process(0); break;
        case 2: device.forced_status = input.u8() % 2 ? std::optional<uint8_t>(input.u8() % 4) : std::nullopt; break;
        case 3: device.push_used_raw(0, input.u16() % 300, input.u32() % 70000); break;
        case 4:
            if (auto chain = device.pop_avail(0))
                device.push_used(0, chain->head, input.u32() % 5000);
            break;
        case 5: device.deliver(); break;
        case 6: blk.poll(); break;
        }
        for (const Slot& slot : slots)
            check(slot.calls <= 1);
    }
    // Let an honest device finish, then declare it broken: nothing may stay
    // pending and nothing may be completed twice.
    device.forced_status.reset();
    device.process(0);
    device.deliver();
    device.set_status_bits(status::device_needs_reset);
    device.raise_config_change();
    device.deliver();
    for (const Slot& slot : slots)
        check(slot.calls == (slot.accepted ? 1 : 0));
    return 0;
}
