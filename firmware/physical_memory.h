// Firmware tables and loader structures are untrusted input living in physical
// memory. Parsers reach that memory only through PhysicalMemory, which copies
// bytes out: nothing keeps a pointer into a table (a hostile table cannot
// change under a check, or steer a pointer), and host tests and fuzzers hand
// the same parsers synthetic memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace skiff {

class PhysicalMemory {
public:
    // Copies size bytes at a physical address; false if any part is outside what may be read.
    virtual bool read(uint64_t address, void* out, size_t size) const = 0;
    // Read-only access in place for signature scans over large areas (the
    // BIOS ROM), or nullptr when the bytes must be copied with read(). A scan
    // only compares; whatever it finds is then read() and checked as usual.
    virtual const uint8_t* scan_view(uint64_t address, size_t size) const { return nullptr; }

protected:
    ~PhysicalMemory() = default;
};

// True when [address, address + size) does not wrap around the address space;
// table offsets come from untrusted fields, so every sum is checked first.
constexpr bool range_fits(uint64_t address, uint64_t size)
{
    return size == 0 || address <= UINT64_MAX - (size - 1);
}

// Copies one trivially copyable object (a packed on-disk/in-memory layout).
template<typename T>
bool read_object(const PhysicalMemory& memory, uint64_t address, T& out)
{
    static_assert(std::is_trivially_copyable_v<T>);
    return range_fits(address, sizeof(T)) && memory.read(address, &out, sizeof(T));
}

// Physical memory the kernel has mapped at a fixed virtual offset (the boot
// identity map, later the direct map). Reads at or above `limit` are refused,
// so a table pointer outside the mapping is an error, not a page fault.
class DirectMappedMemory final : public PhysicalMemory {
public:
    constexpr DirectMappedMemory(uintptr_t virtual_base, uint64_t limit)
        : m_virtual_base(virtual_base)
        , m_limit(limit)
    {
    }

    bool read(uint64_t address, void* out, size_t size) const override
    {
        if (address > m_limit || size > m_limit - address)
            return false;
        // Byte copies: table fields are often unaligned, and this must not
        // depend on a memcpy being linked into the image.
        auto* source = reinterpret_cast<const volatile uint8_t*>(m_virtual_base + address);
        auto* target = static_cast<uint8_t*>(out);
        for (size_t i = 0; i < size; ++i)
            target[i] = source[i];
        return true;
    }

private:
    uintptr_t m_virtual_base;
    uint64_t m_limit;
};

} // namespace skiff
