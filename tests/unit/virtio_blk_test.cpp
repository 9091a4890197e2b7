// virtio-blk against a simulated device with an in-memory disk, over every
// transport: reads, writes, flushes, splitting by SEG_MAX / SIZE_MAX,
// refusals before the device, device errors, completion only after the
// device completed, many requests in flight, a hostile device.
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/pci_transport.h"
#include "drivers/virtio/virtio_blk.h"
#include "tests/unit/support/log_capture.h"
#include "tests/unit/support/virtio_sim.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <numeric>

using namespace skiff;
using namespace skiff::virtio;
using skiff::block::Operation;
using skiff::block::Request;
using skiff::testing::MallocDma;
using skiff::testing::SimBlk;
using skiff::testing::SimMmio;
using skiff::testing::SimPci;

namespace {

enum class Bus { MmioV2, MmioV1, PciModern, PciLegacy };

const char* bus_name(Bus bus)
{
    switch (bus) {
    case Bus::MmioV2: return "MmioV2";
    case Bus::MmioV1: return "MmioV1";
    case Bus::PciModern: return "PciModern";
    case Bus::PciLegacy: return "PciLegacy";
    }
    return "?";
}

struct Rig {
    SimBlk device;
    std::unique_ptr<SimMmio> mmio;
    std::unique_ptr<SimPci> pci;
    std::unique_ptr<MmioTransport> mmio_transport;
    std::unique_ptr<PciModernTransport> modern_transport;
    std::unique_ptr<PciLegacyTransport> legacy_transport;
    Transport* transport { nullptr };
    MallocDma dma;
    std::unique_ptr<VirtioBlk> blk;
    Result<void> init_result { Error::NotFound };

    static SimBlk::Geometry adjust(Bus bus, SimBlk::Geometry geometry)
    {
        if (bus == Bus::MmioV1 || bus == Bus::PciLegacy)
            geometry.legacy_device = true;
        return geometry;
    }

    Rig(Bus bus, const SimBlk::Geometry& geometry = {}, VirtioBlk::Options options = {}) : device(adjust(bus, geometry))
    {
        switch (bus) {
        case Bus::MmioV2:
        case Bus::MmioV1:
            mmio = std::make_unique<SimMmio>(device, bus == Bus::MmioV2 ? 2 : 1);
            mmio_transport = std::make_unique<MmioTransport>(*mmio);
            EXPECT_TRUE(mmio_transport->probe());
            transport = mmio_transport.get();
            break;
        case Bus::PciModern:
            pci = std::make_unique<SimPci>(device, SimPci::Options {});
            modern_transport = std::make_unique<PciModernTransport>(*pci);
            EXPECT_TRUE(modern_transport->probe());
            transport = modern_transport.get();
            break;
        case Bus::PciLegacy: {
            SimPci::Options pci_options;
            pci_options.modern = false;
            pci_options.legacy = true;
            pci_options.msix = false;
            pci = std::make_unique<SimPci>(device, pci_options);
            legacy_transport = std::make_unique<PciLegacyTransport>(*pci);
            EXPECT_TRUE(legacy_transport->probe());
            transport = legacy_transport.get();
            break;
        }
        }
        blk = std::make_unique<VirtioBlk>(*transport, dma);
        device.on_interrupt = [this] { blk->handle_interrupt(); };
        if (!options.name)
            options.name = "vdt";
        init_result = blk->init(options);
    }
    ~Rig() { device.stop_thread(); }

    // Lets the device work until it is idle, delivering its interrupts.
    void run()
    {
        for (int rounds = 0; rounds < 10000; ++rounds) {
            size_t worked = device.process(0);
            bool interrupted = device.deliver();
            if (!worked && !interrupted)
                return;
        }
        FAIL() << "device never went idle";
    }
};

struct Outcome {
    int calls { 0 };
    std::optional<Error> error;
};

void record(Request& request)
{
    auto* outcome = static_cast<Outcome*>(request.context);
    ++outcome->calls;
    outcome->error = request.error;
}

Request make(Operation operation, uint64_t sector, uint32_t count, void* buffer, Outcome& outcome)
{
    Request request;
    request.operation = operation;
    request.sector = sector;
    request.count = count;
    request.buffer = buffer;
    request.callback = record;
    request.context = &outcome;
    return request;
}

std::vector<uint8_t> pattern(size_t bytes, uint8_t seed)
{
    std::vector<uint8_t> data(bytes);
    for (size_t i = 0; i < bytes; ++i)
        data[i] = uint8_t(seed + i * 7 + i / 512);
    return data;
}

class VirtioBlkOnBus : public ::testing::TestWithParam<Bus> {};

} // namespace

TEST_P(VirtioBlkOnBus, WritesReadsAndFlushes)
{
    Rig rig(GetParam());
    ASSERT_TRUE(rig.init_result);
    VirtioBlk& blk = *rig.blk;
    EXPECT_EQ(blk.capacity(), 2048u);
    EXPECT_EQ(blk.sector_size(), 512u);
    EXPECT_FALSE(blk.read_only());
    EXPECT_TRUE(rig.device.status() & status::driver_ok);

    auto data = pattern(8 * 512, 3);
    Outcome wrote;
    Request write = make(Operation::Write, 100, 8, data.data(), wrote);
    ASSERT_TRUE(blk.submit(write));
    rig.run();
    EXPECT_EQ(wrote.calls, 1);
    EXPECT_FALSE(wrote.error);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data() + 100 * 512, data.data(), data.size()));
    // Not flushed yet: the simulated cache has it, stable storage not.
    EXPECT_NE(0, std::memcmp(rig.device.durable.data() + 100 * 512, data.data(), data.size()));

    std::vector<uint8_t> back(8 * 512, 0xee);
    Outcome read;
    Request request = make(Operation::Read, 100, 8, back.data(), read);
    ASSERT_TRUE(blk.submit(request));
    rig.run();
    EXPECT_EQ(read.calls, 1);
    EXPECT_FALSE(read.error);
    EXPECT_EQ(back, data);

    Outcome flushed;
    Request flush = make(Operation::Flush, 0, 0, nullptr, flushed);
    ASSERT_TRUE(blk.submit(flush));
    rig.run();
    EXPECT_EQ(flushed.calls, 1);
    EXPECT_FALSE(flushed.error);
    EXPECT_EQ(0, std::memcmp(rig.device.durable.data() + 100 * 512, data.data(), data.size()));
    EXPECT_TRUE(rig.device.errors.empty());
}

TEST_P(VirtioBlkOnBus, WriteCompletesOnlyAfterTheDeviceDid)
{
    Rig rig(GetParam());
    ASSERT_TRUE(rig.init_result);
    auto data = pattern(512, 9);
    Outcome wrote;
    Request write = make(Operation::Write, 7, 1, data.data(), wrote);
    ASSERT_TRUE(rig.blk->submit(write));
    EXPECT_EQ(rig.device.fetch(), 1u);
    // The device holds the request: spurious interrupts and polls change nothing.
    rig.device.raise_config_change();
    rig.device.deliver();
    rig.blk->poll();
    EXPECT_EQ(wrote.calls, 0);
    EXPECT_NE(0, std::memcmp(rig.device.disk.data() + 7 * 512, data.data(), 512));
    EXPECT_EQ(rig.device.complete_fetched(), 1u);
    EXPECT_EQ(wrote.calls, 0); // completed, interrupt not delivered yet
    rig.device.deliver();
    EXPECT_EQ(wrote.calls, 1);
    EXPECT_FALSE(wrote.error);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data() + 7 * 512, data.data(), 512));
}

TEST_P(VirtioBlkOnBus, ManyRequestsInFlightBeyondTheRing)
{
    SimBlk::Geometry geometry;
    geometry.queue_size = 8;
    geometry.indirect = false; // 3 descriptors per request: 2 fit at once
    Rig rig(GetParam(), geometry);
    ASSERT_TRUE(rig.init_result);
    constexpr int count = 50;
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<Outcome> outcomes(count);
    std::vector<Request> requests;
    for (int i = 0; i < count; ++i)
        buffers.push_back(pattern(512, uint8_t(i)));
    for (int i = 0; i < count; ++i)
        requests.push_back(make(Operation::Write, uint64_t(i * 3), 1, buffers[i].data(), outcomes[i]));
    for (auto& request : requests)
        ASSERT_TRUE(rig.blk->submit(request));
    rig.run();
    for (int i = 0; i < count; ++i) {
        EXPECT_EQ(outcomes[i].calls, 1) << i;
        EXPECT_FALSE(outcomes[i].error) << i;
        EXPECT_EQ(0, std::memcmp(rig.device.disk.data() + i * 3 * 512, buffers[i].data(), 512)) << i;
    }
    EXPECT_EQ(rig.device.requests.size(), size_t(count));
}

TEST_P(VirtioBlkOnBus, SyncWrappersWithTheDeviceOnItsOwnThread)
{
    Rig rig(GetParam());
    ASSERT_TRUE(rig.init_result);
    rig.device.start_thread();
    auto data = pattern(16 * 512, 5);
    ASSERT_TRUE(block::write_sync(*rig.blk, 2000, 16, data.data()));
    ASSERT_TRUE(block::flush_sync(*rig.blk));
    std::vector<uint8_t> back(16 * 512);
    ASSERT_TRUE(block::read_sync(*rig.blk, 2000, 16, back.data()));
    EXPECT_EQ(back, data);
    EXPECT_EQ(0, std::memcmp(rig.device.durable.data() + 2000 * 512, data.data(), data.size()));
    EXPECT_EQ(block::read_sync(*rig.blk, 2040, 16, back.data()).error(), Error::OutOfRange);
    rig.device.stop_thread();
    EXPECT_GT(rig.device.interrupts_delivered, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTransports, VirtioBlkOnBus, ::testing::Values(Bus::MmioV2, Bus::MmioV1, Bus::PciModern, Bus::PciLegacy),
    [](const ::testing::TestParamInfo<Bus>& info) { return std::string(bus_name(info.param)); });

TEST(VirtioBlk, PollModeNeedsNoInterrupts)
{
    VirtioBlk::Options options;
    options.poll_mode = true;
    for (bool event_idx : { true, false }) {
        SimBlk::Geometry geometry;
        geometry.event_idx = event_idx;
        Rig rig(Bus::MmioV2, geometry, options);
        ASSERT_TRUE(rig.init_result);
        EXPECT_FALSE(rig.blk->interrupt_driven());
        rig.device.start_thread();
        auto data = pattern(4 * 512, 1);
        ASSERT_TRUE(block::write_sync(*rig.blk, 10, 4, data.data()));
        std::vector<uint8_t> back(4 * 512);
        ASSERT_TRUE(block::read_sync(*rig.blk, 10, 4, back.data()));
        EXPECT_EQ(back, data);
        rig.device.stop_thread();
        EXPECT_EQ(rig.device.interrupts_latched, 0);
    }
}

TEST(VirtioBlk, EventIdxCoalescesCompletionsIntoOneInterrupt)
{
    Rig rig(Bus::MmioV2);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(10 * 512);
    std::vector<Outcome> outcomes(10);
    std::vector<Request> requests;
    for (int i = 0; i < 10; ++i)
        requests.push_back(make(Operation::Read, uint64_t(i), 1, buffer.data() + i * 512, outcomes[i]));
    for (auto& request : requests)
        ASSERT_TRUE(rig.blk->submit(request));
    EXPECT_EQ(rig.device.process(0), 10u);
    EXPECT_EQ(rig.device.interrupts_latched, 1);
    rig.device.deliver();
    for (auto& outcome : outcomes)
        EXPECT_EQ(outcome.calls, 1);
    // Notifications were suppressed too: the device had not caught up.
    EXPECT_LT(rig.device.notifications, 10);
}

TEST(VirtioBlk, SplitsBySegMaxAndSizeMax)
{
    SimBlk::Geometry geometry;
    geometry.seg_max = 2;
    geometry.size_max = 4096;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    EXPECT_EQ(rig.blk->limits().max_segments, 2u);
    EXPECT_EQ(rig.blk->limits().max_segment_bytes, 4096u);

    // One 64 KiB buffer: segments of at most 4 KiB, two per request.
    auto data = pattern(64 * 1024, 11);
    Outcome wrote;
    Request write = make(Operation::Write, 300, 128, data.data(), wrote);
    ASSERT_TRUE(rig.blk->submit(write));
    rig.run();
    EXPECT_EQ(wrote.calls, 1);
    EXPECT_FALSE(wrote.error);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data() + 300 * 512, data.data(), data.size()));
    ASSERT_EQ(rig.device.requests.size(), 8u);
    for (size_t i = 0; i < rig.device.requests.size(); ++i) {
        const auto& seen = rig.device.requests[i];
        EXPECT_EQ(seen.type, blk::request_type::out);
        EXPECT_EQ(seen.sector, 300 + i * 16);
        EXPECT_EQ(seen.bytes, 8192u);
        EXPECT_LE(seen.data_segments, 2u);
        EXPECT_LE(seen.largest_segment, 4096u);
    }

    // A scatter list of five uneven pieces, read back.
    rig.device.requests.clear();
    std::vector<uint8_t> pieces[5];
    uint32_t sizes[5] = { 512, 6144, 1024, 512, 512 };
    block::Segment segments[5];
    for (int i = 0; i < 5; ++i) {
        pieces[i].assign(sizes[i], 0);
        segments[i] = { pieces[i].data(), sizes[i] };
    }
    Outcome read;
    Request request = make(Operation::Read, 300, 17, nullptr, read);
    request.segments = segments;
    ASSERT_TRUE(rig.blk->submit(request));
    rig.run();
    EXPECT_EQ(read.calls, 1);
    EXPECT_FALSE(read.error);
    size_t offset = 0;
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(0, std::memcmp(pieces[i].data(), data.data() + offset, sizes[i])) << i;
        offset += sizes[i];
    }
    uint64_t total = 0;
    for (const auto& seen : rig.device.requests) {
        EXPECT_LE(seen.data_segments, 2u);
        EXPECT_LE(seen.largest_segment, 4096u);
        total += seen.bytes;
    }
    EXPECT_EQ(total, 17u * 512);
    EXPECT_TRUE(rig.device.errors.empty());
}

TEST(VirtioBlk, SplitsRequestsLargerThanAPart)
{
    SimBlk::Geometry geometry;
    geometry.sectors = 8192;
    Rig rig(Bus::PciModern, geometry);
    ASSERT_TRUE(rig.init_result);
    auto data = pattern(3 * 1024 * 1024 + 4096, 2);
    Outcome wrote;
    Request write = make(Operation::Write, 0, uint32_t(data.size() / 512), data.data(), wrote);
    ASSERT_TRUE(rig.blk->submit(write));
    rig.run();
    EXPECT_EQ(wrote.calls, 1);
    EXPECT_FALSE(wrote.error);
    EXPECT_EQ(rig.device.requests.size(), 4u);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data(), data.data(), data.size()));
}

TEST(VirtioBlk, ReadOnlyDeviceRefusesWritesBeforeTheDevice)
{
    SimBlk::Geometry geometry;
    geometry.read_only = true;
    geometry.discard = true;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    EXPECT_TRUE(rig.blk->read_only());
    std::vector<uint8_t> data(512, 1);
    Outcome outcome;
    Request write = make(Operation::Write, 0, 1, data.data(), outcome);
    EXPECT_EQ(rig.blk->submit(write).error(), Error::ReadOnly);
    Request discard = make(Operation::Discard, 0, 1, nullptr, outcome);
    EXPECT_EQ(rig.blk->submit(discard).error(), Error::ReadOnly);
    rig.run();
    EXPECT_EQ(outcome.calls, 0);
    EXPECT_TRUE(rig.device.requests.empty());
    Request read = make(Operation::Read, 0, 1, data.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(read));
    rig.run();
    EXPECT_EQ(outcome.calls, 1);
    EXPECT_FALSE(outcome.error);
}

TEST(VirtioBlk, RequestsPastTheEndAreRefusedBeforeTheDevice)
{
    Rig rig(Bus::MmioV2);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> data(1024);
    Outcome outcome;
    Request straddle = make(Operation::Read, 2047, 2, data.data(), outcome);
    EXPECT_EQ(rig.blk->submit(straddle).error(), Error::OutOfRange);
    Request beyond = make(Operation::Write, 2048, 1, data.data(), outcome);
    EXPECT_EQ(rig.blk->submit(beyond).error(), Error::OutOfRange);
    Request wrapping = make(Operation::Read, ~uint64_t(0), 2, data.data(), outcome);
    EXPECT_EQ(rig.blk->submit(wrapping).error(), Error::OutOfRange);
    Request last = make(Operation::Read, 2047, 1, data.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(last));
    rig.run();
    EXPECT_EQ(outcome.calls, 1);
    EXPECT_EQ(rig.device.requests.size(), 1u);
}

TEST(VirtioBlk, DeviceErrorsComeBackAsErrors)
{
    SimBlk::Geometry geometry;
    geometry.seg_max = 1;
    geometry.size_max = 1024;
    Rig rig(Bus::PciModern, geometry);
    ASSERT_TRUE(rig.init_result);
    rig.device.fail_sector = 13;
    auto data = pattern(8 * 512, 4);
    // Split into four parts; the third fails; the request completes once,
    // after every part, with the error.
    Outcome outcome;
    Request write = make(Operation::Write, 8, 8, data.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(write));
    rig.run();
    EXPECT_EQ(outcome.calls, 1);
    ASSERT_TRUE(outcome.error);
    EXPECT_EQ(*outcome.error, Error::Io);

    Outcome fine;
    Request read = make(Operation::Read, 0, 2, data.data(), fine);
    ASSERT_TRUE(rig.blk->submit(read));
    rig.run();
    EXPECT_FALSE(fine.error);

    rig.device.unsupported_type = blk::request_type::flush;
    Outcome flushed;
    Request flush = make(Operation::Flush, 0, 0, nullptr, flushed);
    ASSERT_TRUE(rig.blk->submit(flush));
    rig.run();
    ASSERT_TRUE(flushed.error);
    EXPECT_EQ(*flushed.error, Error::Unsupported);

    rig.device.unsupported_type.reset();
    rig.device.forced_status = 0x77;
    skiff::testing::clear_log();
    Outcome odd;
    Request again = make(Operation::Read, 0, 1, data.data(), odd);
    ASSERT_TRUE(rig.blk->submit(again));
    rig.run();
    ASSERT_TRUE(odd.error);
    EXPECT_EQ(*odd.error, Error::Io);
    EXPECT_TRUE(skiff::testing::log_contains("request status 0x77"));
    EXPECT_FALSE(rig.blk->broken());
}

TEST(VirtioBlk, DiscardAndWriteZeroesAreSplitByTheirLimits)
{
    SimBlk::Geometry geometry;
    geometry.discard = true;
    geometry.write_zeroes = true;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    EXPECT_TRUE(rig.blk->supports(Operation::WriteZeroes));
    std::memset(rig.device.disk.data(), 0xab, rig.device.disk.size());
    Outcome outcome;
    Request zeroes = make(Operation::WriteZeroes, 10, 150, nullptr, outcome);
    ASSERT_TRUE(rig.blk->submit(zeroes));
    rig.run();
    EXPECT_EQ(outcome.calls, 1);
    EXPECT_FALSE(outcome.error);
    ASSERT_EQ(rig.device.requests.size(), 3u); // 64 + 64 + 22 sectors
    EXPECT_EQ(rig.device.requests[2].bytes, 22u * 512);
    EXPECT_EQ(rig.device.disk[10 * 512 - 1], 0xab);
    EXPECT_EQ(rig.device.disk[10 * 512], 0);
    EXPECT_EQ(rig.device.disk[160 * 512 - 1], 0);
    EXPECT_EQ(rig.device.disk[160 * 512], 0xab);

    Outcome discarded;
    Request discard = make(Operation::Discard, 500, 10, nullptr, discarded);
    ASSERT_TRUE(rig.blk->submit(discard));
    rig.run();
    EXPECT_EQ(discarded.calls, 1);
    EXPECT_FALSE(discarded.error);
    EXPECT_EQ(rig.device.requests.back().type, blk::request_type::discard);

    Rig plain(Bus::MmioV2);
    ASSERT_TRUE(plain.init_result);
    Request unsupported = make(Operation::Discard, 0, 1, nullptr, outcome);
    EXPECT_EQ(plain.blk->submit(unsupported).error(), Error::Unsupported);
}

TEST(VirtioBlk, FlushWithoutAWriteCacheCompletesAtOnce)
{
    SimBlk::Geometry geometry;
    geometry.flush = false;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    Outcome outcome;
    Request flush = make(Operation::Flush, 0, 0, nullptr, outcome);
    ASSERT_TRUE(rig.blk->submit(flush));
    EXPECT_EQ(outcome.calls, 1);
    EXPECT_FALSE(outcome.error);
    EXPECT_EQ(rig.device.fetch(), 0u);
}

TEST(VirtioBlk, LargerBlockSizeScalesSectors)
{
    SimBlk::Geometry geometry;
    geometry.blk_size = 4096;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    EXPECT_EQ(rig.blk->sector_size(), 4096u);
    EXPECT_EQ(rig.blk->capacity(), 256u);
    auto data = pattern(4096, 8);
    Outcome outcome;
    Request write = make(Operation::Write, 3, 1, data.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(write));
    rig.run();
    EXPECT_FALSE(outcome.error);
    ASSERT_EQ(rig.device.requests.size(), 1u);
    EXPECT_EQ(rig.device.requests[0].sector, 24u);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data() + 3 * 4096, data.data(), 4096));
    // Buffers must be whole sectors of the device's size.
    block::Segment half { data.data(), 2048 };
    Request odd = make(Operation::Write, 3, 1, nullptr, outcome);
    odd.segments = { &half, 1 };
    EXPECT_EQ(rig.blk->submit(odd).error(), Error::InvalidArgument);
}

TEST(VirtioBlk, BogusConfigurationValuesAreBounded)
{
    SimBlk::Geometry geometry;
    geometry.blk_size = 3000; // not a power of two
    geometry.seg_max = 0;
    geometry.extra_features = blk::feature::seg_max;
    geometry.size_max = 100; // below one sector
    skiff::testing::clear_log();
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    EXPECT_TRUE(skiff::testing::log_contains("ignoring block size 3000"));
    EXPECT_TRUE(skiff::testing::log_contains("seg_max 0"));
    EXPECT_EQ(rig.blk->limits().max_segments, 1u);
    EXPECT_EQ(rig.blk->sector_size(), 512u);
    EXPECT_EQ(rig.blk->limits().max_segment_bytes, 512u);
    auto data = pattern(4096, 6);
    ASSERT_TRUE(rig.blk);
    Outcome outcome;
    Request write = make(Operation::Write, 0, 8, data.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(write));
    rig.run();
    EXPECT_FALSE(outcome.error);
    EXPECT_EQ(0, std::memcmp(rig.device.disk.data(), data.data(), 4096));
}

TEST(VirtioBlk, ImplausibleCapacityIsRefused)
{
    Rig rig(Bus::MmioV2);
    ASSERT_TRUE(rig.init_result);
    // The device now claims 2^62 sectors; a driver starting over refuses it.
    rig.device.config[7] = 0x40;
    skiff::testing::clear_log();
    VirtioBlk again(*rig.transport, rig.dma);
    VirtioBlk::Options options;
    options.name = "vdy";
    EXPECT_EQ(again.init(options).error(), Error::Corrupt);
    EXPECT_TRUE(skiff::testing::log_contains("is not plausible"));
    EXPECT_TRUE(rig.device.status() & status::failed);
}

TEST(VirtioBlk, FlappingConfigurationFailsInit)
{
    SimBlk::Geometry geometry;
    SimBlk device(geometry);
    device.generation_flaps = true;
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    MallocDma dma;
    VirtioBlk blk(transport, dma);
    skiff::testing::clear_log();
    VirtioBlk::Options options;
    options.name = "vdf";
    EXPECT_EQ(blk.init(options).error(), Error::DeviceBroken);
    EXPECT_TRUE(device.status() & status::failed);
    EXPECT_TRUE(skiff::testing::log_contains("keeps changing"));
    EXPECT_EQ(dma.live(), 0u);
}

TEST(VirtioBlk, TinyQueueIsRefused)
{
    SimBlk::Geometry geometry;
    geometry.queue_size = 2;
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_FALSE(rig.init_result);
    EXPECT_EQ(rig.init_result.error(), Error::Unsupported);
    EXPECT_EQ(rig.dma.live(), 0u);
}

TEST(VirtioBlk, CallbacksMaySubmitMoreRequests)
{
    Rig rig(Bus::MmioV2);
    ASSERT_TRUE(rig.init_result);
    struct Chain {
        VirtioBlk* blk;
        int remaining;
        std::vector<uint8_t> buffer = std::vector<uint8_t>(512);
        Request request;
    } chain;
    chain.blk = rig.blk.get();
    chain.remaining = 20;
    chain.request.operation = Operation::Read;
    chain.request.count = 1;
    chain.request.buffer = chain.buffer.data();
    chain.request.context = &chain;
    chain.request.callback = [](Request& request) {
        auto* state = static_cast<Chain*>(request.context);
        if (--state->remaining > 0) {
            request.sector += 1;
            ASSERT_TRUE(state->blk->submit(request));
        }
    };
    ASSERT_TRUE(rig.blk->submit(chain.request));
    rig.run();
    EXPECT_EQ(chain.remaining, 0);
    EXPECT_EQ(rig.device.requests.size(), 20u);
}

TEST(VirtioBlk, HostileDeviceBreaksOnlyItself)
{
    Rig rig(Bus::MmioV2);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(3 * 512);
    std::vector<Outcome> outcomes(3);
    std::vector<Request> requests;
    for (int i = 0; i < 3; ++i)
        requests.push_back(make(Operation::Read, uint64_t(i), 1, buffer.data() + i * 512, outcomes[i]));
    for (auto& request : requests)
        ASSERT_TRUE(rig.blk->submit(request));
    skiff::testing::clear_log();
    rig.device.push_used_raw(0, 4000, 1);
    rig.device.deliver();
    for (auto& outcome : outcomes) {
        EXPECT_EQ(outcome.calls, 1);
        ASSERT_TRUE(outcome.error);
        EXPECT_EQ(*outcome.error, Error::DeviceBroken);
    }
    EXPECT_TRUE(rig.blk->broken());
    EXPECT_TRUE(rig.device.status() & status::failed);
    EXPECT_TRUE(skiff::testing::log_contains("descriptor id 4000"));
    Outcome late;
    Request after = make(Operation::Read, 0, 1, buffer.data(), late);
    EXPECT_EQ(rig.blk->submit(after).error(), Error::DeviceBroken);
    // The device keeps talking; the driver keeps ignoring it.
    rig.device.push_used_raw(0, 1, 99999);
    rig.device.deliver();
    rig.blk->poll();
    EXPECT_EQ(late.calls, 0);
}

TEST(VirtioBlk, HostileLengthFailsRequestsQueuedBehindTheRing)
{
    SimBlk::Geometry geometry;
    geometry.queue_size = 4;
    geometry.indirect = false; // one request in the ring, the rest waiting
    Rig rig(Bus::MmioV2, geometry);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(512);
    std::vector<Outcome> outcomes(4);
    std::vector<Request> requests;
    for (int i = 0; i < 4; ++i)
        requests.push_back(make(Operation::Read, 0, 1, buffer.data(), outcomes[i]));
    for (auto& request : requests)
        ASSERT_TRUE(rig.blk->submit(request));
    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    rig.device.push_used_raw(0, chain->head, 1000); // 513 writable bytes
    rig.device.deliver();
    for (auto& outcome : outcomes) {
        EXPECT_EQ(outcome.calls, 1);
        EXPECT_EQ(outcome.error, Error::DeviceBroken);
    }
}

TEST(VirtioBlk, ConfigurationChangesAreFollowed)
{
    Rig rig(Bus::PciModern);
    ASSERT_TRUE(rig.init_result);
    rig.device.config[0] = 0; // 4096 sectors now
    rig.device.config[1] = 0x10;
    rig.device.raise_config_change();
    rig.device.deliver();
    EXPECT_EQ(rig.blk->capacity(), 4096u);

    std::vector<uint8_t> buffer(512);
    Outcome outcome;
    Request read = make(Operation::Read, 1, 1, buffer.data(), outcome);
    ASSERT_TRUE(rig.blk->submit(read));
    EXPECT_EQ(rig.device.fetch(), 1u);
    rig.device.set_status_bits(status::device_needs_reset);
    rig.device.raise_config_change();
    skiff::testing::clear_log();
    rig.device.deliver();
    EXPECT_EQ(outcome.calls, 1);
    EXPECT_EQ(outcome.error, Error::DeviceBroken);
    EXPECT_TRUE(rig.blk->broken());
    EXPECT_TRUE(skiff::testing::log_contains("device needs a reset"));
}

TEST(VirtioBlk, InterruptsBeforeInitAreHarmless)
{
    SimBlk device(SimBlk::Geometry {});
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    MallocDma dma;
    VirtioBlk blk(transport, dma);
    device.raise_config_change();
    blk.handle_interrupt();
    EXPECT_EQ(blk.poll(), 0u);
    EXPECT_EQ(device.interrupt_status(), 0u);
}

// ---- the progress watchdog ----

struct WatchdogArms {
    int count { 0 };
    static void arm(void* self) { ++static_cast<WatchdogArms*>(self)->count; }
};

TEST(VirtioBlk, WatchdogRecoversALostInterrupt)
{
    WatchdogArms arms;
    VirtioBlk::Options options;
    options.watchdog = { WatchdogArms::arm, &arms };
    Rig rig(Bus::MmioV2, {}, options);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(512);
    Outcome read;
    Request request = make(Operation::Read, 3, 1, buffer.data(), read);
    ASSERT_TRUE(rig.blk->submit(request));
    EXPECT_EQ(arms.count, 1); // requests in flight: the watchdog is asked for
    rig.device.drop_interrupts = 1;
    EXPECT_EQ(rig.device.process(0), 1u);
    EXPECT_FALSE(rig.device.deliver());
    EXPECT_EQ(read.calls, 0); // done on the device, yet nobody heard
    int notifications = rig.device.notifications;
    EXPECT_FALSE(rig.blk->check_progress()); // nothing in flight any more
    EXPECT_EQ(read.calls, 1);
    EXPECT_FALSE(read.error);
    EXPECT_EQ(rig.device.notifications, notifications + 1); // and a re-kick
    EXPECT_EQ(rig.blk->statistics().recovered, 1u);
    EXPECT_TRUE(skiff::testing::log_contains("without an interrupt"));
    // Idle again: the next submission asks for the watchdog anew.
    Outcome again;
    Request second = make(Operation::Read, 4, 1, buffer.data(), again);
    ASSERT_TRUE(rig.blk->submit(second));
    EXPECT_EQ(arms.count, 2);
    rig.run();
    EXPECT_EQ(again.calls, 1);
    EXPECT_FALSE(rig.blk->check_progress());
    EXPECT_EQ(rig.blk->statistics().recovered, 1u);
}

TEST(VirtioBlk, WatchdogRekicksADeviceThatMissedTheKick)
{
    WatchdogArms arms;
    VirtioBlk::Options options;
    options.watchdog = { WatchdogArms::arm, &arms };
    Rig rig(Bus::PciModern, {}, options);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(512);
    Outcome read;
    Request request = make(Operation::Read, 3, 1, buffer.data(), read);
    ASSERT_TRUE(rig.blk->submit(request));
    int notifications = rig.device.notifications;
    // No progress for a period: notify again, keep watching.
    EXPECT_TRUE(rig.blk->check_progress());
    EXPECT_EQ(rig.device.notifications, notifications + 1);
    EXPECT_EQ(read.calls, 0);
    rig.run();
    EXPECT_EQ(read.calls, 1);
    // Progress since the last tick: nothing to recover, and done watching.
    EXPECT_FALSE(rig.blk->check_progress());
    EXPECT_EQ(rig.device.notifications, notifications + 1);
    EXPECT_EQ(rig.blk->statistics().recovered, 0u);
    EXPECT_GE(rig.blk->statistics().interrupts, 1u);
    EXPECT_EQ(rig.blk->statistics().completions, 1u);
}

TEST(VirtioBlk, PollModeHasNoWatchdog)
{
    WatchdogArms arms;
    VirtioBlk::Options options;
    options.poll_mode = true;
    options.watchdog = { WatchdogArms::arm, &arms };
    Rig rig(Bus::MmioV2, {}, options);
    ASSERT_TRUE(rig.init_result);
    std::vector<uint8_t> buffer(512);
    Outcome read;
    Request request = make(Operation::Read, 3, 1, buffer.data(), read);
    ASSERT_TRUE(rig.blk->submit(request));
    EXPECT_EQ(arms.count, 0);
}
