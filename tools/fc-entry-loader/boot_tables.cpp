#include "tools/fc-entry-loader/boot_tables.h"

#include "lib/log.h"

#include <cstring>

namespace skiff::fc_loader {

namespace {

template<typename T>
T read_le(std::span<const uint8_t> bytes, size_t offset)
{
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

uint8_t byte_sum(const void* data, size_t size)
{
    const auto* bytes = static_cast<const uint8_t*>(data);
    uint8_t sum = 0;
    for (size_t i = 0; i < size; ++i)
        sum = static_cast<uint8_t>(sum + bytes[i]);
    return sum;
}

bool range_wraps(uint64_t base, uint64_t size) { return size != 0 && base + size - 1 < base; }

void sort_ranges(RamMap& map)
{
    for (size_t i = 1; i < map.count; ++i) {
        MemoryRange current = map.ranges[i];
        size_t j = i;
        while (j > 0 && map.ranges[j - 1].base > current.base) {
            map.ranges[j] = map.ranges[j - 1];
            --j;
        }
        map.ranges[j] = current;
    }
}

void add_entry(E820Map& map, uint64_t base, uint64_t end, uint32_t type)
{
    if (end <= base)
        return;
    map.entries[map.count++] = fc::E820Entry { base, end - base, type };
}

} // namespace

bool RamMap::contains(uint64_t base, uint64_t size) const
{
    if (range_wraps(base, size))
        return false;
    for (size_t i = 0; i < count; ++i) {
        if (base >= ranges[i].base && base + size <= ranges[i].end())
            return true;
    }
    return false;
}

uint64_t RamMap::total() const
{
    uint64_t sum = 0;
    for (size_t i = 0; i < count; ++i)
        sum += ranges[i].size;
    return sum;
}

Result<RamMap> parse_qemu_e820(std::span<const uint8_t> file)
{
    constexpr size_t record = 20;
    if (file.empty() || file.size() % record != 0) {
        log::error("etc/e820: size {} is not a whole number of 20-byte entries", file.size());
        return Error::Corrupt;
    }
    RamMap map;
    for (size_t offset = 0; offset < file.size(); offset += record) {
        uint64_t base = read_le<uint64_t>(file, offset);
        uint64_t size = read_le<uint64_t>(file, offset + 8);
        uint32_t type = read_le<uint32_t>(file, offset + 16);
        if (type != fc::e820_ram || size == 0)
            continue;
        if (range_wraps(base, size)) {
            log::error("etc/e820: entry {:#x}+{:#x} wraps around", base, size);
            return Error::Corrupt;
        }
        if (map.count == RamMap::capacity) {
            log::error("etc/e820: more than {} RAM entries", RamMap::capacity);
            return Error::Corrupt;
        }
        map.ranges[map.count++] = { base, size };
    }
    if (map.count == 0) {
        log::error("etc/e820: no RAM entries");
        return Error::Corrupt;
    }
    sort_ranges(map);
    for (size_t i = 1; i < map.count; ++i) {
        if (map.ranges[i].base < map.ranges[i - 1].end()) {
            log::error("etc/e820: RAM entries {:#x} and {:#x} overlap", map.ranges[i - 1].base, map.ranges[i].base);
            return Error::Corrupt;
        }
    }
    return map;
}

RamMap ram_map_from_size(uint64_t ram_size)
{
    constexpr uint64_t microvm_lowmem = 0xc0000000;
    RamMap map;
    if (ram_size == 0)
        return map;
    uint64_t below = ram_size < microvm_lowmem ? ram_size : microvm_lowmem;
    map.ranges[map.count++] = { 0, below };
    if (ram_size > below)
        map.ranges[map.count++] = { fc::mmio_gap_end, ram_size - below };
    return map;
}

bool E820Map::ram_contains(uint64_t base, uint64_t size) const
{
    if (range_wraps(base, size))
        return false;
    for (size_t i = 0; i < count; ++i) {
        const auto& e = entries[i];
        if (e.type == fc::e820_ram && base >= e.address && base + size <= e.address + e.size)
            return true;
    }
    return false;
}

uint64_t E820Map::ram_total() const
{
    uint64_t sum = 0;
    for (size_t i = 0; i < count; ++i) {
        if (entries[i].type == fc::e820_ram)
            sum += entries[i].size;
    }
    return sum;
}

Result<E820Map> build_e820(const RamMap& ram)
{
    // The boot structures live in [0, 0x9fc00) plus the MP table above it.
    if (!ram.contains(0, fc::mptable_address + fc::mptable_size(1))) {
        log::error("no RAM under the boot structures at [0, {:#x})", fc::mptable_address);
        return Error::OutOfRange;
    }
    E820Map map;
    add_entry(map, 0, fc::mptable_address, fc::e820_ram);
    for (size_t i = 0; i < ram.count; ++i) {
        uint64_t base = ram.ranges[i].base < fc::himem_start ? fc::himem_start : ram.ranges[i].base;
        uint64_t end = ram.ranges[i].end();
        if (end <= base)
            continue;
        // Cut out the MMIO gap: keep what lies below and above it.
        add_entry(map, base, end < fc::mmio_gap_start ? end : fc::mmio_gap_start, fc::e820_ram);
        add_entry(map, base > fc::mmio_gap_end ? base : fc::mmio_gap_end, end, fc::e820_ram);
    }
    if (map.count < 2) {
        log::error("no RAM above 1 MiB for the kernel");
        return Error::OutOfRange;
    }
    return map;
}

size_t place_command_line(std::span<char> destination, std::string_view text)
{
    if (destination.empty())
        return 0;
    size_t room = destination.size() - 1;
    if (text.size() > room) {
        log::warn("command line is {} bytes, truncated to {} (Firecracker's limit is {} with the NUL)", text.size(),
            room, fc::cmdline_max_size);
        text = text.substr(0, room);
    }
    std::memcpy(destination.data(), text.data(), text.size());
    destination[text.size()] = '\0';
    return text.size() + 1;
}

void fill_boot_params(fc::BootParams& params, const E820Map& e820, uint32_t cmdline_size)
{
    std::memset(&params, 0, sizeof(params));
    // Pre-ACPI Firecracker leaves acpi_rsdp_addr zero; with acpi=off there is
    // no RSDP at 0xe0000 to point at either.
    params.acpi_rsdp_addr = 0;
    params.hdr.type_of_loader = fc::loader_type_undefined;
    params.hdr.boot_flag = fc::boot_flag_magic;
    params.hdr.header = fc::header_magic;
    params.hdr.cmd_line_ptr = static_cast<uint32_t>(fc::cmdline_address);
    params.hdr.cmdline_size = cmdline_size;
    params.hdr.kernel_alignment = fc::kernel_alignment;
    size_t count = e820.count < fc::e820_max_entries ? e820.count : fc::e820_max_entries;
    for (size_t i = 0; i < count; ++i)
        params.e820_table[i] = e820.entries[i];
    params.e820_entries = static_cast<uint8_t>(count);
}

Result<size_t> write_mptable(std::span<uint8_t> area, uint64_t area_address, unsigned cpus)
{
    if (cpus == 0 || cpus > fc::max_cpus) {
        log::error("MP table: {} CPUs is outside 1..{}", cpus, fc::max_cpus);
        return Error::InvalidArgument;
    }
    size_t size = fc::mptable_size(cpus);
    if (area.size() < size) {
        log::error("MP table: needs {} bytes, only {} available", size, area.size());
        return Error::OutOfRange;
    }
    std::memset(area.data(), 0, size);
    uint8_t* cursor = area.data();
    auto put = [&cursor](const auto& entry) {
        std::memcpy(cursor, &entry, sizeof(entry));
        cursor += sizeof(entry);
    };

    fc::MpFloatingPointer pointer {};
    std::memcpy(pointer.signature, "_MP_", 4);
    pointer.config_table = static_cast<uint32_t>(area_address + sizeof(fc::MpFloatingPointer));
    pointer.length = 1;
    pointer.spec_revision = 4;
    pointer.checksum = static_cast<uint8_t>(-byte_sum(&pointer, sizeof(pointer)));
    put(pointer);

    uint8_t* header_at = cursor;
    cursor += sizeof(fc::MpConfigHeader);

    const uint8_t ioapic_id = static_cast<uint8_t>(cpus + 1);
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        fc::MpProcessorEntry entry {};
        entry.type = fc::MpProcessor;
        entry.apic_id = static_cast<uint8_t>(cpu);
        entry.apic_version = fc::apic_version;
        entry.flags = fc::mp_cpu_enabled | (cpu == 0 ? fc::mp_cpu_bootstrap : 0);
        entry.signature = fc::cpu_signature;
        entry.feature_flags = fc::cpu_feature_flags;
        put(entry);
    }
    fc::MpBusEntry bus {};
    bus.type = fc::MpBus;
    std::memcpy(bus.bus_type, "ISA   ", 6);
    put(bus);

    fc::MpIoApicEntry ioapic {};
    ioapic.type = fc::MpIoApic;
    ioapic.apic_id = ioapic_id;
    ioapic.apic_version = fc::apic_version;
    ioapic.flags = 1;
    ioapic.address = fc::ioapic_address;
    put(ioapic);

    for (unsigned irq = 0; irq < fc::irq_count; ++irq) {
        fc::MpInterruptEntry entry {};
        entry.type = fc::MpIoInterrupt;
        entry.interrupt_type = fc::mp_interrupt_int;
        entry.source_irq = static_cast<uint8_t>(irq);
        entry.destination_apic = ioapic_id;
        entry.destination_pin = static_cast<uint8_t>(irq);
        put(entry);
    }
    fc::MpInterruptEntry extint {};
    extint.type = fc::MpLocalInterrupt;
    extint.interrupt_type = fc::mp_interrupt_extint;
    put(extint);
    fc::MpInterruptEntry nmi {};
    nmi.type = fc::MpLocalInterrupt;
    nmi.interrupt_type = fc::mp_interrupt_nmi;
    nmi.destination_apic = 0xff; // every local APIC
    nmi.destination_pin = 1;
    put(nmi);

    fc::MpConfigHeader header {};
    std::memcpy(header.signature, "PCMP", 4);
    header.length = static_cast<uint16_t>(cursor - header_at);
    header.spec_revision = 4;
    std::memcpy(header.oem_id, "FC      ", 8);
    std::memcpy(header.product_id, "000000000000", 12);
    header.lapic_address = fc::lapic_address;
    std::memcpy(header_at, &header, sizeof(header));
    header_at[offsetof(fc::MpConfigHeader, checksum)] = static_cast<uint8_t>(-byte_sum(header_at, header.length));

    return static_cast<size_t>(cursor - area.data());
}

void fill_page_tables(std::span<uint64_t, 512> pml4, std::span<uint64_t, 512> pdpt, std::span<uint64_t, 512> pd)
{
    for (size_t i = 0; i < 512; ++i) {
        pml4[i] = 0;
        pdpt[i] = 0;
        pd[i] = (static_cast<uint64_t>(i) << 21) | fc::pde_large_page;
    }
    pml4[0] = fc::pdpt_address | fc::pte_present_writable;
    pdpt[0] = fc::pd_address | fc::pte_present_writable;
}

void fill_descriptor_tables(std::span<uint64_t, 4> gdt, std::span<uint64_t, 1> idt)
{
    for (size_t i = 0; i < 4; ++i)
        gdt[i] = fc::gdt_entries[i];
    gdt[3] &= ~fc::tss_busy_bit;
    idt[0] = 0;
}

} // namespace skiff::fc_loader
