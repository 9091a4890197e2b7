// The application API's time functions, on the kernel clock.
#include "kernel/clock.h"

#include <skiff/time.h>

namespace skiff {

uint64_t monotonic_ns() { return clock::now_ns(); }
void sleep_ns(uint64_t ns) { clock::sleep_ns(ns); }

} // namespace skiff
