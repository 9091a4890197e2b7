// What a guest finds in memory and registers when Firecracker (before v1.8,
// the MP-table era, Linux 64-bit boot protocol) starts it. Values are taken
// from Firecracker's arch/x86_64 sources (layout.rs, regs.rs, gdt.rs,
// mptable.rs, mod.rs) and the Linux boot protocol; the structures below are
// read by the guest, so their sizes and offsets are pinned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skiff::fc {

// Guest-physical addresses of Firecracker's boot structures.
constexpr uint64_t gdt_address = 0x500;
constexpr uint64_t idt_address = 0x520;
constexpr uint64_t zero_page_address = 0x7000;
constexpr uint64_t boot_stack_pointer = 0x8ff0;
constexpr uint64_t pml4_address = 0x9000;
constexpr uint64_t pdpt_address = 0xa000;
constexpr uint64_t pd_address = 0xb000;
constexpr uint64_t cmdline_address = 0x20000;
constexpr size_t cmdline_max_size = 2048; // including the NUL
constexpr uint64_t mptable_address = 0x9fc00; // the EBDA: last KiB below 640 KiB
constexpr uint64_t himem_start = 0x100000;
constexpr uint64_t mmio_gap_start = 0xd0000000; // 768 MiB gap below 4 GiB (up to v1.12)
constexpr uint64_t mmio_gap_end = 0x100000000;
constexpr uint64_t identity_map_size = 1ull << 30; // what the boot page tables cover

// Boot CPU register state.
constexpr uint16_t code_selector = 0x08;
constexpr uint16_t data_selector = 0x10;
constexpr uint16_t tss_selector = 0x18;
constexpr uint16_t gdt_limit = 4 * 8 - 1;
constexpr uint16_t idt_limit = 8 - 1;
constexpr uint64_t rflags = 0x2;
constexpr uint64_t cr0_pe = 1ull << 0;
constexpr uint64_t cr0_pg = 1ull << 31;
constexpr uint64_t cr4_pae = 1ull << 5;
constexpr uint64_t efer_lme = 1ull << 8;
constexpr uint64_t efer_lma = 1ull << 10;
// Firecracker ORs PE|PG into KVM's reset CR0 (0x60000010: ET, NW, CD) and
// PAE into the reset CR4 (0); EFER becomes exactly LME|LMA.
constexpr uint64_t cr0_reset = 0x60000010;
constexpr uint64_t cr0 = cr0_reset | cr0_pe | cr0_pg;
constexpr uint64_t cr4 = cr4_pae;
constexpr uint64_t efer = efer_lme | efer_lma;

// GDT as Firecracker writes it: null, 64-bit code, data, TSS (busy). All flat.
constexpr uint64_t gdt_entries[4] = {
    0x0000000000000000,
    0x00af9b000000ffff,
    0x00cf93000000ffff,
    0x008f8b000000ffff,
};
// `ltr` only accepts an available TSS and marks it busy itself.
constexpr uint64_t tss_busy_bit = 1ull << 41;

// Page-table entry flags: present, writable, 2 MiB page.
constexpr uint64_t pte_present_writable = 0x3;
constexpr uint64_t pde_large_page = 0x83;

// Setup-header values (Linux boot protocol).
constexpr uint16_t boot_flag_magic = 0xaa55;
constexpr uint32_t header_magic = 0x53726448; // "HdrS"
constexpr uint8_t loader_type_undefined = 0xff;
constexpr uint32_t kernel_alignment = 0x01000000;

constexpr uint32_t e820_ram = 1;
constexpr uint32_t e820_reserved = 2;

// The MP table (Intel MP spec 1.4) as Firecracker writes it.
constexpr unsigned max_cpus = 254; // 255 xAPIC ids, one taken by the IOAPIC
constexpr unsigned irq_count = 24; // GSIs 0..23 routed 1:1 to IOAPIC pins
constexpr uint32_t lapic_address = 0xfee00000;
constexpr uint32_t ioapic_address = 0xfec00000;
constexpr uint8_t apic_version = 0x14;
constexpr uint32_t cpu_signature = 0x600;
constexpr uint32_t cpu_feature_flags = 0x201; // APIC | FPU

// Firecracker's kernel command line when the user gives none (v1.7).
constexpr std::string_view default_cmdline =
    "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

struct [[gnu::packed]] E820Entry {
    uint64_t address;
    uint64_t size;
    uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);

// The setup header as a boot loader fills it (fields up to cmdline_size).
struct [[gnu::packed]] SetupHeader {
    uint8_t setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;
    uint16_t jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t type_of_loader;
    uint8_t loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;
    uint32_t ramdisk_image;
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t ext_loader_ver;
    uint8_t ext_loader_type;
    uint32_t cmd_line_ptr;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t relocatable_kernel;
    uint8_t min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size;
};

constexpr size_t e820_max_entries = 128;

// The "zero page".
struct [[gnu::packed]] BootParams {
    uint8_t reserved0[0x70];
    uint64_t acpi_rsdp_addr;
    uint8_t reserved1[0x1e8 - 0x78];
    uint8_t e820_entries;
    uint8_t reserved2[0x1f1 - 0x1e9];
    SetupHeader hdr;
    uint8_t reserved3[0x2d0 - 0x1f1 - sizeof(SetupHeader)];
    E820Entry e820_table[e820_max_entries];
    uint8_t reserved4[0x1000 - 0x2d0 - e820_max_entries * sizeof(E820Entry)];
};
static_assert(sizeof(BootParams) == 4096);
static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x70);
static_assert(offsetof(BootParams, e820_entries) == 0x1e8);
static_assert(offsetof(BootParams, hdr) == 0x1f1);
static_assert(offsetof(BootParams, hdr.boot_flag) == 0x1fe);
static_assert(offsetof(BootParams, hdr.header) == 0x202);
static_assert(offsetof(BootParams, hdr.type_of_loader) == 0x210);
static_assert(offsetof(BootParams, hdr.cmd_line_ptr) == 0x228);
static_assert(offsetof(BootParams, hdr.kernel_alignment) == 0x230);
static_assert(offsetof(BootParams, hdr.cmdline_size) == 0x238);
static_assert(offsetof(BootParams, e820_table) == 0x2d0);

struct [[gnu::packed]] MpFloatingPointer {
    char signature[4]; // "_MP_"
    uint32_t config_table;
    uint8_t length; // in 16-byte units
    uint8_t spec_revision;
    uint8_t checksum;
    uint8_t features[5];
};
static_assert(sizeof(MpFloatingPointer) == 16);

struct [[gnu::packed]] MpConfigHeader {
    char signature[4]; // "PCMP"
    uint16_t length;   // header plus entries
    uint8_t spec_revision;
    uint8_t checksum;
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count; // Firecracker leaves it 0
    uint32_t lapic_address;
    uint16_t extended_length;
    uint8_t extended_checksum;
    uint8_t reserved;
};
static_assert(sizeof(MpConfigHeader) == 44);

enum MpEntryType : uint8_t { MpProcessor = 0, MpBus = 1, MpIoApic = 2, MpIoInterrupt = 3, MpLocalInterrupt = 4 };

struct [[gnu::packed]] MpProcessorEntry {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags; // bit 0 enabled, bit 1 bootstrap processor
    uint32_t signature;
    uint32_t feature_flags;
    uint32_t reserved[2];
};
static_assert(sizeof(MpProcessorEntry) == 20);

struct [[gnu::packed]] MpBusEntry {
    uint8_t type;
    uint8_t bus_id;
    char bus_type[6];
};
static_assert(sizeof(MpBusEntry) == 8);

struct [[gnu::packed]] MpIoApicEntry {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags; // bit 0 usable
    uint32_t address;
};
static_assert(sizeof(MpIoApicEntry) == 8);

// I/O and local interrupt assignment entries share one layout.
struct [[gnu::packed]] MpInterruptEntry {
    uint8_t type;
    uint8_t interrupt_type; // 0 INT, 1 NMI, 2 SMI, 3 ExtINT
    uint16_t flags;
    uint8_t source_bus;
    uint8_t source_irq;
    uint8_t destination_apic;
    uint8_t destination_pin;
};
static_assert(sizeof(MpInterruptEntry) == 8);

constexpr uint8_t mp_cpu_enabled = 1;
constexpr uint8_t mp_cpu_bootstrap = 2;
constexpr uint8_t mp_interrupt_int = 0;
constexpr uint8_t mp_interrupt_nmi = 1;
constexpr uint8_t mp_interrupt_extint = 3;

constexpr size_t mptable_size(unsigned cpus)
{
    return sizeof(MpFloatingPointer) + sizeof(MpConfigHeader) + cpus * sizeof(MpProcessorEntry) + sizeof(MpBusEntry)
        + sizeof(MpIoApicEntry) + irq_count * sizeof(MpInterruptEntry) + 2 * sizeof(MpInterruptEntry);
}

} // namespace skiff::fc
