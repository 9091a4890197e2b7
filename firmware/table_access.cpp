#include "firmware/table_access.h"

namespace skiff::firmware {

namespace {
constexpr uint64_t bda_ebda_segment = 0x40e;
constexpr uint64_t bda_base_memory_kib = 0x413;
constexpr uint64_t lowest_ebda = 0x500;       // above the IVT and the BDA itself
constexpr uint64_t legacy_video_start = 0xa0000; // conventional memory ends here at the latest
} // namespace

Result<uint8_t> sum_bytes(const PhysicalMemory& memory, uint64_t address, uint64_t length)
{
    if (!range_fits(address, length))
        return Error::OutOfRange;
    uint8_t chunk[256];
    uint8_t sum = 0;
    for (uint64_t done = 0; done < length;) {
        size_t step = length - done < sizeof(chunk) ? static_cast<size_t>(length - done) : sizeof(chunk);
        if (!memory.read(address + done, chunk, step))
            return Error::OutOfRange;
        sum = static_cast<uint8_t>(sum + sum_bytes(chunk, step));
        done += step;
    }
    return sum;
}

uint64_t ebda_address(const PhysicalMemory& memory)
{
    uint16_t segment = 0;
    if (!read_object(memory, bda_ebda_segment, segment))
        return 0;
    uint64_t address = uint64_t(segment) << 4;
    if (address < lowest_ebda || address >= legacy_video_start)
        return 0;
    return address;
}

uint64_t base_memory_end(const PhysicalMemory& memory)
{
    constexpr uint64_t fallback = legacy_video_start;
    uint16_t kib = 0;
    if (!read_object(memory, bda_base_memory_kib, kib))
        return fallback;
    // Below 512 KiB or above 640 KiB is not a PC's conventional memory: the
    // BDA was never filled in (VMMs that boot without a BIOS).
    if (kib < 512 || kib > 640)
        return fallback;
    return uint64_t(kib) * 1024;
}

Tag printable(const char* bytes, size_t count)
{
    Tag tag {};
    if (count > sizeof(tag.text))
        count = sizeof(tag.text);
    for (size_t i = 0; i < count; ++i) {
        char c = bytes[i];
        tag.text[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    tag.length = count;
    return tag;
}

} // namespace skiff::firmware
