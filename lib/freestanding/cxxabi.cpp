// The few C++ ABI hooks GCC emits calls to in a freestanding image.
#include "lib/spinlock.h"

#include <atomic>
#include <new>
#include <cstdint>

namespace skiff {
[[noreturn]] void cxxabi_fatal(const char* what);
}

extern "C" {

void* __dso_handle = nullptr;

// The kernel never unloads, so destructors of statics are never run.
int atexit(void (*)()) { return 0; }
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

void __cxa_pure_virtual() { skiff::cxxabi_fatal("pure virtual function called"); }

// Thread-safe local statics: byte 0 of the guard is "done", byte 1 "busy".
int __cxa_guard_acquire(uint64_t* guard)
{
    auto* done = reinterpret_cast<std::atomic<uint8_t>*>(guard);
    auto* busy = reinterpret_cast<std::atomic<uint8_t>*>(reinterpret_cast<uint8_t*>(guard) + 1);
    if (done->load(std::memory_order_acquire))
        return 0;
    uint8_t expected = 0;
    while (!busy->compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
        expected = 0;
        skiff::cpu_hooks::relax();
    }
    if (done->load(std::memory_order_acquire)) {
        busy->store(0, std::memory_order_release);
        return 0;
    }
    return 1;
}

void __cxa_guard_release(uint64_t* guard)
{
    auto* done = reinterpret_cast<std::atomic<uint8_t>*>(guard);
    auto* busy = reinterpret_cast<std::atomic<uint8_t>*>(reinterpret_cast<uint8_t*>(guard) + 1);
    done->store(1, std::memory_order_release);
    busy->store(0, std::memory_order_release);
}

void __cxa_guard_abort(uint64_t* guard)
{
    reinterpret_cast<std::atomic<uint8_t>*>(reinterpret_cast<uint8_t*>(guard) + 1)->store(0, std::memory_order_release);
}

} // extern "C"

// libstdc++'s header-only parts report misuse (string_view::substr out of
// range, optional::value() when empty) through these; without exceptions
// that is a bug in Skiff, so it is fatal.
extern "C" [[noreturn]] void abort() { skiff::cxxabi_fatal("abort() called"); }

namespace std {
const nothrow_t nothrow {};
[[noreturn]] void __throw_out_of_range_fmt(const char*, ...) { skiff::cxxabi_fatal("std: index out of range"); }
[[noreturn]] void __throw_out_of_range(const char*) { skiff::cxxabi_fatal("std: index out of range"); }
[[noreturn]] void __throw_length_error(const char*) { skiff::cxxabi_fatal("std: length error"); }
[[noreturn]] void __throw_logic_error(const char*) { skiff::cxxabi_fatal("std: logic error"); }
[[noreturn]] void __throw_invalid_argument(const char*) { skiff::cxxabi_fatal("std: invalid argument"); }
[[noreturn]] void __throw_bad_alloc() { skiff::cxxabi_fatal("std: bad alloc"); }
[[noreturn]] void __throw_bad_array_new_length() { skiff::cxxabi_fatal("std: bad array new length"); }
} // namespace std
