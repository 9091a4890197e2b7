// The C string functions the compiler may call implicitly in a freestanding
// image. Built only into the image; host builds use the C library.
#include <cstddef>
#include <cstdint>

extern "C" {

void* memcpy(void* __restrict destination, const void* __restrict source, size_t count)
{
    void* result = destination;
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(count)::"memory");
    return result;
}

void* memset(void* destination, int value, size_t count)
{
    void* result = destination;
    asm volatile("rep stosb" : "+D"(destination), "+c"(count) : "a"(value) : "memory");
    return result;
}

void* memmove(void* destination, const void* source, size_t count)
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

int memcmp(const void* a, const void* b, size_t count)
{
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char* text)
{
    size_t length = 0;
    while (text[length])
        ++length;
    return length;
}

int strcmp(const char* a, const char* b)
{
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

} // extern "C"
