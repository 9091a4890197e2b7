// The kernel heap behind malloc/free/aligned_alloc/operator new.
//
// Small requests (up to 2 KiB including alignment slack) come from slabs of
// one size class each: a few pages with a Slab header followed by equal
// slots. Larger requests take whole pages from the PageSource. Every block
// has a 16-byte header right before the pointer handed out, carrying a magic
// that encodes its state, so double frees and pointers that are not blocks
// of this heap are caught cheaply at free(). With debug_checks a canary
// follows each block and freed memory is poisoned, which catches writes past
// the end (at free) and writes after free (when the slot is handed out again).
//
// Known limit: a double free is only recognised while the block's memory
// still belongs to the heap (slabs are returned to the source once empty,
// large blocks at once).
//
// Thread safety: one IrqSpinLock per size class; large blocks need no heap
// lock (their state changes by compare-and-swap). The PageSource must be
// safe to call from several CPUs.
#pragma once

#include "lib/result.h"
#include "lib/spinlock.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace skiff {

// Where the heap gets memory. The kernel implements it on top of
// PageAllocator and the identity mapping; tests use aligned_alloc.
class PageSource {
public:
    virtual Result<void*> allocate_pages(size_t count) = 0; // page-aligned, contiguous
    virtual void free_pages(void* address, size_t count) = 0;

protected:
    ~PageSource() = default;
};

struct HeapStats {
    size_t bytes_in_use;      // sum of the sizes requested by live blocks
    size_t peak_bytes_in_use; // highest bytes_in_use so far
    size_t allocations;       // successful allocations (a moving reallocate counts one, and one free)
    size_t frees;             // successful frees
    size_t live_allocations;  // allocations - frees
    size_t failed_allocations;
    size_t pages_in_use;      // pages currently held from the PageSource
    size_t corruption_detected;
};

class Heap {
public:
    static constexpr size_t page_size = 4096;
    static constexpr size_t max_small_size = 2048;
    static constexpr size_t max_alignment = size_t(2) << 20;
    static constexpr size_t max_allocation = size_t(1) << 40;

    // Constant: a heap can be constinit, ready before any code runs.
    constexpr explicit Heap(PageSource& pages, bool debug_checks = false) : m_source(pages), m_debug(debug_checks) {}
    // Switches the debug checks on or off; refused (logged, InvalidArgument)
    // once anything has been allocated, whose layout assumes the old mode.
    Result<void> set_debug_checks(bool on);
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // nullptr on exhaustion or an absurd size/alignment (logged). Alignments
    // below 16 are raised to 16; it must be a power of two up to
    // max_alignment. size 0 yields a unique minimal block.
    void* allocate(size_t size, size_t alignment = 16);
    // calloc: nullptr if count * size overflows.
    void* allocate_zeroed(size_t count, size_t size);
    // Keeps the block's alignment; resizes in place when the block has room.
    // realloc(nullptr, n) allocates; realloc(p, 0) shrinks p to a 0-byte block.
    // On failure p is left untouched and nullptr returned.
    void* reallocate(void* p, size_t size);
    // nullptr is a no-op. A corrupt block is reported and left alone.
    void free(void* p);
    // Bytes the caller may use at p: the requested size with debug checks
    // (anything past it is the canary), the whole slot without.
    size_t usable_size(const void* p) const;
    HeapStats stats() const;
    bool debug_checks() const { return m_debug; }

    // Called on detected corruption (double free, overwritten canary, foreign
    // pointer, write after free) after the error has been logged. The kernel
    // sets this to panic; tests record. nullptr restores the default, which
    // only logs. The heap never frees a block it found corrupt.
    using CorruptionHandler = void (*)(const char* what, const void* address);
    void set_corruption_handler(CorruptionHandler handler);

private:
    struct BlockHeader;
    struct LargeHeader;
    struct Slab;
    struct Block;
    struct Problem {
        const char* what { nullptr };
        const void* address { nullptr };
    };

    static constexpr size_t class_count = 14;

    struct SizeClass {
        IrqSpinLock lock;
        Slab* partial { nullptr };      // slabs that may have a free slot, tried front first
        Slab* cached_empty { nullptr }; // one empty slab kept instead of returned
    };

    void* allocate_small(size_t class_index, size_t size, size_t alignment, Problem& problem);
    void* allocate_large(size_t size, size_t alignment);
    bool take_slot(Slab* slab, uint32_t& index, Problem& problem);
    Slab* create_slab(size_t class_index);
    void destroy_slab(Slab* slab);
    void release_small(const Block& block, Problem& problem);
    void release_large(const Block& block, Problem& problem);
    bool locate(const void* p, Block& block, Problem& problem) const;
    bool locate_small(uintptr_t user, Block& block, Problem& problem) const;
    bool locate_large(uintptr_t user, Block& block, Problem& problem) const;
    bool canary_intact(const Block& block) const;
    void write_canary(uintptr_t user, size_t size) const;
    bool fits_in_place(const Block& block, size_t size) const;
    void* checked_source_pages(size_t count);
    void return_source_pages(void* address, size_t count);

    static void link_front(SizeClass& size_class, Slab* slab);
    static void link_back(SizeClass& size_class, Slab* slab);
    static void unlink(SizeClass& size_class, Slab* slab);

    void note_allocated(size_t size);
    void note_freed(size_t size);
    void note_resized(size_t old_size, size_t new_size);
    void note_failed();
    void report(const Problem& problem) const;

    PageSource& m_source;
    bool m_debug;
    SizeClass m_classes[class_count];

    std::atomic<CorruptionHandler> m_handler { nullptr };
    // Bounds of every address the source ever handed us: a pointer outside
    // them is foreign without reading memory around it.
    std::atomic<uintptr_t> m_lowest { UINTPTR_MAX };
    std::atomic<uintptr_t> m_highest { 0 };

    std::atomic<size_t> m_bytes_in_use { 0 };
    std::atomic<size_t> m_peak_bytes { 0 };
    std::atomic<size_t> m_allocations { 0 };
    std::atomic<size_t> m_frees { 0 };
    std::atomic<size_t> m_failed { 0 };
    std::atomic<size_t> m_pages_in_use { 0 };
    mutable std::atomic<size_t> m_corruptions { 0 };
};

} // namespace skiff
