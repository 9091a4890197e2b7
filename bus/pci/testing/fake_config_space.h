// HOST ONLY. Synthetic PCI configuration spaces for the unit tests and the
// fuzz target: functions placed at addresses, BARs that behave like hardware
// (address bits below the size read back as zero, type bits are read-only),
// and fake BAR windows over plain memory. Header-only on purpose: the image
// globs bus/**/*.cpp, and this needs std::map/std::vector.
#pragma once

#include "bus/pci/bus_function.h"
#include "bus/pci/config_access.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

namespace skiff::testing {

struct FakePciFunction {
    std::array<uint8_t, 4096> bytes {};
    // Per BAR register: the bits software can change (0: not implemented).
    std::array<uint32_t, 6> bar_writable {};
    uint32_t size = 256;
    // Set when all-ones went into a BAR while the command register had
    // memory or I/O decoding on (real hardware would decode garbage).
    bool sized_while_decoding = false;
    size_t bar_writes = 0;

    uint8_t read8(uint16_t offset) const { return bytes[offset]; }
    uint16_t read16(uint16_t offset) const { return uint16_t(bytes[offset] | bytes[offset + 1] << 8); }
    uint32_t read32(uint16_t offset) const { return read16(offset) | uint32_t(read16(uint16_t(offset + 2))) << 16; }
    void put8(uint16_t offset, uint8_t value) { bytes[offset] = value; }
    void put16(uint16_t offset, uint16_t value)
    {
        put8(offset, uint8_t(value));
        put8(uint16_t(offset + 1), uint8_t(value >> 8));
    }
    void put32(uint16_t offset, uint32_t value)
    {
        put16(offset, uint16_t(value));
        put16(uint16_t(offset + 2), uint16_t(value >> 16));
    }

    // One byte written by software: BAR bytes keep their read-only bits.
    void write_byte(uint16_t offset, uint8_t value)
    {
        uint16_t bars_end = header_type() == 0 ? 0x28 : header_type() == 1 ? 0x18 : 0x10;
        if (offset >= 0x10 && offset < bars_end) {
            unsigned bar = (offset - 0x10) / 4;
            unsigned shift = 8 * ((offset - 0x10) % 4);
            uint8_t writable = uint8_t(bar_writable[bar] >> shift);
            bytes[offset] = uint8_t((value & writable) | (bytes[offset] & ~writable));
            return;
        }
        bytes[offset] = value;
    }
    uint8_t header_type() const { return bytes[0x0e] & 0x7f; }
    bool decoding() const { return read16(0x04) & 0x3; }
};

class FakeConfigSpace final : public pci::ConfigAccess {
public:
    using Key = std::tuple<uint16_t, uint8_t, uint8_t, uint8_t>;

    FakePciFunction& add(pci::Address address, uint16_t vendor, uint16_t device, uint32_t class_code = 0x020000,
        uint8_t header_type = 0)
    {
        FakePciFunction& function = m_functions[key(address)];
        function = FakePciFunction {};
        function.put16(0x00, vendor);
        function.put16(0x02, device);
        function.put32(0x08, class_code << 8 | 0x01);
        function.put8(0x0e, header_type);
        return function;
    }
    FakePciFunction* find(pci::Address address)
    {
        auto it = m_functions.find(key(address));
        return it == m_functions.end() ? nullptr : &it->second;
    }
    void remove(pci::Address address) { m_functions.erase(key(address)); }

    // A BAR with its current value and size: memory (32/64-bit) or I/O.
    static void memory_bar(FakePciFunction& f, unsigned index, uint64_t address, uint64_t size, bool is64 = false,
        bool prefetchable = false)
    {
        uint32_t low_type = (is64 ? 0x4 : 0x0) | (prefetchable ? 0x8 : 0x0);
        uint64_t writable = ~(size - 1);
        f.put32(uint16_t(0x10 + 4 * index), uint32_t(address) | low_type);
        f.bar_writable[index] = uint32_t(writable) & ~0xfu;
        if (is64) {
            f.put32(uint16_t(0x10 + 4 * (index + 1)), uint32_t(address >> 32));
            f.bar_writable[index + 1] = uint32_t(writable >> 32);
        }
    }
    static void io_bar(FakePciFunction& f, unsigned index, uint16_t port, uint32_t size)
    {
        f.put32(uint16_t(0x10 + 4 * index), uint32_t(port) | 0x1);
        // 16-bit I/O decode: the upper half reads back zero.
        f.bar_writable[index] = ~(size - 1) & 0xfffcu;
    }
    // Capability `id` at `offset` whose next pointer is `next`; sets the status bit.
    static void capability(FakePciFunction& f, uint8_t offset, uint8_t id, uint8_t next)
    {
        f.put8(offset, id);
        f.put8(uint8_t(offset + 1), next);
        f.put16(0x06, uint16_t(f.read16(0x06) | 0x10));
        if (f.read8(0x34) == 0)
            f.put8(0x34, offset);
    }

    uint32_t config_size(const pci::Address& address) const override
    {
        auto it = m_functions.find(key(address));
        return it == m_functions.end() ? 256 : it->second.size;
    }

    size_t reads = 0, writes = 0;

protected:
    uint8_t raw_read8(const pci::Address& a, uint16_t o) override { return uint8_t(read(a, o, 1)); }
    uint16_t raw_read16(const pci::Address& a, uint16_t o) override { return uint16_t(read(a, o, 2)); }
    uint32_t raw_read32(const pci::Address& a, uint16_t o) override { return read(a, o, 4); }
    void raw_write8(const pci::Address& a, uint16_t o, uint8_t v) override { write(a, o, v, 1); }
    void raw_write16(const pci::Address& a, uint16_t o, uint16_t v) override { write(a, o, v, 2); }
    void raw_write32(const pci::Address& a, uint16_t o, uint32_t v) override { write(a, o, v, 4); }

private:
    static Key key(const pci::Address& a) { return { a.segment, a.bus, a.device, a.function }; }
    FakePciFunction* f(const pci::Address& a) { return find(a); }

    uint32_t read(const pci::Address& a, uint16_t offset, unsigned width)
    {
        ++reads;
        FakePciFunction* function = f(a);
        if (!function)
            return 0xffffffff; // what an absent function reads as
        return width == 1 ? function->read8(offset) : width == 2 ? function->read16(offset) : function->read32(offset);
    }

    void write(const pci::Address& a, uint16_t offset, uint32_t value, unsigned width)
    {
        ++writes;
        FakePciFunction* function = f(a);
        if (!function)
            return;
        bool bar = offset >= 0x10 && offset < 0x28;
        if (bar) {
            ++function->bar_writes;
            if (width == 4 && value == 0xffffffff && function->decoding())
                function->sized_while_decoding = true;
        }
        for (unsigned i = 0; i < width; ++i)
            function->write_byte(uint16_t(offset + i), uint8_t(value >> (8 * i)));
    }

    std::map<Key, FakePciFunction> m_functions;
};

// An IoWindow over plain memory, for BAR ranges (MSI-X tables, registers).
class FakeWindow final : public IoWindow {
public:
    explicit FakeWindow(uint32_t size) : m_bytes(size, 0) {}
    uint8_t read8(uint32_t o) override { return fits(o, 1) ? m_bytes[o] : 0xff; }
    uint16_t read16(uint32_t o) override { return fits(o, 2) ? uint16_t(load(o, 2)) : 0xffff; }
    uint32_t read32(uint32_t o) override { return fits(o, 4) ? uint32_t(load(o, 4)) : 0xffffffff; }
    void write8(uint32_t o, uint8_t v) override { store(o, v, 1); }
    void write16(uint32_t o, uint16_t v) override { store(o, v, 2); }
    void write32(uint32_t o, uint32_t v) override { store(o, v, 4); }
    uint32_t size() const override { return uint32_t(m_bytes.size()); }

private:
    bool fits(uint32_t o, uint32_t w) const { return o <= m_bytes.size() && w <= m_bytes.size() - o; }
    uint64_t load(uint32_t o, unsigned w) const
    {
        uint64_t v = 0;
        for (unsigned i = 0; i < w; ++i)
            v |= uint64_t(m_bytes[o + i]) << (8 * i);
        return v;
    }
    void store(uint32_t o, uint32_t v, unsigned w)
    {
        if (!fits(o, w))
            return;
        for (unsigned i = 0; i < w; ++i)
            m_bytes[o + i] = uint8_t(v >> (8 * i));
    }
    std::vector<uint8_t> m_bytes;
};

class FakeBarMapper final : public pci::BarMapper {
public:
    struct Mapped {
        pci::Bar::Kind kind;
        uint64_t address;
        uint32_t length;
        FakeWindow* window;
    };

    Result<IoWindow*> map(pci::Bar::Kind kind, uint64_t address, uint32_t length) override
    {
        if (fail_next) {
            fail_next = false;
            return Error::Io;
        }
        m_windows.push_back(std::make_unique<FakeWindow>(length));
        mapped.push_back(Mapped { kind, address, length, m_windows.back().get() });
        return static_cast<IoWindow*>(m_windows.back().get());
    }

    std::vector<Mapped> mapped;
    bool fail_next = false;

private:
    std::vector<std::unique_ptr<FakeWindow>> m_windows;
};

} // namespace skiff::testing
