// HOST ONLY. How the firmware fuzz targets turn bytes into a machine, shared
// with the unit test that checks the seed corpus still means something.
//
//   byte 0     flags: bit 0 repair checksums before parsing (so mutations reach
//              the parsers behind the checksums), bit 1 pass the boot loader
//              hint (RSDP 0xe0000 / MP pointer 0x9fc00) instead of scanning
//   bytes 1..  physical memory from the window base; the rest of the window,
//              up to 1 MiB, reads as zeros; nothing else is readable
//
// ACPI window: 0xe0000 (RSDP, tables, and the F segment the MP scan visits).
// MP window: 0x9fc00 (Firecracker's floating pointer and configuration table).
// Zero padding rather than unreadable memory keeps the scans of the BIOS
// areas to whole-chunk reads, which matters at fuzzing speed.
#pragma once

#include "firmware/testing/synthetic_tables.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace skiff::testing {

constexpr uint64_t fuzz_window_end = 0x100000;
constexpr uint64_t acpi_fuzz_window = 0xe0000;
constexpr uint64_t mp_fuzz_window = 0x9fc00;
constexpr uint8_t fuzz_repair_checksums = 1u << 0;
constexpr uint8_t fuzz_pass_hint = 1u << 1;

// One readable window [base, end): the input's bytes, then zeros.
class WindowMemory final : public PhysicalMemory {
public:
    void assign(uint64_t base, uint64_t end, const uint8_t* data, size_t size)
    {
        m_base = base;
        m_bytes.assign(end - base, 0);
        m_input_size = size < m_bytes.size() ? size : m_bytes.size();
        std::memcpy(m_bytes.data(), data, m_input_size);
    }
    uint64_t base() const { return m_base; }
    size_t size() const { return m_bytes.size(); }
    size_t input_size() const { return m_input_size; }
    uint8_t* at(uint64_t address, uint64_t length)
    {
        uint64_t offset = address - m_base; // wraps for addresses below the window
        if (offset > m_bytes.size() || length > m_bytes.size() - offset)
            return nullptr;
        return m_bytes.data() + offset;
    }
    bool read(uint64_t address, void* out, size_t size) const override
    {
        const uint8_t* source = const_cast<WindowMemory*>(this)->at(address, size);
        if (!source)
            return false;
        std::memcpy(out, source, size);
        return true;
    }

private:
    uint64_t m_base = 0;
    size_t m_input_size = 0;
    std::vector<uint8_t> m_bytes;
};

struct FuzzMachine {
    WindowMemory memory;
    uint64_t rsdp_hint = 0;
    uint64_t mp_hint = 0;
};

namespace fuzz_detail {

inline uint64_t load(const WindowMemory& memory, uint64_t address, size_t width)
{
    uint8_t bytes[8] = {};
    if (!memory.read(address, bytes, width))
        return 0;
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i)
        value |= uint64_t(bytes[i]) << (8 * i);
    return value;
}


// Sets byte `checksum_at` so [start, start + length) sums to 0, when all of it is in the window.
inline void repair(WindowMemory& memory, uint64_t start, uint64_t length, uint64_t checksum_at)
{
    // The checksum byte must lie inside the summed range (a mutated length may not cover it).
    uint8_t* bytes = memory.at(start, length);
    if (!bytes || checksum_at < start || checksum_at - start >= length)
        return;
    bytes[checksum_at - start] = 0;
    uint8_t sum = 0;
    for (uint64_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + bytes[i]);
    bytes[checksum_at - start] = static_cast<uint8_t>(0x100 - sum);
}

inline void repair_sdt(WindowMemory& memory, uint64_t table)
{
    if (!memory.at(table, 36))
        return;
    uint64_t length = load(memory, table + 4, 4);
    if (length >= 36)
        repair(memory, table, length, table + 9);
}

inline void repair_acpi(WindowMemory& memory)
{
    uint64_t base = memory.base();
    for (uint64_t rsdp = base; rsdp + 20 <= base + memory.input_size(); rsdp += 16) {
        if (load(memory, rsdp, 8) != 0x2052545020445352ull) // "RSD PTR "
            continue;
        uint64_t roots[2] = { load(memory, rsdp + 16, 4), 0 };
        uint64_t revision = load(memory, rsdp + 15, 1);
        if (revision >= 2)
            roots[1] = load(memory, rsdp + 24, 8);
        for (int r = 0; r < 2; ++r) {
            uint64_t root = roots[r];
            if (root == 0 || !memory.at(root, 36))
                continue;
            uint64_t entry_size = r == 0 ? 4 : 8;
            uint64_t length = load(memory, root + 4, 4);
            for (uint64_t offset = 36; length <= memory.size() && offset + entry_size <= length; offset += entry_size) {
                uint64_t table = load(memory, root + offset, entry_size);
                if (!memory.at(table, 36))
                    continue;
                if (load(memory, table, 4) == 0x50434146) { // "FACP": its DSDT first
                    uint64_t fadt_length = load(memory, table + 4, 4);
                    repair_sdt(memory, load(memory, table + 40, 4));
                    if (fadt_length >= 148)
                        repair_sdt(memory, load(memory, table + 140, 8));
                }
                repair_sdt(memory, table);
            }
            repair_sdt(memory, root);
        }
        repair(memory, rsdp, 20, rsdp + 8);
        if (revision >= 2) {
            uint64_t length = load(memory, rsdp + 20, 4);
            if (length >= 36 && length <= 64)
                repair(memory, rsdp, length, rsdp + 32);
        }
    }
}

inline void repair_mp(WindowMemory& memory)
{
    uint64_t base = memory.base();
    if (load(memory, base, 4) != 0x5f504d5f) // "_MP_"
        return;
    uint64_t table = load(memory, base + 4, 4);
    if (memory.at(table, 44))
        repair(memory, table, load(memory, table + 4, 2), table + 7);
    repair(memory, base, 16, base + 10);
}

} // namespace fuzz_detail

// Fill `machine` in place: the harnesses reuse one, so the window's storage
// is not allocated (and faulted in) again for every input.
inline void load_acpi_fuzz_input(FuzzMachine& machine, const uint8_t* data, size_t size)
{
    machine.memory.assign(acpi_fuzz_window, fuzz_window_end, size > 1 ? data + 1 : data, size > 1 ? size - 1 : 0);
    machine.rsdp_hint = 0;
    machine.mp_hint = 0;
    if (size == 0)
        return;
    if (data[0] & fuzz_repair_checksums)
        fuzz_detail::repair_acpi(machine.memory);
    if (data[0] & fuzz_pass_hint)
        machine.rsdp_hint = acpi_fuzz_window;
}

inline void load_mp_fuzz_input(FuzzMachine& machine, const uint8_t* data, size_t size)
{
    machine.memory.assign(mp_fuzz_window, fuzz_window_end, size > 1 ? data + 1 : data, size > 1 ? size - 1 : 0);
    machine.rsdp_hint = 0;
    machine.mp_hint = 0;
    if (size == 0)
        return;
    if (data[0] & fuzz_repair_checksums)
        fuzz_detail::repair_mp(machine.memory);
    if (data[0] & fuzz_pass_hint)
        machine.mp_hint = mp_fuzz_window;
}

inline FuzzMachine acpi_fuzz_machine(const uint8_t* data, size_t size)
{
    FuzzMachine machine;
    load_acpi_fuzz_input(machine, data, size);
    return machine;
}

inline FuzzMachine mp_fuzz_machine(const uint8_t* data, size_t size)
{
    FuzzMachine machine;
    load_mp_fuzz_input(machine, data, size);
    return machine;
}

// A fuzz input (flags + window) from a synthetic machine, for seeds.
inline std::vector<uint8_t> fuzz_input(const FakeMemory& memory, uint64_t window, size_t length, uint8_t flags)
{
    std::vector<uint8_t> input { flags };
    auto bytes = memory.dump(window, length);
    input.insert(input.end(), bytes.begin(), bytes.end());
    return input;
}

} // namespace skiff::testing
