// The kernel parameters the core itself owns (see docs/app-guide.md), read
// in one pass over the command line: with none given, as on most boots,
// reading them is one test.
#pragma once

#include "kernel/cmdline.h"
#include "lib/log.h"

#include <cstdint>

namespace skiff {

struct KernelOptions {
    log::Level log_level = log::Level::Warn; // loglevel=error|warn|info|debug
    bool heap_debug = false;                 // heap_debug[=bool]
    uint64_t tsc_khz = 0;                    // tsc_khz=N; 0: discover the rate
    bool probe_devices_at_boot = false;      // probe_devices_at_boot[=bool]
    bool boottime = false;                   // boottime[=bool]
};

// Unknown keys belong to someone else (drivers, the VMM's own parameters)
// and are skipped. For a key given more than once the last occurrence wins,
// as with CommandLine's lookups; a malformed value is warned about and gives
// the default.
KernelOptions read_kernel_options(const CommandLine& command_line);

} // namespace skiff
