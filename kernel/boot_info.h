// What a boot entry hands the kernel. Each entry (PVH, Linux 64-bit boot
// protocol, multiboot2) converts its loader's structures into one BootInfo and
// then calls kernel_main(); nothing after that knows how the machine booted.
//
// BootInfo owns copies of everything (command line, memory map, module
// descriptors), so low memory where loaders put their structures can be reused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace skiff {

enum class BootProtocol : uint8_t { Pvh, Linux64, Multiboot2 };

namespace detail {
// At namespace scope, so it is in the image rather than rebuilt on the stack
// at each call.
inline constexpr std::string_view boot_protocol_names[] = { "pvh", "linux64", "multiboot2", "unknown" };
static_assert(std::size(boot_protocol_names) == size_t(BootProtocol::Multiboot2) + 2);
} // namespace detail

constexpr std::string_view boot_protocol_name(BootProtocol protocol)
{
    // A table with "unknown" last, indexed without a branch.
    constexpr size_t unknown = std::size(detail::boot_protocol_names) - 1;
    auto index = static_cast<size_t>(protocol);
    return detail::boot_protocol_names[index < unknown ? index : unknown];
}

// Ordered by precedence: where ranges overlap, the higher value wins.
enum class MemoryType : uint8_t {
    Usable = 0,
    AcpiReclaimable = 1,
    AcpiNvs = 2,
    Reserved = 3,
    Unusable = 4, // reported bad by the firmware
};

struct MemoryRange {
    uint64_t base;
    uint64_t length;
    MemoryType type;

    constexpr uint64_t end() const { return base + length; }
};

struct BootModule {
    uint64_t base;
    uint64_t size;
    std::array<char, 64> name; // NUL-terminated, possibly truncated
};

struct BootInfo {
    static constexpr size_t max_memory_ranges = 128;
    static constexpr size_t max_modules = 8;
    static constexpr size_t max_command_line = 4096;

    BootProtocol protocol;

    std::array<MemoryRange, max_memory_ranges> memory_map;
    size_t memory_range_count;
    bool memory_map_truncated;

    std::array<char, max_command_line> command_line; // NUL-terminated
    size_t command_line_length;
    bool command_line_truncated;

    uint64_t acpi_rsdp;           // physical address; 0 when the loader gave none
    // multiboot2 hands over a copy of the RSDP rather than its address.
    std::array<uint8_t, 36> acpi_rsdp_copy;
    size_t acpi_rsdp_copy_length; // 0: no copy
    uint64_t mp_floating_pointer; // physical address; 0 when unknown (scan for it)

    std::array<BootModule, max_modules> modules;
    size_t module_count;
    bool modules_truncated;

    uint64_t entry_tsc; // TSC read at the first instruction of the entry

    std::string_view command_line_view() const { return { command_line.data(), command_line_length }; }
};

// Helpers the entries use to fill a BootInfo without overflowing it.
void boot_info_reset(BootInfo& info, BootProtocol protocol, uint64_t entry_tsc);
void boot_info_add_memory(BootInfo& info, uint64_t base, uint64_t length, MemoryType type);
void boot_info_set_command_line(BootInfo& info, const char* text, size_t max_length);
void boot_info_add_module(BootInfo& info, uint64_t base, uint64_t size, const char* name, size_t max_name);

} // namespace skiff
