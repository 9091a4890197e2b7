// Proves the block stack end to end: writes a known pattern to the first,
// last and pseudo-random sectors of the disk, flushes, reads everything back
// and compares; checks that a request past the end is refused.
//   -- --verify-only    only verify (data written by an earlier boot)
//   -- --expect-readonly the disk is read-only: writes must be refused cleanly
//   -- --seed N         pattern seed (default 24301)
//   -- --device NAME    default: the first block device
#include <skiff/block.h>
#include <skiff/print.h>

#include <cstdint>
#include <string_view>

namespace {

constexpr uint32_t chunk_bytes = 4096;
constexpr unsigned random_chunks = 48;

uint64_t parse_number(const char* text)
{
    uint64_t value = 0;
    for (; *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + uint64_t(*text - '0');
    return value;
}

uint64_t next_random(uint64_t& state)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

void fill(uint64_t* words, uint64_t sector, uint64_t seed)
{
    for (uint32_t i = 0; i < chunk_bytes / 8; ++i)
        words[i] = (sector << 24) ^ (uint64_t(i) << 8) ^ (seed * 0x9e3779b97f4a7c15ull);
}

} // namespace

int main(int argc, char** argv)
{
    bool verify_only = false, expect_readonly = false;
    uint64_t seed = 24301;
    std::string_view name;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--verify-only")
            verify_only = true;
        else if (arg == "--expect-readonly")
            expect_readonly = true;
        else if (arg == "--seed" && i + 1 < argc)
            seed = parse_number(argv[++i]);
        else if (arg == "--device" && i + 1 < argc)
            name = argv[++i];
    }
    skiff::block::BlockDevice* device = name.empty() ? skiff::block::device(0) : skiff::block::find(name);
    if (!device) {
        skiff::println("blkcheck: FAIL no block device found ({} registered)", skiff::block::device_count());
        return 1;
    }
    uint32_t sector_size = device->sector_size();
    uint32_t sectors_per_chunk = chunk_bytes / sector_size;
    uint64_t chunks = device->capacity() / sectors_per_chunk;
    skiff::println("blkcheck: device {} capacity {} sectors of {} bytes ({})", device->name(), device->capacity(), sector_size,
        device->read_only() ? "read-only" : "read-write");
    if (chunks < 4) {
        skiff::println("blkcheck: FAIL disk too small");
        return 1;
    }

    // Which chunks: the first two, the last two, and pseudo-random ones.
    uint64_t plan[4 + random_chunks];
    unsigned planned = 0;
    plan[planned++] = 0;
    plan[planned++] = 1;
    plan[planned++] = chunks - 2;
    plan[planned++] = chunks - 1;
    uint64_t state = seed | 1;
    for (unsigned i = 0; i < random_chunks; ++i)
        plan[planned++] = next_random(state) % chunks;

    alignas(4096) static uint64_t buffer[chunk_bytes / 8];
    alignas(4096) static uint64_t expected[chunk_bytes / 8];
    bool ok = true;

    if (expect_readonly) {
        fill(buffer, 0, seed);
        auto refused = skiff::block::write_sync(*device, 0, sectors_per_chunk, buffer);
        bool clean = refused.is_error() && refused.error() == skiff::Error::ReadOnly;
        skiff::println("blkcheck: write to a read-only disk {}", clean ? "refused: read-only" : "NOT refused");
        ok = ok && clean && device->read_only();
        auto read = skiff::block::read_sync(*device, 0, sectors_per_chunk, buffer);
        skiff::println("blkcheck: read from the read-only disk {}", read.has_value() ? "works" : "FAILED");
        ok = ok && read.has_value();
    } else if (!verify_only) {
        for (unsigned i = 0; i < planned; ++i) {
            uint64_t sector = plan[i] * sectors_per_chunk;
            fill(buffer, sector, seed);
            if (auto written = skiff::block::write_sync(*device, sector, sectors_per_chunk, buffer); written.is_error()) {
                skiff::println("blkcheck: FAIL write at sector {}: {}", sector, skiff::error_name(written.error()));
                return 1;
            }
        }
        if (auto flushed = skiff::block::flush_sync(*device); flushed.is_error()) {
            skiff::println("blkcheck: FAIL flush: {}", skiff::error_name(flushed.error()));
            return 1;
        }
        skiff::println("blkcheck: wrote {} chunks of {} bytes and flushed", planned, chunk_bytes);
    }

    if (!expect_readonly) {
        unsigned good = 0;
        for (unsigned i = 0; i < planned; ++i) {
            uint64_t sector = plan[i] * sectors_per_chunk;
            fill(expected, sector, seed);
            if (auto read = skiff::block::read_sync(*device, sector, sectors_per_chunk, buffer); read.is_error()) {
                skiff::println("blkcheck: FAIL read at sector {}: {}", sector, skiff::error_name(read.error()));
                return 1;
            }
            bool same = true;
            for (uint32_t w = 0; w < chunk_bytes / 8; ++w)
                same = same && buffer[w] == expected[w];
            if (same)
                ++good;
            else
                skiff::println("blkcheck: MISMATCH at sector {}", sector);
        }
        skiff::println("blkcheck: verified {} of {} chunks", good, planned);
        ok = ok && good == planned;
    }

    // Past the end: refused before reaching the device.
    auto past_end = skiff::block::read_sync(*device, device->capacity(), 1, buffer);
    bool refused = past_end.is_error() && past_end.error() == skiff::Error::OutOfRange;
    skiff::println("blkcheck: read past the end {}", refused ? "refused: out of range" : "NOT refused");
    ok = ok && refused;

    skiff::println("blkcheck: {}", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
