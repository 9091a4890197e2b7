// Time for applications: a monotonic clock and sleeping.
#pragma once

#include <cstdint>

namespace skiff {

// Nanoseconds since the VM's first instruction (monotonic).
uint64_t monotonic_ns();
// Blocks for at least the given time; the CPU halts meanwhile.
void sleep_ns(uint64_t ns);
inline void sleep_ms(uint64_t ms) { sleep_ns(ms * 1000000ull); }

} // namespace skiff
