// Where virtio-mmio transports are: a fixed-capacity list of register ranges
// and interrupts, filled from the kernel command line
//
//   virtio_mmio.device=4K@0xd0000000:5          (Firecracker)
//   virtio_mmio.device=512@0xfeb00e00:12        (QEMU microvm, acpi=off)
//   virtio_mmio.device=<size>@<base>:<irq>[:<id>]
//
// or, when the command line names none, from the ACPI DSDT's LNRO0005
// devices (firmware/aml_devices.h). Both sources go through the same checks,
// so a malformed, overlapping or implausible entry is refused the same way:
// one warning naming where it came from, and the rest of the list is kept.
// Portable: no hardware access.
#pragma once

#include "lib/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace skiff {
class CommandLine;
class PhysicalMemory;
struct PlatformInfo;
}

namespace skiff::virtio_mmio {

struct DeviceDescription {
    uint64_t base;
    uint64_t size;
    uint32_t gsi;
    // The command line says nothing about the line: Firecracker and QEMU
    // microvm wire virtio-mmio as edge-triggered, active high.
    bool level_triggered;
    bool active_low;
};

// A register block smaller than the 0x100 bytes of common registers cannot be
// a virtio-mmio transport; one beyond 1 GiB is a typo, not a device.
constexpr uint64_t min_size = 0x100;
constexpr uint64_t max_size = 1ull << 30;
constexpr uint64_t physical_address_limit = 1ull << 52; // x86-64 architectural maximum
constexpr uint32_t max_gsi = 255;

enum class Source : uint8_t { None, CommandLine, Acpi };

class DeviceList {
public:
    static constexpr size_t capacity = 32;

    // Appends the device unless it is implausible (size, alignment, range,
    // interrupt), overlaps one already listed, or the list is full; a refusal
    // logs one warning naming `origin` (e.g. the command-line value).
    Result<void> add(const DeviceDescription& device, std::string_view origin);

    std::span<const DeviceDescription> devices() const { return { m_devices.data(), m_count }; }
    size_t size() const { return m_count; }
    bool empty() const { return m_count == 0; }
    // Entries seen but not listed (malformed, refused or beyond capacity).
    size_t refused() const { return m_refused; }
    void note_refused() { ++m_refused; }

    Source source() const { return m_source; }
    void set_source(Source source) { m_source = source; }

private:
    std::array<DeviceDescription, capacity> m_devices {};
    size_t m_count { 0 };
    size_t m_refused { 0 };
    Source m_source { Source::None };
};

// One value of virtio_mmio.device=: `<size>@<base>:<irq>[:<id>]`. size is
// decimal or 0x-hex with an optional K/M/G suffix (powers of 1024); base is
// decimal or 0x-hex; irq is decimal; id (Linux's platform device id, which
// Skiff does not use) must be a decimal integer. InvalidArgument with a
// warning when malformed. Range checks are DeviceList::add's.
Result<DeviceDescription> parse_device_parameter(std::string_view value);

// Every virtio_mmio.device= on the command line, in order. Returns how many
// were added to `list`.
size_t add_command_line_devices(const CommandLine& command_line, DeviceList& list);

// The devices to probe: the command line's when it names at least one usable
// device, else the LNRO0005 devices of the DSDT and SSDTs (with `platform`'s
// ISA overrides applied to small IRQ descriptors). Never fails; an empty
// list means there is nothing to probe.
DeviceList collect_devices(const CommandLine& command_line, const PlatformInfo& platform, const PhysicalMemory& memory);

} // namespace skiff::virtio_mmio
