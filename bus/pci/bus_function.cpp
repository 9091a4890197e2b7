#include "bus/pci/bus_function.h"

#include "bus/pci/msix.h"
#include "firmware/physical_memory.h"
#include "firmware/platform.h"
#include "lib/log.h"

namespace skiff::pci {

namespace {

constexpr uint8_t line_unassigned = 0xff;
constexpr uint64_t io_space_end = 0x10000;

std::string_view kind_name(Bar::Kind kind)
{
    switch (kind) {
    case Bar::Kind::None: return "absent";
    case Bar::Kind::Memory32: return "32-bit memory";
    case Bar::Kind::Memory64: return "64-bit memory";
    case Bar::Kind::Io: return "I/O";
    }
    return "?";
}

} // namespace

void BusFunction::attach(ConfigAccess& access, BarMapper& mapper, const FunctionInfo& info, const PlatformInfo* platform)
{
    m_access = &access;
    m_mapper = &mapper;
    m_platform = platform;
    m_info = info;
    m_mapping_count = 0;
    m_bars = read_bars(access, info.address, info.header_type);
    auto where = address_text(info.address);
    for (unsigned i = 0; i < max_bars; ++i) {
        const Bar& bar = m_bars[i];
        if (bar.kind != Bar::Kind::None)
            log::debug("pci: {} BAR {}: {} at {:#x}, {:#x} bytes{}", where.view(), i, kind_name(bar.kind), bar.address,
                bar.size, bar.prefetchable ? ", prefetchable" : "");
    }
}

Result<IoWindow*> BusFunction::map_bar(unsigned index, uint64_t offset, uint32_t length)
{
    auto where = address_text(m_info.address);
    Bar bar = this->bar(index);
    if (bar.kind == Bar::Kind::None) {
        log::warn("pci: {} has no BAR {} to map", where.view(), index);
        return Error::NotFound;
    }
    if (bar.address == 0) {
        log::warn("pci: {} BAR {} was not assigned an address by the firmware", where.view(), index);
        return Error::NotFound;
    }
    if (length == 0 || offset > bar.size || length > bar.size - offset) {
        log::warn("pci: {} BAR {} ({:#x} bytes) cannot hold {:#x}+{:#x}", where.view(), index, bar.size, offset, length);
        return Error::OutOfRange;
    }
    uint64_t address = bar.address + offset;
    bool io = bar.kind == Bar::Kind::Io;
    if (io ? (address >= io_space_end || length > io_space_end - address) : !range_fits(address, length)) {
        log::warn("pci: {} BAR {} range {:#x}+{:#x} lies outside the {} space", where.view(), index, address, length,
            io ? "I/O" : "memory");
        return Error::OutOfRange;
    }
    for (size_t i = 0; i < m_mapping_count; ++i) {
        const Mapping& mapping = m_mappings[i];
        if (mapping.bar == index && mapping.offset == offset && mapping.length == length)
            return mapping.window;
    }
    if (m_mapping_count == max_windows) {
        log::warn("pci: {} already has {} BAR windows mapped", where.view(), max_windows);
        return Error::Full;
    }

    uint16_t decode = io ? config::command_io : config::command_memory;
    uint16_t command = config_read16(config::command);
    if (!(command & decode))
        config_write16(config::command, uint16_t(command | decode));

    IoWindow* window = TRY(m_mapper->map(bar.kind, address, length));
    m_mappings[m_mapping_count++] = Mapping { uint8_t(index), offset, length, window };
    return window;
}

Result<void> BusFunction::enable_msix(const uint64_t* addresses, const uint32_t* data, unsigned count)
{
    auto result = msix::program(*this, addresses, data, count);
    if (!result && result.error() == Error::NotFound)
        return Error::Unsupported;
    return result;
}

Result<irq::Line> BusFunction::legacy_interrupt()
{
    auto where = address_text(m_info.address);
    uint8_t pin = config_read8(config::interrupt_pin);
    if (pin == 0 || pin > 4) {
        log::debug("pci: {} has no INTx pin ({})", where.view(), pin);
        return Error::NotFound;
    }
    uint8_t line = config_read8(config::interrupt_line);
    if (line == line_unassigned) {
        log::warn("pci: {} INT{} has no interrupt line assigned by the firmware", where.view(), char('A' + pin - 1));
        return Error::NotFound;
    }
    irq::Line out { line, true, true };
    if (line < 16 && m_platform) {
        if (const InterruptOverride* route = m_platform->find_override(line)) {
            out.gsi = route->gsi;
            if (route->level_triggered)
                out.active_low = route->active_low;
        }
    }
    return out;
}

Result<uint32_t> BusFunction::legacy_interrupt_gsi()
{
    irq::Line line = TRY(legacy_interrupt());
    return line.gsi;
}

} // namespace skiff::pci
