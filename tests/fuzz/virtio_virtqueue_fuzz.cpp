// A hostile device driven by the fuzz input against the split virtqueue: it
// completes real chains with arbitrary lengths, invents used entries, moves
// the used index anywhere and plays with notification suppression, while
// the driver adds, kicks, polls and toggles interrupts. The queue must never
// read or write out of bounds, and every token posted must come back exactly
// once (completed, or failed once the queue is broken).
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/support/virtio_sim.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

using namespace skiff;
using namespace skiff::virtio;

namespace {

using fuzzing::check;
using fuzzing::Input;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Input input { data, size };
    uint8_t setup = input.u8();
    uint64_t features = (setup & 1 ? feature::event_idx : 0) | (setup & 2 ? feature::indirect_desc : 0);
    uint16_t queue_size = uint16_t(1u << (1 + (setup >> 2) % 5)); // 2..32
    uint16_t indirect_capacity = uint16_t(1 + (setup >> 5));

    testing::SimDevice device(7, feature::version_1 | features, 16);
    device.queues[0].max_size = queue_size;
    testing::SimMmio window(device, 2);
    MmioTransport transport(window);
    check(transport.probe().has_value());
    check(negotiate_features(transport, "fuzz", features).has_value());
    testing::MallocDma dma;
    Virtqueue queue;
    check(queue.init(transport, dma, { "fuzzq", 0, queue_size, bool(features & feature::event_idx),
                                         bool(features & feature::indirect_desc), indirect_capacity })
              .has_value());

    static uint8_t buffers[8][64];
    std::map<uintptr_t, int> returned;
    uintptr_t next_token = 1;
    auto drain = [&] {
        queue.poll([&](const Virtqueue::Used& used) {
            uintptr_t token = reinterpret_cast<uintptr_t>(used.token);
            check(token > 0 && token < next_token);
            check(++returned[token] == 1);
            if (used.error)
                check(*used.error == Error::DeviceBroken);
        });
    };

    for (int steps = 0; steps < 4096 && !input.empty(); ++steps) {
        switch (input.u8() % 9) {
        case 0: {
            size_t count = 1 + input.u8() % 6;
            size_t writable_from = input.u8() % (count + 1);
            std::vector<Virtqueue::Buffer> chain;
            for (size_t i = 0; i < count; ++i)
                chain.push_back({ reinterpret_cast<uint64_t>(buffers[i]), uint32_t(1 + input.u8() % 64), i >= writable_from });
            if (queue.add(chain, reinterpret_cast<void*>(next_token)).has_value())
                ++next_token;
            break;
        }
        case 1: queue.kick(); break;
        case 2:
            if (auto chain = device.pop_avail(0))
                device.push_used(0, chain->head, input.u8() % 2 ? uint32_t(chain->writable_bytes()) : input.u32());
            break;
        case 3: device.push_used_raw(0, input.u16() % (2u * queue_size + 2), input.u32() % 200); break;
        case 4: device.set_used_index(0, input.u16()); break;
        case 5: drain(); break;
        case 6:
            if (input.u8() % 2)
                queue.disable_interrupts();
            else
                queue.enable_interrupts();
            break;
        case 7:
            device.no_notify_flag = input.u8() % 2;
            if (input.u8() % 2)
                device.avail_event_override = input.u16();
            else
                device.avail_event_override.reset();
            break;
        case 8: check(queue.free_descriptors() <= queue.size()); break;
        }
        check(queue.chains_in_flight() <= queue.size());
    }
    queue.mark_broken("fuzz input over");
    drain();
    check(queue.chains_in_flight() == 0);
    for (uintptr_t token = 1; token < next_token; ++token)
        check(returned[token] == 1);
    queue.release();
    check(dma.live() == 0);
    return 0;
}
