#include "arch/x86_64/paging.h"

#include "arch/x86_64/cpu.h"
#include "lib/log.h"
#include "lib/one_test.h"
#include "lib/spinlock.h"

namespace skiff::x86 {

namespace {

constexpr uint64_t present = 1ull << 0;
constexpr uint64_t writable = 1ull << 1;
constexpr uint64_t write_through = 1ull << 3;
constexpr uint64_t cache_disable = 1ull << 4;
constexpr uint64_t large_page = 1ull << 7;
constexpr uint64_t no_execute = 1ull << 63;
constexpr uint64_t address_mask = 0x000ffffffffff000ull;
constexpr uint64_t small_page = 4096;
constexpr uint64_t big_page = 2ull << 20;
constexpr uint64_t max_physical = 1ull << 46;

bool g_nx = false;
AddressSpace g_kernel_space;
IrqSpinLock g_lock;

// Computed without branches: under TCG each branch on the boot path is a
// translation block, and every mapping call starts here.
uint64_t leaf_bits(PageFlags flags)
{
    uint64_t bits = present | (uint64_t(flags.writable) * writable);
    bits |= uint64_t(!flags.executable & g_nx) * no_execute;
    bits |= uint64_t(as_one_test(flags.cache == Cache::Uncached)) * (cache_disable | write_through);
    return bits;
}

unsigned index_at(uint64_t address, int level) { return (address >> (12 + 9 * (level - 1))) & 511; }
uint64_t* table_at(uint64_t physical) { return reinterpret_cast<uint64_t*>(physical); }

} // namespace

bool nx_supported() { return g_nx; }

void enable_nx_if_supported()
{
    // Leaf 0x80000001 exists on every CPU running this code: long mode is
    // announced there.
    if (cpuid(0x80000001).edx & (1u << 20)) {
        wrmsr(msr::efer, rdmsr(msr::efer) | (1ull << 11));
        g_nx = true;
    }
}

AddressSpace& kernel_address_space() { return g_kernel_space; }

Result<void> AddressSpace::init(TableAllocator allocator)
{
    m_allocator = allocator;
    m_root = TRY(m_allocator());
    return ok();
}

// Returns the table at `level` (1 = page table, 2 = page directory, 3 = PDPT)
// covering address, creating intermediate tables and splitting large pages.
Result<uint64_t*> AddressSpace::table_for(uint64_t address, int level)
{
    uint64_t* table = table_at(m_root);
    for (int current = 4; current > level; --current) {
        uint64_t& entry = table[index_at(address, current)];
        if (!(entry & present)) {
            uint64_t fresh = TRY(m_allocator());
            entry = fresh | present | writable;
        } else if (entry & large_page) {
            // Split a 2 MiB page into 512 small ones with the same flags, so
            // part of it can change.
            uint64_t fresh = TRY(m_allocator());
            uint64_t base = entry & address_mask & ~(big_page - 1);
            uint64_t bits = entry & ~address_mask & ~large_page;
            uint64_t* small = table_at(fresh);
            for (unsigned i = 0; i < 512; ++i)
                small[i] = (base + i * small_page) | bits;
            entry = fresh | present | writable;
        }
        table = table_at(entry & address_mask);
    }
    return table;
}

Result<void> AddressSpace::identity_map(uint64_t address, uint64_t size, PageFlags flags)
{
    if (as_one_test((((address | size) & (small_page - 1)) != 0) | (address >= max_physical) | (size > max_physical - address))) {
        log::error("paging: refusing to map {:#x}+{:#x}: misaligned or beyond physical space", address, size);
        return Error::InvalidArgument;
    }
    uint64_t bits = leaf_bits(flags);
    uint64_t end = address + size;
    while (address < end) {
        if (as_one_test(((address & (big_page - 1)) == 0) & (end - address >= big_page))) {
            uint64_t* directory = TRY(table_for(address, 2));
            // A previous split leaves a page table here; a 2 MiB remap
            // supersedes it (its page is not reclaimed: rare, small).
            directory[index_at(address, 2)] = address | bits | large_page;
            address += big_page;
            continue;
        }
        // Fill the rest of this 2 MiB stretch from one page table.
        uint64_t* table = TRY(table_for(address, 1));
        uint64_t stretch_end = (address | (big_page - 1)) + 1;
        if (stretch_end > end)
            stretch_end = end;
        for (; address < stretch_end; address += small_page)
            table[index_at(address, 1)] = address | bits;
    }
    flush_if_active();
    return ok();
}

void AddressSpace::flush_if_active()
{
    // Reloading CR3 drops every non-global translation: cheaper than one
    // invlpg per page for the large ranges mapped here.
    if (read_cr3() == m_root)
        write_cr3(m_root);
}

Result<void> AddressSpace::unmap(uint64_t address, uint64_t size)
{
    if ((address & (small_page - 1)) || (size & (small_page - 1)))
        return Error::InvalidArgument;
    for (uint64_t page = address; page < address + size; page += small_page) {
        uint64_t* table = TRY(table_for(page, 1));
        table[index_at(page, 1)] = 0;
    }
    flush_if_active();
    return ok();
}

bool AddressSpace::is_mapped(uint64_t address) const
{
    if (address >= max_physical)
        return false;
    const uint64_t* table = table_at(m_root);
    for (int level = 4; level >= 1; --level) {
        uint64_t entry = table[index_at(address, level)];
        if (!(entry & present))
            return false;
        if (level == 1 || (level == 2 && (entry & large_page)))
            return true;
        table = table_at(entry & address_mask);
    }
    return false;
}

void AddressSpace::activate() { write_cr3(m_root); }

Result<void> unmap_page(uint64_t address)
{
    LockGuard guard(g_lock);
    return g_kernel_space.unmap(address & ~(small_page - 1), small_page);
}

Result<void> map_page(uint64_t address)
{
    LockGuard guard(g_lock);
    return g_kernel_space.identity_map(address & ~(small_page - 1), small_page, { true, false, Cache::WriteBack });
}

Result<void*> map_mmio(uint64_t physical, uint64_t size)
{
    uint64_t start = physical & ~(small_page - 1);
    uint64_t end = (physical + size + small_page - 1) & ~(small_page - 1);
    if (size == 0 || end < start)
        return Error::InvalidArgument;
    LockGuard guard(g_lock);
    // Mapping the same registers twice is harmless; skip pages already mapped
    // so a device inside a RAM mapping keeps working.
    for (uint64_t page = start; page < end; page += small_page) {
        if (!g_kernel_space.is_mapped(page))
            TRY(g_kernel_space.identity_map(page, small_page, { true, false, Cache::Uncached }));
    }
    return reinterpret_cast<void*>(physical);
}

} // namespace skiff::x86
