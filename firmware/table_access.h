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

// Out of line: one copy of the loop instead of one per checksum (under TCG,
// each copy on the boot path is translated separately).
[[gnu::noinline]] constexpr uint8_t sum_bytes(const uint8_t* bytes, size_t length)
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
// whose first bytes equal `signature` (at most 8 bytes); returns the first
// address the probe accepts, or 0. Scans memory's scan_view() in place, else
// copies a chunk at a time; only a chunk that cannot be read whole is retried
// paragraph by paragraph. The BIOS area is 8192 paragraphs, scanned on every
// boot of a machine without ACPI: a paragraph costs about three instructions.
template<typename Probe>
uint64_t scan_paragraphs(const PhysicalMemory& memory, uint64_t start, uint64_t length, std::string_view signature, Probe probe)
{
    constexpr uint64_t paragraph = 16;
    constexpr uint64_t chunk_size = 1024;
    if (signature.empty() || signature.size() > 8 || !range_fits(start, length))
        return 0;
    uint64_t want = 0, mask = 0;
    for (size_t i = 0; i < signature.size(); ++i) {
        want |= uint64_t(uint8_t(signature[i])) << (8 * i);
        mask |= uint64_t(0xff) << (8 * i);
    }
    alignas(16) uint8_t chunk[chunk_size];
    // Memory that lends a view of the whole area is scanned in one piece;
    // other memory is copied out a chunk at a time.
    const uint8_t* whole_view = memory.scan_view(start, length);
    uint64_t piece = whole_view ? length : chunk_size;
    for (uint64_t chunk_offset = 0; chunk_offset < length; chunk_offset += piece) {
        uint64_t size = length - chunk_offset < piece ? length - chunk_offset : piece;
        uint64_t base = start + chunk_offset;
        uint64_t offset = 0;
        const uint8_t* bytes = whole_view;
        if (!bytes && memory.read(base, chunk, size))
            bytes = chunk;
        if (bytes) {
            auto matches = [&](uint64_t at) {
                uint64_t word;
                __builtin_memcpy(&word, bytes + at, sizeof(word));
                return (word & mask) == want;
            };
            // Sixteen paragraphs per branch, their first four bytes compared
            // four at a time in vector registers; a hit is then checked in
            // full. Signatures are rare, and this runs over 8192 paragraphs
            // of BIOS area on every boot without ACPI.
            using Lanes = int32_t __attribute__((vector_size(16)));
            auto paragraph_at = [&](uint64_t at) {
                Lanes lanes;
                __builtin_memcpy(&lanes, bytes + at, sizeof(lanes));
                return lanes;
            };
            auto first_words = [&](uint64_t at) { // lane i: the first 4 bytes of paragraph i
                Lanes ab = __builtin_shufflevector(paragraph_at(at), paragraph_at(at + paragraph), 0, 4, 1, 5);
                Lanes cd = __builtin_shufflevector(paragraph_at(at + 2 * paragraph), paragraph_at(at + 3 * paragraph), 0, 4, 1, 5);
                return __builtin_shufflevector(ab, cd, 0, 1, 4, 5);
            };
            const int32_t want_prefix = int32_t(uint32_t(want)), mask_prefix = int32_t(uint32_t(mask));
            const Lanes wanted = { want_prefix, want_prefix, want_prefix, want_prefix };
            const Lanes masked = { mask_prefix, mask_prefix, mask_prefix, mask_prefix };
            auto hits_at = [&](uint64_t at) { return (first_words(at) & masked) == wanted; };
            constexpr uint64_t step = 16 * paragraph;
            for (; offset + step <= size; offset += step) {
                Lanes hits = hits_at(offset) | hits_at(offset + 4 * paragraph) | hits_at(offset + 8 * paragraph)
                    | hits_at(offset + 12 * paragraph);
                uint64_t halves[2];
                __builtin_memcpy(halves, &hits, sizeof(halves));
                if (__builtin_expect((halves[0] | halves[1]) == 0, 1))
                    continue;
                for (uint64_t at = offset; at < offset + step; at += paragraph) {
                    if (matches(at) && probe(base + at))
                        return base + at;
                }
            }
        }
        // What is left, or a chunk that could not be read whole: one paragraph at a time.
        for (; offset + signature.size() <= size; offset += paragraph) {
            uint64_t word = 0;
            if (!memory.read(base + offset, &word, signature.size()))
                continue;
            if ((word & mask) == want && probe(base + offset))
                return base + offset;
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
