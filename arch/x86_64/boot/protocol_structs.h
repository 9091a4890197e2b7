// Layouts of the loader structures, as the protocols define them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skiff::boot {

// --- PVH (xen/include/public/arch-x86/hvm/start_info.h) ---
struct [[gnu::packed]] HvmStartInfo {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;    // version >= 1
    uint32_t memmap_entries;  // version >= 1
    uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);
static_assert(offsetof(HvmStartInfo, cmdline_paddr) == 24);
constexpr uint32_t hvm_start_magic = 0x336ec578;

struct [[gnu::packed]] HvmModlistEntry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

struct [[gnu::packed]] HvmMemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(HvmMemmapEntry) == 24);

// --- Linux boot_params ("zero page", Documentation/arch/x86/zero-page.rst) ---
namespace zero_page {
constexpr size_t size = 4096;
constexpr size_t acpi_rsdp_addr = 0x070;   // u64
constexpr size_t ext_ramdisk_image = 0x0c0; // u32
constexpr size_t ext_ramdisk_size = 0x0c4;  // u32
constexpr size_t ext_cmd_line_ptr = 0x0c8;  // u32
constexpr size_t e820_entries = 0x1e8;      // u8
constexpr size_t boot_flag = 0x1fe;         // u16, 0xAA55
constexpr size_t header_magic = 0x202;      // u32, "HdrS"
constexpr size_t version = 0x206;           // u16
constexpr size_t type_of_loader = 0x210;    // u8
constexpr size_t ramdisk_image = 0x218;     // u32
constexpr size_t ramdisk_size = 0x21c;      // u32
constexpr size_t cmd_line_ptr = 0x228;      // u32
constexpr size_t cmdline_size = 0x238;      // u32
constexpr size_t e820_table = 0x2d0;        // 128 x E820Entry
constexpr size_t e820_max_entries = 128;
constexpr uint32_t header_magic_value = 0x53726448; // "HdrS"
} // namespace zero_page

struct [[gnu::packed]] E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);

// --- multiboot2 (GRUB's multiboot2 specification) ---
constexpr uint32_t multiboot2_boot_magic = 0x36d76289;
namespace multiboot2_tag {
constexpr uint32_t end = 0;
constexpr uint32_t command_line = 1;
constexpr uint32_t module = 3;
constexpr uint32_t memory_map = 6;
constexpr uint32_t acpi_old = 14;
constexpr uint32_t acpi_new = 15;
} // namespace multiboot2_tag

struct [[gnu::packed]] Multiboot2TagHeader {
    uint32_t type;
    uint32_t size;
};
struct [[gnu::packed]] Multiboot2MemoryMapHeader {
    uint32_t type;
    uint32_t size;
    uint32_t entry_size;
    uint32_t entry_version;
};
struct [[gnu::packed]] Multiboot2MemoryMapEntry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(Multiboot2MemoryMapEntry) == 24);
struct [[gnu::packed]] Multiboot2ModuleHeader {
    uint32_t type;
    uint32_t size;
    uint32_t mod_start;
    uint32_t mod_end;
};

} // namespace skiff::boot
