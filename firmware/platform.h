// What the rest of the kernel needs to know about the machine's CPUs,
// interrupt controllers and power control, from whichever firmware source the
// machine has: ACPI (QEMU, Firecracker >= 1.8) or the Intel MP table
// (Firecracker < 1.8). Callers never see a firmware table, only PlatformInfo.
#pragma once

#include "firmware/physical_memory.h"
#include "lib/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace skiff {

// ACPI Generic Address Structure, decoded (the packed 12-byte layout lives in acpi.h).
struct GenericAddress {
    static constexpr uint8_t system_memory = 0;
    static constexpr uint8_t system_io = 1;
    static constexpr uint8_t pci_config = 2;

    uint8_t space_id = 0;
    uint8_t bit_width = 0;
    uint8_t bit_offset = 0;
    uint8_t access_size = 0; // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
    uint64_t address = 0;

    constexpr bool present() const { return address != 0; }
};

struct CpuDescriptor {
    static constexpr uint32_t no_acpi_uid = 0xffffffff; // MP-table CPUs have none

    uint32_t apic_id;
    uint32_t acpi_uid;
    bool is_bsp_hint; // MADT: first usable entry (the spec asks firmware to list the BSP first); MP: BSP flag
    bool enabled;     // false: online-capable only (may be hot-added later; do not start it at boot)
};

struct IoApicDescriptor {
    uint8_t id;
    uint64_t address;
    // MADT: from the table. MP table: not in the table; assigned in order
    // assuming 24 pins per IOAPIC - fix up from the IOAPIC version register.
    uint32_t gsi_base;
};

// How an ISA IRQ reaches the IOAPICs. MADT: only the overrides the table
// lists (unlisted IRQs are identity-mapped, edge, active high). MP table:
// every ISA-bus INT assignment, identity ones included.
struct InterruptOverride {
    uint8_t isa_irq;
    uint32_t gsi;
    bool active_low;
    bool level_triggered;
};

// For ACPI S5 power-off and the ACPI reset register.
struct PowerControl {
    // True when _S5_ was found and a register to write it to exists:
    // legacy: write (SLP_TYPa << 10) | SLP_EN (1 << 13) to PM1a (and SLP_TYPb to PM1b);
    // hardware-reduced: write (SLP_TYP << 2) | SLP_EN (1 << 5) to sleep_control.
    bool s5_available = false;
    uint8_t slp_typ_a = 0, slp_typ_b = 0;
    // Legacy PM1 control blocks (I/O ports or MMIO via GAS), or the HW-reduced sleep control register.
    GenericAddress pm1a_control, pm1b_control, sleep_control;
    bool hardware_reduced = false;
    // Writing acpi_enable_value to this port switches a legacy platform into ACPI mode (0: already in it).
    uint32_t smi_command_port = 0;
    uint8_t acpi_enable_value = 0;
    bool reset_available = false;
    GenericAddress reset_register;
    uint8_t reset_value = 0;
};

enum class PlatformSource : uint8_t { None, Acpi, MpTable };

constexpr std::string_view platform_source_name(PlatformSource source)
{
    switch (source) {
    case PlatformSource::None: return "none";
    case PlatformSource::Acpi: return "acpi";
    case PlatformSource::MpTable: return "mp-table";
    }
    return "?";
}

struct PlatformInfo {
    static constexpr size_t max_cpus = 256;
    static constexpr size_t max_ioapics = 8;
    static constexpr size_t max_overrides = 24;
    static constexpr uint64_t default_local_apic_address = 0xfee00000;

    PlatformSource source = PlatformSource::None; // where the CPU and interrupt data came from

    std::array<CpuDescriptor, max_cpus> cpus {}; // enabled or online-capable only, unique APIC ids
    size_t cpu_count = 0;
    bool cpus_truncated = false;
    uint64_t local_apic_address = 0;

    std::array<IoApicDescriptor, max_ioapics> ioapics {};
    size_t ioapic_count = 0;

    std::array<InterruptOverride, max_overrides> overrides {};
    size_t override_count = 0;

    // Filled from the FADT/DSDT whenever ACPI is present, even if the CPU
    // data came from the MP table: once acpi::read_fadt() has run (fadt_read).
    PowerControl power;
    uint16_t boot_arch_flags = 0; // FADT IAPC_BOOT_ARCH (bit 1: 8042 present, bit 5: no CMOS RTC, ...)
    bool fadt_read = false;

    // Physical addresses found (0 if absent); later work needs MCFG and the DSDT.
    uint64_t rsdp = 0; // 0 also when the RSDP came as a copy from the boot loader
    uint64_t root_table = 0; // the XSDT or RSDT actually used
    bool root_table_extended = false; // XSDT: 64-bit entries
    uint32_t root_table_entries = 0;
    // The FADT and MCFG are located by acpi::read_fadt(), on first need.
    uint64_t madt = 0, fadt = 0, mcfg = 0;
    uint64_t dsdt = 0; // from the FADT: 0 until read_fadt()
    uint64_t mp_floating_pointer = 0;

    bool legacy_pic_present = false; // MADT PCAT_COMPAT; always true with an MP table (PC/AT compatible by spec)
    bool imcr_present = false;       // MP: IMCR must be switched to symmetric I/O mode before using the IOAPIC

    std::span<const CpuDescriptor> cpu_list() const { return { cpus.data(), cpu_count }; }
    std::span<const IoApicDescriptor> ioapic_list() const { return { ioapics.data(), ioapic_count }; }
    std::span<const InterruptOverride> override_list() const { return { overrides.data(), override_count }; }
    const InterruptOverride* find_override(uint8_t isa_irq) const;

    // Empties what a MADT or an MP table describes (CPUs, IOAPICs, overrides,
    // local APIC, PIC flags) and keeps the rest, so a source that fails halfway
    // leaves nothing of itself behind. Entries past the counts are never read,
    // so only the counts are reset.
    void clear_interrupt_topology();
};

// Finds ACPI (rsdp_hint from the boot loader, else rsdp_copy - the RSDP bytes
// multiboot2 hands over - else a scan of the EBDA's first KiB and
// 0xE0000-0xFFFFF); if ACPI is absent or its MADT is unusable, falls back to
// the MP table (mp_hint, else the EBDA's first KiB, the last KiB of base
// memory and 0xF0000-0xFFFFF). NotFound if neither describes the CPUs.
// `info` must be default-constructed; it is filled in place (it is a few
// KiB, and the boot path should not copy it around).
Result<void> discover_platform(const PhysicalMemory& memory, uint64_t rsdp_hint, uint64_t mp_hint,
    std::span<const uint8_t> rsdp_copy, PlatformInfo& info);

// The same, returning the result by value (tests, tools).
inline Result<PlatformInfo> discover_platform(const PhysicalMemory& memory, uint64_t rsdp_hint, uint64_t mp_hint,
    std::span<const uint8_t> rsdp_copy = {})
{
    PlatformInfo info;
    if (auto result = discover_platform(memory, rsdp_hint, mp_hint, rsdp_copy, info); result.is_error())
        return result.error();
    return info;
}

// One info line per finding, for the boot log.
void log_platform(const PlatformInfo& info);

// Adds a CPU unless its APIC id is already listed (firmware repeats CPUs,
// e.g. as both a local APIC and a local x2APIC entry). Sets cpus_truncated when full.
void add_cpu(PlatformInfo& info, const CpuDescriptor& cpu);

} // namespace skiff
