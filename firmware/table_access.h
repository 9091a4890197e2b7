// Helpers shared by the ACPI and MP table parsers: checksums over physical
// memory, the BIOS data area's pointers, signature scans and printable tags
// for log lines. Everything reads through PhysicalMemory.
#pragma once

#include "firmware/physical_memory.h"
#include "lib/result.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skiff::firmware {

// Sum of `length` bytes modulo 256 (a valid table sums to 0). OutOfRange if any byte is unreadable.
Result<uint8_t> sum_bytes(const PhysicalMemory& memory, uint64_t address, uint64_t length);

constexpr uint8_t sum_bytes(const uint8_t* bytes, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + bytes[i]);
    return sum;
}

// Start of the Extended BIOS Data Area from the BDA word at 0x40e, or 0 when
// unreadable or implausible (Firecracker and QEMU microvm leave the BDA zero).
uint64_t ebda_address(const PhysicalMemory& memory);

// End of conventional memory from the BDA word at 0x413 (KiB); 640 KiB when
// unreadable or implausible.
uint64_t base_memory_end(const PhysicalMemory& memory);

// Calls probe(address) at each 16-byte boundary of [start, start + length)
// whose first bytes equal `signature`; returns the first address the probe
// accepts, or 0. Reads a chunk at a time; only a chunk that cannot be read
// whole is retried paragraph by paragraph.
template<typename Probe>
uint64_t scan_paragraphs(const PhysicalMemory& memory, uint64_t start, uint64_t length, std::string_view signature, Probe probe)
{
    constexpr uint64_t paragraph = 16;
    constexpr uint64_t chunk_size = 512;
    if (signature.empty() || signature.size() > paragraph || !range_fits(start, length))
        return 0;
    auto matches = [&](const char* bytes) {
        for (size_t i = 0; i < signature.size(); ++i) {
            if (bytes[i] != signature[i])
                return false;
        }
        return true;
    };
    char chunk[chunk_size];
    for (uint64_t chunk_offset = 0; chunk_offset < length; chunk_offset += chunk_size) {
        uint64_t size = length - chunk_offset < chunk_size ? length - chunk_offset : chunk_size;
        bool whole = memory.read(start + chunk_offset, chunk, size);
        for (uint64_t offset = 0; offset + signature.size() <= size; offset += paragraph) {
            uint64_t address = start + chunk_offset + offset;
            char single[paragraph];
            const char* bytes = chunk + offset;
            if (!whole) {
                if (!memory.read(address, single, signature.size()))
                    continue;
                bytes = single;
            }
            if (matches(bytes) && probe(address))
                return address;
        }
    }
    return 0;
}

// A signature or OEM id made safe to log: hostile tables hold any bytes.
struct Tag {
    char text[16];
    size_t length;
    std::string_view view() const { return { text, length }; }
};
Tag printable(const char* bytes, size_t count);

} // namespace skiff::firmware
