// Block throughput and IOPS: sequential and random 4 KiB reads and writes at
// queue depths 1 and 32, each for a fixed time, printed one line per test:
//   blkbench: <test> qd=<n> iops=<n> mib_s=<n>
//   -- --seconds N   duration of each test (default 3)
//   -- --device NAME default: the first block device
#include <skiff/block.h>
#include <skiff/print.h>
#include <skiff/thread.h>
#include <skiff/time.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace {

constexpr uint32_t io_bytes = 4096;
constexpr unsigned max_depth = 32;

struct Slot {
    skiff::block::Request request;
    std::atomic<bool> finished;
    alignas(4096) uint8_t buffer[io_bytes];
};

Slot g_slots[max_depth];
skiff::Semaphore g_completed(0);
std::atomic<uint64_t> g_errors { 0 };

void on_complete(skiff::block::Request& request)
{
    if (request.error)
        g_errors.fetch_add(1);
    static_cast<Slot*>(request.context)->finished.store(true, std::memory_order_release);
    g_completed.release();
}

uint64_t next_random(uint64_t& state)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

struct Outcome {
    uint64_t operations;
    uint64_t nanoseconds;
};

Outcome run(skiff::block::BlockDevice& device, bool write, bool random, unsigned depth, uint64_t duration_ns)
{
    uint32_t sectors = io_bytes / device.sector_size();
    uint64_t slots_on_disk = device.capacity() / sectors;
    uint64_t state = 0x2545f4914f6cdd1dull, next_sequential = 0;
    auto position = [&] {
        uint64_t chunk = random ? next_random(state) % slots_on_disk : (next_sequential++ % slots_on_disk);
        return chunk * sectors;
    };
    auto issue = [&](Slot& slot) {
        slot.request = {};
        slot.request.operation = write ? skiff::block::Operation::Write : skiff::block::Operation::Read;
        slot.request.sector = position();
        slot.request.count = sectors;
        slot.request.buffer = slot.buffer;
        slot.request.callback = on_complete;
        slot.request.context = &slot;
        slot.finished.store(false, std::memory_order_relaxed);
        if (device.submit(slot.request).is_error()) {
            g_errors.fetch_add(1);
            slot.finished.store(true, std::memory_order_release);
            g_completed.release();
        }
    };
    uint64_t start = skiff::monotonic_ns();
    uint64_t done = 0;
    for (unsigned i = 0; i < depth; ++i)
        issue(g_slots[i]);
    unsigned in_flight = depth;
    // Keep `depth` requests in flight until the time is up, then drain.
    // Completion order is not issue order: reissue whichever slots finished.
    while (in_flight > 0) {
        g_completed.acquire();
        --in_flight;
        ++done;
        if (skiff::monotonic_ns() - start >= duration_ns)
            continue;
        for (unsigned i = 0; i < depth; ++i) {
            Slot& slot = g_slots[i];
            if (slot.finished.exchange(false, std::memory_order_acquire)) {
                issue(slot);
                ++in_flight;
                break;
            }
        }
    }
    return { done, skiff::monotonic_ns() - start };
}

} // namespace

int main(int argc, char** argv)
{
    uint64_t seconds = 3;
    std::string_view name;
    for (int i = 1; i + 1 < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--seconds")
            seconds = uint64_t(argv[++i][0] - '0');
        else if (arg == "--device")
            name = argv[++i];
    }
    skiff::block::BlockDevice* device = name.empty() ? skiff::block::device(0) : skiff::block::find(name);
    if (!device) {
        skiff::println("blkbench: no block device");
        return 1;
    }
    skiff::println("blkbench: device {} {} MiB, {} s per test", device->name(), device->size_bytes() >> 20, seconds);
    struct Test {
        const char* name;
        bool write, random;
    } tests[] = { { "seq-read", false, false }, { "seq-write", true, false }, { "rand-read", false, true }, { "rand-write", true, true } };
    for (const Test& test : tests) {
        if (test.write && device->read_only())
            continue;
        for (unsigned depth : { 1u, 32u }) {
            Outcome outcome = run(*device, test.write, test.random, depth, seconds * 1000000000ull);
            uint64_t iops = outcome.nanoseconds ? outcome.operations * 1000000000ull / outcome.nanoseconds : 0;
            uint64_t kib_s = iops * (io_bytes / 1024);
            skiff::println("blkbench: {} qd={} iops={} mib_s={}.{}", test.name, depth, iops, kib_s / 1024, (kib_s % 1024) * 10 / 1024);
        }
    }
    if (g_errors.load()) {
        skiff::println("blkbench: {} requests failed", g_errors.load());
        return 1;
    }
    return 0;
}
