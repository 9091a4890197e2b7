// Devices that ACPI describes only in AML: a small, bounded scanner that finds
// Device objects by hardware id (_HID or _CID) and decodes the memory range
// and interrupt of their _CRS resource template. It exists for virtio-mmio:
// QEMU microvm with ACPI lists its transports only as `LNRO0005` devices in
// the DSDT, Firecracker >= 1.8 lists them there as well as on the command line.
//
//   Device (VR23) {                          Device (V000) {            (Firecracker:
//     Name (_HID, "LNRO0005")                  Name (_HID, "LNRO0005")   at the root,
//     Name (_UID, 0x17)                        Name (_UID, Zero)         edge, active
//     Name (_CCA, One)                         Name (_CCA, One)          high)
//     Name (_CRS, ResourceTemplate () {        Name (_CRS, ResourceTemplate () {
//       Memory32Fixed (ReadWrite, 0xfeb02e00, 0x200)   Memory32Fixed (ReadWrite, 0xd0000000, 0x1000)
//       Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 47 }
//     })                                       Interrupt (..., Edge, ActiveHigh, ...) { 5 } })
//   }                                        }
//   (QEMU microvm: inside Scope (_SB))
//
// This is not an interpreter. It walks the declaration structure (Scope,
// Device, Name, and the length-prefixed objects it skips whole: Method, If,
// Field, Processor...) and reads only Name objects with constant values.
// A _HID, _CRS or _STA computed by a method is not evaluated: such a device
// is reported and skipped. Where a term cannot be measured (an executable
// statement at declaration level) it resynchronises on the next byte that
// parses as a Scope or Device header, so one odd construct does not hide
// the devices after it.
//
// Everything is bounded: PkgLengths must fit their parent, nesting depth and
// the number of steps are capped, and bytes come through PhysicalMemory a
// small window at a time, so a corrupt or hostile table costs at most a log
// line and never a crash, a loop or a read outside the table.
#pragma once

#include "firmware/physical_memory.h"
#include "firmware/platform.h"
#include "lib/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace skiff::acpi {

constexpr std::string_view virtio_mmio_hardware_id = "LNRO0005";

struct AmlMmioDevice {
    std::array<char, 4> name; // the Device's own NameSeg, e.g. "VR23"
    uint64_t base;
    uint64_t size;
    // Extended Interrupt descriptor: a GSI. Small IRQ descriptor: an ISA IRQ
    // (isa_irq set), which the MADT's overrides may route elsewhere.
    uint32_t interrupt;
    bool isa_irq;
    bool level_triggered;
    bool active_low;
};

struct AmlDeviceScan {
    static constexpr size_t capacity = 32;

    std::array<AmlMmioDevice, capacity> devices {};
    size_t count = 0;
    size_t skipped = 0;       // matching devices whose resources were unusable (each logged)
    size_t resyncs = 0;       // terms the walker could not measure and skipped over
    bool truncated = false;   // more matching devices than capacity (logged once)
    bool step_limit_hit = false;

    std::span<const AmlMmioDevice> list() const { return { devices.data(), count }; }
};

// Scans AML bytes (a definition block's body, without the 36-byte header)
// and appends every matching device to `out`. `hardware_id` is compared with
// string _HID/_CID values and with EISA ids decoded to text ("PNP0501").
void find_devices_in_aml(std::span<const uint8_t> aml, std::string_view hardware_id, AmlDeviceScan& out);

// The same over a DSDT or SSDT in physical memory: header, length and
// checksum are validated first (acpi::read_table_header); the body is read
// through a small window, never copied whole.
Result<void> find_devices_in_table(const PhysicalMemory& memory, uint64_t table_address, std::string_view hardware_id,
    AmlDeviceScan& out);

// LNRO0005 devices of the DSDT (platform.dsdt) and of every SSDT the root
// table (platform.root_table) lists. NotFound when there is no DSDT.
Result<AmlDeviceScan> find_virtio_mmio_devices(const PhysicalMemory& memory, const PlatformInfo& platform);

} // namespace skiff::acpi
