#include "bus/virtio_mmio/device_list.h"

#include "firmware/aml_devices.h"
#include "firmware/physical_memory.h"
#include "firmware/platform.h"
#include "kernel/cmdline.h"
#include "lib/log.h"

namespace skiff::virtio_mmio {

namespace {

// Command-line text is untrusted: log at most 64 bytes of it, non-printable
// bytes replaced, so one hostile value cannot garble the console.
struct Printable {
    char text[68];
    size_t length;
    std::string_view view() const { return { text, length }; }
};

Printable printable(std::string_view value)
{
    Printable out {};
    size_t limit = value.size() > 64 ? 64 : value.size();
    for (size_t i = 0; i < limit; ++i) {
        char c = value[i];
        out.text[out.length++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (value.size() > limit) {
        for (int i = 0; i < 3; ++i)
            out.text[out.length++] = '.';
    }
    return out;
}

bool all_decimal(std::string_view text)
{
    if (text.empty())
        return false;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

// Linux reads the id with %d: an optional minus sign, then decimal digits that fit an int.
bool valid_platform_id(std::string_view text)
{
    bool negative = !text.empty() && text.front() == '-';
    if (negative)
        text.remove_prefix(1);
    if (!all_decimal(text) || text.size() > 10)
        return false;
    auto value = parse_uint(text);
    return value && *value <= (negative ? 0x80000000u : 0x7fffffffu);
}

Error refuse(std::string_view value, std::string_view why)
{
    log::warn("virtio-mmio: virtio_mmio.device={} ignored: {}", printable(value).view(), why);
    return Error::InvalidArgument;
}

const DeviceDescription* find_overlap(std::span<const DeviceDescription> devices, uint64_t base, uint64_t size)
{
    for (const DeviceDescription& other : devices) {
        // Both ranges are known not to wrap, so the half-open test is exact.
        if (base < other.base + other.size && other.base < base + size)
            return &other;
    }
    return nullptr;
}

} // namespace

Result<void> DeviceList::add(const DeviceDescription& device, std::string_view origin)
{
    auto reject = [&](auto why, auto... args) -> Result<void> {
        ++m_refused;
        char storage[128];
        FormatBuffer buffer(storage, sizeof(storage));
        format_to(buffer, why, args...);
        log::warn("virtio-mmio: {} ignored: {}", origin, buffer.view());
        return Error::InvalidArgument;
    };

    if (device.size == 0)
        return reject("the size is zero");
    if (device.size < min_size)
        return reject("size {:#x} is smaller than the {:#x}-byte register block", device.size, min_size);
    if (device.size > max_size)
        return reject("size {:#x} is implausibly large (limit {:#x})", device.size, max_size);
    if (device.base % 4 != 0)
        return reject("base {:#x} is not 4-byte aligned", device.base);
    if (device.base >= physical_address_limit || device.size > physical_address_limit - device.base)
        return reject("range {:#x}+{:#x} runs past the physical address space", device.base, device.size);
    if (device.gsi > max_gsi)
        return reject("interrupt {} is out of range (at most {})", device.gsi, max_gsi);
    if (const DeviceDescription* other = find_overlap(devices(), device.base, device.size)) {
        if (other->base == device.base && other->size == device.size)
            return reject("{:#x}+{:#x} is listed twice", device.base, device.size);
        return reject("{:#x}+{:#x} overlaps {:#x}+{:#x} listed earlier", device.base, device.size, other->base,
            other->size);
    }
    if (m_count == capacity)
        return reject("more than {} devices", capacity);
    m_devices[m_count++] = device;
    return ok();
}

Result<DeviceDescription> parse_device_parameter(std::string_view value)
{
    size_t at = value.find('@');
    if (at == std::string_view::npos)
        return refuse(value, "expected <size>@<base>:<irq>[:<id>]");
    std::string_view size_text = value.substr(0, at);
    std::string_view rest = value.substr(at + 1);

    size_t colon = rest.find(':');
    if (colon == std::string_view::npos)
        return refuse(value, "no :<irq> after the base address");
    std::string_view base_text = rest.substr(0, colon);
    rest = rest.substr(colon + 1);

    std::string_view irq_text = rest;
    std::string_view id_text;
    bool has_id = false;
    colon = rest.find(':');
    if (colon != std::string_view::npos) {
        irq_text = rest.substr(0, colon);
        id_text = rest.substr(colon + 1);
        has_id = true;
    }

    auto size = parse_size(size_text);
    if (!size)
        return refuse(value, "the size is not a number (decimal or 0x hex, optional K/M/G suffix)");
    auto base = parse_uint(base_text);
    if (!base)
        return refuse(value, "the base address is not a number (decimal or 0x hex)");
    auto irq = all_decimal(irq_text) && irq_text.size() <= 10 ? parse_uint(irq_text) : std::nullopt;
    if (!irq || *irq > 0xffffffffu)
        return refuse(value, "the interrupt is not a decimal number");
    if (has_id && !valid_platform_id(id_text))
        return refuse(value, "the device id after the interrupt is not a decimal integer");
    return DeviceDescription { *base, *size, static_cast<uint32_t>(*irq), false, false };
}

size_t add_command_line_devices(const CommandLine& command_line, DeviceList& list)
{
    size_t added = 0;
    command_line.for_each("virtio_mmio.device", [&](const KernelParameter& parameter) {
        if (!parameter.has_value) {
            log::warn("virtio-mmio: virtio_mmio.device without a value ignored");
            list.note_refused();
            return;
        }
        auto device = parse_device_parameter(parameter.value);
        if (!device) {
            list.note_refused();
            return;
        }
        char origin[96];
        FormatBuffer buffer(origin, sizeof(origin));
        format_to(buffer, "virtio_mmio.device={}", printable(parameter.value).view());
        if (list.add(*device, buffer.view()))
            ++added;
    });
    if (added)
        list.set_source(Source::CommandLine);
    return added;
}

DeviceList collect_devices(const CommandLine& command_line, const PlatformInfo& platform, const PhysicalMemory& memory)
{
    DeviceList list;
    if (add_command_line_devices(command_line, list) > 0)
        return list;
    if (list.refused() > 0)
        log::warn("virtio-mmio: no usable virtio_mmio.device= entry; looking in ACPI instead");

    // Entries refused above stay counted; the ACPI devices start a fresh list.
    DeviceList from_acpi;
    if (platform.dsdt == 0)
        return from_acpi;
    auto scan = acpi::find_virtio_mmio_devices(memory, platform);
    if (!scan)
        return from_acpi;
    for (const acpi::AmlMmioDevice& found : scan->list()) {
        DeviceDescription device { found.base, found.size, found.interrupt, found.level_triggered, found.active_low };
        if (found.isa_irq) {
            // A small IRQ descriptor names an ISA IRQ; the MADT may move it.
            if (const InterruptOverride* route = found.interrupt < 16 ? platform.find_override(uint8_t(found.interrupt)) : nullptr) {
                device.gsi = route->gsi;
                device.level_triggered = route->level_triggered;
                device.active_low = route->active_low;
            }
        }
        char origin[64];
        FormatBuffer buffer(origin, sizeof(origin));
        format_to(buffer, "ACPI device {}", std::string_view(found.name.data(), found.name.size()));
        (void)from_acpi.add(device, buffer.view());
    }
    if (!from_acpi.empty())
        from_acpi.set_source(Source::Acpi);
    return from_acpi;
}

} // namespace skiff::virtio_mmio
