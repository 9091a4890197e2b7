// ACPI S5 (soft-off) through the registers the FADT names and the sleep type
// the DSDT's \_S5 package gives.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "firmware/platform.h"
#include "kernel/console.h"

#include <atomic>

namespace skiff::arch {

namespace {

// The platform's record is read at power-off, not copied at boot: the FADT
// behind it is only read then.
const PlatformInfo* g_platform = nullptr;
PowerControl g_power;
SleepTypeResolver g_resolver = nullptr;

// \_S5 is resolved once, by the first CPU to power off; another CPU getting
// there meanwhile (a panic) waits for the outcome rather than skipping S5.
enum class Resolution : uint8_t { Pending, Running, Done };
std::atomic<Resolution> g_resolution { Resolution::Done };
// Far longer than the DSDT scan takes; bounded so that a fault inside the
// scan (which powers off again on the same CPU) cannot wait forever.
constexpr uint64_t resolution_wait_spins = 50'000'000;

bool write_register(const GenericAddress& where, uint16_t value)
{
    if (!where.present())
        return false;
    if (where.space_id == GenericAddress::system_io) {
        if (where.address > 0xffff)
            return false;
        if (where.bit_width == 8 || where.access_size == 1)
            x86::outb(uint16_t(where.address), uint8_t(value));
        else
            x86::outw(uint16_t(where.address), value);
        return true;
    }
    if (where.space_id == GenericAddress::system_memory) {
        auto mapped = x86::map_mmio(where.address, 2);
        if (mapped.is_error())
            return false;
        if (where.bit_width == 8 || where.access_size == 1)
            *static_cast<volatile uint8_t*>(*mapped) = uint8_t(value);
        else
            *static_cast<volatile uint16_t*>(*mapped) = value;
        return true;
    }
    return false;
}

uint16_t read_io_register(const GenericAddress& where)
{
    if (where.space_id == GenericAddress::system_io && where.address <= 0xffff)
        return x86::inw(uint16_t(where.address));
    return 0;
}

} // namespace

void set_power_control(const PlatformInfo* platform, SleepTypeResolver resolve_sleep_type)
{
    g_platform = platform;
    g_resolver = platform ? resolve_sleep_type : nullptr;
    g_resolution.store(g_resolver ? Resolution::Pending : Resolution::Done, std::memory_order_release);
}

void power_off_acpi()
{
    if (!g_platform)
        return;
    Resolution expected = Resolution::Pending;
    if (g_resolution.compare_exchange_strong(expected, Resolution::Running, std::memory_order_acquire)) {
        PowerControl resolved = g_platform->power;
        resolved.s5_available = g_resolver(resolved);
        g_power = resolved;
        g_resolution.store(Resolution::Done, std::memory_order_release);
    } else {
        for (uint64_t i = 0; i < resolution_wait_spins && g_resolution.load(std::memory_order_acquire) != Resolution::Done; ++i)
            x86::pause();
        if (g_resolution.load(std::memory_order_acquire) != Resolution::Done)
            return; // still resolving (or it faulted on this CPU): try the next method
    }
    if (!g_power.s5_available)
        return;
    if (g_power.hardware_reduced) {
        constexpr uint16_t sleep_enable = 1 << 5;
        write_register(g_power.sleep_control, uint16_t(((g_power.slp_typ_a & 7) << 2) | sleep_enable));
    } else {
        constexpr uint16_t sci_enable = 1 << 0;
        constexpr uint16_t sleep_enable = 1 << 13;
        // Switch to ACPI mode first if the firmware left us in legacy mode.
        if (g_power.smi_command_port && g_power.acpi_enable_value && !(read_io_register(g_power.pm1a_control) & sci_enable)) {
            x86::outb(uint16_t(g_power.smi_command_port), g_power.acpi_enable_value);
            for (int i = 0; i < 100000 && !(read_io_register(g_power.pm1a_control) & sci_enable); ++i)
                x86::pause();
        }
        write_register(g_power.pm1a_control, uint16_t(((g_power.slp_typ_a & 7) << 10) | sleep_enable));
        write_register(g_power.pm1b_control, uint16_t(((g_power.slp_typ_b & 7) << 10) | sleep_enable));
    }
    // Give the VMM a moment to act before trying the next method.
    for (int i = 0; i < 100000; ++i)
        x86::pause();
    console::write_line("skiff: ACPI S5 did not power off");
}

} // namespace skiff::arch
