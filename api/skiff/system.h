// What an application can ask Skiff about the machine it runs on.
#pragma once

#include <cstdint>
#include <string_view>

namespace skiff {

struct SystemInfo {
    std::string_view boot_entry;   // "pvh", "linux64" or "multiboot2"
    unsigned cpu_count;            // CPUs the platform tables describe
    uint64_t usable_memory_bytes;  // RAM the kernel manages
    uint64_t total_memory_bytes;   // RAM in the firmware memory map
};

SystemInfo system_info();

} // namespace skiff

// Applications define the usual entry point; the kernel calls it with the
// arguments given after ` -- ` on the command line (argv[0] is the app name)
// and powers the VM off with its return value (0..127) as the exit status.
int main(int argc, char** argv);
