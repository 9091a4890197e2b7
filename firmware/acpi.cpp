#include "firmware/acpi.h"

#include "firmware/table_access.h"
#include "lib/format.h"
#include "lib/log.h"
#include "lib/one_test.h"

#include <bit>
#include <new>
#include <type_traits>

namespace skiff::acpi {

using firmware::printable;

namespace {

constexpr std::string_view rsdp_signature = "RSD PTR ";
constexpr uint64_t bios_rom_start = 0xe0000;
constexpr uint64_t bios_rom_length = 0x20000;
constexpr uint64_t ebda_scan_length = 1024;
constexpr size_t max_rsdp_length = 64; // 36 in every revision so far; room for growth, not for nonsense

// Signatures compared as one little-endian word: no loop, no call.
template<size_t N>
bool signature_is(const char (&bytes)[N], std::string_view expected)
{
    static_assert(N == 4 || N == 8);
    using Word = std::conditional_t<N == 4, uint32_t, uint64_t>;
    if (expected.size() != N)
        return false;
    Word have, want;
    __builtin_memcpy(&have, bytes, N);
    __builtin_memcpy(&want, expected.data(), N);
    return have == want;
}

GenericAddress decode(const GasLayout& gas)
{
    GenericAddress out;
    out.space_id = gas.space_id;
    out.bit_width = gas.bit_width;
    out.bit_offset = gas.bit_offset;
    out.access_size = gas.access_size;
    out.address = gas.address;
    return out;
}

// Where an RSDP came from, for log lines.
struct RsdpOrigin {
    char text[40];
    size_t length;
    std::string_view view() const { return { text, length }; }
};

RsdpOrigin origin_at(uint64_t address)
{
    RsdpOrigin origin {};
    FormatBuffer buffer(origin.text, sizeof(origin.text));
    if (address == 0)
        format_to(buffer, "copy from the boot loader");
    else
        format_to(buffer, "at {:#x}", address);
    origin.length = buffer.length();
    return origin;
}

// Says which of validate_rsdp()'s checks failed, in the order a reader
// would apply them. Reached only once the combined test there has failed.
[[gnu::cold, gnu::noinline]] Error diagnose_rsdp(const uint8_t (&bytes)[max_rsdp_length], size_t available,
    uint64_t address)
{
    auto where = origin_at(address);
    RsdpLayout raw;
    __builtin_memcpy(&raw, bytes, sizeof(raw));
    uint32_t length = raw.length;
    if (available < rsdp_v1_length)
        log::warn("acpi: RSDP {}: {} bytes, shorter than the 20-byte ACPI 1.0 structure", where.view(), available);
    else if (!signature_is(raw.signature, rsdp_signature))
        log::warn("acpi: RSDP {}: signature is not \"RSD PTR \"", where.view());
    else if (uint8_t sum = firmware::sum_bytes(bytes, rsdp_v1_length); sum != 0)
        log::warn("acpi: RSDP {}: checksum mismatch (sum {:#x})", where.view(), sum);
    else if (raw.revision >= 2 && (length < sizeof(RsdpLayout) || length > max_rsdp_length))
        log::warn("acpi: RSDP {}: revision {} with implausible length {}", where.view(), raw.revision, length);
    else if (raw.revision >= 2 && length > available)
        log::warn("acpi: RSDP {}: length {} but only {} bytes available", where.view(), length, available);
    else if (uint8_t sum = raw.revision >= 2 ? firmware::sum_bytes(bytes, length) : 0; sum != 0) // length checked above
        log::warn("acpi: RSDP {}: extended checksum mismatch (sum {:#x})", where.view(), sum);
    else
        log::warn("acpi: RSDP {}: names neither an RSDT nor an XSDT", where.view());
    return Error::Corrupt;
}

// `bytes` holds `available` bytes of a candidate RSDP followed by zeroes up to
// max_rsdp_length, so every field can be read whatever the claimed length.
[[gnu::always_inline]] inline Result<Rsdp> validate_rsdp(const uint8_t (&bytes)[max_rsdp_length], size_t available, uint64_t address)
{
    RsdpLayout raw;
    __builtin_memcpy(&raw, bytes, sizeof(raw));
    // Revision 0 is ACPI 1.0; 2 and later carry the length and the XSDT.
    bool extended = raw.revision >= 2;
    uint32_t length = extended ? uint32_t(raw.length) : uint32_t(rsdp_v1_length);
    bool length_bad = length < (extended ? sizeof(RsdpLayout) : rsdp_v1_length) || length > max_rsdp_length
        || length > available;
    // The extended checksum covers the whole structure, the first 20 bytes
    // included: it holds when the rest sums to 0 as well.
    uint8_t sum_v1 = firmware::sum_bytes(bytes, rsdp_v1_length);
    uint8_t sum_rest = firmware::sum_bytes(bytes + rsdp_v1_length, length_bad ? 0 : length - rsdp_v1_length);
    uint64_t xsdt_address = extended ? uint64_t(raw.xsdt_address) : 0;
    // Every check in one test: on the boot path each branch would be a
    // translation block of its own under TCG. diagnose_rsdp() tells them apart.
    if ((available < rsdp_v1_length) | !signature_is(raw.signature, rsdp_signature) | (sum_v1 != 0) | length_bad
        | (sum_rest != 0) | ((raw.rsdt_address == 0) & (xsdt_address == 0)))
        return diagnose_rsdp(bytes, available, address);
    Rsdp rsdp {};
    rsdp.revision = raw.revision;
    rsdp.rsdt_address = raw.rsdt_address;
    rsdp.xsdt_address = xsdt_address;
    __builtin_memcpy(rsdp.oem_id.data(), raw.oem_id, sizeof(raw.oem_id));
    return rsdp;
}

// Random access to a table's bytes through a small window, so a scan over a
// large DSDT neither copies it whole nor calls read() per byte.
class MemoryBytes {
public:
    MemoryBytes(const PhysicalMemory& memory, uint64_t base, uint64_t length)
        : m_memory(memory)
        , m_base(base)
        , m_length(length)
    {
    }

    uint64_t size() const { return m_length; }

    bool at(uint64_t index, uint8_t& out) const
    {
        if (index >= m_length)
            return false;
        if (index < m_window_start || index >= m_window_start + m_window_size) {
            // Keep a little look-behind: the scan checks the bytes before a match.
            uint64_t start = index >= look_behind ? index - look_behind : 0;
            uint64_t size = m_length - start < sizeof(m_window) ? m_length - start : sizeof(m_window);
            if (!m_memory.read(m_base + start, m_window, size)) {
                m_window_size = 0;
                return false;
            }
            m_window_start = start;
            m_window_size = size;
        }
        out = m_window[index - m_window_start];
        return true;
    }

private:
    static constexpr uint64_t look_behind = 16;
    const PhysicalMemory& m_memory;
    uint64_t m_base;
    uint64_t m_length;
    mutable uint8_t m_window[512];
    mutable uint64_t m_window_start { 0 };
    mutable uint64_t m_window_size { 0 };
};

class SpanBytes {
public:
    explicit SpanBytes(std::span<const uint8_t> bytes) : m_bytes(bytes) {}
    uint64_t size() const { return m_bytes.size(); }
    bool at(uint64_t index, uint8_t& out) const
    {
        if (index >= m_bytes.size())
            return false;
        out = m_bytes[index];
        return true;
    }

private:
    std::span<const uint8_t> m_bytes;
};

namespace aml {
constexpr uint8_t zero_op = 0x00;
constexpr uint8_t one_op = 0x01;
constexpr uint8_t name_op = 0x08;
constexpr uint8_t byte_prefix = 0x0a;
constexpr uint8_t word_prefix = 0x0b;
constexpr uint8_t dword_prefix = 0x0c;
constexpr uint8_t qword_prefix = 0x0e;
constexpr uint8_t package_op = 0x12;
constexpr uint8_t ones_op = 0xff;
constexpr uint8_t root_char = '\\';
constexpr uint8_t parent_prefix = '^';
} // namespace aml

template<typename Bytes>
class AmlCursor {
public:
    AmlCursor(const Bytes& bytes, uint64_t position, uint64_t end)
        : m_bytes(bytes)
        , m_position(position)
        , m_end(end)
    {
    }

    uint64_t position() const { return m_position; }

    // Fails (with a log line) past `end` - the package or the table.
    Result<uint8_t> next()
    {
        uint8_t value = 0;
        if (m_position >= m_end) {
            log::warn("acpi: DSDT: _S5_ package truncated at AML offset {}", m_position);
            return Error::Corrupt;
        }
        if (!m_bytes.at(m_position, value)) {
            log::warn("acpi: DSDT: AML byte {} became unreadable", m_position);
            return Error::Io;
        }
        ++m_position;
        return value;
    }

    Result<uint64_t> little_endian(unsigned count)
    {
        uint64_t value = 0;
        for (unsigned i = 0; i < count; ++i)
            value |= uint64_t(TRY(next())) << (8 * i);
        return value;
    }

    Result<uint64_t> integer()
    {
        uint8_t op = TRY(next());
        switch (op) {
        case aml::zero_op: return uint64_t(0);
        case aml::one_op: return uint64_t(1);
        case aml::ones_op: return ~uint64_t(0);
        case aml::byte_prefix: return little_endian(1);
        case aml::word_prefix: return little_endian(2);
        case aml::dword_prefix: return little_endian(4);
        case aml::qword_prefix: return little_endian(8);
        }
        log::warn("acpi: DSDT: _S5_ element starts with opcode {:#x}, not an integer constant", op);
        return Error::Unsupported;
    }

private:
    const Bytes& m_bytes;
    uint64_t m_position;
    uint64_t m_end;
};

// True when the name at `offset` is the NameString of a NameOp (DefName),
// allowing the root and parent prefixes: `Name (\_S5, ...)`, `Name (^_S5, ...)`.
template<typename Bytes>
bool is_name_definition(const Bytes& bytes, uint64_t offset)
{
    uint8_t value = 0;
    uint64_t position = offset;
    if (position > 0 && bytes.at(position - 1, value) && value == aml::root_char) {
        --position;
    } else {
        while (position > 0 && bytes.at(position - 1, value) && value == aml::parent_prefix)
            --position;
    }
    return position > 0 && bytes.at(position - 1, value) && value == aml::name_op;
}

template<typename Bytes>
Result<SleepType> decode_s5_package(const Bytes& bytes, uint64_t package_op_offset)
{
    AmlCursor cursor(bytes, package_op_offset + 1, bytes.size());
    // PkgLength: bits 7-6 of the lead byte count the bytes that follow; it
    // measures from its own first byte to the end of the package.
    uint64_t length_start = cursor.position();
    uint8_t lead = TRY(cursor.next());
    unsigned follow = lead >> 6;
    uint64_t package_length = follow == 0 ? (lead & 0x3f) : (lead & 0x0f);
    for (unsigned i = 0; i < follow; ++i)
        package_length |= uint64_t(TRY(cursor.next())) << (4 + 8 * i);
    if (package_length < follow + 2u) {
        log::warn("acpi: DSDT: _S5_ package length {} is too small to hold anything", package_length);
        return Error::Corrupt;
    }
    uint64_t package_end = length_start + package_length;
    if (package_end > bytes.size()) {
        log::warn("acpi: DSDT: _S5_ package (length {}) runs past the end of the AML ({} bytes)", package_length,
            bytes.size());
        return Error::Corrupt;
    }

    AmlCursor elements(bytes, cursor.position(), package_end);
    uint8_t count = TRY(elements.next());
    if (count == 0) {
        log::warn("acpi: DSDT: _S5_ package is empty");
        return Error::Corrupt;
    }
    uint64_t first = TRY(elements.integer());
    uint64_t a = first & 0xff, b = (first >> 8) & 0xff; // one element: both values packed (as ACPICA reads it)
    if (count >= 2) {
        a = first;
        b = TRY(elements.integer());
    }
    // SLP_TYPx is a 3-bit field of PM1_CNT / the sleep control register.
    if (a > 7 || b > 7) {
        log::warn("acpi: DSDT: _S5_ SLP_TYP values {:#x}/{:#x} do not fit the 3-bit field", a, b);
        return Error::Corrupt;
    }
    return SleepType { static_cast<uint8_t>(a), static_cast<uint8_t>(b) };
}

template<typename Bytes>
Result<SleepType> scan_for_s5(const Bytes& bytes)
{
    static constexpr uint8_t name[4] = { '_', 'S', '5', '_' };
    uint64_t size = bytes.size();
    for (uint64_t offset = 0; size >= 4 && offset <= size - 4; ++offset) {
        bool match = true;
        for (uint64_t i = 0; i < 4 && match; ++i) {
            uint8_t value = 0;
            if (!bytes.at(offset + i, value)) {
                log::warn("acpi: DSDT: AML byte {} is unreadable", offset + i);
                return Error::Io;
            }
            match = value == name[i];
        }
        if (!match || !is_name_definition(bytes, offset))
            continue;
        uint8_t op = 0;
        if (offset + 4 >= size || !bytes.at(offset + 4, op)) {
            log::warn("acpi: DSDT: AML ends right after the name _S5_");
            return Error::Corrupt;
        }
        if (op != aml::package_op) {
            log::debug("acpi: DSDT: _S5_ at AML offset {} is not a package (opcode {:#x}), skipped", offset, op);
            continue;
        }
        return decode_s5_package(bytes, offset + 4);
    }
    return Error::NotFound;
}

GenericAddress legacy_block(uint32_t port, uint8_t length)
{
    GenericAddress out;
    if (port == 0)
        return out;
    out.space_id = GenericAddress::system_io;
    out.bit_width = static_cast<uint8_t>((length ? length : 2) * 8);
    out.access_size = 2;
    out.address = port;
    return out;
}

// The 64-bit GAS wins when present (ACPI 2.0+); otherwise the 32-bit port.
GenericAddress pm1_control(const GasLayout& extended, uint32_t port, uint8_t length)
{
    GenericAddress out = decode(extended);
    if (!out.present())
        return legacy_block(port, length);
    if (out.bit_width == 0)
        out.bit_width = static_cast<uint8_t>((length ? length : 2) * 8);
    return out;
}

bool is_supported_space(uint8_t space_id)
{
    return space_id == GenericAddress::system_memory || space_id == GenericAddress::system_io
        || space_id == GenericAddress::pci_config;
}

// Says which of read_checked_header()'s checks on a readable header failed,
// in the order a reader would apply them.
[[gnu::cold, gnu::noinline]] Error diagnose_header(uint64_t address, std::string_view signature, const SdtHeader& header)
{
    auto name = printable(header.signature, sizeof(header.signature));
    uint32_t length = header.length;
    if (!signature.empty() && !signature_is(header.signature, signature))
        log::warn("acpi: table at {:#x} has signature \"{}\", expected \"{}\"", address, name.view(),
            printable(signature.data(), signature.size()).view());
    else if (length < sizeof(SdtHeader))
        log::warn("acpi: {} at {:#x}: length {} is shorter than the 36-byte header", name.view(), address, length);
    else
        log::warn("acpi: {} at {:#x}: length {} exceeds the {} byte limit", name.view(), address, length,
            max_table_length);
    return Error::Corrupt;
}

// Reads a table header into `header` and checks its signature (if not
// empty) and length; the checksum is the caller's, over memory or over a copy.
[[gnu::always_inline]] inline Result<void> read_checked_header(const PhysicalMemory& memory, uint64_t address, std::string_view signature, SdtHeader& header)
{
    if (address == 0 || !read_object(memory, address, header)) {
        // Names are made printable only for a warning: tables are read on the boot path.
        log::warn("acpi: {} at {:#x} is not readable", printable(signature.data(), signature.size()).view(), address);
        return Error::OutOfRange;
    }
    // The signature as one word (no loop, no call; an empty one matches
    // anything, one that is not four characters nothing) and every check in
    // one test: each branch here would be a translation block on the boot
    // path. diagnose_header() tells them apart.
    uint32_t have;
    __builtin_memcpy(&have, header.signature, sizeof(have));
    uint32_t want = signature.empty() ? have : ~have;
    if (signature.size() == sizeof(want))
        __builtin_memcpy(&want, signature.data(), sizeof(want));
    uint32_t length = header.length;
    if (as_one_test((have != want) | (length < sizeof(SdtHeader)) | (length > max_table_length)))
        return diagnose_header(address, signature, header);
    return ok();
}

void warn_checksum(const SdtHeader& header, uint64_t address, uint8_t sum)
{
    log::warn("acpi: {} at {:#x}: checksum mismatch (sum {:#x})", printable(header.signature, 4).view(), address, sum);
}

void warn_unreadable(const SdtHeader& header, uint64_t address)
{
    uint32_t length = header.length;
    log::warn("acpi: {} at {:#x}: length {} runs into unreadable memory", printable(header.signature, 4).view(), address,
        length);
}

// A whole table copied out once, after its header was checked, and
// checksummed in the copy: parsers then read entries from the copy rather
// than going back to physical memory for each. Tables up to inline_capacity
// bytes (root tables, the MADT of a few hundred CPUs) stay on the stack;
// longer ones, up to max_table_length, are copied to the heap.
class TableCopy {
public:
    TableCopy() = default;
    TableCopy(const TableCopy&) = delete;
    TableCopy& operator=(const TableCopy&) = delete;
    ~TableCopy() { delete[] m_heap; }

    Result<void> load(const PhysicalMemory& memory, uint64_t address, std::string_view signature)
    {
        SdtHeader header;
        TRY(read_checked_header(memory, address, signature, header));
        uint32_t length = header.length;
        uint8_t* storage = m_inline;
        if (length > inline_capacity) {
            m_heap = new (std::nothrow) uint8_t[length + slack];
            if (!m_heap) {
                log::warn("acpi: no memory to copy the {}-byte {} at {:#x}", length, printable(header.signature, 4).view(),
                    address);
                return Error::OutOfMemory;
            }
            storage = m_heap;
        }
        if (!memory.read(address, storage, length)) {
            warn_unreadable(header, address);
            return Error::OutOfRange;
        }
        constexpr uint64_t zeroes = 0;
        static_assert(sizeof(zeroes) == slack);
        __builtin_memcpy(storage + length, &zeroes, slack);
        if (uint8_t sum = firmware::sum_bytes(storage, length); sum != 0) {
            warn_checksum(header, address, sum);
            return Error::Corrupt;
        }
        m_bytes = storage;
        m_length = length;
        return ok();
    }

    // The table's length as checked; the copy's own header is not re-read.
    uint32_t length() const { return m_length; }

    // The object at `offset`; the caller has checked that it lies within length().
    template<typename T>
    T object_at(uint32_t offset) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T out;
        __builtin_memcpy(&out, m_bytes + offset, sizeof(T));
        return out;
    }

    // Zero bytes after the table: a parser may read a small header at any
    // offset below length() before checking how long the entry really is.
    static constexpr uint32_t slack = 8;

private:
    static constexpr uint32_t inline_capacity = 4096;
    uint8_t m_inline[inline_capacity + slack];
    uint8_t* m_heap = nullptr;
    const uint8_t* m_bytes = nullptr;
    uint32_t m_length = 0;
};

// The bytes each MADT entry type must have for the fields read from it; the
// header's two for the types that are skipped.
constexpr std::array<uint8_t, 256> madt_minimum_lengths = [] {
    std::array<uint8_t, 256> lengths {};
    lengths.fill(sizeof(madt::EntryHeader));
    lengths[madt::local_apic] = sizeof(madt::LocalApic);
    lengths[madt::local_x2apic] = sizeof(madt::LocalX2Apic);
    lengths[madt::io_apic] = sizeof(madt::IoApic);
    lengths[madt::interrupt_override] = sizeof(madt::InterruptOverride);
    lengths[madt::local_apic_address_override] = sizeof(madt::LocalApicAddressOverride);
    return lengths;
}();

// Says which of the MADT entry checks failed, in the order a reader would
// apply them; reached only once their combined test has failed.
[[gnu::cold, gnu::noinline]] Error diagnose_madt_entry(uint32_t offset, uint32_t length, madt::EntryHeader entry)
{
    uint32_t remaining = length - offset;
    if (remaining < sizeof(madt::EntryHeader))
        log::warn("acpi: MADT: {} stray byte(s) at offset {} are too short for an entry", remaining, offset);
    else if (entry.length < sizeof(madt::EntryHeader))
        log::warn("acpi: MADT: entry type {} at offset {} has length {}; table is corrupt", entry.type, offset, entry.length);
    else if (entry.length > remaining)
        log::warn("acpi: MADT: entry type {} at offset {} (length {}) runs past the table end ({})", entry.type, offset,
            entry.length, length);
    else
        log::warn("acpi: MADT: entry type {} at offset {} has length {}, needs {}", entry.type, offset, entry.length,
            madt_minimum_lengths[entry.type]);
    return Error::Corrupt;
}

Result<void> parse_madt_entries(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info)
{
    TableCopy table;
    TRY(table.load(memory, address, "APIC"));
    uint32_t length = table.length();
    if (length < sizeof(MadtHeader)) {
        log::warn("acpi: MADT at {:#x}: length {} is shorter than its 44-byte header", address, length);
        return Error::Corrupt;
    }
    auto madt_header = table.object_at<MadtHeader>(0);
    info.local_apic_address = madt_header.local_apic_address;
    info.legacy_pic_present = (madt_header.flags & madt::flag_pcat_compat) != 0;
    bool online_capable_defined = madt_header.header.revision >= madt::online_capable_revision;
    bool bsp_seen = false;

    auto add_processor = [&](uint32_t apic_id, uint32_t uid, uint32_t flags) {
        bool enabled = (flags & madt::cpu_enabled) != 0;
        bool online_capable = online_capable_defined && (flags & madt::cpu_online_capable) != 0;
        if (!enabled && !online_capable) {
            log::debug("acpi: MADT: CPU with APIC id {} is disabled, skipped", apic_id);
            return;
        }
        CpuDescriptor cpu { apic_id, uid, enabled && !bsp_seen, enabled };
        bsp_seen = bsp_seen || enabled;
        add_cpu(info, cpu);
    };

    uint32_t offset = sizeof(MadtHeader);
    while (offset < length) {
        // The header is readable even in a table's last byte (TableCopy
        // leaves zeroes after it); every check on it in one test, as each
        // branch here is a translation block on the boot path.
        auto entry = table.object_at<madt::EntryHeader>(offset);
        uint32_t remaining = length - offset;
        if ((remaining < sizeof(madt::EntryHeader)) | (entry.length < madt_minimum_lengths[entry.type])
            | (entry.length > remaining))
            return diagnose_madt_entry(offset, length, entry);

        switch (entry.type) {
        case madt::local_apic: {
            auto cpu = table.object_at<madt::LocalApic>(offset);
            // 0xff is the broadcast id: firmware uses it for placeholder entries.
            if (cpu.apic_id == 0xff)
                log::debug("acpi: MADT: local APIC entry with id 0xff ignored");
            else
                add_processor(cpu.apic_id, cpu.acpi_uid, cpu.flags);
            break;
        }
        case madt::local_x2apic: {
            auto cpu = table.object_at<madt::LocalX2Apic>(offset);
            if (cpu.x2apic_id == 0xffffffff)
                log::debug("acpi: MADT: local x2APIC entry with id 0xffffffff ignored");
            else
                add_processor(cpu.x2apic_id, cpu.acpi_uid, cpu.flags);
            break;
        }
        case madt::io_apic: {
            auto ioapic = table.object_at<madt::IoApic>(offset);
            if (ioapic.address == 0) {
                log::warn("acpi: MADT: IOAPIC id {} at address 0 ignored", ioapic.id);
            } else if (info.ioapic_count == info.ioapics.size()) {
                log::warn("acpi: MADT: more than {} IOAPICs; id {} ignored", info.ioapics.size(), ioapic.id);
            } else {
                info.ioapics[info.ioapic_count++] = { ioapic.id, ioapic.address, ioapic.gsi_base };
            }
            break;
        }
        case madt::interrupt_override: {
            auto iso = table.object_at<madt::InterruptOverride>(offset);
            uint16_t flags = iso.flags;
            uint16_t polarity = flags & inti::polarity_mask;
            uint16_t trigger = (flags >> inti::trigger_shift) & inti::trigger_mask;
            if (iso.bus != 0) {
                log::warn("acpi: MADT: override for bus {} (only ISA, bus 0, is defined) ignored", iso.bus);
                break;
            }
            if (polarity == 2 || trigger == 2)
                log::warn("acpi: MADT: override for IRQ {} uses reserved flags {:#x}; bus defaults assumed",
                    iso.source, flags);
            if (info.find_override(iso.source)) {
                log::warn("acpi: MADT: second override for IRQ {} ignored", iso.source);
            } else if (info.override_count == info.overrides.size()) {
                log::warn("acpi: MADT: more than {} interrupt overrides; IRQ {} ignored", info.overrides.size(),
                    iso.source);
            } else {
                info.overrides[info.override_count++]
                    = { iso.source, iso.gsi, polarity == inti::polarity_active_low, trigger == inti::trigger_level };
            }
            break;
        }
        case madt::local_apic_address_override: {
            auto apic = table.object_at<madt::LocalApicAddressOverride>(offset);
            if (apic.address == 0)
                log::warn("acpi: MADT: local APIC address override to 0 ignored");
            else
                info.local_apic_address = apic.address;
            break;
        }
        default:
            // NMI wiring, GIC and other architectures' entries: not needed here.
            break;
        }
        offset += entry.length;
    }

    if (info.cpu_count == 0) {
        log::warn("acpi: MADT at {:#x} lists no usable CPU", address);
        return Error::Corrupt;
    }
    if (info.local_apic_address == 0) {
        log::warn("acpi: MADT: local APIC address is 0; using the architectural {:#x}",
            PlatformInfo::default_local_apic_address);
        info.local_apic_address = PlatformInfo::default_local_apic_address;
    }
    return ok();
}

} // namespace

Result<Rsdp> parse_rsdp(std::span<const uint8_t> bytes)
{
    uint8_t buffer[max_rsdp_length] = {};
    size_t available = bytes.size() < sizeof(buffer) ? bytes.size() : sizeof(buffer);
    for (size_t i = 0; i < available; ++i)
        buffer[i] = bytes[i];
    // Bytes past the buffer are beyond any valid RSDP: only the claimed length counts.
    return validate_rsdp(buffer, available, 0);
}

// The revision 2 size, else the ACPI 1.0 size, for an RSDP too close to the
// end of readable memory for read_rsdp's whole read. Returns the bytes read
// (the rest of `buffer` zero), 0 if not even the 1.0 structure is readable.
[[gnu::cold, gnu::noinline]] static size_t read_short_rsdp(const PhysicalMemory& memory, uint64_t address,
    uint8_t (&buffer)[max_rsdp_length])
{
    for (size_t length : { sizeof(RsdpLayout), size_t(rsdp_v1_length) }) {
        __builtin_memset(buffer, 0, sizeof(buffer));
        if (range_fits(address, length) && memory.read(address, buffer, length))
            return length;
    }
    return 0;
}

Result<Rsdp> read_rsdp(const PhysicalMemory& memory, uint64_t address)
{
    // All an RSDP may claim, read in one go; only one near the end of
    // readable memory needs the shorter attempts. validate_rsdp judges the
    // claimed length against what was read.
    uint8_t buffer[max_rsdp_length] = {};
    size_t available = sizeof(buffer);
    if (!range_fits(address, available) || !memory.read(address, buffer, available)) [[unlikely]] {
        available = read_short_rsdp(memory, address, buffer);
        if (available == 0) {
            log::warn("acpi: RSDP at {:#x} is not readable", address);
            return Error::OutOfRange;
        }
    }
    return validate_rsdp(buffer, available, address);
}

Result<FoundRsdp> find_rsdp(const PhysicalMemory& memory, uint64_t hint, std::span<const uint8_t> copy)
{
    if (hint != 0) {
        if (auto rsdp = read_rsdp(memory, hint))
            return FoundRsdp { hint, *rsdp };
        log::warn("acpi: the boot loader's RSDP address {:#x} is unusable; looking elsewhere", hint);
    }
    if (!copy.empty()) {
        if (auto rsdp = parse_rsdp(copy))
            return FoundRsdp { 0, *rsdp };
        log::warn("acpi: the boot loader's RSDP copy is unusable; scanning for one");
    }

    Rsdp found {};
    auto probe = [&](uint64_t address) {
        auto rsdp = read_rsdp(memory, address);
        if (rsdp)
            found = *rsdp;
        return rsdp.has_value();
    };
    uint64_t address = 0;
    if (uint64_t ebda = firmware::ebda_address(memory))
        address = firmware::scan_paragraphs(memory, ebda, ebda_scan_length, rsdp_signature, probe);
    if (address == 0)
        address = firmware::scan_paragraphs(memory, bios_rom_start, bios_rom_length, rsdp_signature, probe);
    if (address == 0) {
        log::info("acpi: no RSDP found");
        return Error::NotFound;
    }
    return FoundRsdp { address, found };
}

Result<SdtHeader> read_table_header(const PhysicalMemory& memory, uint64_t address, std::string_view signature)
{
    SdtHeader header;
    TRY(read_checked_header(memory, address, signature, header));
    auto sum = firmware::sum_bytes(memory, address, header.length);
    if (!sum) {
        warn_unreadable(header, address);
        return Error::OutOfRange;
    }
    if (*sum != 0) {
        warn_checksum(header, address, *sum);
        return Error::Corrupt;
    }
    return header;
}

// Root tables and the tables they list are validated by copying them
// (TableCopy), as the MADT is parsed: one validation path on the boot path.
Result<RootTable> open_root_table(const PhysicalMemory& memory, const Rsdp& rsdp)
{
    // The XSDT (8-byte entries) when the RSDP has one (revision 2+), else the
    // RSDT (4-byte entries).
    static constexpr std::string_view signatures[2] = { "XSDT", "RSDT" };
    const uint64_t addresses[2] = { rsdp.revision >= 2 ? rsdp.xsdt_address : 0, rsdp.rsdt_address };
    for (unsigned i = 0; i < 2; ++i) {
        if (addresses[i] == 0)
            continue;
        TableCopy table;
        if (table.load(memory, addresses[i], signatures[i]).is_error()) {
            if (i == 0 && rsdp.rsdt_address != 0)
                log::warn("acpi: XSDT unusable; falling back to the RSDT");
            continue;
        }
        bool extended = i == 0;
        unsigned entry_shift = extended ? 3 : 2;
        uint32_t payload = table.length() - sizeof(SdtHeader);
        if (uint32_t trailing = payload & ((1u << entry_shift) - 1); trailing != 0)
            log::warn("acpi: {}: {} trailing byte(s) after the last entry ignored", signatures[i], trailing);
        return RootTable { addresses[i], extended, payload >> entry_shift };
    }
    log::error("acpi: no usable RSDT or XSDT; ignoring ACPI");
    return Error::Corrupt;
}

namespace {

static_assert(std::endian::native == std::endian::little, "table entries and signatures are read in place as little-endian");

constexpr uint32_t signature_word(std::string_view signature)
{
    return signature.size() != 4 ? 0
                                 : uint32_t(uint8_t(signature[0])) | uint32_t(uint8_t(signature[1])) << 8
            | uint32_t(uint8_t(signature[2])) << 16 | uint32_t(uint8_t(signature[3])) << 24;
}

// The address in root table entry `index`.
Result<uint64_t> root_entry(const PhysicalMemory& memory, const RootTable& root, uint64_t index)
{
    uint64_t entry_size = root.extended ? 8 : 4;
    uint64_t target = 0;
    if (!memory.read(root.address + sizeof(SdtHeader) + index * entry_size, &target, entry_size)) {
        log::warn("acpi: {} entry {} became unreadable", std::string_view(root.extended ? "XSDT" : "RSDT"), index);
        return Error::Io;
    }
    return target;
}

// The signature of the table at `address` as a word, 0 if it cannot be read.
uint32_t signature_at(const PhysicalMemory& memory, uint64_t address)
{
    uint32_t name = 0;
    if (address == 0 || !range_fits(address, sizeof(name)) || !memory.read(address, &name, sizeof(name)))
        return 0;
    return name;
}

} // namespace

Result<uint64_t> find_table(const PhysicalMemory& memory, const RootTable& root, std::string_view signature)
{
    uint32_t wanted = signature_word(signature);
    if (wanted == 0)
        return Error::InvalidArgument;
    for (uint64_t i = 0; i < root.entry_count; ++i) {
        uint64_t target = TRY(root_entry(memory, root, i));
        if (signature_at(memory, target) != wanted)
            continue;
        // A bad copy may be followed by a good one; load() logged why.
        TableCopy candidate;
        if (candidate.load(memory, target, signature))
            return target;
    }
    return Error::NotFound;
}

Result<void> parse_madt(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info)
{
    info.clear_interrupt_topology();
    info.madt = 0;
    auto result = parse_madt_entries(memory, address, info);
    if (!result) {
        info.clear_interrupt_topology();
        return result.error();
    }
    info.madt = address;
    return ok();
}

Result<SleepType> find_s5_in_aml(std::span<const uint8_t> aml) { return scan_for_s5(SpanBytes(aml)); }

Result<SleepType> find_s5_in_dsdt(const PhysicalMemory& memory, uint64_t address)
{
    SdtHeader header = TRY(read_table_header(memory, address, "DSDT"));
    return scan_for_s5(MemoryBytes(memory, address + sizeof(SdtHeader), header.length - sizeof(SdtHeader)));
}

Result<void> parse_fadt(const PhysicalMemory& memory, uint64_t address, PlatformInfo& info)
{
    info.power = {};
    info.fadt = 0;
    info.dsdt = 0;
    info.fadt_read = true;
    SdtHeader header = TRY(read_table_header(memory, address, "FACP"));
    uint32_t length = header.length; // packed fields go into locals before use (log arguments bind by reference)
    if (length < fadt::acpi1_length) {
        log::warn("acpi: FADT at {:#x}: length {} is shorter than the {}-byte ACPI 1.0 FADT", address, length,
            fadt::acpi1_length);
        return Error::Corrupt;
    }
    // Fields past the table's length stay 0, which every use below reads as "absent".
    Fadt fadt {};
    uint32_t copy = length < sizeof(fadt) ? length : sizeof(fadt);
    if (!memory.read(address, &fadt, copy))
        return Error::OutOfRange;

    PowerControl& power = info.power;
    power.hardware_reduced = (fadt.flags & fadt::flag_hardware_reduced) != 0;
    power.smi_command_port = fadt.smi_command;
    power.acpi_enable_value = fadt.acpi_enable;
    power.pm1a_control = pm1_control(fadt.x_pm1a_control_block, fadt.pm1a_control_block, fadt.pm1_control_length);
    power.pm1b_control = pm1_control(fadt.x_pm1b_control_block, fadt.pm1b_control_block, fadt.pm1_control_length);
    power.sleep_control = decode(fadt.sleep_control);
    info.boot_arch_flags = fadt.boot_arch_flags;

    GenericAddress reset = decode(fadt.reset_register);
    if ((fadt.flags & fadt::flag_reset_register_supported) && reset.present()) {
        if (is_supported_space(reset.space_id)) {
            power.reset_available = true;
            power.reset_register = reset;
            power.reset_value = fadt.reset_value;
        } else {
            log::warn("acpi: FADT: reset register in address space {} is not supported", reset.space_id);
        }
    }
    info.fadt = address;

    uint64_t x_dsdt = fadt.x_dsdt;
    uint32_t legacy_dsdt = fadt.dsdt;
    uint64_t dsdt = x_dsdt != 0 ? x_dsdt : legacy_dsdt;
    if (x_dsdt != 0 && legacy_dsdt != 0 && x_dsdt != legacy_dsdt)
        log::warn("acpi: FADT: DSDT {:#x} and X_DSDT {:#x} differ; using X_DSDT", legacy_dsdt, x_dsdt);
    if (dsdt == 0) {
        log::warn("acpi: FADT names no DSDT");
        return ok();
    }
    // Validated by whoever reads it (resolve_s5, the device scan): checksumming
    // tens of KiB of AML is not worth it for a machine that never looks.
    info.dsdt = dsdt;
    return ok();
}

void read_fadt(const PhysicalMemory& memory, PlatformInfo& info)
{
    if (info.fadt_read || info.root_table == 0)
        return;
    RootTable root { info.root_table, info.root_table_extended, info.root_table_entries };
    // A bad copy may be followed by a good one; whatever refused it logged why.
    info.mcfg = find_table(memory, root, "MCFG").value_or(0);
    uint64_t fadt = find_table(memory, root, "FACP").value_or(0);
    if (fadt == 0) {
        log::warn("acpi: no FADT; no ACPI power control");
        info.fadt_read = true;
        return;
    }
    if (!parse_fadt(memory, fadt, info))
        log::warn("acpi: FADT unusable; no ACPI power control");
}

Result<void> resolve_s5(const PhysicalMemory& memory, PlatformInfo& info)
{
    read_fadt(memory, info);
    PowerControl& power = info.power;
    power.s5_available = false;
    if (info.dsdt == 0)
        return Error::NotFound;
    auto s5 = find_s5_in_dsdt(memory, info.dsdt);
    if (!s5) {
        if (s5.error() == Error::NotFound)
            log::info("acpi: DSDT has no \\_S5 object; S5 power-off unavailable");
        return s5.error();
    }
    power.slp_typ_a = s5->a;
    power.slp_typ_b = s5->b;
    bool has_register = power.hardware_reduced ? power.sleep_control.present() : power.pm1a_control.present();
    if (!has_register) {
        log::info("acpi: \\_S5 found but the FADT has no {} register", power.hardware_reduced ? "sleep control" : "PM1a control");
        return Error::NotFound;
    }
    power.s5_available = true;
    return ok();
}

Result<void> discover_acpi(const PhysicalMemory& memory, uint64_t rsdp_hint, std::span<const uint8_t> rsdp_copy,
    PlatformInfo& info)
{
    FoundRsdp found = TRY(find_rsdp(memory, rsdp_hint, rsdp_copy));
    info.rsdp = found.address;
    RootTable root = TRY(open_root_table(memory, found.rsdp));
    info.root_table = root.address;
    if (log::enabled(log::Level::Info)) {
        auto oem = printable(found.rsdp.oem_id.data(), found.rsdp.oem_id.size());
        log::info("acpi: RSDP {} revision {} oem \"{}\", {} at {:#x} with {} entries", origin_at(found.address).view(),
            found.rsdp.revision, oem.view(), std::string_view(root.extended ? "XSDT" : "RSDT"), root.address, root.entry_count);
    }

    info.root_table_extended = root.extended;
    info.root_table_entries = root.entry_count;

    // The first MADT that parses is used; a bad copy may be followed by a
    // good one, and whatever refused it logged why. The FADT and MCFG are
    // left to read_fadt: nothing on the way to main needs them.
    info.fadt_read = false;
    info.fadt = 0;
    info.mcfg = 0;
    bool madt_listed = false;
    constexpr uint32_t madt_word = signature_word("APIC");
    for (uint64_t i = 0; i < root.entry_count; ++i) {
        auto target = root_entry(memory, root, i);
        if (!target)
            break;
        if (signature_at(memory, *target) != madt_word)
            continue;
        madt_listed = true;
        if (parse_madt(memory, *target, info)) {
            info.source = PlatformSource::Acpi;
            break;
        }
    }
    if (!madt_listed)
        log::warn("acpi: no MADT");
    return ok();
}

} // namespace skiff::acpi
