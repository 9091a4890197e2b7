#include "bus/pci/discovery.h"

#include "bus/hardware_windows.h"
#include "bus/pci/bus_function.h"
#include "bus/pci/enumerate.h"
#include "bus/pci/host_config_access.h"
#include "bus/pci/mcfg.h"
#include "drivers/virtio/virtio_devices.h"
#include "firmware/platform.h"
#include "kernel/memory.h"
#include "lib/log.h"

namespace skiff::pci {

namespace {

constexpr uint16_t virtio_vendor = 0x1af4;
constexpr size_t max_functions = 32;
constexpr size_t max_mmio_windows = 64;
constexpr size_t max_port_windows = 32;

// Windows are handed out for good: drivers keep them as long as the system runs.
class HardwareBarMapper final : public BarMapper {
public:
    constexpr HardwareBarMapper() = default;

    Result<IoWindow*> map(Bar::Kind kind, uint64_t address, uint32_t length) override
    {
        LockGuard guard(m_lock);
        if (kind == Bar::Kind::Io) {
            if (m_port_count == max_port_windows) {
                log::warn("pci: all {} I/O port windows are in use", max_port_windows);
                return Error::Full;
            }
            PortWindow& window = m_ports[m_port_count++];
            window = PortWindow(static_cast<uint16_t>(address), length);
            return static_cast<IoWindow*>(&window);
        }
        if (m_mmio_count == max_mmio_windows) {
            log::warn("pci: all {} MMIO windows are in use", max_mmio_windows);
            return Error::Full;
        }
        MmioWindow& window = m_mmio[m_mmio_count];
        TRY(window.map(address, length));
        ++m_mmio_count;
        return static_cast<IoWindow*>(&window);
    }

private:
    SpinLock m_lock;
    MmioWindow m_mmio[max_mmio_windows] {};
    size_t m_mmio_count { 0 };
    PortWindow m_ports[max_port_windows] {};
    size_t m_port_count { 0 };
};

constinit HostConfigAccess g_access;
constinit HardwareBarMapper g_mapper;
constinit BusFunction g_functions[max_functions];
size_t g_function_count;

struct Scan {
    const PlatformInfo& platform;
    size_t found = 0;
    size_t virtio = 0;
    size_t bound = 0;
};

void visit(Scan& scan, const FunctionInfo& info)
{
    auto where = address_text(info.address);
    ++scan.found;
    if (info.vendor_id != virtio_vendor) {
        log::debug("pci: {} {:04x}:{:04x} class {:06x}", where.view(), info.vendor_id, info.device_id, info.class_code);
        return;
    }
    ++scan.virtio;
    if (g_function_count == max_functions) {
        log::warn("pci: {} {:04x}:{:04x} ignored: more than {} virtio functions", where.view(), info.vendor_id,
            info.device_id, max_functions);
        return;
    }
    log::info("pci: {} virtio {:04x}:{:04x} class {:06x}", where.view(), info.vendor_id, info.device_id, info.class_code);
    BusFunction& function = g_functions[g_function_count++];
    function.attach(g_access, g_mapper, info, &scan.platform);
    auto result = probe_virtio_pci(function);
    if (result) {
        ++scan.bound;
    } else if (result.error() != Error::NotFound && result.error() != Error::Unsupported) {
        log::warn("pci: {} virtio driver failed: {}", where.view(), error_name(result.error()));
    }
}

} // namespace

Result<size_t> discover_pci(const PlatformInfo& platform)
{
    EcamRegions ecam;
    if (platform.mcfg != 0) {
        if (auto parsed = parse_mcfg(memory::firmware_memory(), platform.mcfg))
            ecam = *parsed;
    }
    g_access.init(ecam);
    if (!g_access.has_ecam() && !g_access.has_ports()) {
        log::info("pci: no configuration mechanism answers; no PCI bus");
        return size_t(0);
    }
    for (const EcamRegion& region : ecam.list())
        log::info("pci: ECAM for segment {} buses {}-{} at {:#x}", region.segment, region.start_bus, region.end_bus,
            region.base);
    if (!g_access.has_ecam())
        log::info("pci: configuration through ports 0xcf8/0xcfc");

    Scan scan { platform };
    auto on_function = [&](const FunctionInfo& info) { visit(scan, info); };
    bool segment0_scanned = false;
    for (const EcamRegion& region : ecam.list()) {
        // One root per segment: the MCFG may split a segment into several ranges.
        bool seen = false;
        for (const EcamRegion& earlier : ecam.list()) {
            if (&earlier == &region)
                break;
            seen = seen || earlier.segment == region.segment;
        }
        if (seen)
            continue;
        enumerate(g_access, region.segment, region.start_bus, on_function);
        segment0_scanned = segment0_scanned || region.segment == 0;
    }
    if (!segment0_scanned && g_access.has_ports())
        enumerate(g_access, 0, 0, on_function);

    log::info("pci: {} function(s), {} virtio, {} bound to a driver", scan.found, scan.virtio, scan.bound);
    return scan.bound;
}

Result<irq::Line> legacy_interrupt_line(Function& function)
{
    for (size_t i = 0; i < g_function_count; ++i) {
        if (static_cast<Function*>(&g_functions[i]) == &function)
            return g_functions[i].legacy_interrupt();
    }
    return Error::NotFound;
}

} // namespace skiff::pci
