#include "firmware/aml_devices.h"

#include "firmware/acpi.h"
#include "lib/log.h"

#include <optional>

namespace skiff::acpi {

namespace {

// ---- Where the bytes come from ----

class ByteSource {
public:
    explicit ByteSource(uint64_t size) : m_size(size) {}
    uint64_t size() const { return m_size; }
    // offset < size(); false when the byte cannot be read.
    virtual bool read(uint64_t offset, uint8_t& out) = 0;

protected:
    ~ByteSource() = default;

private:
    uint64_t m_size;
};

class SpanSource final : public ByteSource {
public:
    explicit SpanSource(std::span<const uint8_t> bytes) : ByteSource(bytes.size()), m_bytes(bytes) {}
    bool read(uint64_t offset, uint8_t& out) override
    {
        out = m_bytes[offset];
        return true;
    }

private:
    std::span<const uint8_t> m_bytes;
};

// A table body in physical memory, copied out one aligned window at a time:
// the walk is mostly forward, so each window is read about once.
class WindowSource final : public ByteSource {
public:
    WindowSource(const PhysicalMemory& memory, uint64_t base, uint64_t size)
        : ByteSource(size)
        , m_memory(memory)
        , m_base(base)
    {
    }

    bool read(uint64_t offset, uint8_t& out) override
    {
        if (offset - m_window_start < m_window_length) {
            out = m_window[offset - m_window_start];
            return true;
        }
        uint64_t start = offset & ~uint64_t(window_size - 1);
        uint64_t length = size() - start < window_size ? size() - start : window_size;
        if (m_memory.read(m_base + start, m_window, length)) {
            m_window_start = start;
            m_window_length = length;
            out = m_window[offset - start];
            return true;
        }
        // Part of the window is unreadable: fall back to this one byte.
        m_window_length = 0;
        return m_memory.read(m_base + offset, &out, 1);
    }

private:
    static constexpr uint64_t window_size = 256;
    const PhysicalMemory& m_memory;
    uint64_t m_base;
    uint8_t m_window[window_size] {};
    uint64_t m_window_start { 0 };
    uint64_t m_window_length { 0 };
};

// ---- AML encoding (ACPI 6.5, chapter 20) ----

namespace op {
constexpr uint8_t zero = 0x00;
constexpr uint8_t one = 0x01;
constexpr uint8_t alias = 0x06;
constexpr uint8_t name = 0x08;
constexpr uint8_t byte_prefix = 0x0a;
constexpr uint8_t word_prefix = 0x0b;
constexpr uint8_t dword_prefix = 0x0c;
constexpr uint8_t string_prefix = 0x0d;
constexpr uint8_t qword_prefix = 0x0e;
constexpr uint8_t scope = 0x10;
constexpr uint8_t buffer = 0x11;
constexpr uint8_t package = 0x12;
constexpr uint8_t var_package = 0x13;
constexpr uint8_t method = 0x14;
constexpr uint8_t external = 0x15;
constexpr uint8_t dual_name_prefix = 0x2e;
constexpr uint8_t multi_name_prefix = 0x2f;
constexpr uint8_t ext_prefix = 0x5b;
constexpr uint8_t root_char = '\\';
constexpr uint8_t parent_prefix = '^';
constexpr uint8_t if_op = 0xa0;
constexpr uint8_t else_op = 0xa1;
constexpr uint8_t while_op = 0xa2;
constexpr uint8_t noop = 0xa3;
constexpr uint8_t ones = 0xff;
// After ext_prefix
constexpr uint8_t mutex = 0x01;
constexpr uint8_t event = 0x02;
constexpr uint8_t revision = 0x30;
constexpr uint8_t operation_region = 0x80;
constexpr uint8_t field = 0x81;
constexpr uint8_t device = 0x82;
constexpr uint8_t processor = 0x83;
constexpr uint8_t power_resource = 0x84;
constexpr uint8_t thermal_zone = 0x85;
constexpr uint8_t index_field = 0x86;
constexpr uint8_t bank_field = 0x87;
} // namespace op

// Resource descriptors (ACPI 6.5, 6.4).
namespace resource {
constexpr uint8_t small_irq = 0x04;
constexpr uint8_t small_end = 0x0f;
constexpr uint8_t large_memory32 = 0x85;
constexpr uint8_t large_memory32_fixed = 0x86;
constexpr uint8_t large_dword_address = 0x87;
constexpr uint8_t large_extended_irq = 0x89;
constexpr uint8_t large_qword_address = 0x8a;
constexpr uint8_t address_space_memory = 0;
} // namespace resource

// Real tables nest a handful of levels (\_SB.PCI0.LPCB.EC0_); the cap keeps
// the recursion (a few hundred bytes of stack per level) small.
constexpr unsigned max_depth = 16;
// Bytes read per scan, re-reads included: far more than any real table needs
// (a walk reads each byte about twice), small enough to bound hostile ones.
constexpr uint64_t max_byte_reads = 16u << 20;
constexpr unsigned max_resync_logs = 4;

using Seg = std::array<char, 4>;

struct Package {
    uint64_t body; // first byte after the PkgLength
    uint64_t end;  // one past the package
};

struct Name {
    uint64_t end;
    Seg last;
    bool local; // one NameSeg, no prefix: a name in the current scope (_HID, not \_SB._HID)
};

struct DeviceFacts {
    // Offsets of the values of Name (_HID, ...) etc. in the device's own
    // scope; 0 when absent (a value never starts at offset 0).
    uint64_t hid = 0, cid = 0, crs = 0, sta = 0;
    bool hid_method = false, crs_method = false, sta_method = false;
};

struct Resources {
    bool has_memory = false;
    uint64_t base = 0, size = 0;
    bool has_interrupt = false;
    uint32_t interrupt = 0;
    bool isa_irq = false, level = false, active_low = false;
};

bool lead_name_char(uint8_t c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(uint8_t c) { return lead_name_char(c) || (c >= '0' && c <= '9'); }

bool seg_is(const Seg& seg, const char (&text)[5])
{
    return seg[0] == text[0] && seg[1] == text[1] && seg[2] == text[2] && seg[3] == text[3];
}

std::string_view seg_view(const Seg& seg) { return { seg.data(), seg.size() }; }

class Scanner {
public:
    Scanner(ByteSource& bytes, std::string_view hardware_id, AmlDeviceScan& out)
        : m_bytes(bytes)
        , m_hardware_id(hardware_id)
        , m_out(out)
    {
    }

    void run() { walk(0, m_bytes.size(), 0, nullptr); }

private:
    bool byte(uint64_t at, uint8_t& out)
    {
        if (at >= m_bytes.size())
            return false;
        if (++m_reads > max_byte_reads) {
            if (!m_out.step_limit_hit)
                log::warn("acpi: AML scan stopped after {} byte reads; the table is unreasonably convoluted", max_byte_reads);
            m_out.step_limit_hit = true;
            return false;
        }
        return m_bytes.read(at, out);
    }

    std::optional<uint64_t> little_endian(uint64_t at, unsigned width, uint64_t limit)
    {
        if (at > limit || width > limit - at)
            return std::nullopt;
        uint64_t value = 0;
        for (unsigned i = 0; i < width; ++i) {
            uint8_t b;
            if (!byte(at + i, b))
                return std::nullopt;
            value |= uint64_t(b) << (8 * i);
        }
        return value;
    }

    // PkgLength at `at`; the package must end within `limit`.
    std::optional<Package> package_length(uint64_t at, uint64_t limit)
    {
        uint8_t lead;
        if (at >= limit || !byte(at, lead))
            return std::nullopt;
        unsigned follow = lead >> 6;
        // With follow-on bytes, bits 4-5 of the lead byte are reserved zero.
        if (follow != 0 && (lead & 0x30))
            return std::nullopt;
        uint64_t length = follow == 0 ? (lead & 0x3f) : (lead & 0x0f);
        for (unsigned i = 0; i < follow; ++i) {
            uint8_t b;
            if (!byte(at + 1 + i, b))
                return std::nullopt;
            length |= uint64_t(b) << (4 + 8 * i);
        }
        if (length < 1 + follow || length > limit - at)
            return std::nullopt;
        return Package { at + 1 + follow, at + length };
    }

    std::optional<Seg> name_seg(uint64_t at, uint64_t limit)
    {
        if (at > limit || limit - at < 4)
            return std::nullopt;
        Seg seg;
        for (unsigned i = 0; i < 4; ++i) {
            uint8_t c;
            if (!byte(at + i, c) || !(i == 0 ? lead_name_char(c) : name_char(c)))
                return std::nullopt;
            seg[i] = static_cast<char>(c);
        }
        return seg;
    }

    std::optional<Name> name_string(uint64_t at, uint64_t limit)
    {
        uint64_t position = at;
        bool prefixed = false;
        uint8_t c;
        if (position >= limit || !byte(position, c))
            return std::nullopt;
        if (c == op::root_char) {
            prefixed = true;
            ++position;
        } else {
            while (c == op::parent_prefix) {
                prefixed = true;
                if (++position >= limit || !byte(position, c))
                    return std::nullopt;
            }
        }
        if (position >= limit || !byte(position, c))
            return std::nullopt;
        unsigned segments = 1;
        if (c == op::zero)
            return Name { position + 1, Seg { 0, 0, 0, 0 }, false };
        if (c == op::dual_name_prefix) {
            segments = 2;
            position += 1;
        } else if (c == op::multi_name_prefix) {
            uint8_t count;
            if (position + 1 >= limit || !byte(position + 1, count) || count == 0)
                return std::nullopt;
            segments = count;
            position += 2;
        }
        Seg last {};
        for (unsigned i = 0; i < segments; ++i) {
            auto seg = name_seg(position, limit);
            if (!seg)
                return std::nullopt;
            last = *seg;
            position += 4;
        }
        return Name { position, last, !prefixed && segments == 1 };
    }

    // A constant integer (ZeroOp, OneOp, OnesOp or a prefixed constant).
    std::optional<uint64_t> integer(uint64_t at, uint64_t limit, uint64_t* value = nullptr)
    {
        uint8_t code;
        if (at >= limit || !byte(at, code))
            return std::nullopt;
        unsigned width = 0;
        uint64_t constant = 0;
        switch (code) {
        case op::zero: break;
        case op::one: constant = 1; break;
        case op::ones: constant = ~uint64_t(0); break;
        case op::byte_prefix: width = 1; break;
        case op::word_prefix: width = 2; break;
        case op::dword_prefix: width = 4; break;
        case op::qword_prefix: width = 8; break;
        default: return std::nullopt;
        }
        if (width) {
            auto read = little_endian(at + 1, width, limit);
            if (!read)
                return std::nullopt;
            constant = *read;
        }
        if (value)
            *value = constant;
        return at + 1 + width;
    }

    // End of a DataRefObject as a Name's value: constants, strings,
    // buffers, packages. nullopt for anything computed.
    std::optional<uint64_t> data_object_end(uint64_t at, uint64_t limit)
    {
        uint8_t code;
        if (at >= limit || !byte(at, code))
            return std::nullopt;
        switch (code) {
        case op::string_prefix:
            for (uint64_t position = at + 1; position < limit; ++position) {
                uint8_t c;
                if (!byte(position, c))
                    return std::nullopt;
                if (c == 0)
                    return position + 1;
            }
            return std::nullopt;
        case op::buffer:
        case op::package:
        case op::var_package: {
            auto package = package_length(at + 1, limit);
            return package ? std::optional<uint64_t>(package->end) : std::nullopt;
        }
        case op::ext_prefix: {
            uint8_t ext;
            if (at + 1 < limit && byte(at + 1, ext) && ext == op::revision)
                return at + 2;
            return std::nullopt;
        }
        default:
            return integer(at, limit);
        }
    }

    // ---- The walk ----

    void walk(uint64_t begin, uint64_t end, unsigned depth, DeviceFacts* device)
    {
        if (depth > max_depth) {
            if (!m_depth_logged)
                log::warn("acpi: AML nests deeper than {} scopes at offset {}; the inner ones are skipped", max_depth, begin);
            m_depth_logged = true;
            return;
        }
        uint64_t position = begin;
        while (position < end) {
            auto next = term_end(position, end, depth, device);
            if (next && *next > position) {
                position = *next;
                continue;
            }
            if (m_out.step_limit_hit)
                return;
            // Something this walker cannot measure (an executable statement,
            // a computed operand): find the next declaration it can.
            ++m_out.resyncs;
            if (m_resync_logs < max_resync_logs) {
                ++m_resync_logs;
                uint8_t code = 0;
                (void)byte(position, code);
                log::debug("acpi: AML term {:#x} at offset {} not understood; skipping to the next declaration", code, position);
            }
            auto resumed = resync(position + 1, end, device != nullptr);
            if (!resumed)
                return;
            position = *resumed;
        }
    }

    std::optional<uint64_t> resync(uint64_t from, uint64_t end, bool in_device)
    {
        for (uint64_t position = from; position < end; ++position) {
            uint8_t code;
            if (!byte(position, code))
                return std::nullopt;
            if (code == op::scope || code == op::ext_prefix) {
                if (header_at(position, end))
                    return position;
            } else if (code == op::name && in_device) {
                // Only the predefined names a device scan reads (_HID ...).
                auto name = name_string(position + 1, end);
                if (name && name->local && name->last[0] == '_' && data_object_end(name->end, end))
                    return position;
            }
            if (m_out.step_limit_hit)
                return std::nullopt;
        }
        return std::nullopt;
    }

    // A Scope or Device header that parses and fits.
    bool header_at(uint64_t position, uint64_t end)
    {
        uint8_t code, ext;
        uint64_t length_at = position + 1;
        if (!byte(position, code))
            return false;
        if (code == op::ext_prefix) {
            if (!byte(position + 1, ext) || ext != op::device)
                return false;
            length_at = position + 2;
        }
        auto package = package_length(length_at, end);
        return package && name_string(package->body, package->end);
    }

    std::optional<uint64_t> term_end(uint64_t position, uint64_t end, unsigned depth, DeviceFacts* device)
    {
        uint8_t code;
        if (!byte(position, code))
            return std::nullopt;
        switch (code) {
        case op::scope: {
            auto package = package_length(position + 1, end);
            auto name = package ? name_string(package->body, package->end) : std::nullopt;
            if (!name)
                return std::nullopt;
            // Names in a Scope () belong to another object, even inside a Device.
            walk(name->end, package->end, depth + 1, nullptr);
            return package->end;
        }
        case op::name: {
            auto name = name_string(position + 1, end);
            auto value_end = name ? data_object_end(name->end, end) : std::nullopt;
            if (!value_end)
                return std::nullopt;
            if (device && name->local)
                note_name(*device, name->last, name->end);
            return value_end;
        }
        case op::method: {
            auto package = package_length(position + 1, end);
            if (!package)
                return std::nullopt;
            if (device) {
                auto name = name_string(package->body, package->end);
                if (name && name->local)
                    note_method(*device, name->last);
            }
            return package->end;
        }
        case op::if_op:
        case op::else_op:
        case op::while_op:
        case op::buffer:
        case op::package:
        case op::var_package: {
            auto package = package_length(position + 1, end);
            return package ? std::optional<uint64_t>(package->end) : std::nullopt;
        }
        case op::alias: {
            auto source = name_string(position + 1, end);
            auto alias = source ? name_string(source->end, end) : std::nullopt;
            return alias ? std::optional<uint64_t>(alias->end) : std::nullopt;
        }
        case op::external: {
            auto name = name_string(position + 1, end);
            if (!name || end - name->end < 2)
                return std::nullopt;
            return name->end + 2; // ObjectType, ArgumentCount
        }
        case op::noop:
            return position + 1;
        case op::ext_prefix:
            return extended_term_end(position, end, depth);
        default:
            return std::nullopt;
        }
    }

    std::optional<uint64_t> extended_term_end(uint64_t position, uint64_t end, unsigned depth)
    {
        uint8_t code;
        if (position + 1 >= end || !byte(position + 1, code))
            return std::nullopt;
        switch (code) {
        case op::device: {
            auto package = package_length(position + 2, end);
            auto name = package ? name_string(package->body, package->end) : std::nullopt;
            if (!name)
                return std::nullopt;
            scan_device(name->last, name->end, package->end, depth + 1);
            return package->end;
        }
        case op::processor:
        case op::power_resource:
        case op::thermal_zone:
        case op::field:
        case op::index_field:
        case op::bank_field: {
            auto package = package_length(position + 2, end);
            return package ? std::optional<uint64_t>(package->end) : std::nullopt;
        }
        case op::operation_region: {
            // Name, RegionSpace byte, then offset and length: constants in
            // every table seen; anything computed stops the measurement.
            auto name = name_string(position + 2, end);
            if (!name || name->end >= end)
                return std::nullopt;
            auto offset_end = integer(name->end + 1, end);
            return offset_end ? integer(*offset_end, end) : std::nullopt;
        }
        case op::mutex: {
            auto name = name_string(position + 2, end);
            if (!name || name->end >= end)
                return std::nullopt;
            return name->end + 1; // SyncFlags
        }
        case op::event: {
            auto name = name_string(position + 2, end);
            return name ? std::optional<uint64_t>(name->end) : std::nullopt;
        }
        default:
            return std::nullopt;
        }
    }

    void note_name(DeviceFacts& device, const Seg& name, uint64_t value)
    {
        if (seg_is(name, "_HID"))
            device.hid = value;
        else if (seg_is(name, "_CID"))
            device.cid = value;
        else if (seg_is(name, "_CRS"))
            device.crs = value;
        else if (seg_is(name, "_STA"))
            device.sta = value;
    }

    void note_method(DeviceFacts& device, const Seg& name)
    {
        if (seg_is(name, "_HID"))
            device.hid_method = true;
        else if (seg_is(name, "_CRS"))
            device.crs_method = true;
        else if (seg_is(name, "_STA"))
            device.sta_method = true;
    }

    // ---- One device ----

    void scan_device(const Seg& name, uint64_t body, uint64_t end, unsigned depth)
    {
        DeviceFacts facts;
        walk(body, end, depth, &facts);
        if (m_out.step_limit_hit)
            return;
        bool matches = (facts.hid && id_matches(facts.hid)) || (facts.cid && id_matches(facts.cid));
        if (!matches) {
            if (facts.hid_method && !facts.cid)
                log::debug("acpi: AML device {} has a _HID method, which is not evaluated", seg_view(name));
            return;
        }
        if (facts.sta) {
            uint64_t status = 0;
            if (integer(facts.sta, m_bytes.size(), &status) && !(status & 1)) {
                log::info("acpi: {} device {}: _STA {:#x} says not present; skipped", m_hardware_id, seg_view(name), status);
                ++m_out.skipped;
                return;
            }
        }
        if (!facts.crs) {
            if (facts.crs_method)
                log::warn("acpi: {} device {}: _CRS is a method, which this scanner does not evaluate; skipped",
                    m_hardware_id, seg_view(name));
            else
                log::warn("acpi: {} device {} has no _CRS; skipped", m_hardware_id, seg_view(name));
            ++m_out.skipped;
            return;
        }
        Resources resources;
        if (!decode_resources(name, facts.crs, resources)) {
            ++m_out.skipped;
            return;
        }
        if (!resources.has_memory || !resources.has_interrupt) {
            log::warn("acpi: {} device {}: _CRS has no {}; skipped", m_hardware_id, seg_view(name),
                resources.has_memory ? "interrupt" : "memory range");
            ++m_out.skipped;
            return;
        }
        if (m_out.count == AmlDeviceScan::capacity) {
            if (!m_out.truncated)
                log::warn("acpi: more than {} {} devices; the rest are ignored", AmlDeviceScan::capacity, m_hardware_id);
            m_out.truncated = true;
            return;
        }
        m_out.devices[m_out.count++] = AmlMmioDevice { name, resources.base, resources.size, resources.interrupt,
            resources.isa_irq, resources.level, resources.active_low };
    }

    bool id_matches(uint64_t value)
    {
        uint8_t code;
        if (!byte(value, code))
            return false;
        if (code == op::package || code == op::var_package) {
            // _CID may list several ids.
            auto package = package_length(value + 1, m_bytes.size());
            if (!package)
                return false;
            uint64_t position = package->body + 1; // skip NumElements
            while (position < package->end) {
                if (single_id_matches(position, package->end))
                    return true;
                auto next = data_object_end(position, package->end);
                if (!next)
                    return false;
                position = *next;
            }
            return false;
        }
        return single_id_matches(value, m_bytes.size());
    }

    bool single_id_matches(uint64_t value, uint64_t limit)
    {
        uint8_t code;
        if (!byte(value, code))
            return false;
        if (code == op::string_prefix) {
            for (size_t i = 0; i <= m_hardware_id.size(); ++i) {
                uint8_t c;
                if (value + 1 + i >= limit || !byte(value + 1 + i, c))
                    return false;
                if (c != (i < m_hardware_id.size() ? static_cast<uint8_t>(m_hardware_id[i]) : 0))
                    return false;
            }
            return true;
        }
        if (code == op::dword_prefix) {
            auto raw = little_endian(value + 1, 4, limit);
            if (!raw)
                return false;
            // EISA id: three 5-bit letters, then four hex digits, stored big-endian.
            uint32_t id = static_cast<uint32_t>(*raw);
            uint8_t b0 = id & 0xff, b1 = (id >> 8) & 0xff, b2 = (id >> 16) & 0xff, b3 = id >> 24;
            static constexpr char hex[] = "0123456789ABCDEF";
            char text[7] = {
                char('@' + ((b0 >> 2) & 0x1f)), char('@' + (((b0 & 3) << 3) | (b1 >> 5))), char('@' + (b1 & 0x1f)),
                hex[b2 >> 4], hex[b2 & 0xf], hex[b3 >> 4], hex[b3 & 0xf],
            };
            return m_hardware_id == std::string_view(text, sizeof(text));
        }
        return false;
    }

    bool decode_resources(const Seg& name, uint64_t value, Resources& out)
    {
        uint8_t code;
        if (!byte(value, code) || code != op::buffer) {
            log::warn("acpi: {} device {}: _CRS is not a buffer (opcode {:#x}); skipped", m_hardware_id, seg_view(name), code);
            return false;
        }
        auto package = package_length(value + 1, m_bytes.size());
        uint64_t buffer_size = 0;
        auto data = package ? integer(package->body, package->end, &buffer_size) : std::nullopt;
        if (!data) {
            log::warn("acpi: {} device {}: _CRS buffer has no constant size; skipped", m_hardware_id, seg_view(name));
            return false;
        }
        // The initializer may be shorter than the declared size (zero fill)
        // or longer (cut); only bytes both cover are descriptors.
        uint64_t end = package->end - *data < buffer_size ? package->end : *data + buffer_size;
        for (uint64_t position = *data; position < end;) {
            uint8_t tag;
            if (!byte(position, tag))
                return false;
            uint64_t body, next;
            uint8_t type;
            if (tag & 0x80) {
                auto length = little_endian(position + 1, 2, end);
                if (!length) {
                    log::warn("acpi: {} device {}: _CRS large descriptor at buffer byte {} is truncated; skipped",
                        m_hardware_id, seg_view(name), position - *data);
                    return false;
                }
                type = tag;
                body = position + 3;
                next = body + *length;
            } else {
                type = (tag >> 3) & 0x0f;
                body = position + 1;
                next = body + (tag & 0x07);
                if (type == resource::small_end)
                    return true;
            }
            if (next > end) {
                log::warn("acpi: {} device {}: _CRS descriptor {:#x} runs past the buffer; skipped", m_hardware_id,
                    seg_view(name), tag);
                return false;
            }
            decode_descriptor(name, type, body, next, out);
            position = next;
        }
        // Buffers without an end tag are accepted: what they hold was complete.
        return true;
    }

    void decode_descriptor(const Seg& name, uint8_t type, uint64_t body, uint64_t end, Resources& out)
    {
        auto field = [&](uint64_t offset, unsigned width) { return little_endian(body + offset, width, end); };
        uint64_t length = end - body;
        auto take_memory = [&](std::optional<uint64_t> base, std::optional<uint64_t> size) {
            if (out.has_memory || !base || !size || *size == 0)
                return;
            out.has_memory = true;
            out.base = *base;
            out.size = *size;
        };
        switch (type) {
        case resource::large_memory32_fixed: // info, base, length
            if (length >= 9)
                take_memory(field(1, 4), field(5, 4));
            return;
        case resource::large_memory32: // info, minimum, maximum, alignment, length
            if (length >= 17 && field(1, 4) == field(5, 4))
                take_memory(field(1, 4), field(13, 4));
            return;
        case resource::large_dword_address:
        case resource::large_qword_address: {
            // type, general flags, type flags, granularity, minimum, maximum, translation, length
            unsigned width = type == resource::large_dword_address ? 4 : 8;
            if (length < 3 + 5 * width || field(0, 1) != resource::address_space_memory)
                return;
            auto minimum = field(3 + width, width);
            auto maximum = field(3 + 2 * width, width);
            auto size = field(3 + 4 * width, width);
            if (size == uint64_t(0) && minimum && maximum && *maximum >= *minimum && *maximum - *minimum != ~uint64_t(0))
                size = *maximum - *minimum + 1;
            take_memory(minimum, size);
            return;
        }
        case resource::large_extended_irq: { // flags, count, interrupts (4 bytes each)
            auto flags = field(0, 1);
            auto count = field(1, 1);
            if (out.has_interrupt || !flags || !count || *count == 0 || length < 2 + 4 * *count)
                return;
            auto interrupt = field(2, 4);
            if (!interrupt)
                return;
            out.has_interrupt = true;
            out.interrupt = static_cast<uint32_t>(*interrupt);
            out.isa_irq = false;
            out.level = !(*flags & (1u << 1));
            out.active_low = *flags & (1u << 2);
            if (*count > 1)
                log::debug("acpi: {} device {}: {} interrupts listed; using the first", m_hardware_id, seg_view(name), *count);
            return;
        }
        case resource::small_irq: { // 16-bit IRQ mask, optional flags (default: edge, active high)
            auto mask = field(0, 2);
            if (out.has_interrupt || length < 2 || !mask || *mask == 0)
                return;
            unsigned irq = 0;
            while (!(*mask & (1u << irq)))
                ++irq;
            out.has_interrupt = true;
            out.interrupt = irq;
            out.isa_irq = true;
            out.level = false;
            out.active_low = false;
            if (length >= 3) {
                auto flags = field(2, 1).value_or(1);
                out.level = !(flags & (1u << 0));
                out.active_low = flags & (1u << 3);
            }
            return;
        }
        default:
            return;
        }
    }

    ByteSource& m_bytes;
    std::string_view m_hardware_id;
    AmlDeviceScan& m_out;
    uint64_t m_reads { 0 };
    unsigned m_resync_logs { 0 };
    bool m_depth_logged { false };
};

void scan(ByteSource& bytes, std::string_view hardware_id, AmlDeviceScan& out)
{
    Scanner scanner(bytes, hardware_id, out);
    scanner.run();
}

bool signature_is(const SdtHeader& header, std::string_view signature)
{
    return std::string_view(header.signature, 4) == signature;
}

} // namespace

void find_devices_in_aml(std::span<const uint8_t> aml, std::string_view hardware_id, AmlDeviceScan& out)
{
    SpanSource source(aml);
    scan(source, hardware_id, out);
}

Result<void> find_devices_in_table(const PhysicalMemory& memory, uint64_t table_address, std::string_view hardware_id,
    AmlDeviceScan& out)
{
    SdtHeader header = TRY(read_table_header(memory, table_address, ""));
    if (!signature_is(header, "DSDT") && !signature_is(header, "SSDT")) {
        log::warn("acpi: table at {:#x} is not a DSDT or SSDT; not scanned for devices", table_address);
        return Error::Corrupt;
    }
    WindowSource source(memory, table_address + sizeof(SdtHeader), header.length - sizeof(SdtHeader));
    scan(source, hardware_id, out);
    return ok();
}

Result<AmlDeviceScan> find_virtio_mmio_devices(const PhysicalMemory& memory, const PlatformInfo& platform)
{
    if (platform.dsdt == 0)
        return Error::NotFound;
    AmlDeviceScan scan;
    auto dsdt = find_devices_in_table(memory, platform.dsdt, virtio_mmio_hardware_id, scan);

    // SSDTs: whatever the root table lists (bounded; a bad entry is skipped).
    constexpr uint32_t max_root_entries = 64;
    if (platform.root_table != 0) {
        if (auto root = read_table_header(memory, platform.root_table, "")) {
            unsigned width = signature_is(*root, "XSDT") ? 8 : signature_is(*root, "RSDT") ? 4 : 0;
            uint32_t entries = width ? (root->length - sizeof(SdtHeader)) / width : 0;
            if (entries > max_root_entries)
                entries = max_root_entries;
            for (uint32_t i = 0; i < entries; ++i) {
                uint64_t entry = 0;
                if (!memory.read(platform.root_table + sizeof(SdtHeader) + uint64_t(i) * width, &entry, width))
                    break;
                char signature[4];
                if (entry == 0 || !range_fits(entry, 4) || !memory.read(entry, signature, 4)
                    || std::string_view(signature, 4) != "SSDT")
                    continue;
                (void)find_devices_in_table(memory, entry, virtio_mmio_hardware_id, scan);
            }
        }
    }
    if (!dsdt && scan.count == 0)
        return dsdt.error();
    log::info("acpi: {} {} device(s) described{}", scan.count, virtio_mmio_hardware_id,
        scan.skipped ? " (some skipped, see above)" : "");
    return scan;
}

} // namespace skiff::acpi
