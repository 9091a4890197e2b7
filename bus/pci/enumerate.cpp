#include "bus/pci/enumerate.h"

#include "lib/log.h"

#include <array>

namespace skiff::pci {

namespace {

bool present(uint16_t vendor) { return vendor != 0xffff && vendor != 0x0000; }

class BusSet {
public:
    bool contains(uint8_t bus) const { return m_bits[bus / 64] & (uint64_t(1) << (bus % 64)); }
    void insert(uint8_t bus) { m_bits[bus / 64] |= uint64_t(1) << (bus % 64); }

private:
    std::array<uint64_t, 4> m_bits {};
};

} // namespace

size_t enumerate(ConfigAccess& access, uint16_t segment, uint8_t root_bus, FunctionVisitor visit, void* context)
{
    // Every bus is scanned at most once, so 256 pending entries always suffice.
    std::array<uint8_t, 256> pending {};
    size_t pending_count = 0;
    BusSet scheduled;
    pending[pending_count++] = root_bus;
    scheduled.insert(root_bus);

    size_t visited = 0;
    while (pending_count > 0) {
        uint8_t bus = pending[--pending_count];
        for (uint8_t device = 0; device < 32; ++device) {
            Address first { segment, bus, device, 0 };
            if (!present(access.read16(first, config::vendor_id)))
                continue;
            uint8_t functions = (access.read8(first, config::header_type) & header_multi_function) ? 8 : 1;
            for (uint8_t function = 0; function < functions; ++function) {
                Address address { segment, bus, device, function };
                uint16_t vendor = access.read16(address, config::vendor_id);
                if (!present(vendor))
                    continue;
                uint32_t class_revision = access.read32(address, 0x08);
                FunctionInfo info {
                    address,
                    vendor,
                    access.read16(address, config::device_id),
                    uint8_t(access.read8(address, config::header_type) & header_type_mask),
                    class_revision >> 8,
                    uint8_t(class_revision),
                };
                ++visited;
                visit(context, info);
                if (info.header_type != header_type_bridge)
                    continue;

                uint8_t secondary = access.read8(address, bridge::secondary_bus);
                auto where = address_text(address);
                if (secondary == 0 || secondary <= bus) {
                    log::warn("pci: bridge {} has secondary bus {} (its own bus is {}); not followed", where.view(),
                        secondary, bus);
                } else if (scheduled.contains(secondary)) {
                    log::warn("pci: bridge {} leads to bus {}, which is already scanned; not followed", where.view(),
                        secondary);
                } else {
                    scheduled.insert(secondary);
                    pending[pending_count++] = secondary;
                }
            }
        }
    }
    return visited;
}

} // namespace skiff::pci
