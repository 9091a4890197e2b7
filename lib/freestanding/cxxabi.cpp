// The few C++ ABI hooks GCC emits calls to in a freestanding image.
#include "lib/spinlock.h"

#include <atomic>
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
