// The C string functions the compiler may call implicitly in a freestanding
// image. Built only into the image; host builds use the C library.
#include <cstddef>
#include <cstdint>

// The image is compiled with builtins on, so GCC may turn a loop that copies,
// fills or scans into a call to memmove, memset or strlen: inside those very
// functions that call would be themselves. Their loops stay loops.
#define SKIFF_LOOPS_STAY_LOOPS [[gnu::optimize("no-tree-loop-distribute-patterns")]]

extern "C" {

// Bulk moves go eight bytes at a time: under emulation every iteration of a
// rep-prefixed instruction costs as much as an instruction. Kept out of line:
// each inlined copy would be four more rep instructions for TCG to translate.
[[gnu::noinline]] void* memcpy(void* __restrict destination, const void* __restrict source, size_t count)
{
    void* result = destination;
    size_t words = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep movsq" : "+D"(destination), "+S"(source), "+c"(words)::"memory");
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(bytes)::"memory");
    return result;
}

[[gnu::noinline]] void* memset(void* destination, int value, size_t count)
{
    void* result = destination;
    uint64_t pattern = uint64_t(uint8_t(value)) * 0x0101010101010101ull;
    size_t words = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep stosq" : "+D"(destination), "+c"(words) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(destination), "+c"(bytes) : "a"(pattern) : "memory");
    return result;
}

SKIFF_LOOPS_STAY_LOOPS void* memmove(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d == s || count == 0)
        return destination;
    if (d < s || d >= s + count)
        return memcpy(destination, source, count);
    // Overlapping with destination above source: copy backwards.
    while (count--)
        d[count] = s[count];
    return destination;
}

SKIFF_LOOPS_STAY_LOOPS int memcmp(const void* a, const void* b, size_t count)
{
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

SKIFF_LOOPS_STAY_LOOPS void* memchr(const void* memory, int value, size_t count)
{
    const auto* bytes = static_cast<const unsigned char*>(memory);
    for (size_t i = 0; i < count; ++i) {
        if (bytes[i] == static_cast<unsigned char>(value))
            return const_cast<unsigned char*>(bytes + i);
    }
    return nullptr;
}

SKIFF_LOOPS_STAY_LOOPS size_t strlen(const char* text)
{
    size_t length = 0;
    while (text[length])
        ++length;
    return length;
}

SKIFF_LOOPS_STAY_LOOPS int strcmp(const char* a, const char* b)
{
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

} // extern "C"
