#include "drivers/virtio/transport.h"

#include "drivers/virtio/virtio_spec.h"
#include "lib/log.h"
#include "lib/spinlock.h"

namespace skiff::virtio {

namespace {
// A reset normally reads back 0 at once; QEMU and Firecracker never make the
// driver wait. The bound only stops a hostile device from hanging boot.
constexpr int reset_polls = 100000;
// The generation changes only when the device updates its configuration;
// several changes in a row while one field is read means it is flapping.
constexpr int generation_attempts = 16;
} // namespace

const char* device_type_name(uint32_t id)
{
    switch (id) {
    case device_type::net: return "network";
    case device_type::block: return "block";
    case device_type::console: return "console";
    case device_type::entropy: return "entropy";
    case device_type::balloon: return "balloon";
    case device_type::scsi: return "scsi";
    case device_type::vsock: return "vsock";
    default: return "unknown";
    }
}

Result<void> Transport::reset()
{
    set_status(0);
    for (int i = 0; i < reset_polls; ++i) {
        if (status() == 0)
            return after_reset();
        cpu_hooks::relax();
    }
    log::error("virtio: {} device did not complete its reset (status stays {:#x})", kind(), status());
    return Error::DeviceBroken;
}

template<typename Read>
auto Transport::read_stable(Read&& read) -> Result<decltype(read())>
{
    for (int attempt = 0; attempt < generation_attempts; ++attempt) {
        std::optional<uint32_t> before = config_generation();
        auto value = read();
        if (config_generation() == before)
            return value;
    }
    log::error("virtio: {} device keeps changing its configuration generation; refusing to read it", kind());
    return Error::DeviceBroken;
}

Result<uint8_t> Transport::config_read8(uint32_t offset)
{
    return read_stable([&] { return config_read8_raw(offset); });
}

Result<uint16_t> Transport::config_read16(uint32_t offset)
{
    return read_stable([&] { return config_read16_raw(offset); });
}

Result<uint32_t> Transport::config_read32(uint32_t offset)
{
    return read_stable([&] { return config_read32_raw(offset); });
}

Result<uint64_t> Transport::config_read64(uint32_t offset)
{
    return read_stable([&] {
        uint64_t low = config_read32_raw(offset);
        uint64_t high = config_read32_raw(offset + 4);
        return low | (high << 32);
    });
}

void fail_device(Transport& transport, const char* who, const char* why)
{
    log::error("{}: {}; marking the device failed", who, why);
    transport.set_status(uint8_t(transport.status() | status::failed));
}

Result<uint64_t> negotiate_features(Transport& transport, const char* who, uint64_t wanted, uint64_t required)
{
    if (auto result = transport.reset(); result.is_error()) {
        fail_device(transport, who, "reset failed");
        return result.error();
    }
    transport.set_status(status::acknowledge);
    transport.set_status(status::acknowledge | status::driver);

    uint64_t offered = transport.device_features();
    uint64_t accept = wanted | required;
    if (transport.legacy()) {
        // Legacy devices have 32 feature bits; VERSION_1 cannot be set.
        offered &= 0xffffffffull;
    } else {
        if (!(offered & feature::version_1)) {
            fail_device(transport, who, "a non-legacy device that does not offer VERSION_1");
            return Error::Unsupported;
        }
        accept |= feature::version_1 | feature::access_platform;
    }
    if ((offered & required) != required) {
        log::error("{}: device offers features {:#x}, lacking required {:#x}", who, offered, required & ~offered);
        fail_device(transport, who, "required features missing");
        return Error::Unsupported;
    }
    uint64_t negotiated = offered & accept;
    transport.set_driver_features(negotiated);
    if (!transport.legacy()) {
        transport.set_status(status::acknowledge | status::driver | status::features_ok);
        if (!(transport.status() & status::features_ok)) {
            log::error("{}: device refused features {:#x} (FEATURES_OK did not stick)", who, negotiated);
            fail_device(transport, who, "feature negotiation failed");
            return Error::Unsupported;
        }
    }
    log::debug("{}: {} device offers {:#x}, negotiated {:#x}", who, transport.kind(), offered, negotiated);
    return negotiated;
}

void set_driver_ok(Transport& transport)
{
    transport.set_status(uint8_t(transport.status() | status::driver_ok));
}

} // namespace skiff::virtio
