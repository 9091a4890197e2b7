#include "kernel/mm/heap.h"

#include "lib/log.h"

#include <algorithm>
#include <array>
#include <bit>
#include <new>

namespace skiff {

namespace {

// Block states live in the header magic; distinct values make a stale or
// forged header unlikely to pass for a live block.
constexpr uint32_t small_used_magic = 0x5a11'0c8d;
constexpr uint32_t small_free_magic = 0xf5ee'51a7;
// Written at the start of a slot whose block was handed out further in for
// alignment; it is never a valid target of free().
constexpr uint32_t small_shifted_magic = 0x5a11'5e1f;
constexpr uint32_t large_used_magic = 0x1a56'e0b1;
constexpr uint32_t large_free_magic = 0xf5ee'1a56;
constexpr uint64_t slab_magic = 0x534b'4946'5f53'4c42;  // "SKIF_SLB"
constexpr uint64_t large_magic = 0x534b'4946'5f4c'5247; // "SKIF_LRG"
constexpr uint64_t dead_magic = 0xdead'dead'dead'dead;

constexpr size_t header_size = 16;
constexpr size_t slab_header_size = 64;
constexpr size_t large_header_size = 48;
constexpr size_t canary_size = 8;
// Debug slots grow by 16 rather than 8 so strides stay multiples of 16.
constexpr size_t debug_reserve = 16;
constexpr uint8_t canary_byte = 0xca;
constexpr uint8_t poison_byte = 0xdd;
constexpr uint32_t no_slot = UINT32_MAX;
constexpr size_t min_slab_slots = 8;
constexpr uint32_t max_slab_pages = 8;

constexpr std::array<uint16_t, 14> class_sizes { 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048 };

// Size class for every 16-byte granule up to max_small_size.
constexpr auto class_for_granule = [] {
    std::array<uint8_t, 2048 / 16 + 1> table {};
    size_t index = 0;
    for (size_t granule = 0; granule < table.size(); ++granule) {
        while (class_sizes[index] < granule * 16)
            ++index;
        table[granule] = static_cast<uint8_t>(index);
    }
    return table;
}();

// Each class's slot stride, slab size and slots per slab, worked out at
// compile time for both modes (the heap is set up on the boot path).
struct ClassGeometry {
    uint32_t stride;
    uint32_t pages;
    uint32_t capacity;
};
constexpr auto class_geometry(bool debug)
{
    std::array<ClassGeometry, class_sizes.size()> table {};
    for (size_t i = 0; i < table.size(); ++i) {
        uint32_t stride = uint32_t(header_size + class_sizes[i] + (debug ? debug_reserve : 0));
        uint32_t pages = 1;
        while (pages < max_slab_pages && (pages * 4096 - slab_header_size) / stride < min_slab_slots)
            ++pages;
        table[i] = { stride, pages, uint32_t((pages * 4096 - slab_header_size) / stride) };
    }
    return table;
}
constexpr auto plain_geometry = class_geometry(false);
constexpr auto debug_geometry = class_geometry(true);
const ClassGeometry& geometry(bool debug, size_t class_index)
{
    return (debug ? debug_geometry : plain_geometry)[class_index];
}

constexpr uintptr_t align_up(uintptr_t value, uintptr_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }

// Magic words are read before the owning lock is known (and large blocks
// change state without a lock), so they are accessed atomically.
uint32_t load_magic(const uint32_t* magic) { return __atomic_load_n(magic, __ATOMIC_ACQUIRE); }
void store_magic(uint32_t* magic, uint32_t value) { __atomic_store_n(magic, value, __ATOMIC_RELEASE); }

bool bytes_equal(uintptr_t start, size_t length, uint8_t value)
{
    auto* bytes = reinterpret_cast<const uint8_t*>(start);
    for (size_t i = 0; i < length; ++i) {
        if (bytes[i] != value)
            return false;
    }
    return true;
}

constexpr const char* not_ours = "pointer not from this heap (or its block header was overwritten)";
constexpr const char* already_free = "double free (or use of a freed block)";
constexpr const char* overflow = "heap overflow: canary after the block was overwritten";

} // namespace

struct Heap::BlockHeader {
    uint32_t magic;
    uint32_t size;         // in use: requested size (small); free slot: where the poison starts in the slot
    uint32_t owner_offset; // bytes from the Slab or LargeHeader to this header
    uint32_t extra;        // in use: log2(alignment); free slot: index of the next free slot
};

struct Heap::Slab {
    uint64_t magic;
    const Heap* heap;
    Slab* prev;
    Slab* next;
    uint32_t class_index;
    uint32_t capacity;
    uint32_t used;      // slots handed out, including quarantined ones
    uint32_t bump;      // slots [bump, capacity) were never handed out
    uint32_t free_head; // first free slot or no_slot
    uint32_t pages;
    bool on_list;
};

struct Heap::LargeHeader {
    uint64_t magic;
    const Heap* heap;
    size_t pages;
    size_t size;
    uintptr_t user;
    uint64_t reserved;
};

struct Heap::Block {
    uintptr_t user { 0 };
    BlockHeader* header { nullptr };
    size_t size { 0 };
    size_t capacity { 0 }; // bytes at user before the slot/region ends, less the canary with debug checks
    size_t alignment { 16 };
    bool large { false };
    Slab* slab { nullptr }; // small blocks
    uint32_t index { 0 };
    uintptr_t slot { 0 };
    LargeHeader* large_header { nullptr }; // large blocks
};

namespace {
inline uintptr_t slot_address(const void* slab, uint32_t index, uint32_t stride)
{
    return reinterpret_cast<uintptr_t>(slab) + slab_header_size + static_cast<uintptr_t>(index) * stride;
}
} // namespace

// Layouts the pointer arithmetic relies on (checked here, where the private
// types are accessible).
static_assert(class_sizes.back() == Heap::max_small_size);
static_assert(Heap::page_size == 4096);

Result<void> Heap::set_debug_checks(bool on)
{
    static_assert(class_sizes.size() == class_count);
    static_assert(sizeof(BlockHeader) == header_size);
    static_assert(sizeof(Slab) <= slab_header_size);
    static_assert(sizeof(LargeHeader) == large_header_size);
    static_assert(slab_header_size % 16 == 0 && (large_header_size + header_size) % 16 == 0);
    if (on == m_debug)
        return ok();
    // Blocks laid out for one mode cannot be checked or freed in the other.
    if (m_allocations.load() != 0 || m_pages_in_use.load() != 0) {
        log::error("heap: debug checks cannot change once memory has been handed out");
        return Error::InvalidArgument;
    }
    m_debug = on;
    return ok();
}

void* Heap::allocate(size_t size, size_t alignment)
{
    // (a & (a - 1)) rather than std::has_single_bit, which becomes a libgcc
    // popcount call on CPUs without POPCNT.
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > max_alignment || size > max_allocation) {
        log::error("heap: refusing to allocate {} bytes aligned to {}", size, alignment);
        note_failed();
        return nullptr;
    }
    alignment = std::max<size_t>(alignment, 16);

    // A small block may start up to alignment-16 bytes into its slot.
    size_t slack = alignment - 16;
    Problem problem;
    void* p;
    if (size + slack <= max_small_size)
        p = allocate_small(class_for_granule[(size + slack + 15) / 16], size, alignment, problem);
    else
        p = allocate_large(size, alignment);
    if (problem.what)
        report(problem);
    if (!p) {
        log::warn("heap: out of memory allocating {} bytes aligned to {}", size, alignment);
        note_failed();
        return nullptr;
    }
    note_allocated(size);
    return p;
}

void* Heap::allocate_zeroed(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        log::error("heap: refusing to allocate {} x {} bytes: the size overflows", count, size);
        note_failed();
        return nullptr;
    }
    void* p = allocate(total);
    if (p)
        __builtin_memset(p, 0, total);
    return p;
}

void* Heap::reallocate(void* p, size_t size)
{
    if (!p)
        return allocate(size);
    if (size > max_allocation) {
        log::error("heap: refusing to reallocate {} to {} bytes", static_cast<const void*>(p), size);
        note_failed();
        return nullptr;
    }
    Block block;
    Problem problem;
    if (!locate(p, block, problem)) {
        report(problem);
        return nullptr;
    }
    if (m_debug && !canary_intact(block)) {
        report({ overflow, p });
        return nullptr;
    }
    if (fits_in_place(block, size)) {
        if (block.large)
            block.large_header->size = size;
        block.header->size = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
        if (m_debug)
            write_canary(block.user, size);
        note_resized(block.size, size);
        return p;
    }
    void* moved = allocate(size, block.alignment);
    if (!moved)
        return nullptr;
    __builtin_memcpy(moved, p, std::min(size, block.size));
    free(p);
    return moved;
}

void Heap::free(void* p)
{
    if (!p)
        return;
    Block block;
    Problem problem;
    if (locate(p, block, problem)) {
        if (block.large)
            release_large(block, problem);
        else
            release_small(block, problem);
    }
    if (problem.what)
        report(problem);
}

size_t Heap::usable_size(const void* p) const
{
    if (!p)
        return 0;
    Block block;
    Problem problem;
    if (!locate(p, block, problem)) {
        report(problem);
        return 0;
    }
    return m_debug ? block.size : block.capacity;
}

HeapStats Heap::stats() const
{
    HeapStats stats {};
    stats.bytes_in_use = m_bytes_in_use.load();
    stats.peak_bytes_in_use = m_peak_bytes.load();
    stats.frees = m_frees.load();
    stats.allocations = m_allocations.load();
    stats.live_allocations = stats.allocations - stats.frees;
    stats.failed_allocations = m_failed.load();
    stats.pages_in_use = m_pages_in_use.load();
    stats.corruption_detected = m_corruptions.load();
    return stats;
}

void Heap::set_corruption_handler(CorruptionHandler handler) { m_handler.store(handler, std::memory_order_release); }

void* Heap::allocate_small(size_t class_index, size_t size, size_t alignment, Problem& problem)
{
    SizeClass& size_class = m_classes[class_index];
    uint32_t stride = geometry(m_debug, class_index).stride;
    LockGuard guard(size_class.lock);
    for (;;) {
        Slab* slab = size_class.partial;
        if (!slab) {
            slab = create_slab(class_index);
            if (!slab)
                return nullptr;
            link_front(size_class, slab);
        }
        uint32_t index;
        if (!take_slot(slab, index, problem)) {
            // Only reachable after a corrupt free list was dropped.
            unlink(size_class, slab);
            if (size_class.cached_empty == slab)
                size_class.cached_empty = nullptr;
            if (slab->used == 0)
                destroy_slab(slab);
            continue;
        }
        ++slab->used;
        if (size_class.cached_empty == slab)
            size_class.cached_empty = nullptr;
        if (slab->free_head == no_slot && slab->bump == slab->capacity)
            unlink(size_class, slab);

        uintptr_t slot = slot_address(slab, index, stride);
        uintptr_t user = align_up(slot + header_size, alignment);
        auto* header = reinterpret_cast<BlockHeader*>(user - header_size);
        if (user - header_size != slot) {
            auto* marker = reinterpret_cast<BlockHeader*>(slot);
            marker->size = 0;
            marker->owner_offset = static_cast<uint32_t>(slot - reinterpret_cast<uintptr_t>(slab));
            marker->extra = 0;
            store_magic(&marker->magic, small_shifted_magic);
        }
        header->size = static_cast<uint32_t>(size);
        header->owner_offset = static_cast<uint32_t>(user - header_size - reinterpret_cast<uintptr_t>(slab));
        header->extra = static_cast<uint32_t>(std::countr_zero(alignment));
        store_magic(&header->magic, small_used_magic);
        if (m_debug)
            write_canary(user, size);
        return reinterpret_cast<void*>(user);
    }
}

bool Heap::take_slot(Slab* slab, uint32_t& index, Problem& problem)
{
    uint32_t stride = geometry(m_debug, slab->class_index).stride;
    while (slab->free_head != no_slot) {
        index = slab->free_head;
        uintptr_t slot = slot_address(slab, index, stride);
        auto* free_header = reinterpret_cast<BlockHeader*>(slot);
        uint32_t next = free_header->extra;
        uint32_t poison_from = free_header->size;
        if (index >= slab->bump || load_magic(&free_header->magic) != small_free_magic
            || free_header->owner_offset != slot - reinterpret_cast<uintptr_t>(slab)
            || (next != no_slot && next >= slab->bump) || poison_from < header_size
            || poison_from > stride) {
            if (!problem.what)
                problem = { "free list corrupted: a freed block's header was overwritten",
                            reinterpret_cast<void*>(slot + header_size) };
            // The rest of the list cannot be trusted: lose those slots rather
            // than hand out memory that may be in use.
            slab->free_head = no_slot;
            break;
        }
        slab->free_head = next;
        if (m_debug && !bytes_equal(slot + poison_from, stride - poison_from, poison_byte)) {
            if (!problem.what)
                problem = { "write after free: a freed block was modified",
                            reinterpret_cast<void*>(slot + poison_from) };
            // Quarantined: counted as used forever, so the slab (and whoever
            // still writes to it) keeps the memory.
            ++slab->used;
            continue;
        }
        return true;
    }
    if (slab->bump < slab->capacity) {
        index = slab->bump++;
        return true;
    }
    return false;
}

Heap::Slab* Heap::create_slab(size_t class_index)
{
    const ClassGeometry& size_class = geometry(m_debug, class_index);
    void* memory = checked_source_pages(size_class.pages);
    if (!memory)
        return nullptr;
    auto* slab = new (memory) Slab {};
    slab->magic = slab_magic;
    slab->heap = this;
    slab->class_index = static_cast<uint32_t>(class_index);
    slab->capacity = size_class.capacity;
    slab->free_head = no_slot;
    slab->pages = size_class.pages;
    return slab;
}

void Heap::destroy_slab(Slab* slab)
{
    uint32_t pages = slab->pages;
    slab->magic = dead_magic;
    return_source_pages(slab, pages);
}

void* Heap::allocate_large(size_t size, size_t alignment)
{
    // Worst case offset of the user pointer from the region start: the
    // source only guarantees page alignment.
    size_t offset = alignment <= page_size ? align_up(large_header_size + header_size, alignment) : alignment;
    size_t reserve = m_debug ? debug_reserve : 0;
    // At least one byte, so even a 0-byte page-aligned block starts inside its region.
    size_t pages = (offset + std::max<size_t>(size, 1) + reserve + page_size - 1) / page_size;
    void* memory = checked_source_pages(pages);
    if (!memory)
        return nullptr;
    uintptr_t region = reinterpret_cast<uintptr_t>(memory);
    uintptr_t user = align_up(region + large_header_size + header_size, alignment);
    auto* large = new (memory) LargeHeader { large_magic, this, pages, size, user, 0 };
    (void)large;
    auto* header = reinterpret_cast<BlockHeader*>(user - header_size);
    header->size = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
    header->owner_offset = static_cast<uint32_t>(user - header_size - region);
    header->extra = static_cast<uint32_t>(std::countr_zero(alignment));
    store_magic(&header->magic, large_used_magic);
    if (m_debug)
        write_canary(user, size);
    return reinterpret_cast<void*>(user);
}

void Heap::release_small(const Block& block, Problem& problem)
{
    void* p = reinterpret_cast<void*>(block.user);
    if (m_debug && !canary_intact(block)) {
        problem = { overflow, p };
        return;
    }
    Slab* slab = block.slab;
    SizeClass& size_class = m_classes[slab->class_index];
    Slab* to_destroy = nullptr;
    {
        LockGuard guard(size_class.lock);
        // Checked again under the lock: two CPUs may free the same block.
        if (load_magic(&block.header->magic) != small_used_magic) {
            problem = { already_free, p };
            return;
        }
        store_magic(&block.header->magic, small_free_magic);
        uintptr_t slot_end = block.slot + geometry(m_debug, slab->class_index).stride;
        if (m_debug)
            __builtin_memset(p, poison_byte, slot_end - block.user);
        auto* slot_header = reinterpret_cast<BlockHeader*>(block.slot);
        slot_header->size = static_cast<uint32_t>(block.user - block.slot);
        slot_header->owner_offset = static_cast<uint32_t>(block.slot - reinterpret_cast<uintptr_t>(slab));
        slot_header->extra = slab->free_head;
        store_magic(&slot_header->magic, small_free_magic);
        slab->free_head = block.index;
        --slab->used;
        if (!slab->on_list)
            link_front(size_class, slab);
        if (slab->used == 0) {
            unlink(size_class, slab);
            if (!size_class.cached_empty || size_class.cached_empty == slab) {
                // Kept at the back so partly used slabs fill up first.
                size_class.cached_empty = slab;
                link_back(size_class, slab);
            } else {
                to_destroy = slab;
            }
        }
    }
    if (to_destroy)
        destroy_slab(to_destroy);
    note_freed(block.size);
}

void Heap::release_large(const Block& block, Problem& problem)
{
    void* p = reinterpret_cast<void*>(block.user);
    if (m_debug && !canary_intact(block)) {
        problem = { overflow, p };
        return;
    }
    uint32_t expected = large_used_magic;
    if (!__atomic_compare_exchange_n(&block.header->magic, &expected, large_free_magic, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        problem = { already_free, p };
        return;
    }
    LargeHeader* large = block.large_header;
    size_t pages = large->pages;
    large->magic = dead_magic;
    if (m_debug)
        __builtin_memset(p, poison_byte, block.capacity);
    return_source_pages(large, pages);
    note_freed(block.size);
}

bool Heap::locate(const void* p, Block& block, Problem& problem) const
{
    uintptr_t user = reinterpret_cast<uintptr_t>(p);
    uintptr_t lowest = m_lowest.load(std::memory_order_acquire);
    uintptr_t highest = m_highest.load(std::memory_order_acquire);
    if (user % 16 != 0 || user < header_size || user - header_size < lowest || user >= highest) {
        problem = { not_ours, p };
        return false;
    }
    auto* header = reinterpret_cast<const BlockHeader*>(user - header_size);
    switch (load_magic(&header->magic)) {
    case small_used_magic:
        return locate_small(user, block, problem);
    case large_used_magic:
        return locate_large(user, block, problem);
    case small_free_magic:
    case large_free_magic:
        problem = { already_free, p };
        return false;
    default:
        problem = { not_ours, p };
        return false;
    }
}

bool Heap::locate_small(uintptr_t user, Block& block, Problem& problem) const
{
    uintptr_t header_address = user - header_size;
    auto* header = reinterpret_cast<BlockHeader*>(header_address);
    uintptr_t offset = header->owner_offset;
    uintptr_t slab_address = header_address - offset;
    problem = { not_ours, reinterpret_cast<const void*>(user) };
    if (offset < slab_header_size || offset > header_address - m_lowest.load() || slab_address % page_size != 0)
        return false;
    auto* slab = reinterpret_cast<Slab*>(slab_address);
    if (slab->magic != slab_magic || slab->heap != this || slab->class_index >= class_count)
        return false;
    const ClassGeometry& size_class = geometry(m_debug, slab->class_index);
    size_t index = (offset - slab_header_size) / size_class.stride;
    if (index >= size_class.capacity)
        return false;
    uintptr_t slot = slot_address(slab, static_cast<uint32_t>(index), size_class.stride);
    if (header_address != slot
        && load_magic(&reinterpret_cast<const BlockHeader*>(slot)->magic) != small_shifted_magic)
        return false;
    uintptr_t end = slot + size_class.stride - (m_debug ? canary_size : 0);
    if (user > end || header->size > end - user || header->extra > 11)
        return false;

    problem = {};
    block.user = user;
    block.header = header;
    block.size = header->size;
    block.capacity = end - user;
    block.alignment = size_t(1) << header->extra;
    block.large = false;
    block.slab = slab;
    block.index = static_cast<uint32_t>(index);
    block.slot = slot;
    return true;
}

bool Heap::locate_large(uintptr_t user, Block& block, Problem& problem) const
{
    uintptr_t header_address = user - header_size;
    auto* header = reinterpret_cast<BlockHeader*>(header_address);
    uintptr_t offset = header->owner_offset;
    uintptr_t region = header_address - offset;
    problem = { not_ours, reinterpret_cast<const void*>(user) };
    if (offset < large_header_size || offset > header_address - m_lowest.load() || region % page_size != 0)
        return false;
    auto* large = reinterpret_cast<LargeHeader*>(region);
    if (large->magic != large_magic || large->heap != this || large->user != user || header->extra > 21)
        return false;
    if (large->pages > (m_highest.load() - region) / page_size)
        return false;
    uintptr_t end = region + large->pages * page_size - (m_debug ? canary_size : 0);
    if (user > end || large->size > end - user)
        return false;

    problem = {};
    block.user = user;
    block.header = header;
    block.size = large->size;
    block.capacity = end - user;
    block.alignment = size_t(1) << header->extra;
    block.large = true;
    block.large_header = large;
    return true;
}

bool Heap::canary_intact(const Block& block) const { return bytes_equal(block.user + block.size, canary_size, canary_byte); }

void Heap::write_canary(uintptr_t user, size_t size) const
{
    __builtin_memset(reinterpret_cast<void*>(user + size), canary_byte, canary_size);
}

bool Heap::fits_in_place(const Block& block, size_t size) const
{
    if (size > block.capacity)
        return false;
    if (!block.large)
        return true;
    // A large block that shrinks to small-class size, or to half its pages or
    // less, moves so the pages go back to the source.
    if (block.alignment <= max_small_size && size + (block.alignment - 16) <= max_small_size)
        return false;
    size_t before = block.user - reinterpret_cast<uintptr_t>(block.large_header);
    size_t reserve = m_debug ? canary_size : 0;
    size_t pages_now = (before + block.size + reserve + page_size - 1) / page_size;
    size_t pages_after = (before + size + reserve + page_size - 1) / page_size;
    return pages_after * 2 > pages_now;
}

void* Heap::checked_source_pages(size_t count)
{
    auto result = m_source.allocate_pages(count);
    if (result.is_error())
        return nullptr;
    uintptr_t address = reinterpret_cast<uintptr_t>(result.value());
    if (address == 0 || address % page_size != 0 || address > UINTPTR_MAX - count * page_size) {
        // Not handed back either: a source this broken may not take it.
        log::error("heap: page source returned unusable address {:#x} for {} pages, not used", address, count);
        return nullptr;
    }
    uintptr_t lowest = m_lowest.load();
    while (address < lowest && !m_lowest.compare_exchange_weak(lowest, address)) {
    }
    uintptr_t end = address + count * page_size;
    uintptr_t highest = m_highest.load();
    while (end > highest && !m_highest.compare_exchange_weak(highest, end)) {
    }
    m_pages_in_use.fetch_add(count);
    return result.value();
}

void Heap::return_source_pages(void* address, size_t count)
{
    m_pages_in_use.fetch_sub(count);
    m_source.free_pages(address, count);
}

void Heap::link_front(SizeClass& size_class, Slab* slab)
{
    slab->prev = nullptr;
    slab->next = size_class.partial;
    if (size_class.partial)
        size_class.partial->prev = slab;
    size_class.partial = slab;
    slab->on_list = true;
}

void Heap::link_back(SizeClass& size_class, Slab* slab)
{
    Slab* last = size_class.partial;
    while (last && last->next)
        last = last->next;
    slab->next = nullptr;
    slab->prev = last;
    if (last)
        last->next = slab;
    else
        size_class.partial = slab;
    slab->on_list = true;
}

void Heap::unlink(SizeClass& size_class, Slab* slab)
{
    if (!slab->on_list)
        return;
    if (slab->prev)
        slab->prev->next = slab->next;
    else
        size_class.partial = slab->next;
    if (slab->next)
        slab->next->prev = slab->prev;
    slab->prev = slab->next = nullptr;
    slab->on_list = false;
}

void Heap::note_allocated(size_t size)
{
    m_allocations.fetch_add(1);
    size_t now = m_bytes_in_use.fetch_add(size) + size;
    size_t peak = m_peak_bytes.load();
    while (now > peak && !m_peak_bytes.compare_exchange_weak(peak, now)) {
    }
}

void Heap::note_freed(size_t size)
{
    m_bytes_in_use.fetch_sub(size);
    m_frees.fetch_add(1);
}

void Heap::note_resized(size_t old_size, size_t new_size)
{
    if (new_size >= old_size) {
        size_t now = m_bytes_in_use.fetch_add(new_size - old_size) + (new_size - old_size);
        size_t peak = m_peak_bytes.load();
        while (now > peak && !m_peak_bytes.compare_exchange_weak(peak, now)) {
        }
    } else {
        m_bytes_in_use.fetch_sub(old_size - new_size);
    }
}

void Heap::note_failed() { m_failed.fetch_add(1); }

void Heap::report(const Problem& problem) const
{
    m_corruptions.fetch_add(1);
    log::error("heap: {} at {}", problem.what, problem.address);
    if (CorruptionHandler handler = m_handler.load(std::memory_order_acquire))
        handler(problem.what, problem.address);
}

} // namespace skiff
