// ACPI tables the kernel reads at boot: RSDP -> RSDT/XSDT -> FADT (power
// control, DSDT), MADT (CPUs, IOAPICs, ISA overrides), MCFG (address only),
// and the DSDT's \_S5 sleep values found by a small bounded AML scan.
//
// Every table is untrusted: headers and entries are copied out through
// PhysicalMemory, and signature, length (36 bytes .. 1 MiB), checksum and
// entry bounds are checked before anything is used. A corrupt table is
// refused with one log line naming the table and the problem.
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

constexpr uint32_t max_table_length = 1u << 20;

// ---- Layouts as firmware writes them (little-endian, packed) ----

struct [[gnu::packed]] RsdpLayout {
    char signature[8]; // "RSD PTR "
    uint8_t checksum;  // over the first 20 bytes (ACPI 1.0 part)
    char oem_id[6];
    uint8_t revision;  // 0: ACPI 1.0 (20 bytes), >= 2: extended
    uint32_t rsdt_address;
    uint32_t length;   // whole structure, revision >= 2 only
    uint64_t xsdt_address;
    uint8_t extended_checksum; // over `length` bytes
    uint8_t reserved[3];
};
static_assert(sizeof(RsdpLayout) == 36);
static_assert(offsetof(RsdpLayout, rsdt_address) == 16 && offsetof(RsdpLayout, xsdt_address) == 24);
static_assert(offsetof(RsdpLayout, extended_checksum) == 32);
constexpr size_t rsdp_v1_length = 20;

struct [[gnu::packed]] SdtHeader {
    char signature[4];
    uint32_t length; // header included
    uint8_t revision;
    uint8_t checksum; // whole table sums to 0
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);
static_assert(offsetof(SdtHeader, checksum) == 9 && offsetof(SdtHeader, oem_revision) == 24);

struct [[gnu::packed]] GasLayout {
    uint8_t space_id;
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;
    uint64_t address;
};
static_assert(sizeof(GasLayout) == 12);

struct [[gnu::packed]] MadtHeader {
    SdtHeader header;
    uint32_t local_apic_address;
    uint32_t flags; // bit 0: PCAT_COMPAT (dual 8259s present)
};
static_assert(sizeof(MadtHeader) == 44);

namespace madt {
enum EntryType : uint8_t {
    local_apic = 0,
    io_apic = 1,
    interrupt_override = 2,
    nmi_source = 3,
    local_apic_nmi = 4,
    local_apic_address_override = 5,
    local_x2apic = 9,
    local_x2apic_nmi = 10,
};
constexpr uint32_t flag_pcat_compat = 1u << 0;
constexpr uint32_t cpu_enabled = 1u << 0;
constexpr uint32_t cpu_online_capable = 1u << 1; // meaningful from MADT revision 5 (ACPI 6.3)
constexpr uint8_t online_capable_revision = 5;

struct [[gnu::packed]] EntryHeader {
    uint8_t type;
    uint8_t length;
};
struct [[gnu::packed]] LocalApic {
    EntryHeader header;
    uint8_t acpi_uid;
    uint8_t apic_id;
    uint32_t flags;
};
struct [[gnu::packed]] IoApic {
    EntryHeader header;
    uint8_t id;
    uint8_t reserved;
    uint32_t address;
    uint32_t gsi_base;
};
struct [[gnu::packed]] InterruptOverride {
    EntryHeader header;
    uint8_t bus; // 0: ISA
    uint8_t source; // ISA IRQ
    uint32_t gsi;
    uint16_t flags; // MPS INTI flags: polarity bits 0-1, trigger bits 2-3
};
struct [[gnu::packed]] LocalApicAddressOverride {
    EntryHeader header;
    uint16_t reserved;
    uint64_t address;
};
struct [[gnu::packed]] LocalX2Apic {
    EntryHeader header;
    uint16_t reserved;
    uint32_t x2apic_id;
    uint32_t flags;
    uint32_t acpi_uid;
};
static_assert(sizeof(LocalApic) == 8 && sizeof(IoApic) == 12 && sizeof(InterruptOverride) == 10);
static_assert(sizeof(LocalApicAddressOverride) == 12 && sizeof(LocalX2Apic) == 16);
} // namespace madt

// MPS INTI flags, shared by MADT overrides and the MP table's interrupt entries.
namespace inti {
constexpr uint16_t polarity_mask = 0x3;
constexpr uint16_t polarity_active_low = 0x3;
constexpr uint16_t trigger_shift = 2;
constexpr uint16_t trigger_mask = 0x3;
constexpr uint16_t trigger_level = 0x3;
} // namespace inti

struct [[gnu::packed]] Fadt {
    SdtHeader header;
    uint32_t firmware_control;
    uint32_t dsdt;
    uint8_t reserved0;
    uint8_t preferred_pm_profile;
    uint16_t sci_interrupt;
    uint32_t smi_command;
    uint8_t acpi_enable;
    uint8_t acpi_disable;
    uint8_t s4bios_request;
    uint8_t pstate_control;
    uint32_t pm1a_event_block;
    uint32_t pm1b_event_block;
    uint32_t pm1a_control_block;
    uint32_t pm1b_control_block;
    uint32_t pm2_control_block;
    uint32_t pm_timer_block;
    uint32_t gpe0_block;
    uint32_t gpe1_block;
    uint8_t pm1_event_length;
    uint8_t pm1_control_length;
    uint8_t pm2_control_length;
    uint8_t pm_timer_length;
    uint8_t gpe0_length;
    uint8_t gpe1_length;
    uint8_t gpe1_base;
    uint8_t cstate_control;
    uint16_t worst_c2_latency;
    uint16_t worst_c3_latency;
    uint16_t flush_size;
    uint16_t flush_stride;
    uint8_t duty_offset;
    uint8_t duty_width;
    uint8_t day_alarm;
    uint8_t month_alarm;
    uint8_t century;
    uint16_t boot_arch_flags;
    uint8_t reserved1;
    uint32_t flags;
    // ACPI 2.0+ (a shorter table simply ends here; missing fields read as 0)
    GasLayout reset_register;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_firmware_control;
    uint64_t x_dsdt;
    GasLayout x_pm1a_event_block;
    GasLayout x_pm1b_event_block;
    GasLayout x_pm1a_control_block;
    GasLayout x_pm1b_control_block;
    GasLayout x_pm2_control_block;
    GasLayout x_pm_timer_block;
    GasLayout x_gpe0_block;
    GasLayout x_gpe1_block;
    // ACPI 5.0+
    GasLayout sleep_control;
    GasLayout sleep_status;
    // ACPI 6.0+
    uint64_t hypervisor_vendor_id;
};
static_assert(sizeof(Fadt) == 276);
static_assert(offsetof(Fadt, dsdt) == 40 && offsetof(Fadt, smi_command) == 48 && offsetof(Fadt, pm1a_control_block) == 64);
static_assert(offsetof(Fadt, pm1_control_length) == 89 && offsetof(Fadt, boot_arch_flags) == 109);
static_assert(offsetof(Fadt, flags) == 112 && offsetof(Fadt, reset_register) == 116 && offsetof(Fadt, reset_value) == 128);
static_assert(offsetof(Fadt, x_dsdt) == 140 && offsetof(Fadt, x_pm1a_control_block) == 172);
static_assert(offsetof(Fadt, sleep_control) == 244 && offsetof(Fadt, hypervisor_vendor_id) == 268);

namespace fadt {
constexpr uint32_t acpi1_length = 116; // shortest FADT ever specified
constexpr uint32_t flag_reset_register_supported = 1u << 10;
constexpr uint32_t flag_hardware_reduced = 1u << 20;
} // namespace fadt

// ---- Parsers ----

struct Rsdp {
    uint8_t revision;
    uint32_t rsdt_address;
    uint64_t xsdt_address; // 0 for revision < 2
    std::array<char, 6> oem_id;
};

// Validates an RSDP held as bytes (e.g. the copy a multiboot2 loader passes).
Result<Rsdp> parse_rsdp(std::span<const uint8_t> bytes);
// Reads and validates the RSDP at a physical address.
Result<Rsdp> read_rsdp(const PhysicalMemory& memory, uint64_t address);

struct FoundRsdp {
    uint64_t address; // 0 when taken from `copy`
    Rsdp rsdp;
};
// hint (boot loader's address), else copy (RSDP bytes from the boot loader),
// else a scan of the EBDA's first KiB and 0xE0000-0xFFFFF on 16-byte boundaries.
Result<FoundRsdp> find_rsdp(const PhysicalMemory& memory, uint64_t hint, std::span<const uint8_t> copy = {});

// Reads a table header and checks signature (if not empty), length and checksum.
Result<SdtHeader> read_table_header(const PhysicalMemory& memory, uint64_t address, std::string_view signature);

struct RootTable {
    uint64_t address;
    bool extended; // XSDT (64-bit entries) rather than RSDT
    uint32_t entry_count;
};
// The XSDT when the RSDP has one and it is valid, else the RSDT.
Result<RootTable> open_root_table(const PhysicalMemory& memory, const Rsdp& rsdp);
// Address of the first valid table with this signature listed in the root table.
Result<uint64_t> find_table(const PhysicalMemory& memory, const RootTable& root, std::string_view signature);

// Fills cpus, ioapics, overrides, local_apic_address and legacy_pic_present
// (after clearing them) and sets info.madt. On error they are left empty.
Result<void> parse_madt(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info);

// Fills info.power (registers only), boot_arch_flags, fadt and the address of
// the DSDT, unread: a bad FADT is an error, a bad DSDT is found by its users.
// Sets info.fadt_read either way.
Result<void> parse_fadt(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info);

// What discover_acpi leaves for later, as nothing before main needs it:
// locates the first valid FADT and MCFG in the root table and parses the
// FADT, once, for whoever first needs power registers, the DSDT or PCI's
// configuration space (power-off, device discovery, the platform log). A
// FADT that cannot be used is logged and leaves info.fadt at 0 and no power
// registers. Sets info.fadt_read.
void read_fadt(const PhysicalMemory& memory, PlatformInfo& info);

// Reads \_S5 from the DSDT the FADT names (reading the FADT first if need
// be) and sets power.s5_available and the sleep types. Kept out of boot:
// scanning AML costs more than the rest of a microVM's boot, and S5 is needed
// only when isa-debug-exit is absent.
Result<void> resolve_s5(const PhysicalMemory& memory, PlatformInfo& info);

struct SleepType {
    uint8_t a;
    uint8_t b;
};
// Validates the DSDT at `address` and scans its AML for Name(_S5_, Package {a, b, ...}).
Result<SleepType> find_s5_in_dsdt(const PhysicalMemory& memory, uint64_t address);
// The same scan over AML bytes already copied out (no header).
Result<SleepType> find_s5_in_aml(std::span<const uint8_t> aml);

// Finds the RSDP and the root table and reads the first usable MADT; the
// FADT and MCFG wait for read_fadt. NotFound when there is no usable
// RSDP/root table. Sets info.source = Acpi only when the MADT was usable.
Result<void> discover_acpi(const PhysicalMemory& memory, uint64_t rsdp_hint, std::span<const uint8_t> rsdp_copy,
    PlatformInfo& info);

} // namespace skiff::acpi
