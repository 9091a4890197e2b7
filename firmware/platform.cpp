#include "firmware/platform.h"

#include "firmware/acpi.h"
#include "firmware/mp_table.h"
#include "lib/log.h"

namespace skiff {

const InterruptOverride* PlatformInfo::find_override(uint8_t isa_irq) const
{
    for (const auto& entry : override_list()) {
        if (entry.isa_irq == isa_irq)
            return &entry;
    }
    return nullptr;
}

void PlatformInfo::clear_interrupt_topology()
{
    cpu_count = 0;
    cpus_truncated = false;
    local_apic_address = 0;
    ioapic_count = 0;
    override_count = 0;
    legacy_pic_present = false;
    imcr_present = false;
}

void add_cpu(PlatformInfo& info, const CpuDescriptor& cpu)
{
    for (size_t i = 0; i < info.cpu_count; ++i) {
        CpuDescriptor& existing = info.cpus[i];
        if (existing.apic_id != cpu.apic_id)
            continue;
        log::debug("platform: APIC id {} listed twice; first entry kept", cpu.apic_id);
        existing.enabled = existing.enabled || cpu.enabled;
        return;
    }
    if (info.cpu_count == info.cpus.size()) {
        if (!info.cpus_truncated)
            log::warn("platform: more than {} CPUs; APIC id {} and later ones ignored", info.cpus.size(), cpu.apic_id);
        info.cpus_truncated = true;
        return;
    }
    info.cpus[info.cpu_count++] = cpu;
}

Result<void> discover_platform(const PhysicalMemory& memory, uint64_t rsdp_hint, uint64_t mp_hint,
    std::span<const uint8_t> rsdp_copy, PlatformInfo& info)
{
    auto acpi = acpi::discover_acpi(memory, rsdp_hint, rsdp_copy, info);
    if (info.source == PlatformSource::Acpi)
        return ok();
    if (acpi)
        log::warn("platform: ACPI has no usable MADT; trying the MP table");

    // Power control found in the FADT stays; only the topology comes from the MP table.
    if (auto pointer = mp::find_floating_pointer(memory, mp_hint)) {
        if (mp::parse_mp_table(memory, *pointer, info)) {
            info.source = PlatformSource::MpTable;
            return ok();
        }
    }
    log::error("platform: neither a usable MADT nor an MP table; CPUs and interrupt routing unknown");
    return Error::NotFound;
}

void log_platform(const PlatformInfo& info)
{
    log::info("platform: {} CPU(s){} from {}, local APIC {:#x}, {} IOAPIC(s), {} ISA route(s), legacy PIC {}",
        info.cpu_count, info.cpus_truncated ? " (truncated)" : "", platform_source_name(info.source),
        info.local_apic_address, info.ioapic_count, info.override_count, info.legacy_pic_present ? "yes" : "no");
    for (const auto& cpu : info.cpu_list()) {
        log::debug("platform: cpu apic id {}{}{}", cpu.apic_id, cpu.is_bsp_hint ? " (bsp)" : "",
            cpu.enabled ? "" : " (online-capable)");
    }
    for (const auto& ioapic : info.ioapic_list())
        log::info("platform: IOAPIC id {} at {:#x}, GSI base {}", ioapic.id, ioapic.address, ioapic.gsi_base);
    for (const auto& route : info.override_list()) {
        log::debug("platform: ISA IRQ {} -> GSI {} {} {}", route.isa_irq, route.gsi,
            route.active_low ? "active-low" : "active-high", route.level_triggered ? "level" : "edge");
    }
    const PowerControl& power = info.power;
    if (info.fadt != 0 && info.fadt_read) {
        bool sleep_register = power.hardware_reduced ? power.sleep_control.present() : power.pm1a_control.present();
        log::info("platform: ACPI {}; S5 register {}; reset register {}", power.hardware_reduced ? "hardware-reduced" : "legacy",
            sleep_register ? "present" : "absent", power.reset_available ? "available" : "unavailable");
    }
}

} // namespace skiff
