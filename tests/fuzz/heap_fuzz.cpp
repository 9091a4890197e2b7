// A byte stream drives allocate / free / reallocate / calloc on up to 32
// tracked blocks. Every block carries a pattern that is checked before it is
// freed or moved, so overlapping blocks, lost data, wrong alignment or stats
// that drift from the truth crash the run. The page source has a budget taken
// from the input, so exhaustion paths are exercised too.
#include "kernel/mm/heap.h"
#include "lib/log.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

using namespace skiff;

namespace {

constexpr size_t page = 4096;

[[noreturn]] void fail() { __builtin_trap(); }
void require(bool condition)
{
    if (!condition)
        fail();
}

class FuzzSource final : public PageSource {
public:
    explicit FuzzSource(size_t budget) : m_budget(budget) {}
    ~FuzzSource()
    {
        for (auto& [address, count] : m_regions)
            std::free(address);
    }
    Result<void*> allocate_pages(size_t count) override
    {
        if (count == 0 || m_outstanding + count > m_budget)
            return Error::OutOfMemory;
        void* address = std::aligned_alloc(page, count * page);
        if (!address)
            return Error::OutOfMemory;
        m_regions[address] = count;
        m_outstanding += count;
        return address;
    }
    void free_pages(void* address, size_t count) override
    {
        auto it = m_regions.find(address);
        require(it != m_regions.end() && it->second == count);
        m_regions.erase(it);
        m_outstanding -= count;
        std::free(address);
    }
    size_t outstanding() const { return m_outstanding; }

private:
    std::map<void*, size_t> m_regions;
    size_t m_budget;
    size_t m_outstanding { 0 };
};

class Reader {
public:
    Reader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
    bool done() const { return m_position >= m_size; }
    uint8_t byte() { return m_position < m_size ? m_data[m_position++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(byte() | byte() << 8); }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_position { 0 };
};

struct Tracked {
    uint8_t* p { nullptr };
    size_t size { 0 };
    size_t alignment { 16 };
    uint8_t seed { 0 };
};

// Pattern bytes: the first and last 256 bytes of a block and every 256th in
// between. Any block that starts or ends inside another then overwrites at
// least one of the other's pattern bytes. Kept out of coverage tracing: the
// loops are hot and say nothing about the heap.
uint8_t pattern(const Tracked& t, size_t i) { return static_cast<uint8_t>(t.seed + i * 7 + (i >> 9)); }

template<typename Visit>
__attribute__((no_sanitize("coverage"))) void for_each_pattern_byte(size_t size, Visit visit)
{
    size_t head = size < 256 ? size : 256;
    size_t tail = size > head + 256 ? size - 256 : head;
    for (size_t i = 0; i < head; ++i)
        visit(i);
    for (size_t i = 256; i < tail; i += 256)
        visit(i);
    for (size_t i = tail; i < size; ++i)
        visit(i);
}

__attribute__((no_sanitize("coverage"))) void fill(const Tracked& t)
{
    for_each_pattern_byte(t.size, [&](size_t i) { t.p[i] = pattern(t, i); });
}

// Checks the pattern bytes of t that lie in [0, length).
__attribute__((no_sanitize("coverage"))) void verify(const Tracked& t, size_t length)
{
    for_each_pattern_byte(t.size, [&](size_t i) {
        if (i < length && t.p[i] != pattern(t, i))
            fail();
    });
}

size_t read_size(Reader& in)
{
    uint8_t b = in.byte();
    switch (b >> 6) {
    case 0: return b & 63;
    case 1: return in.u16() % 2049;
    case 2: return in.u16();
    default: return size_t(in.u16()) * 16;
    }
}

size_t read_alignment(Reader& in)
{
    uint8_t a = in.byte();
    return a & 0x80 ? size_t(1) << (a % 17) : 16;
}

bool g_corrupt = false;
void on_corruption(const char*, const void*) { g_corrupt = true; }

struct Model {
    Heap& heap;
    Tracked blocks[32];
    size_t bytes { 0 };
    size_t live { 0 };
    size_t failed { 0 };
    uint8_t next_seed { 1 };

    void release(Tracked& t)
    {
        if (!t.p)
            return;
        verify(t, t.size);
        heap.free(t.p);
        bytes -= t.size;
        --live;
        t = {};
    }

    void allocate(Tracked& t, size_t size, size_t alignment)
    {
        release(t);
        void* p = heap.allocate(size, alignment);
        if (!p) {
            ++failed;
            return;
        }
        require(reinterpret_cast<uintptr_t>(p) % (alignment < 16 ? 16 : alignment) == 0);
        require(heap.usable_size(p) >= size);
        t = { static_cast<uint8_t*>(p), size, alignment, next_seed++ };
        fill(t);
        bytes += size;
        ++live;
    }

    void reallocate(Tracked& t, size_t size)
    {
        if (!t.p)
            return;
        verify(t, t.size);
        void* q = heap.reallocate(t.p, size);
        if (!q) {
            // A failed reallocate leaves the block as it was.
            ++failed;
            verify(t, t.size);
            return;
        }
        require(reinterpret_cast<uintptr_t>(q) % (t.alignment < 16 ? 16 : t.alignment) == 0);
        // The old pattern, as far as it was kept, now lives at q.
        Tracked copied { static_cast<uint8_t*>(q), t.size, t.alignment, t.seed };
        verify(copied, size < t.size ? size : t.size);
        Tracked moved { static_cast<uint8_t*>(q), size, t.alignment, t.seed };
        fill(moved);
        bytes = bytes - t.size + size;
        t = moved;
    }

    void calloc(Tracked& t, size_t count, size_t size)
    {
        release(t);
        auto* p = static_cast<uint8_t*>(heap.allocate_zeroed(count, size));
        if (!p) {
            ++failed;
            return;
        }
        for (size_t i = 0; i < count * size; ++i)
            require(p[i] == 0);
        t = { p, count * size, 16, next_seed++ };
        fill(t);
        bytes += t.size;
        ++live;
    }

    void check_stats() const
    {
        HeapStats stats = heap.stats();
        require(stats.bytes_in_use == bytes);
        require(stats.live_allocations == live);
        require(stats.failed_allocations == failed);
        require(stats.corruption_detected == 0);
        require(stats.peak_bytes_in_use >= bytes);
    }
};

} // namespace

// Exhaustion is expected here and logs a warning each time; keeping those
// lines out of the capture buffer keeps the fuzzer fast (a run that leaves
// memory allocated triggers a leak scan).
extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    log::set_level(log::Level::Error);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2)
        return 0;
    Reader in(data, size);
    uint8_t setup = in.byte();
    bool debug = setup & 1;
    size_t budget = 8 + size_t(in.byte()) * 16; // 8 .. 4088 pages
    g_corrupt = false;

    FuzzSource source(budget);
    {
        Heap heap(source, debug);
        heap.set_corruption_handler(on_corruption);
        Model model { heap };
        while (!in.done()) {
            uint8_t op = in.byte();
            Tracked& t = model.blocks[(op >> 3) % 32];
            switch (op & 7) {
            case 0:
            case 1: {
                size_t n = read_size(in);
                model.allocate(t, n, read_alignment(in));
                break;
            }
            case 2:
                model.release(t);
                break;
            case 3:
                model.reallocate(t, read_size(in));
                break;
            case 4: {
                size_t count = in.byte() % 64;
                model.calloc(t, count, read_size(in) % 512);
                break;
            }
            case 5:
                if (t.p) {
                    verify(t, t.size);
                    require(heap.usable_size(t.p) >= t.size);
                }
                break;
            case 6: {
                // Short-lived churn between the tracked blocks.
                Tracked temporary;
                size_t n = read_size(in);
                model.allocate(temporary, n, read_alignment(in));
                model.release(temporary);
                break;
            }
            default:
                for (auto& block : model.blocks)
                    model.release(block);
                break;
            }
            model.check_stats();
            require(!g_corrupt);
        }
        for (auto& block : model.blocks)
            model.release(block);
        model.check_stats();
        HeapStats stats = heap.stats();
        require(stats.live_allocations == 0 && stats.bytes_in_use == 0);
        require(stats.pages_in_use == source.outstanding());
        // Only one cached slab per size class may stay behind.
        require(stats.pages_in_use <= 14 * 8);
    }
    return 0;
}
