#include "firmware/mp_table.h"

#include "firmware/acpi.h"
#include "firmware/table_access.h"
#include "lib/log.h"

#include <array>

namespace skiff::mp {

using firmware::printable;

namespace {

constexpr std::string_view floating_pointer_signature = "_MP_";
constexpr uint64_t scan_length = 1024;
constexpr uint64_t bios_rom_start = 0xf0000;
constexpr uint64_t bios_rom_length = 0x10000;
constexpr uint64_t default_ioapic_address = 0xfec00000;
constexpr uint8_t default_ioapic_id = 2;

bool has_signature(const char* bytes, std::string_view expected)
{
    for (size_t i = 0; i < expected.size(); ++i) {
        if (bytes[i] != expected[i])
            return false;
    }
    return true;
}

enum class BusKind : uint8_t { Unknown, Isa, Other };

// "ISA" padded with blanks; "EISA" must not match.
bool is_isa(const char (&type)[6])
{
    if (type[0] != 'I' || type[1] != 'S' || type[2] != 'A')
        return false;
    for (size_t i = 3; i < sizeof(type); ++i) {
        if (type[i] != ' ' && type[i] != '\0')
            return false;
    }
    return true;
}

void add_isa_route(PlatformInfo& info, uint8_t irq, uint32_t gsi, bool active_low, bool level)
{
    if (info.find_override(irq)) {
        log::debug("mptable: second assignment for ISA IRQ {} ignored", irq);
        return;
    }
    if (info.override_count == info.overrides.size()) {
        log::warn("mptable: more than {} ISA interrupt assignments; IRQ {} ignored", info.overrides.size(), irq);
        return;
    }
    info.overrides[info.override_count++] = { irq, gsi, active_low, level };
}

// MP spec chapter 5: the machine is one of a few standard layouts and there is
// no configuration table. Two CPUs (APIC ids 0 and 1), one IOAPIC; IRQ 0 from
// the 8254 arrives at IOAPIC pin 2 (pin 0 carries the 8259's INTR).
Result<void> apply_default_configuration(uint8_t type, PlatformInfo& info)
{
    if (type > 7) {
        log::warn("mptable: unknown default configuration type {}", type);
        return Error::Corrupt;
    }
    log::info("mptable: default configuration type {} (no table): 2 CPUs, one IOAPIC", type);
    info.local_apic_address = PlatformInfo::default_local_apic_address;
    add_cpu(info, { 0, CpuDescriptor::no_acpi_uid, true, true });
    add_cpu(info, { 1, CpuDescriptor::no_acpi_uid, false, true });
    info.ioapics[info.ioapic_count++] = { default_ioapic_id, default_ioapic_address, 0 };
    add_isa_route(info, 0, 2, false, false);
    for (uint8_t irq = 1; irq < 16; ++irq) {
        if (irq != 2)
            add_isa_route(info, irq, irq, false, false);
    }
    return ok();
}

// Calls visit(type, address) for each entry of the base table, which is
// walked by its length: Firecracker (like crosvm) leaves the entry count 0,
// and Linux ignores it too. An unknown type ends the walk successfully: its
// length is unknown, so nothing after it can be located.
template<typename Visit>
Result<void> walk_entries(const PhysicalMemory& memory, uint64_t table, const ConfigHeader& header, bool quiet, Visit visit)
{
    uint32_t length = header.base_length;
    uint32_t offset = sizeof(ConfigHeader);
    uint32_t index = 0;
    for (; offset < length; ++index) {
        uint8_t type = 0;
        if (!read_object(memory, table + offset, type))
            return Error::Io;
        uint32_t size = type == processor ? sizeof(ProcessorEntry) : type <= local_interrupt ? 8 : 0;
        if (size == 0) {
            if (!quiet)
                log::warn("mptable: unknown entry type {} at offset {}; its length is unknown, parsing stops there",
                    type, offset);
            return ok();
        }
        if (size > length - offset) {
            if (!quiet)
                log::warn("mptable: entry type {} at offset {} runs past the table end ({} bytes)", type, offset,
                    length);
            return Error::Corrupt;
        }
        TRY(visit(type, table + offset));
        offset += size;
    }
    uint32_t claimed = header.entry_count; // a local: log arguments must not bind to packed fields
    if (!quiet && claimed != 0 && claimed != index)
        log::warn("mptable: header claims {} entries, the table holds {}", claimed, index);
    return ok();
}

Result<void> parse_configuration_table(const PhysicalMemory& memory, uint64_t table, PlatformInfo& info)
{
    ConfigHeader header;
    if (table == 0 || !read_object(memory, table, header)) {
        log::warn("mptable: configuration table at {:#x} is not readable", table);
        return Error::OutOfRange;
    }
    if (!has_signature(header.signature, "PCMP")) {
        auto found = printable(header.signature, sizeof(header.signature));
        log::warn("mptable: configuration table at {:#x} has signature \"{}\", expected \"PCMP\"", table, found.view());
        return Error::Corrupt;
    }
    uint32_t length = header.base_length;
    if (length < sizeof(ConfigHeader)) {
        log::warn("mptable: configuration table length {} is shorter than its 44-byte header", length);
        return Error::Corrupt;
    }
    auto sum = firmware::sum_bytes(memory, table, length);
    if (!sum) {
        log::warn("mptable: configuration table at {:#x} (length {}) runs into unreadable memory", table, length);
        return Error::OutOfRange;
    }
    if (*sum != 0) {
        log::warn("mptable: configuration table at {:#x}: checksum mismatch (sum {:#x})", table, *sum);
        return Error::Corrupt;
    }
    // Every entry takes at least 8 bytes. (0 is common: see walk_entries.)
    uint32_t entry_count = header.entry_count;
    if (uint64_t(entry_count) * 8 > length - sizeof(ConfigHeader)) {
        log::warn("mptable: entry count {} cannot fit in a {}-byte table", entry_count, length);
        return Error::Corrupt;
    }
    auto oem = printable(header.oem_id, sizeof(header.oem_id));
    auto product = printable(header.product_id, sizeof(header.product_id));
    log::info("mptable: configuration table at {:#x}, oem \"{}\" product \"{}\", {} bytes", table, oem.view(),
        product.view(), length);

    info.local_apic_address = header.local_apic_address;
    if (info.local_apic_address == 0) {
        log::warn("mptable: local APIC address is 0; using the architectural {:#x}",
            PlatformInfo::default_local_apic_address);
        info.local_apic_address = PlatformInfo::default_local_apic_address;
    }

    // Pass 1: CPUs, buses and IOAPICs, which interrupt assignments refer to
    // (the spec orders entries by type, but a table need not honour it).
    std::array<BusKind, 256> buses {};
    uint32_t next_gsi_base = 0;
    TRY(walk_entries(memory, table, header, false, [&](uint8_t type, uint64_t address) -> Result<void> {
        switch (type) {
        case processor: {
            ProcessorEntry cpu;
            if (!read_object(memory, address, cpu))
                return Error::Io;
            if (!(cpu.flags & processor_enabled)) {
                log::debug("mptable: CPU with APIC id {} is disabled, skipped", cpu.apic_id);
                break;
            }
            add_cpu(info, { cpu.apic_id, CpuDescriptor::no_acpi_uid, (cpu.flags & processor_bsp) != 0, true });
            break;
        }
        case bus: {
            BusEntry entry;
            if (!read_object(memory, address, entry))
                return Error::Io;
            buses[entry.bus_id] = is_isa(entry.bus_type) ? BusKind::Isa : BusKind::Other;
            break;
        }
        case io_apic: {
            IoApicEntry entry;
            if (!read_object(memory, address, entry))
                return Error::Io;
            if (!(entry.flags & io_apic_usable)) {
                log::info("mptable: IOAPIC id {} is marked unusable, skipped", entry.id);
            } else if (entry.address == 0) {
                log::warn("mptable: IOAPIC id {} at address 0 ignored", entry.id);
            } else if (info.ioapic_count == info.ioapics.size()) {
                log::warn("mptable: more than {} IOAPICs; id {} ignored", info.ioapics.size(), entry.id);
            } else {
                info.ioapics[info.ioapic_count++] = { entry.id, entry.address, next_gsi_base };
                next_gsi_base += assumed_ioapic_pins;
            }
            break;
        }
        }
        return ok();
    }));

    // Pass 2: how ISA IRQs reach the IOAPICs.
    TRY(walk_entries(memory, table, header, true, [&](uint8_t type, uint64_t address) -> Result<void> {
        if (type != io_interrupt)
            return ok();
        InterruptEntry entry;
        if (!read_object(memory, address, entry))
            return Error::Io;
        // NMI/SMI/ExtINT are not routable IRQs; PCI routing needs the bus's own scheme.
        if (entry.interrupt_type != interrupt_type_int || buses[entry.source_bus] != BusKind::Isa)
            return ok();
        const IoApicDescriptor* target = nullptr;
        for (const auto& ioapic : info.ioapic_list()) {
            if (ioapic.id == entry.destination_apic || (entry.destination_apic == 0xff && !target))
                target = &ioapic;
        }
        if (!target) {
            log::warn("mptable: ISA IRQ {} is assigned to unknown IOAPIC id {}", entry.source_irq, entry.destination_apic);
            return ok();
        }
        uint16_t flags = entry.flags;
        uint16_t polarity = flags & acpi::inti::polarity_mask;
        uint16_t trigger = (flags >> acpi::inti::trigger_shift) & acpi::inti::trigger_mask;
        if (polarity == 2 || trigger == 2)
            log::warn("mptable: ISA IRQ {} uses reserved flags {:#x}; ISA defaults assumed", entry.source_irq, flags);
        // "Conforms to the bus" on ISA means active high, edge triggered.
        add_isa_route(info, entry.source_irq, target->gsi_base + entry.destination_pin,
            polarity == acpi::inti::polarity_active_low, trigger == acpi::inti::trigger_level);
        return ok();
    }));

    if (info.cpu_count == 0) {
        log::warn("mptable: configuration table lists no enabled CPU");
        return Error::Corrupt;
    }
    return ok();
}

Result<void> parse(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info)
{
    FloatingPointer pointer = TRY(read_floating_pointer(memory, address));
    // An MP system is PC/AT compatible by definition: the 8259s exist.
    info.legacy_pic_present = true;
    info.imcr_present = (pointer.features[1] & feature2_imcr_present) != 0;
    if (pointer.features[0] != 0)
        return apply_default_configuration(pointer.features[0], info);
    if (pointer.config_table == 0) {
        log::warn("mptable: floating pointer at {:#x} has neither a configuration table nor a default configuration",
            address);
        return Error::Corrupt;
    }
    return parse_configuration_table(memory, pointer.config_table, info);
}

} // namespace

Result<FloatingPointer> read_floating_pointer(const PhysicalMemory& memory, uint64_t address)
{
    FloatingPointer pointer;
    if (!read_object(memory, address, pointer)) {
        log::warn("mptable: floating pointer at {:#x} is not readable", address);
        return Error::OutOfRange;
    }
    if (!has_signature(pointer.signature, floating_pointer_signature)) {
        log::warn("mptable: no \"_MP_\" signature at {:#x}", address);
        return Error::Corrupt;
    }
    if (pointer.length != 1) {
        log::warn("mptable: floating pointer at {:#x} has length {} (16-byte units), expected 1", address,
            pointer.length);
        return Error::Corrupt;
    }
    if (uint8_t sum = firmware::sum_bytes(reinterpret_cast<const uint8_t*>(&pointer), sizeof(pointer)); sum != 0) {
        log::warn("mptable: floating pointer at {:#x}: checksum mismatch (sum {:#x})", address, sum);
        return Error::Corrupt;
    }
    if (pointer.spec_revision != 1 && pointer.spec_revision != 4) {
        log::warn("mptable: floating pointer at {:#x} has unknown specification revision {}", address,
            pointer.spec_revision);
        return Error::Corrupt;
    }
    return pointer;
}

Result<uint64_t> find_floating_pointer(const PhysicalMemory& memory, uint64_t hint)
{
    if (hint != 0) {
        if (read_floating_pointer(memory, hint))
            return hint;
        log::warn("mptable: the boot loader's MP pointer {:#x} is unusable; scanning", hint);
    }
    auto probe = [&](uint64_t address) { return read_floating_pointer(memory, address).has_value(); };
    uint64_t ebda = firmware::ebda_address(memory);
    uint64_t base_top = firmware::base_memory_end(memory) - scan_length;
    uint64_t address = 0;
    if (ebda != 0)
        address = firmware::scan_paragraphs(memory, ebda, scan_length, floating_pointer_signature, probe);
    if (address == 0 && base_top != ebda)
        address = firmware::scan_paragraphs(memory, base_top, scan_length, floating_pointer_signature, probe);
    if (address == 0)
        address = firmware::scan_paragraphs(memory, bios_rom_start, bios_rom_length, floating_pointer_signature, probe);
    if (address == 0) {
        log::info("mptable: no MP floating pointer found");
        return Error::NotFound;
    }
    return address;
}

Result<void> parse_mp_table(const PhysicalMemory& memory, uint64_t floating_pointer, PlatformInfo& info)
{
    info.clear_interrupt_topology();
    info.mp_floating_pointer = 0;
    auto result = parse(memory, floating_pointer, info);
    if (!result) {
        info.clear_interrupt_topology();
        return result.error();
    }
    info.mp_floating_pointer = floating_pointer;
    return ok();
}

} // namespace skiff::mp
