// HOST ONLY. Synthetic firmware tables for the unit tests, the fuzz harnesses
// and their seed corpora: a fake physical memory and builders that write
// tables byte by byte at the offsets the specifications give (deliberately
// not through the parser's structs, so a layout mistake cannot hide in both).
//
// Header-only on purpose: the image globs firmware/**/*.cpp, and this needs
// std::vector/std::map. Never include it from image code.
#pragma once

#include "firmware/physical_memory.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <map>
#include <span>
#include <string_view>
#include <vector>

namespace skiff::testing {

[[noreturn]] inline void builder_misuse(const char* what)
{
    std::fprintf(stderr, "synthetic_tables: %s\n", what);
    std::abort();
}

// Sparse physical memory: readable only inside mapped regions.
class FakeMemory final : public PhysicalMemory {
public:
    void map(uint64_t base, uint64_t size)
    {
        auto next = m_regions.lower_bound(base);
        if (next != m_regions.end() && next->first < base + size)
            builder_misuse("overlapping regions");
        if (next != m_regions.begin() && std::prev(next)->first + std::prev(next)->second.size() > base)
            builder_misuse("overlapping regions");
        m_regions[base] = std::vector<uint8_t>(size, 0);
    }

    // Copies bytes into a mapped region; the whole range must be mapped.
    void write(uint64_t address, std::span<const uint8_t> bytes)
    {
        uint8_t* target = locate(address, bytes.size());
        if (!target)
            builder_misuse("write outside mapped memory");
        for (size_t i = 0; i < bytes.size(); ++i)
            target[i] = bytes[i];
    }
    void write(uint64_t address, const std::vector<uint8_t>& bytes) { write(address, std::span<const uint8_t>(bytes)); }
    void write8(uint64_t address, uint8_t value) { write(address, std::span<const uint8_t>(&value, 1)); }
    void write16(uint64_t address, uint16_t value) { write_le(address, value, 2); }
    void write32(uint64_t address, uint32_t value) { write_le(address, value, 4); }
    void write64(uint64_t address, uint64_t value) { write_le(address, value, 8); }

    uint8_t& byte(uint64_t address)
    {
        uint8_t* target = locate(address, 1);
        if (!target)
            builder_misuse("byte outside mapped memory");
        return *target;
    }

    std::vector<uint8_t> dump(uint64_t address, size_t size) const
    {
        std::vector<uint8_t> out(size);
        if (!read(address, out.data(), size))
            builder_misuse("dump outside mapped memory");
        return out;
    }

    bool read(uint64_t address, void* out, size_t size) const override
    {
        const uint8_t* source = const_cast<FakeMemory*>(this)->locate(address, size);
        if (!source)
            return false;
        auto* target = static_cast<uint8_t*>(out);
        for (size_t i = 0; i < size; ++i)
            target[i] = source[i];
        return true;
    }

private:
    void write_le(uint64_t address, uint64_t value, size_t width)
    {
        uint8_t bytes[8];
        for (size_t i = 0; i < width; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        write(address, std::span<const uint8_t>(bytes, width));
    }

    uint8_t* locate(uint64_t address, uint64_t size)
    {
        auto it = m_regions.upper_bound(address);
        if (it == m_regions.begin())
            return nullptr;
        --it;
        uint64_t offset = address - it->first;
        uint64_t length = it->second.size();
        if (offset > length || size > length - offset)
            return nullptr;
        return it->second.data() + offset;
    }

    std::map<uint64_t, std::vector<uint8_t>> m_regions;
};

// Little-endian byte assembly.
struct Bytes {
    std::vector<uint8_t> data;

    Bytes& u8(uint64_t v) { return le(v, 1); }
    Bytes& u16(uint64_t v) { return le(v, 2); }
    Bytes& u32(uint64_t v) { return le(v, 4); }
    Bytes& u64(uint64_t v) { return le(v, 8); }
    Bytes& le(uint64_t v, size_t width)
    {
        for (size_t i = 0; i < width; ++i)
            data.push_back(static_cast<uint8_t>(v >> (8 * i)));
        return *this;
    }
    // Exactly `width` bytes: text cut or padded with `pad`.
    Bytes& text(std::string_view s, size_t width, char pad = ' ')
    {
        for (size_t i = 0; i < width; ++i)
            data.push_back(static_cast<uint8_t>(i < s.size() ? s[i] : pad));
        return *this;
    }
    Bytes& raw(std::span<const uint8_t> bytes)
    {
        data.insert(data.end(), bytes.begin(), bytes.end());
        return *this;
    }
    Bytes& raw(std::initializer_list<uint8_t> bytes)
    {
        data.insert(data.end(), bytes.begin(), bytes.end());
        return *this;
    }
    // ACPI Generic Address Structure, 12 bytes.
    Bytes& gas(uint8_t space, uint8_t bit_width, uint8_t bit_offset, uint8_t access_size, uint64_t address)
    {
        return u8(space).u8(bit_width).u8(bit_offset).u8(access_size).u64(address);
    }
    Bytes& zeros(size_t count)
    {
        data.insert(data.end(), count, 0);
        return *this;
    }
    size_t size() const { return data.size(); }
};

inline uint8_t byte_sum(std::span<const uint8_t> bytes, size_t begin, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = begin; i < begin + length; ++i)
        sum = static_cast<uint8_t>(sum + bytes[i]);
    return sum;
}

// Makes bytes[begin, begin + length) sum to 0 by adjusting bytes[checksum_at].
inline void set_checksum(std::vector<uint8_t>& bytes, size_t checksum_at, size_t begin, size_t length)
{
    bytes[checksum_at] = 0;
    bytes[checksum_at] = static_cast<uint8_t>(0x100 - byte_sum(bytes, begin, length));
}

// ---- ACPI ----

inline std::vector<uint8_t> rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt, std::string_view oem = "SKIFF ")
{
    Bytes b;
    b.text("RSD PTR ", 8).u8(0).text(oem, 6).u8(revision).u32(rsdt);
    if (revision >= 2)
        b.u32(36).u64(xsdt).u8(0).zeros(3);
    set_checksum(b.data, 8, 0, 20);
    if (revision >= 2)
        set_checksum(b.data, 32, 0, 36);
    return b.data;
}

// A complete SDT: 36-byte header + body, checksum set.
inline std::vector<uint8_t> sdt(std::string_view signature, uint8_t revision, const Bytes& body,
    std::string_view oem = "SKIFF ", std::string_view table_id = "SYNTHETC")
{
    Bytes b;
    b.text(signature, 4).u32(36 + body.size()).u8(revision).u8(0).text(oem, 6).text(table_id, 8).u32(1);
    b.text("SKFT", 4).u32(1);
    b.raw(body.data);
    set_checksum(b.data, 9, 0, b.size());
    return b.data;
}

inline std::vector<uint8_t> rsdt(std::initializer_list<uint32_t> entries)
{
    Bytes body;
    for (uint32_t entry : entries)
        body.u32(entry);
    return sdt("RSDT", 1, body);
}

inline std::vector<uint8_t> xsdt(std::initializer_list<uint64_t> entries)
{
    Bytes body;
    for (uint64_t entry : entries)
        body.u64(entry);
    return sdt("XSDT", 1, body);
}

// Recomputes the checksum of an SDT already in memory (after a test edits it).
inline void refresh_sdt_checksum(FakeMemory& memory, uint64_t address)
{
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i)
        length |= uint32_t(memory.byte(address + 4 + i)) << (8 * i);
    auto bytes = memory.dump(address, length);
    set_checksum(bytes, 9, 0, length);
    memory.write8(address + 9, bytes[9]);
}

struct MadtBuilder {
    uint8_t revision = 5;
    uint32_t local_apic_address = 0xfee00000;
    uint32_t flags = 1; // PCAT_COMPAT
    Bytes entries;

    MadtBuilder& local_apic(uint8_t uid, uint8_t apic_id, uint32_t cpu_flags = 1)
    {
        entries.u8(0).u8(8).u8(uid).u8(apic_id).u32(cpu_flags);
        return *this;
    }
    MadtBuilder& io_apic(uint8_t id, uint32_t address, uint32_t gsi_base)
    {
        entries.u8(1).u8(12).u8(id).u8(0).u32(address).u32(gsi_base);
        return *this;
    }
    MadtBuilder& interrupt_override(uint8_t source, uint32_t gsi, uint16_t inti_flags, uint8_t bus = 0)
    {
        entries.u8(2).u8(10).u8(bus).u8(source).u32(gsi).u16(inti_flags);
        return *this;
    }
    MadtBuilder& local_apic_nmi(uint8_t uid, uint16_t inti_flags, uint8_t lint)
    {
        entries.u8(4).u8(6).u8(uid).u16(inti_flags).u8(lint);
        return *this;
    }
    MadtBuilder& local_apic_address_override(uint64_t address)
    {
        entries.u8(5).u8(12).u16(0).u64(address);
        return *this;
    }
    MadtBuilder& local_x2apic(uint32_t x2apic_id, uint32_t cpu_flags, uint32_t uid)
    {
        entries.u8(9).u8(16).u16(0).u32(x2apic_id).u32(cpu_flags).u32(uid);
        return *this;
    }
    MadtBuilder& raw(std::initializer_list<uint8_t> bytes)
    {
        entries.raw(bytes);
        return *this;
    }
    std::vector<uint8_t> build() const
    {
        Bytes body;
        body.u32(local_apic_address).u32(flags).raw(entries.data);
        return sdt("APIC", revision, body);
    }
};

// Writes an FADT field by field at the ACPI 6.x offsets, then cuts it to `length`.
struct FadtBuilder {
    uint32_t length = 276;
    uint8_t revision = 6;
    uint8_t minor_version = 5;
    uint32_t firmware_control = 0;
    uint32_t dsdt = 0;
    uint16_t sci_interrupt = 0;
    uint32_t smi_command = 0;
    uint8_t acpi_enable = 0, acpi_disable = 0;
    uint32_t pm1a_event = 0, pm1a_control = 0, pm1b_control = 0, pm_timer = 0, gpe0 = 0;
    uint8_t pm1_event_length = 0, pm1_control_length = 0, pm_timer_length = 0, gpe0_length = 0;
    uint16_t boot_arch = 0;
    uint32_t flags = 0;
    struct Gas {
        uint8_t space = 0, width = 0, offset = 0, access = 0;
        uint64_t address = 0;
    };
    Gas reset_register;
    uint8_t reset_value = 0;
    uint64_t x_dsdt = 0;
    Gas x_pm1a_event, x_pm1a_control, x_pm1b_control, x_pm_timer;
    Gas sleep_control, sleep_status;
    uint64_t hypervisor_vendor = 0;

    std::vector<uint8_t> build() const
    {
        std::vector<uint8_t> t(276, 0);
        auto put = [&](size_t offset, uint64_t value, size_t width) {
            for (size_t i = 0; i < width; ++i)
                t[offset + i] = static_cast<uint8_t>(value >> (8 * i));
        };
        auto put_gas = [&](size_t offset, const Gas& g) {
            put(offset, g.space, 1);
            put(offset + 1, g.width, 1);
            put(offset + 2, g.offset, 1);
            put(offset + 3, g.access, 1);
            put(offset + 4, g.address, 8);
        };
        const char* signature = "FACP";
        for (int i = 0; i < 4; ++i)
            t[i] = static_cast<uint8_t>(signature[i]);
        put(4, length, 4);
        put(8, revision, 1);
        const char* oem = "SKIFF SYNTHETC";
        for (int i = 0; i < 14; ++i)
            t[10 + i] = static_cast<uint8_t>(oem[i]);
        put(36, firmware_control, 4);
        put(40, dsdt, 4);
        put(46, sci_interrupt, 2);
        put(48, smi_command, 4);
        put(52, acpi_enable, 1);
        put(53, acpi_disable, 1);
        put(56, pm1a_event, 4);
        put(64, pm1a_control, 4);
        put(68, pm1b_control, 4);
        put(76, pm_timer, 4);
        put(80, gpe0, 4);
        put(88, pm1_event_length, 1);
        put(89, pm1_control_length, 1);
        put(91, pm_timer_length, 1);
        put(92, gpe0_length, 1);
        put(109, boot_arch, 2);
        put(112, flags, 4);
        put_gas(116, reset_register);
        put(128, reset_value, 1);
        put(131, minor_version, 1);
        put(140, x_dsdt, 8);
        put_gas(148, x_pm1a_event);
        put_gas(172, x_pm1a_control);
        put_gas(184, x_pm1b_control);
        put_gas(208, x_pm_timer);
        put_gas(244, sleep_control);
        put_gas(256, sleep_status);
        put(268, hypervisor_vendor, 8);
        t.resize(length > 276 ? 276 : length);
        if (t.size() >= 36)
            set_checksum(t, 9, 0, t.size());
        return t;
    }
};

// ---- AML (just enough to place \_S5 among realistic neighbours) ----

// PkgLength for `content` bytes following it; the encoding counts itself.
inline Bytes aml_pkg_length(size_t content)
{
    Bytes b;
    if (content + 1 <= 0x3f)
        return b.u8(content + 1);
    size_t total = content + 2;
    if (total <= 0xfff)
        return b.u8(0x40 | (total & 0x0f)).u8(total >> 4);
    total = content + 3;
    return b.u8(0x80 | (total & 0x0f)).u8((total >> 4) & 0xff).u8(total >> 12);
}

inline std::vector<uint8_t> aml_byte(uint8_t v) { return { 0x0a, v }; }
inline std::vector<uint8_t> aml_word(uint16_t v) { return { 0x0b, uint8_t(v), uint8_t(v >> 8) }; }
inline std::vector<uint8_t> aml_dword(uint32_t v) { return { 0x0c, uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24) }; }
inline std::vector<uint8_t> aml_zero() { return { 0x00 }; }
inline std::vector<uint8_t> aml_one() { return { 0x01 }; }

// Name (XXXX, Package () { elements... })
inline std::vector<uint8_t> aml_name_package(std::string_view name, std::initializer_list<std::vector<uint8_t>> elements,
    bool root_prefix = false)
{
    Bytes contents;
    contents.u8(elements.size());
    for (const auto& element : elements)
        contents.raw(element);
    Bytes b;
    b.u8(0x08);
    if (root_prefix)
        b.u8('\\');
    b.text(name, 4).u8(0x12).raw(aml_pkg_length(contents.size()).data).raw(contents.data);
    return b.data;
}

// Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) } } and a
// method that mentions _S5_ without defining it: the scan must skip both.
inline std::vector<uint8_t> aml_neighbours()
{
    Bytes device;
    device.text("PCI0", 4).raw({ 0x08 }).text("_HID", 4).raw({ 0x0c, 0x41, 0xd0, 0x0a, 0x03 });
    Bytes device_op;
    device_op.raw({ 0x5b, 0x82 }).raw(aml_pkg_length(device.size()).data).raw(device.data);
    Bytes scope_body;
    scope_body.raw({ '\\' }).text("_SB_", 4).raw(device_op.data);
    Bytes b;
    b.u8(0x10).raw(aml_pkg_length(scope_body.size()).data).raw(scope_body.data);
    // Method (PTS_, 0) { Store (\_S5_, Local0) } - a reference, not a definition.
    Bytes method_body;
    method_body.text("PTS_", 4).u8(0).u8(0x70).u8('\\').text("_S5_", 4).u8(0x60);
    b.u8(0x14).raw(aml_pkg_length(method_body.size()).data).raw(method_body.data);
    return b.data;
}

inline std::vector<uint8_t> dsdt(std::span<const uint8_t> aml)
{
    Bytes body;
    body.raw(aml);
    return sdt("DSDT", 2, body);
}

// ---- Intel MP table ----

struct MpCpu {
    uint8_t apic_id;
    uint8_t flags; // 1 enabled, 2 BSP
};

// The MP table exactly as Firecracker (< 1.8) writes it at 0x9fc00: floating
// pointer, then the configuration table with `cpus` processors (APIC ids
// 0..n-1, id 0 the BSP), bus 0 "ISA   ", IOAPIC id n+1 at 0xfec00000,
// `io_interrupts` identity INT assignments (16 in early releases, 24 later),
// ExtINT on LINT0 and NMI on LINT1; the entry count is left 0, as Firecracker does.
inline std::vector<uint8_t> firecracker_mp_table(uint64_t base, uint8_t cpus, uint8_t io_interrupts = 16)
{
    uint8_t ioapic_id = static_cast<uint8_t>(cpus + 1);
    Bytes entries;
    for (uint8_t id = 0; id < cpus; ++id)
        entries.u8(0).u8(id).u8(0x14).u8(id == 0 ? 3 : 1).u32(0x600).u32(0x201).zeros(8);
    entries.u8(1).u8(0).text("ISA", 6);
    entries.u8(2).u8(ioapic_id).u8(0x14).u8(1).u32(0xfec00000);
    for (uint8_t irq = 0; irq < io_interrupts; ++irq)
        entries.u8(3).u8(0).u16(0).u8(0).u8(irq).u8(ioapic_id).u8(irq);
    entries.u8(4).u8(3).u16(0).u8(0).u8(0).u8(0).u8(0);
    entries.u8(4).u8(1).u16(0).u8(0).u8(0).u8(0xff).u8(1);

    Bytes table;
    table.text("PCMP", 4).u16(44 + entries.size()).u8(4).u8(0).text("FC", 8).text("000000000000", 12);
    table.u32(0).u16(0).u16(0).u32(0xfee00000).u16(0).u8(0).u8(0);
    table.raw(entries.data);
    set_checksum(table.data, 7, 0, table.size());

    Bytes pointer;
    pointer.text("_MP_", 4).u32(base + 16).u8(1).u8(4).u8(0).zeros(5);
    set_checksum(pointer.data, 10, 0, 16);
    pointer.raw(table.data);
    return pointer.data;
}

// A general MP table: floating pointer at `base`, config table right after.
struct MpTableBuilder {
    uint8_t feature1 = 0; // default configuration type
    uint8_t feature2 = 0; // bit 7: IMCR
    uint32_t local_apic_address = 0xfee00000;
    bool set_entry_count = true;
    Bytes entries;
    uint16_t entry_count = 0;

    MpTableBuilder& processor(uint8_t apic_id, uint8_t flags)
    {
        entries.u8(0).u8(apic_id).u8(0x14).u8(flags).u32(0x600).u32(0x201).zeros(8);
        ++entry_count;
        return *this;
    }
    MpTableBuilder& bus(uint8_t id, std::string_view type)
    {
        entries.u8(1).u8(id).text(type, 6);
        ++entry_count;
        return *this;
    }
    MpTableBuilder& io_apic(uint8_t id, uint32_t address, uint8_t flags = 1)
    {
        entries.u8(2).u8(id).u8(0x14).u8(flags).u32(address);
        ++entry_count;
        return *this;
    }
    MpTableBuilder& io_interrupt(uint8_t type, uint16_t flags, uint8_t bus, uint8_t irq, uint8_t apic, uint8_t pin)
    {
        entries.u8(3).u8(type).u16(flags).u8(bus).u8(irq).u8(apic).u8(pin);
        ++entry_count;
        return *this;
    }
    MpTableBuilder& local_interrupt(uint8_t type, uint8_t apic, uint8_t lint)
    {
        entries.u8(4).u8(type).u16(0).u8(0).u8(0).u8(apic).u8(lint);
        ++entry_count;
        return *this;
    }
    MpTableBuilder& raw(std::initializer_list<uint8_t> bytes)
    {
        entries.raw(bytes);
        ++entry_count;
        return *this;
    }
    std::vector<uint8_t> build(uint64_t base) const
    {
        Bytes table;
        table.text("PCMP", 4).u16(44 + entries.size()).u8(4).u8(0).text("SKIFF", 8).text("SYNTHETIC", 12);
        table.u32(0).u16(0).u16(set_entry_count ? entry_count : 0).u32(local_apic_address).u16(0).u8(0).u8(0);
        table.raw(entries.data);
        set_checksum(table.data, 7, 0, table.size());
        Bytes pointer;
        pointer.text("_MP_", 4).u32(feature1 ? 0 : base + 16).u8(1).u8(4).u8(0).u8(feature1).u8(feature2).zeros(3);
        set_checksum(pointer.data, 10, 0, 16);
        if (!feature1)
            pointer.raw(table.data);
        return pointer.data;
    }
};

// ---- Whole machines ----

struct Machine {
    FakeMemory memory;
    uint64_t rsdp_hint = 0;
    uint64_t mp_hint = 0;
    // Where the pieces went, for tests that corrupt one.
    uint64_t rsdp = 0, rsdt = 0, xsdt = 0, fadt = 0, dsdt = 0, madt = 0, mcfg = 0;
    uint64_t mp_pointer = 0, mp_config = 0;
};

inline std::vector<uint8_t> mcfg_table(uint64_t ecam_base)
{
    Bytes body;
    body.zeros(8).u64(ecam_base).u16(0).u8(0).u8(0xff).u32(0);
    return sdt("MCFG", 1, body);
}

// QEMU pc (i440fx, SeaBIOS): BDA filled (EBDA at 0x9fc00, 639 KiB), RSDP
// revision 0 in the F segment, RSDT/FADT/DSDT/MADT near the top of 2 GiB of
// RAM; legacy FADT with PM1a at 0x604 and the 0xcf9 reset register; MADT with
// `cpus` local APICs, IOAPIC 0, ISO 0->2 and level/high ISOs for 5, 9, 10, 11.
// table_base/rsdp_at move the pieces (fuzz seeds keep them in one window).
inline Machine qemu_pc(uint8_t cpus = 4, uint64_t table_base = 0x7ffe0040, uint64_t rsdp_at = 0xf5a40)
{
    Machine m;
    m.memory.map(0, 0x100000);
    if (table_base >= 0x100000)
        m.memory.map(table_base - 0x40, 0x20000);
    m.memory.write16(0x40e, 0x9fc0);
    m.memory.write16(0x413, 639);

    m.dsdt = table_base;
    Bytes aml;
    aml.raw(aml_neighbours()).raw(aml_name_package("_S5_", { aml_zero(), aml_zero(), aml_zero(), aml_zero() }));
    auto dsdt_table = dsdt(aml.data);
    m.memory.write(m.dsdt, dsdt_table);

    m.fadt = m.dsdt + ((dsdt_table.size() + 15) & ~size_t(15));
    FadtBuilder fadt;
    fadt.length = 244;
    fadt.revision = 3;
    fadt.firmware_control = static_cast<uint32_t>(table_base - 0x40);
    fadt.dsdt = static_cast<uint32_t>(m.dsdt);
    fadt.x_dsdt = m.dsdt;
    fadt.sci_interrupt = 9;
    fadt.smi_command = 0xb2;
    fadt.acpi_enable = 0xf1;
    fadt.acpi_disable = 0xf0;
    fadt.pm1a_event = 0x600;
    fadt.pm1a_control = 0x604;
    fadt.pm_timer = 0x608;
    fadt.gpe0 = 0xafe0;
    fadt.pm1_event_length = 4;
    fadt.pm1_control_length = 2;
    fadt.pm_timer_length = 4;
    fadt.gpe0_length = 4;
    fadt.boot_arch = 0;
    fadt.flags = (1u << 0) | (1u << 2) | (1u << 5) | (1u << 7) | (1u << 10) | (1u << 15);
    fadt.reset_register = { 1, 8, 0, 0, 0xcf9 };
    fadt.reset_value = 0x0f;
    fadt.x_pm1a_event = { 1, 32, 0, 0, 0x600 };
    fadt.x_pm1a_control = { 1, 16, 0, 0, 0x604 };
    fadt.x_pm_timer = { 1, 32, 0, 0, 0x608 };
    m.memory.write(m.fadt, fadt.build());

    m.madt = m.fadt + 256;
    MadtBuilder madt;
    madt.revision = 1;
    for (uint8_t i = 0; i < cpus; ++i)
        madt.local_apic(i, i, 1);
    madt.io_apic(0, 0xfec00000, 0);
    madt.interrupt_override(0, 2, 0);
    for (uint8_t irq : { 5, 9, 10, 11 })
        madt.interrupt_override(irq, irq, 0x000d);
    madt.local_apic_nmi(0xff, 0, 1);
    auto madt_table = madt.build();
    m.memory.write(m.madt, madt_table);

    m.rsdt = m.madt + ((madt_table.size() + 15) & ~size_t(15));
    m.memory.write(m.rsdt, rsdt({ static_cast<uint32_t>(m.fadt), static_cast<uint32_t>(m.madt) }));

    m.rsdp = rsdp_at;
    m.memory.write(m.rsdp, rsdp(0, static_cast<uint32_t>(m.rsdt), 0, "BOCHS "));
    return m;
}

// QEMU q35-like: RSDP revision 2 naming both an RSDT and an XSDT (the XSDT
// lists FADT, MADT and MCFG; the RSDT the same 32-bit addresses).
inline Machine qemu_q35(uint8_t cpus = 4, uint64_t table_base = 0x7ffe0040, uint64_t rsdp_at = 0xf5a40)
{
    Machine m = qemu_pc(cpus, table_base, rsdp_at);
    m.mcfg = m.rsdt + 0x80;
    m.memory.write(m.mcfg, mcfg_table(0xb0000000));
    m.memory.write(m.rsdt, rsdt({ uint32_t(m.fadt), uint32_t(m.madt), uint32_t(m.mcfg) }));
    m.xsdt = m.mcfg + 0x80;
    m.memory.write(m.xsdt, xsdt({ m.fadt, m.madt, m.mcfg }));
    m.memory.write(m.rsdp, rsdp(2, static_cast<uint32_t>(m.rsdt), m.xsdt, "BOCHS "));
    return m;
}

// Firecracker >= 1.8: RSDP revision 2 at 0xe0000 (also the boot_params
// hint), XSDT only; tables in [0x9fc00, 0xe0000): DSDT (virtio-mmio devices,
// no _S5), hardware-reduced FADT with X_DSDT only, MADT with IOAPIC id 0 and
// `cpus` enabled local APICs, no overrides, no PCAT_COMPAT. BDA left zero.
// With base != 0x9fc00 everything is placed from `base` instead (fuzz seeds).
inline Machine firecracker_acpi(uint8_t cpus = 2, uint64_t base = 0x9fc00, uint64_t rsdp_at = 0xe0000)
{
    Machine m;
    m.memory.map(0, 0x100000);
    m.rsdp_hint = rsdp_at;

    Bytes device;
    device.raw({ 0x08 }).text("_HID", 4).raw({ 0x0d }).text("LNRO0005", 8).u8(0);
    Bytes device_op;
    device_op.text("V000", 4).raw(device.data);
    Bytes aml;
    aml.raw({ 0x5b, 0x82 }).raw(aml_pkg_length(device_op.size()).data).raw(device_op.data);
    m.dsdt = base;
    auto dsdt_table = dsdt(aml.data);
    m.memory.write(m.dsdt, dsdt_table);

    m.fadt = m.dsdt + ((dsdt_table.size() + 15) & ~size_t(15));
    FadtBuilder fadt;
    fadt.length = 276;
    fadt.revision = 6;
    fadt.minor_version = 5;
    fadt.x_dsdt = m.dsdt;
    fadt.flags = 1u << 20;
    fadt.boot_arch = (1u << 2) | (1u << 3) | (1u << 4);
    fadt.hypervisor_vendor = 0x0044494d4d564346ull; // "FCVMMID\0"
    m.memory.write(m.fadt, fadt.build());

    m.madt = m.fadt + 288;
    MadtBuilder madt;
    madt.revision = 6;
    madt.flags = 0;
    madt.io_apic(0, 0xfec00000, 0);
    for (uint8_t i = 0; i < cpus; ++i)
        madt.local_apic(i, i, 1);
    auto madt_table = madt.build();
    m.memory.write(m.madt, madt_table);

    m.xsdt = m.madt + ((madt_table.size() + 15) & ~size_t(15));
    m.memory.write(m.xsdt, xsdt({ m.fadt, m.madt }));
    m.rsdp = rsdp_at;
    m.memory.write(m.rsdp, rsdp(2, 0, m.xsdt, "FIRECK"));
    return m;
}

// Firecracker < 1.8: nothing but the MP table at 0x9fc00; BDA zero; the
// 0xe0000-0xfffff area is readable and empty.
inline Machine firecracker_mptable(uint8_t cpus = 2, uint8_t io_interrupts = 16)
{
    Machine m;
    m.memory.map(0, 0x100000);
    m.mp_pointer = 0x9fc00;
    m.mp_config = 0x9fc10;
    m.memory.write(m.mp_pointer, firecracker_mp_table(m.mp_pointer, cpus, io_interrupts));
    return m;
}

} // namespace skiff::testing
