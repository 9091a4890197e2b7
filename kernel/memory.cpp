#include "kernel/memory.h"

#include "kernel/mm/memory_map.h"
#include "kernel/panic.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/one_test.h"

#include <atomic>

#include <cstring>

extern "C" char __image_start[], __image_end[];

namespace skiff::memory {

namespace {

constexpr uint64_t page = PageAllocator::page_size;
constexpr uint64_t low_memory_end = 1ull << 20;

// Read only up to their counts: left out of the boot-time zeroing of .bss.
[[gnu::section(".noinit")]] MemoryRange g_normalized[normalized_capacity(BootInfo::max_memory_ranges)];
size_t g_normalized_count = 0;
[[gnu::section(".noinit")]] MemoryRange g_boot_mapped[normalized_capacity(BootInfo::max_memory_ranges)];
size_t g_boot_mapped_count = 0;
PageAllocator g_pages;
uint64_t g_usable_bytes = 0;

// What the page allocator is built from, on first use (pages()): memory::init
// places the bitmap and counts the pages that will be free, so a boot that
// never allocates a page never pays for filling it. Sorted by base.
MemoryRange g_excluded[4 + BootInfo::max_modules];
size_t g_excluded_count = 0;
uint64_t g_pages_limit = 0; // 0 until memory::init succeeded
uint64_t* g_bitmap = nullptr; // chosen by memory::init, filled on first use
size_t g_bitmap_words = 0;
// The bitmap of a machine whose usable RAM ends within the first GiB (32 KiB)
// is part of the image, like the boot page-table pool: no placement search on
// the way to main, and nothing to exclude beyond the image. Bigger machines
// place theirs in free RAM (first_fit).
constexpr uint64_t in_image_bitmap_limit = 1ull << 30;
[[gnu::section(".noinit")]] alignas(page) uint64_t g_in_image_bitmap[PageAllocator::bitmap_words_for(0, in_image_bitmap_limit)];
std::atomic<bool> g_pages_built { false };
IrqSpinLock g_pages_build_lock;

void build_page_allocator()
{
    std::span<const MemoryRange> map { g_normalized, g_normalized_count };
    if (g_pages.init(0, g_pages_limit, { g_bitmap, g_bitmap_words }).is_error()) {
        log::error("memory: the page bitmap at {} is unusable; no page can be allocated", static_cast<void*>(g_bitmap));
        return;
    }
    free_usable_memory(g_pages, map, { g_excluded, g_excluded_count });
    uint64_t built = g_pages.free_pages() * page;
    if (built != g_usable_bytes)
        log::error("memory: page allocator has {} KiB free, boot counted {} KiB", built >> 10, g_usable_bytes >> 10);
}
uint64_t g_ram_bytes = 0;

class KernelPageSource final : public PageSource {
public:
    Result<void*> allocate_pages(size_t count) override
    {
        uint64_t address = TRY(pages().allocate(count));
        return reinterpret_cast<void*>(address);
    }
    void free_pages(void* address, size_t count) override
    {
        if (pages().free(reinterpret_cast<uint64_t>(address), count).is_error())
            log::error("memory: heap returned pages {} it does not own", address);
    }
};
constinit KernelPageSource g_page_source;
// Constant-initialised: nothing to construct at boot, and an allocation
// before memory::init() fails cleanly (no pages yet) instead of crashing.
constinit Heap g_heap(g_page_source);

[[gnu::section(".noinit")]] uint8_t g_null_page_copy[page];
bool g_null_page_preserved = false;

class FirmwareMemory final : public PhysicalMemory {
public:
    bool read(uint64_t address, void* out, size_t size) const override
    {
        uint64_t end = address + size;
        // Every refusal in one test (each branch is a translation block on the
        // boot path, where firmware tables are read through here).
        if (as_one_test((end < address) | !allowed(address, end)))
            return false;
        if (address < page) [[unlikely]]
            return read_through_null_page(address, static_cast<uint8_t*>(out), size);
        std::memcpy(out, reinterpret_cast<const void*>(address), size);
        return true;
    }

    const uint8_t* scan_view(uint64_t address, size_t size) const override
    {
        uint64_t end = address + size;
        if (as_one_test((address < page) | (end < address) | !allowed(address, end)))
            return nullptr;
        return reinterpret_cast<const uint8_t*>(address);
    }

private:
    static bool allowed(uint64_t address, uint64_t end)
    {
        if (end <= low_memory_end)
            return true;
        for (size_t i = 0; i < g_normalized_count; ++i) {
            const MemoryRange& range = g_normalized[i];
            if (mapped_at_boot(range) && address >= range.base && end <= range.end())
                return true;
        }
        return false;
    }

    // Page 0 is unmapped once the kernel's tables are up; what firmware left
    // there (the BIOS data area, say) is read from the copy taken before.
    [[gnu::cold, gnu::noinline]] static bool read_through_null_page(uint64_t address, uint8_t* destination, size_t size)
    {
        if (!g_null_page_preserved)
            return false;
        size_t from_copy = size < page - address ? size : page - address;
        std::memcpy(destination, g_null_page_copy + address, from_copy);
        if (size > from_copy)
            std::memcpy(destination + from_copy, reinterpret_cast<const void*>(page), size - from_copy);
        return true;
    }
};
FirmwareMemory g_firmware_memory;

void heap_corruption(const char* what, const void* address) { panic("heap: {} at {}", what, address); }

} // namespace

Result<void> init(const BootInfo& boot_info, bool heap_debug_checks)
{
    std::span<const MemoryRange> raw { boot_info.memory_map.data(), boot_info.memory_range_count };
    auto normalized = normalize_memory_map(raw, g_normalized);
    if (normalized.is_error()) {
        log::error("memory: cannot normalise the boot memory map ({})", error_name(normalized.error()));
        return normalized.error();
    }
    g_normalized_count = *normalized;
    std::span<const MemoryRange> map { g_normalized, g_normalized_count };
    // One pass: RAM total, the ranges to map, and the end of usable RAM (the
    // allocator's limit; the map is sorted).
    // Totals are kept in locals and stored once: a global updated in the
    // loop would make the compiler add "was it written" flags and branches.
    uint64_t limit = 0;
    uint64_t ram_bytes = 0;
    size_t boot_mapped_count = 0;
    for (const MemoryRange& range : map) {
        if (range.type == MemoryType::Usable) {
            ram_bytes += range.length;
            limit = range.end() & ~(page - 1);
        }
        if (mapped_at_boot(range))
            g_boot_mapped[boot_mapped_count++] = range;
    }
    g_ram_bytes = ram_bytes;
    g_boot_mapped_count = boot_mapped_count;

    // Never handed out: the null page, the image and the boot modules.
    MemoryRange* excluded = g_excluded;
    size_t excluded_count = 0;
    excluded[excluded_count++] = { 0, page, MemoryType::Reserved };
    auto image_start = reinterpret_cast<uint64_t>(__image_start);
    auto image_end = reinterpret_cast<uint64_t>(__image_end);
    excluded[excluded_count++] = { image_start, image_end - image_start, MemoryType::Reserved };
    for (size_t i = 0; i < boot_info.module_count; ++i)
        excluded[excluded_count++] = { boot_info.modules[i].base, boot_info.modules[i].size, MemoryType::Reserved };

    if (limit == 0) {
        log::error("memory: the memory map has no usable RAM");
        return Error::OutOfMemory;
    }

    // The bitmap's place is chosen now (first_fit only reads the map), so a
    // map with no room for it is refused at boot; it is filled on first use.
    size_t words = PageAllocator::bitmap_words_for(0, limit);
    uint64_t* bitmap = g_in_image_bitmap;
    if (limit > in_image_bitmap_limit) {
        uint64_t bitmap_bytes = (words * sizeof(uint64_t) + page - 1) & ~(page - 1);
        auto bitmap_address = first_fit(map, { excluded, excluded_count }, bitmap_bytes, page, low_memory_end);
        if (bitmap_address.is_error()) {
            log::error("memory: not enough memory for the page bitmap ({} KiB)", bitmap_bytes >> 10);
            return Error::OutOfMemory;
        }
        excluded[excluded_count++] = { *bitmap_address, bitmap_bytes, MemoryType::Reserved };
        bitmap = reinterpret_cast<uint64_t*>(*bitmap_address);
    }
    // The null page, the image and (placed above both) a bitmap outside the
    // image are in address order; only boot modules can fall anywhere.
    if (as_one_test((boot_info.module_count != 0) | (reinterpret_cast<uint64_t>(bitmap) < image_start)))
        sort_by_base({ excluded, excluded_count });
    g_excluded_count = excluded_count;
    g_bitmap = bitmap;
    g_bitmap_words = words;
    g_usable_bytes = count_free_pages(map, { excluded, excluded_count }, limit) * page;
    if (g_usable_bytes < minimum_usable_bytes) {
        log::error("memory: not enough memory: {} KiB usable, Skiff needs at least {} KiB", g_usable_bytes >> 10,
            minimum_usable_bytes >> 10);
        return Error::OutOfMemory;
    }

    if (heap_debug_checks && g_heap.set_debug_checks(true).is_error())
        log::warn("memory: heap debug checks requested after the first allocation; left off");
    g_heap.set_corruption_handler(heap_corruption);
    g_pages_limit = limit;
    log::debug("memory: {} KiB RAM, {} KiB usable", g_ram_bytes >> 10, g_usable_bytes >> 10);
    return ok();
}

bool mapped_at_boot(const MemoryRange& range)
{
    // RAM and the ACPI ranges always; anything else (reserved, unusable, an
    // unknown type) only below 4 GiB, where firmware tables and devices live.
    constexpr uint64_t four_gib = 4ull << 30;
    static_assert(MemoryType::Usable < MemoryType::AcpiNvs && MemoryType::AcpiReclaimable < MemoryType::AcpiNvs);
    return as_one_test((range.type <= MemoryType::AcpiNvs) | (range.end() <= four_gib));
}

std::span<const MemoryRange> boot_mapped_ranges() { return { g_boot_mapped, g_boot_mapped_count }; }

PageAllocator& pages()
{
    // Built by whoever asks first: before memory::init() an empty allocator
    // answers (every allocation fails cleanly). Interrupts are off while it
    // is built, as any allocator user may hold a spinlock.
    if (!g_pages_built.load(std::memory_order_acquire) && g_pages_limit != 0) {
        LockGuard guard(g_pages_build_lock);
        if (!g_pages_built.load(std::memory_order_relaxed)) {
            build_page_allocator();
            g_pages_built.store(true, std::memory_order_release);
        }
    }
    return g_pages;
}
Heap& heap() { return g_heap; }
std::span<const MemoryRange> normalized_map() { return { g_normalized, g_normalized_count }; }
uint64_t usable_bytes() { return g_usable_bytes; }
uint64_t ram_bytes() { return g_ram_bytes; }
const PhysicalMemory& firmware_memory() { return g_firmware_memory; }

void preserve_null_page()
{
    // Physical page 0 is real memory here (still identity mapped); hide the
    // address from the compiler, which treats a null source as undefined.
    // The size is hidden too, so this is a call to the memcpy the boot path
    // runs anyway, not an inlined copy TCG would translate separately.
    uintptr_t page_zero = 0;
    size_t size = page;
    asm("" : "+r"(page_zero), "+r"(size));
    std::memcpy(g_null_page_copy, reinterpret_cast<const void*>(page_zero), size);
    g_null_page_preserved = true;
}

} // namespace skiff::memory

// ------------------------------------------------- the C and C++ allocation API

using skiff::memory::heap;

extern "C" {
void* malloc(size_t size) { return heap().allocate(size); }
void free(void* pointer) { heap().free(pointer); }
void* calloc(size_t count, size_t size) { return heap().allocate_zeroed(count, size); }
void* realloc(void* pointer, size_t size) { return heap().reallocate(pointer, size); }
void* aligned_alloc(size_t alignment, size_t size) { return heap().allocate(size, alignment); }
int posix_memalign(void** out, size_t alignment, size_t size)
{
    void* p = heap().allocate(size, alignment);
    if (!p)
        return 12; // ENOMEM
    *out = p;
    return 0;
}
}

// Without exceptions, a failed `new` cannot throw: it is fatal, like any
// other broken kernel invariant. Code that can cope uses new (std::nothrow).
void* operator new(size_t size)
{
    void* p = heap().allocate(size);
    if (!p)
        skiff::panic("out of memory allocating {} bytes", size);
    return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, std::align_val_t alignment)
{
    void* p = heap().allocate(size, size_t(alignment));
    if (!p)
        skiff::panic("out of memory allocating {} bytes", size);
    return p;
}
void* operator new[](size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return heap().allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return heap().allocate(size); }
void operator delete(void* p) noexcept { heap().free(p); }
void operator delete[](void* p) noexcept { heap().free(p); }
void operator delete(void* p, size_t) noexcept { heap().free(p); }
void operator delete[](void* p, size_t) noexcept { heap().free(p); }
void operator delete(void* p, std::align_val_t) noexcept { heap().free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { heap().free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { heap().free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { heap().free(p); }
