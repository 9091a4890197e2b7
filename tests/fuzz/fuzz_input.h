// Shared by the fuzz targets that drive a simulated device: the input read as
// a stream of little-endian numbers (zeros once it runs out), and a check
// that stops the run so libFuzzer records the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace skiff::fuzzing {

inline void check(bool condition)
{
    if (!condition)
        abort();
}

struct Input {
    const uint8_t* data;
    size_t size;
    size_t at { 0 };
    bool empty() const { return at >= size; }
    uint8_t u8() { return at < size ? data[at++] : 0; }
    uint16_t u16() { return uint16_t(u8() | (u8() << 8)); }
    uint32_t u32() { return uint32_t(u16() | (uint32_t(u16()) << 16)); }
};

} // namespace skiff::fuzzing
