// The kernel's own page tables. Memory is identity mapped (virtual ==
// physical): RAM and firmware ranges write-back, device registers uncached
// and mapped on demand, the null page never.
#pragma once

#include "lib/result.h"

#include <cstdint>

namespace skiff::x86 {

enum class Cache : uint8_t { WriteBack, Uncached };

struct PageFlags {
    bool writable;
    bool executable;
    Cache cache;
};

// Supplies zeroed, page-aligned physical pages for page tables.
using TableAllocator = Result<uint64_t> (*)();

class AddressSpace {
public:
    Result<void> init(TableAllocator allocator);
    // Maps [address, address + size) to itself. Uses 2 MiB pages where the
    // range allows, 4 KiB pages elsewhere; remapping an already mapped range
    // replaces its flags (a 2 MiB page is split when needed).
    Result<void> identity_map(uint64_t address, uint64_t size, PageFlags flags);
    Result<void> unmap(uint64_t address, uint64_t size);
    bool is_mapped(uint64_t address) const;
    void activate();
    uint64_t root() const { return m_root; }

private:
    Result<uint64_t*> table_for(uint64_t address, int level);
    void flush_if_active();
    uint64_t m_root { 0 };
    TableAllocator m_allocator { nullptr };
};

// The kernel's address space, and whether the CPU enforces no-execute.
AddressSpace& kernel_address_space();
bool nx_supported();
void enable_nx_if_supported();

// Removes / restores the identity mapping of one RAM page (guard pages),
// under the address-space lock. Other CPUs' TLBs are the caller's business.
Result<void> unmap_page(uint64_t address);
Result<void> map_page(uint64_t address);

// Maps device registers uncached; idempotent.
Result<void*> map_mmio(uint64_t physical, uint64_t size);

} // namespace skiff::x86
