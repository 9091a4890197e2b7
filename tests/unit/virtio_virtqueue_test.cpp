// The split virtqueue against a simulated device: chains, indirect tables,
// notification suppression both ways, 16-bit index wrap-around, and a
// hostile device that must never crash the driver.
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/unit/support/log_capture.h"
#include "tests/unit/support/virtio_sim.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace skiff;
using namespace skiff::virtio;
using skiff::testing::MallocDma;
using skiff::testing::SimDevice;
using skiff::testing::SimMmio;

namespace {

struct Rig {
    SimDevice device;
    SimMmio window;
    MmioTransport transport;
    MallocDma dma;
    Virtqueue queue;

    explicit Rig(uint64_t features, uint16_t device_max = 8, uint16_t requested = 8, uint16_t indirect_capacity = 8)
        : device(7, feature::version_1 | features, 16), window(device, 2), transport(window)
    {
        device.queues[0].max_size = device_max;
        EXPECT_TRUE(transport.probe());
        auto negotiated = negotiate_features(transport, "test", features);
        EXPECT_TRUE(negotiated);
        Virtqueue::Config config { "testq", 0, requested, bool(features & feature::event_idx), bool(features & feature::indirect_desc),
            indirect_capacity };
        EXPECT_TRUE(queue.init(transport, dma, config));
        set_driver_ok(transport);
    }
    ~Rig() { queue.release(); }

    // Pops everything the driver made available and completes it, writing
    // `written` bytes (bounded by the chain's writable space).
    size_t complete_all(uint32_t written = 0)
    {
        size_t count = 0;
        while (auto chain = device.pop_avail(0)) {
            uint32_t length = std::min<uint64_t>(written, chain->writable_bytes());
            device.push_used(0, chain->head, length);
            ++count;
        }
        return count;
    }

    std::vector<Virtqueue::Used> drain()
    {
        std::vector<Virtqueue::Used> out;
        queue.poll([&](const Virtqueue::Used& used) { out.push_back(used); });
        return out;
    }
};

int token_id(void* token) { return int(reinterpret_cast<intptr_t>(token)); }
void* token_of(int id) { return reinterpret_cast<void*>(intptr_t(id)); }

Virtqueue::Buffer readable(const void* data, uint32_t length) { return { reinterpret_cast<uint64_t>(data), length, false }; }
Virtqueue::Buffer writable(void* data, uint32_t length) { return { reinterpret_cast<uint64_t>(data), length, true }; }

} // namespace

TEST(Virtqueue, ChainRoundTrip)
{
    Rig rig(0);
    EXPECT_EQ(rig.queue.size(), 8);
    char request[] = "hello";
    char reply[16] = {};
    Virtqueue::Buffer buffers[] = { readable(request, 5), writable(reply, sizeof(reply)) };
    ASSERT_TRUE(rig.queue.add(buffers, token_of(42)));
    EXPECT_EQ(rig.queue.free_descriptors(), 6);
    EXPECT_TRUE(rig.queue.kick());
    EXPECT_EQ(rig.device.notifications, 1);

    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    EXPECT_FALSE(chain->indirect);
    ASSERT_EQ(chain->readable.size(), 1u);
    ASSERT_EQ(chain->writable.size(), 1u);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(chain->readable[0].data), 5), "hello");
    EXPECT_EQ(chain->writable[0].length, sizeof(reply));
    chain->scatter(reinterpret_cast<const uint8_t*>("world"), 5);
    rig.device.push_used(0, chain->head, 5);

    auto used = rig.drain();
    ASSERT_EQ(used.size(), 1u);
    EXPECT_EQ(token_id(used[0].token), 42);
    EXPECT_EQ(used[0].written, 5u);
    EXPECT_FALSE(used[0].error);
    EXPECT_EQ(std::string(reply, 5), "world");
    EXPECT_EQ(rig.queue.free_descriptors(), 8);
    EXPECT_EQ(rig.queue.chains_in_flight(), 0);
    EXPECT_TRUE(rig.device.errors.empty());
}

TEST(Virtqueue, QueueSizeIsPowerOfTwoWithinDeviceMaximum)
{
    Rig rig(0, 100, 256);
    EXPECT_EQ(rig.queue.size(), 64);
    EXPECT_EQ(rig.device.queues[0].size, 64);
}

TEST(Virtqueue, FullWhenNoDescriptorsLeftAndRecoversAfterCompletion)
{
    Rig rig(0);
    uint8_t data[8][4] {};
    for (int i = 0; i < 8; ++i) {
        Virtqueue::Buffer buffer = writable(data[i], 4);
        ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(i)));
    }
    Virtqueue::Buffer extra = writable(data[0], 4);
    auto full = rig.queue.add({ &extra, 1 }, token_of(99));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error(), Error::Full);
    EXPECT_FALSE(rig.queue.can_add(1));
    rig.queue.kick();

    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    rig.device.push_used(0, chain->head, 4);
    auto used = rig.drain();
    ASSERT_EQ(used.size(), 1u);
    EXPECT_EQ(token_id(used[0].token), 0);
    EXPECT_TRUE(rig.queue.can_add(1));
    EXPECT_TRUE(rig.queue.add({ &extra, 1 }, token_of(99)));
}

TEST(Virtqueue, DirectChainsTakeOneDescriptorPerBuffer)
{
    Rig rig(0);
    uint8_t a[4], b[4], c[4];
    Virtqueue::Buffer chain[] = { readable(a, 4), readable(b, 4), writable(c, 4) };
    ASSERT_TRUE(rig.queue.add(chain, token_of(1)));
    ASSERT_TRUE(rig.queue.add(chain, token_of(2)));
    EXPECT_EQ(rig.queue.free_descriptors(), 2);
    EXPECT_EQ(rig.queue.add(chain, token_of(3)).error(), Error::Full);
    rig.queue.kick();
    auto first = rig.device.pop_avail(0);
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->indirect);
    EXPECT_EQ(first->readable.size(), 2u);
    EXPECT_EQ(first->writable.size(), 1u);
}

TEST(Virtqueue, IndirectChainsTakeOneRingDescriptor)
{
    Rig rig(feature::indirect_desc, 8, 8, 4);
    EXPECT_TRUE(rig.queue.uses_indirect());
    uint8_t data[8][3][4] {};
    for (int i = 0; i < 8; ++i) {
        Virtqueue::Buffer chain[] = { readable(data[i][0], 4), readable(data[i][1], 4), writable(data[i][2], 4) };
        data[i][0][0] = uint8_t(i);
        ASSERT_TRUE(rig.queue.add(chain, token_of(i)));
    }
    EXPECT_EQ(rig.queue.free_descriptors(), 0);
    rig.queue.kick();
    for (int i = 0; i < 8; ++i) {
        auto chain = rig.device.pop_avail(0);
        ASSERT_TRUE(chain);
        EXPECT_TRUE(chain->indirect);
        ASSERT_EQ(chain->readable.size(), 2u);
        ASSERT_EQ(chain->writable.size(), 1u);
        EXPECT_EQ(chain->readable[0].data[0], i);
        rig.device.push_used(0, chain->head, 4);
    }
    auto used = rig.drain();
    ASSERT_EQ(used.size(), 8u);
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(token_id(used[i].token), i);
    EXPECT_EQ(rig.device.indirect_chains, 8);
    EXPECT_EQ(rig.queue.free_descriptors(), 8);

    // Longer than an indirect table: falls back to a direct chain.
    uint8_t bytes[6][4];
    Virtqueue::Buffer longer[6];
    for (int i = 0; i < 6; ++i)
        longer[i] = readable(bytes[i], 4);
    ASSERT_TRUE(rig.queue.add(longer, token_of(50)));
    EXPECT_EQ(rig.queue.free_descriptors(), 2);
    rig.queue.kick();
    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    EXPECT_FALSE(chain->indirect);
    EXPECT_EQ(chain->readable.size(), 6u);
    EXPECT_TRUE(rig.device.errors.empty());
}

TEST(Virtqueue, SixteenBitIndicesWrapAround)
{
    Rig rig(feature::event_idx | feature::indirect_desc, 4, 4, 4);
    uint8_t data[4][2];
    std::mt19937 random(7);
    int next_token = 0;
    int expected = 0;
    while (expected < 70000) {
        int batch = 1 + int(random() % 4);
        for (int i = 0; i < batch; ++i) {
            Virtqueue::Buffer chain[] = { readable(data[i], 1), writable(data[i] + 1, 1) };
            ASSERT_TRUE(rig.queue.add(chain, token_of(next_token++)));
        }
        rig.queue.kick();
        ASSERT_EQ(rig.complete_all(1), size_t(batch));
        for (const auto& used : rig.drain()) {
            ASSERT_EQ(token_id(used.token), expected);
            ASSERT_EQ(used.written, 1u);
            ++expected;
        }
    }
    EXPECT_EQ(expected, next_token);
    EXPECT_EQ(rig.device.avail_index(0), uint16_t(next_token));
    EXPECT_EQ(rig.queue.free_descriptors(), 4);
    EXPECT_FALSE(rig.queue.broken());
    EXPECT_TRUE(rig.device.errors.empty());
}

TEST(Virtqueue, EventIdxSuppressesNotificationsUntilTheDeviceAsks)
{
    Rig rig(feature::event_idx);
    uint8_t byte;
    Virtqueue::Buffer buffer = writable(&byte, 1);

    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(1)));
    EXPECT_TRUE(rig.queue.kick()); // avail_event 0: wants to hear about index 1
    ASSERT_TRUE(rig.device.pop_avail(0)); // device has seen 1, asks for the next
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(2)));
    EXPECT_TRUE(rig.queue.kick());
    // The device has not caught up with 2 yet: it will find 3 on its own.
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(3)));
    EXPECT_FALSE(rig.queue.kick());
    EXPECT_EQ(rig.device.notifications, 2);

    // A device that only wants to hear once index 6 is published.
    rig.device.avail_event_override = 5;
    while (rig.device.pop_avail(0)) {
    }
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(4)));
    EXPECT_FALSE(rig.queue.kick()); // index 4
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(5)));
    EXPECT_FALSE(rig.queue.kick()); // index 5
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(6)));
    EXPECT_TRUE(rig.queue.kick()); // index 6 crosses avail_event 5
    EXPECT_EQ(rig.device.notifications, 3);
    // Nothing added: no notification at all.
    EXPECT_FALSE(rig.queue.kick());
}

TEST(Virtqueue, EventIdxCoalescesInterruptsAndPollModeSilencesThem)
{
    Rig rig(feature::event_idx);
    uint8_t bytes[8];
    for (int i = 0; i < 6; ++i) {
        Virtqueue::Buffer buffer = writable(&bytes[i], 1);
        ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(i)));
    }
    rig.queue.kick();
    auto complete_one = [&] {
        auto chain = rig.device.pop_avail(0);
        ASSERT_TRUE(chain);
        rig.device.push_used(0, chain->head, 1);
    };
    complete_one();
    EXPECT_EQ(rig.device.interrupts_latched, 1);
    complete_one(); // the driver has not looked yet: no second interrupt
    EXPECT_EQ(rig.device.interrupts_latched, 1);
    EXPECT_EQ(rig.drain().size(), 2u);
    EXPECT_EQ(rig.device.driver_used_event(0), 2);
    complete_one(); // re-armed: interrupts again
    EXPECT_EQ(rig.device.interrupts_latched, 2);

    rig.queue.disable_interrupts();
    EXPECT_EQ(rig.drain().size(), 1u);
    complete_one();
    complete_one();
    EXPECT_EQ(rig.device.interrupts_latched, 2);
    EXPECT_EQ(rig.drain().size(), 2u);
    complete_one();
    EXPECT_EQ(rig.device.interrupts_latched, 2);
    // Re-enabling reports the completion that arrived while silenced.
    EXPECT_TRUE(rig.queue.enable_interrupts());
    EXPECT_EQ(rig.drain().size(), 1u);
    EXPECT_FALSE(rig.queue.enable_interrupts());
    EXPECT_EQ(rig.device.avail_index(0), 6);
    EXPECT_EQ(rig.device.driver_avail_flags(0), 0); // flags stay 0 with EVENT_IDX
}

TEST(Virtqueue, FlagsSuppressWithoutEventIdx)
{
    Rig rig(0);
    uint8_t bytes[4];
    Virtqueue::Buffer buffer = writable(&bytes[0], 1);
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(0)));
    EXPECT_TRUE(rig.queue.kick());
    rig.device.no_notify_flag = true;
    rig.complete_all(1); // the device publishes USED_F_NO_NOTIFY with the used entry
    EXPECT_EQ(rig.device.interrupts_latched, 1);
    EXPECT_EQ(rig.drain().size(), 1u);
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(1)));
    EXPECT_FALSE(rig.queue.kick());
    EXPECT_EQ(rig.device.notifications, 1);

    rig.queue.disable_interrupts();
    EXPECT_EQ(rig.device.driver_avail_flags(0), avail_flag_no_interrupt);
    rig.complete_all(1);
    EXPECT_EQ(rig.device.interrupts_latched, 1);
    EXPECT_TRUE(rig.queue.enable_interrupts());
    EXPECT_EQ(rig.device.driver_avail_flags(0), 0);
    EXPECT_EQ(rig.drain().size(), 1u);
}

TEST(Virtqueue, RefusesMalformedChains)
{
    Rig rig(0);
    uint8_t data[16];
    EXPECT_EQ(rig.queue.add({}, token_of(0)).error(), Error::InvalidArgument);
    Virtqueue::Buffer zero = readable(data, 0);
    EXPECT_EQ(rig.queue.add({ &zero, 1 }, token_of(0)).error(), Error::InvalidArgument);
    Virtqueue::Buffer backwards[] = { writable(data, 4), readable(data + 4, 4) };
    EXPECT_EQ(rig.queue.add(backwards, token_of(0)).error(), Error::InvalidArgument);
    std::vector<Virtqueue::Buffer> too_many(9, readable(data, 1));
    EXPECT_EQ(rig.queue.add(too_many, token_of(0)).error(), Error::InvalidArgument);
    EXPECT_EQ(rig.queue.free_descriptors(), 8);
    EXPECT_FALSE(rig.queue.kick());
}

TEST(Virtqueue, InitFailuresLeaveNothingBehind)
{
    SimDevice device(7, feature::version_1, 16);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    ASSERT_TRUE(negotiate_features(transport, "test", 0));
    MallocDma dma;
    {
        Virtqueue queue;
        skiff::testing::clear_log();
        auto result = queue.init(transport, dma, { "testq", 3, 8, false, false, 0 });
        EXPECT_EQ(result.error(), Error::NotFound);
        EXPECT_TRUE(skiff::testing::log_contains("no queue 3"));
    }
    for (int fail_after = 0; fail_after < 3; ++fail_after) {
        Virtqueue queue;
        dma.fail_after = fail_after;
        auto result = queue.init(transport, dma, { "testq", 0, 8, false, true, 4 });
        EXPECT_EQ(result.error(), Error::OutOfMemory);
        EXPECT_EQ(dma.live(), 0u);
    }
    dma.fail_after = -1;
    Virtqueue queue;
    ASSERT_TRUE(queue.init(transport, dma, { "testq", 0, 8, false, true, 4 }));
    EXPECT_EQ(dma.live(), 3u);
    queue.release();
    EXPECT_EQ(dma.live(), 0u);
}

// --- hostile devices ---

namespace {

struct HostileRig : Rig {
    uint8_t data[8][16] {};
    std::set<int> posted;

    explicit HostileRig(uint64_t features = 0) : Rig(features) {}

    void post(int count, int buffers = 1)
    {
        for (int i = 0; i < count; ++i) {
            int id = int(posted.size());
            std::vector<Virtqueue::Buffer> chain;
            for (int b = 0; b + 1 < buffers; ++b)
                chain.push_back(readable(data[id], 4));
            chain.push_back(writable(data[id] + 8, 8));
            ASSERT_TRUE(queue.add(chain, token_of(id)));
            posted.insert(id);
        }
        queue.kick();
    }

    // After the violation: everything posted comes back exactly once, the
    // ones still in flight failed, and the queue refuses new work.
    void expect_broken(const std::string& message, size_t completed_ok = 0)
    {
        auto used = drain();
        std::multiset<int> returned;
        size_t failed = 0;
        for (const auto& entry : used) {
            returned.insert(token_id(entry.token));
            if (entry.error) {
                EXPECT_EQ(*entry.error, Error::DeviceBroken);
                ++failed;
            }
        }
        EXPECT_EQ(returned.size(), posted.size());
        for (int id : posted)
            EXPECT_EQ(returned.count(id), 1u) << "token " << id;
        EXPECT_EQ(failed, posted.size() - completed_ok);
        EXPECT_TRUE(queue.broken());
        EXPECT_EQ(queue.chains_in_flight(), 0);
        EXPECT_TRUE(skiff::testing::log_contains(message, log::Level::Error)) << message;
        Virtqueue::Buffer buffer = writable(data[0], 1);
        EXPECT_EQ(queue.add({ &buffer, 1 }, token_of(100)).error(), Error::DeviceBroken);
        EXPECT_FALSE(queue.kick());
        EXPECT_TRUE(drain().empty());
    }
};

} // namespace

TEST(VirtqueueHostile, UsedIdOutOfRange)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(2);
    rig.device.push_used_raw(0, 1000, 0);
    rig.expect_broken("descriptor id 1000, which is not a chain in flight");
}

TEST(VirtqueueHostile, UsedIdNotInFlight)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(2);
    rig.device.push_used_raw(0, 5, 0);
    rig.expect_broken("descriptor id 5, which is not a chain in flight");
}

TEST(VirtqueueHostile, UsedIdInsideAChain)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(1, 3); // descriptors 0, 1, 2; only 0 is a head
    rig.device.push_used_raw(0, 1, 0);
    rig.expect_broken("descriptor id 1, which is not a chain in flight");
}

TEST(VirtqueueHostile, DuplicatedUsedId)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(3);
    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    rig.device.push_used(0, chain->head, 1);
    rig.device.push_used_raw(0, chain->head, 1);
    rig.expect_broken("which is not a chain in flight", 1);
}

TEST(VirtqueueHostile, UsedLengthBeyondTheBuffer)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(2);
    auto chain = rig.device.pop_avail(0);
    ASSERT_TRUE(chain);
    rig.device.push_used_raw(0, chain->head, 9); // 8 writable bytes
    rig.expect_broken("claims 9 bytes written");
}

TEST(VirtqueueHostile, UsedLengthOnAReadOnlyChain)
{
    skiff::testing::clear_log();
    HostileRig rig;
    uint8_t byte = 0;
    Virtqueue::Buffer buffer = readable(&byte, 1);
    ASSERT_TRUE(rig.queue.add({ &buffer, 1 }, token_of(0)));
    rig.posted.insert(0);
    rig.device.push_used_raw(0, 0, 1);
    rig.expect_broken("claims 1 bytes written");
}

TEST(VirtqueueHostile, UsedIndexJumpsBeyondTheQueue)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(2);
    rig.device.set_used_index(0, 9);
    rig.expect_broken("moved the used index from 0 to 9");
}

TEST(VirtqueueHostile, UsedIndexAdvancesPastWhatIsInFlight)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(2);
    rig.device.set_used_index(0, 3);
    rig.expect_broken("with only 2 chains in flight");
}

TEST(VirtqueueHostile, UsedIndexMovesBackwards)
{
    skiff::testing::clear_log();
    HostileRig rig;
    rig.post(3);
    rig.complete_all(1);
    ASSERT_EQ(rig.drain().size(), 3u);
    rig.posted.clear();
    rig.post(1);
    rig.device.set_used_index(0, 1);
    rig.expect_broken("moved the used index from 3 to 1");
}

TEST(VirtqueueHostile, RandomDeviceNeverCrashesTheDriver)
{
    for (uint32_t seed = 1; seed <= 200; ++seed) {
        HostileRig rig(seed % 2 ? feature::event_idx | feature::indirect_desc : 0);
        std::mt19937 random(seed);
        std::map<int, int> returned;
        int next = 0;
        for (int step = 0; step < 200; ++step) {
            switch (random() % 6) {
            case 0: {
                int buffers = 1 + int(random() % 3);
                std::vector<Virtqueue::Buffer> chain(buffers - 1, readable(rig.data[0], 4));
                chain.push_back(writable(rig.data[1], 8));
                if (rig.queue.add(chain, token_of(next)))
                    ++next;
                rig.queue.kick();
                break;
            }
            case 1: rig.complete_all(uint32_t(random() % 10)); break;
            case 2: rig.device.push_used_raw(0, uint32_t(random() % 12), uint32_t(random() % 12)); break;
            case 3:
                if (random() % 8 == 0)
                    rig.device.set_used_index(0, uint16_t(random()));
                break;
            default:
                for (const auto& used : rig.drain())
                    ++returned[token_id(used.token)];
                break;
            }
        }
        rig.queue.mark_broken("test over");
        for (const auto& used : rig.drain())
            ++returned[token_id(used.token)];
        ASSERT_EQ(int(returned.size()), next) << "seed " << seed;
        for (auto [token, count] : returned)
            ASSERT_EQ(count, 1) << "seed " << seed << " token " << token;
        ASSERT_EQ(rig.queue.chains_in_flight(), 0);
    }
}
