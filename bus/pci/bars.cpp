#include "bus/pci/bars.h"

#include "lib/log.h"

namespace skiff::pci {

namespace {

constexpr uint32_t bar_io_space = 1u << 0;
constexpr uint32_t bar_memory_type_mask = 0x6;
constexpr uint32_t bar_memory_type_32 = 0x0;
constexpr uint32_t bar_memory_type_below_1m = 0x2; // PCI 2.x legacy; decodes like a 32-bit BAR
constexpr uint32_t bar_memory_type_64 = 0x4;
constexpr uint32_t bar_prefetchable = 1u << 3;
constexpr uint32_t bar_io_address_mask = ~uint32_t(0x3);
constexpr uint32_t bar_memory_address_mask = ~uint32_t(0xf);

uint16_t bar_offset(unsigned index) { return static_cast<uint16_t>(config::bar0 + 4 * index); }

uint64_t lowest_set_bit(uint64_t value) { return value & (~value + 1); }

} // namespace

unsigned bar_count(uint8_t header_type)
{
    switch (header_type & 0x7f) {
    case 0: return 6;
    case 1: return 2;
    default: return 0;
    }
}

std::array<Bar, max_bars> read_bars(ConfigAccess& access, const Address& address, uint8_t header_type)
{
    std::array<Bar, max_bars> bars {};
    unsigned count = bar_count(header_type);
    if (count == 0)
        return bars;

    uint16_t command = access.read16(address, config::command);
    access.write16(address, config::command,
        static_cast<uint16_t>(command & ~(config::command_io | config::command_memory)));

    for (unsigned index = 0; index < count; ++index) {
        uint16_t offset = bar_offset(index);
        uint32_t original = access.read32(address, offset);
        access.write32(address, offset, 0xffffffff);
        uint32_t mask = access.read32(address, offset);
        access.write32(address, offset, original);

        Bar& bar = bars[index];
        if (original & bar_io_space) {
            uint32_t address_mask = mask & bar_io_address_mask;
            if (address_mask != 0)
                bar = Bar { Bar::Kind::Io, original & bar_io_address_mask, lowest_set_bit(address_mask), false };
            continue;
        }

        uint32_t type = original & bar_memory_type_mask;
        bool prefetchable = original & bar_prefetchable;
        if (type == bar_memory_type_32 || type == bar_memory_type_below_1m) {
            uint32_t address_mask = mask & bar_memory_address_mask;
            if (address_mask != 0)
                bar = Bar { Bar::Kind::Memory32, original & bar_memory_address_mask, lowest_set_bit(address_mask), prefetchable };
            continue;
        }
        if (type != bar_memory_type_64) {
            log::warn("pci: {} BAR {} has the reserved memory type 3; ignored", address_text(address).view(), index);
            continue;
        }
        if (index + 1 >= count) {
            log::warn("pci: {} BAR {} is 64-bit but is the last BAR; ignored", address_text(address).view(), index);
            continue;
        }
        uint16_t upper_offset = bar_offset(index + 1);
        uint32_t upper_original = access.read32(address, upper_offset);
        access.write32(address, upper_offset, 0xffffffff);
        uint32_t upper_mask = access.read32(address, upper_offset);
        access.write32(address, upper_offset, upper_original);

        uint64_t address_mask = (uint64_t(upper_mask) << 32) | (mask & bar_memory_address_mask);
        if (address_mask != 0) {
            uint64_t base = (uint64_t(upper_original) << 32) | (original & bar_memory_address_mask);
            bar = Bar { Bar::Kind::Memory64, base, lowest_set_bit(address_mask), prefetchable };
        }
        ++index; // the upper half stays Kind::None
    }

    access.write16(address, config::command, command);
    return bars;
}

} // namespace skiff::pci
