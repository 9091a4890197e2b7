// A sparse physical memory for host tests and fuzzers: regions placed at
// physical addresses; reads outside every region fail, as they must in the
// image for addresses the kernel refuses.
#pragma once

#include "firmware/physical_memory.h"

#include <cstring>
#include <map>
#include <vector>

namespace skiff::testing {

class FakeMemory final : public PhysicalMemory {
public:
    void place(uint64_t address, const void* data, size_t size)
    {
        auto& region = m_regions[address];
        region.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    }
    template<typename T>
    void place(uint64_t address, const T& value) { place(address, &value, sizeof(T)); }

    bool read(uint64_t address, void* out, size_t size) const override
    {
        auto it = m_regions.upper_bound(address);
        if (it == m_regions.begin())
            return false;
        --it;
        uint64_t offset = address - it->first;
        if (offset > it->second.size() || size > it->second.size() - offset)
            return false;
        std::memcpy(out, it->second.data() + offset, size);
        return true;
    }

private:
    std::map<uint64_t, std::vector<uint8_t>> m_regions;
};

} // namespace skiff::testing
