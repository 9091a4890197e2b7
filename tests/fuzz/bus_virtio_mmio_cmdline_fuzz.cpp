// Arbitrary bytes as one virtio_mmio.device= value and as a whole command
// line: whatever is accepted must meet the list's promises (plausible sizes,
// aligned, inside the physical address space, no overlaps, within capacity).
#include "bus/virtio_mmio/device_list.h"
#include "kernel/cmdline.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

using namespace skiff;
using namespace skiff::virtio_mmio;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

void check_list(const DeviceList& list)
{
    check(list.size() <= DeviceList::capacity);
    auto devices = list.devices();
    for (size_t i = 0; i < devices.size(); ++i) {
        const DeviceDescription& d = devices[i];
        check(d.size >= min_size && d.size <= max_size);
        check(d.base % 4 == 0);
        check(d.base < physical_address_limit && d.size <= physical_address_limit - d.base);
        check(d.gsi <= max_gsi);
        for (size_t j = 0; j < i; ++j)
            check(d.base >= devices[j].base + devices[j].size || devices[j].base >= d.base + d.size);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto device = parse_device_parameter(text)) {
        DeviceList single;
        (void)single.add(*device, "fuzz");
        check_list(single);
    }

    // The same bytes as a command line, and after "virtio_mmio.device=" so
    // that a mutated value reaches the parser through the command line too.
    static auto line = std::make_unique<CommandLine>();
    static std::string prefixed;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 0) {
            line->parse(text);
        } else {
            prefixed.assign("virtio_mmio.device=");
            prefixed.append(text);
            line->parse(prefixed);
        }
        DeviceList list;
        size_t added = add_command_line_devices(*line, list);
        check(added == list.size());
        check_list(list);
    }
    return 0;
}
