#include "bus/pci/msix.h"

#include "bus/pci/capabilities.h"
#include "bus/pci/config_access.h"
#include "lib/log.h"

namespace skiff::pci::msix {

Result<Capability> read_capability(Function& function)
{
    uint8_t offset = TRY(find_capability(function, capability::msix));
    uint16_t control = function.config_read16(uint16_t(offset + message_control));
    uint32_t table = function.config_read32(uint16_t(offset + table_offset_bir));
    Capability out { offset, unsigned(control & control_table_size_mask) + 1, table & bir_mask, table & ~bir_mask };
    if (out.table_bar > 5) {
        log::warn("pci: {} MSI-X table is in BAR {}, which does not exist", address_text(function.address()).view(),
            out.table_bar);
        return Error::Corrupt;
    }
    Bar bar = function.bar(out.table_bar);
    if (bar.kind != Bar::Kind::Memory32 && bar.kind != Bar::Kind::Memory64) {
        log::warn("pci: {} MSI-X table is in BAR {}, which is not a memory BAR", address_text(function.address()).view(),
            out.table_bar);
        return Error::Corrupt;
    }
    return out;
}

Result<void> program(Function& function, const uint64_t* addresses, const uint32_t* data, unsigned count)
{
    Capability capability = TRY(read_capability(function));
    auto where = address_text(function.address());
    if (count == 0 || !addresses || !data || count > capability.table_size) {
        log::warn("pci: {} asked for {} MSI-X vectors; the table has {}", where.view(), count, capability.table_size);
        return Error::InvalidArgument;
    }
    IoWindow* table = TRY(function.map_bar(capability.table_bar, capability.table_offset, capability.table_size * entry_size));

    uint16_t control_offset = uint16_t(capability.offset + message_control);
    uint16_t control = function.config_read16(control_offset);
    // Enabled but masked as a whole: entries can be written without any firing half-programmed.
    function.config_write16(control_offset, uint16_t(control | control_enable | control_function_mask));

    for (unsigned i = 0; i < capability.table_size; ++i) {
        uint32_t entry = i * entry_size;
        table->write32(entry + entry_vector_control, vector_masked);
        if (i >= count)
            continue;
        table->write32(entry + entry_address_low, static_cast<uint32_t>(addresses[i]));
        table->write32(entry + entry_address_high, static_cast<uint32_t>(addresses[i] >> 32));
        table->write32(entry + entry_data, data[i]);
        table->write32(entry + entry_vector_control, 0);
    }

    uint16_t command = function.config_read16(config::command);
    function.config_write16(config::command,
        uint16_t(command | config::command_interrupt_disable | config::command_bus_master | config::command_memory));
    function.config_write16(control_offset, uint16_t((control | control_enable) & ~control_function_mask));
    log::debug("pci: {} MSI-X enabled with {} of {} vectors", where.view(), count, capability.table_size);
    return ok();
}

} // namespace skiff::pci::msix
