// Bytes are a DSDT (36-byte header, then AML; seeds are QEMU's real tables).
// The scanner must neither crash nor loop, must report only plausible
// devices, and must find the same devices whether it reads the AML from a
// buffer or through PhysicalMemory a window at a time.
#include "firmware/aml_devices.h"
#include "firmware/testing/synthetic_tables.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace skiff;
using namespace skiff::testing;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

bool same(const acpi::AmlMmioDevice& a, const acpi::AmlMmioDevice& b)
{
    return a.name == b.name && a.base == b.base && a.size == b.size && a.interrupt == b.interrupt
        && a.isa_irq == b.isa_irq && a.level_triggered == b.level_triggered && a.active_low == b.active_low;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    constexpr size_t header = 36;
    if (size > (1u << 20))
        return 0;
    std::span<const uint8_t> aml = size > header ? std::span<const uint8_t>(data + header, size - header)
                                                 : std::span<const uint8_t>();

    acpi::AmlDeviceScan from_buffer;
    acpi::find_devices_in_aml(aml, acpi::virtio_mmio_hardware_id, from_buffer);
    check(from_buffer.count <= acpi::AmlDeviceScan::capacity);
    for (const auto& device : from_buffer.list())
        check(device.size != 0);

    // The same AML as a table with a valid header, read through memory.
    Bytes body;
    body.raw(aml);
    std::vector<uint8_t> table = sdt("DSDT", 2, body);
    FakeMemory memory;
    constexpr uint64_t at = 0x7fe0040;
    memory.map(at, table.size());
    memory.write(at, table);
    acpi::AmlDeviceScan from_memory;
    check(acpi::find_devices_in_table(memory, at, acpi::virtio_mmio_hardware_id, from_memory).has_value());
    check(from_memory.count == from_buffer.count);
    check(from_memory.skipped == from_buffer.skipped);
    for (size_t i = 0; i < from_buffer.count; ++i)
        check(same(from_buffer.devices[i], from_memory.devices[i]));

    // Another id exercises EISA decoding and the other descriptors' paths.
    acpi::AmlDeviceScan other;
    acpi::find_devices_in_aml(aml, "PNP0501", other);
    check(other.count <= acpi::AmlDeviceScan::capacity);
    return 0;
}
