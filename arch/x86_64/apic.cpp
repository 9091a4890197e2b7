#include "arch/x86_64/apic.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "arch/x86_64/paging.h"
#include "firmware/platform.h"
#include "lib/log.h"
#include "lib/spinlock.h"

namespace skiff::x86 {

namespace {

namespace reg {
constexpr uint32_t id = 0x20;
constexpr uint32_t eoi = 0xb0;
constexpr uint32_t spurious = 0xf0;
constexpr uint32_t error_status = 0x280;
constexpr uint32_t lvt_timer = 0x320;
constexpr uint32_t lvt_lint0 = 0x350;
constexpr uint32_t lvt_lint1 = 0x360;
constexpr uint32_t lvt_error = 0x370;
constexpr uint32_t timer_initial = 0x380;
constexpr uint32_t timer_current = 0x390;
constexpr uint32_t timer_divide = 0x3e0;
constexpr uint32_t icr_low = 0x300;
constexpr uint32_t icr_high = 0x310;
} // namespace reg

constexpr uint32_t lvt_masked = 1u << 16;
constexpr uint32_t timer_mode_tsc_deadline = 2u << 17;

bool g_x2apic = false;
bool g_tsc_deadline = false;
uint32_t g_boot_lapic_id = 0;
volatile uint32_t* g_mmio = nullptr;
uint64_t g_apic_timer_hz = 0; // measured on first use of the counting timer

uint32_t read(uint32_t offset)
{
    if (g_x2apic)
        return uint32_t(rdmsr(0x800 + (offset >> 4)));
    return g_mmio[offset / 4];
}

void write(uint32_t offset, uint32_t value)
{
    if (g_x2apic)
        wrmsr(0x800 + (offset >> 4), value);
    else
        g_mmio[offset / 4] = value;
}

void error_interrupt(InterruptFrame&, void*)
{
    write(reg::error_status, 0);
    log::warn("apic: error interrupt, status {:#x}", read(reg::error_status));
}

} // namespace

void lapic_end_of_interrupt() { write(reg::eoi, 0); }

Result<void> lapic_init(uint64_t mmio_base)
{
    auto features = cpuid(1);
    if (!(features.edx & (1u << 9))) {
        log::error("apic: this CPU has no local APIC");
        return Error::Unsupported;
    }
    g_tsc_deadline = features.ecx & (1u << 24);
    uint64_t base_msr = rdmsr(msr::apic_base);
    if (features.ecx & (1u << 21)) {
        // x2APIC: registers are MSRs and APIC ids are 32 bits.
        wrmsr(msr::apic_base, base_msr | (1u << 11) | (1u << 10));
        g_x2apic = true;
    } else {
        wrmsr(msr::apic_base, base_msr | (1u << 11));
        if (mmio_base == 0)
            mmio_base = base_msr & 0xffffff000ull;
        g_mmio = static_cast<volatile uint32_t*>(TRY(map_mmio(mmio_base, 4096)));
    }
    write(reg::spurious, 0x100 | vector::spurious);
    write(reg::lvt_timer, lvt_masked);
    write(reg::lvt_lint0, lvt_masked);
    write(reg::lvt_lint1, 0x400); // NMI delivery
    set_interrupt_handler(vector::lapic_error, error_interrupt, nullptr);
    write(reg::lvt_error, vector::lapic_error);
    write(reg::error_status, 0);
    write(reg::eoi, 0);
    g_boot_lapic_id = lapic_id();
    return ok();
}

void lapic_init_secondary()
{
    uint64_t base_msr = rdmsr(msr::apic_base);
    wrmsr(msr::apic_base, base_msr | (1u << 11) | (g_x2apic ? (1u << 10) : 0));
    write(reg::spurious, 0x100 | vector::spurious);
    write(reg::lvt_timer, lvt_masked);
    write(reg::lvt_lint0, lvt_masked);
    write(reg::lvt_lint1, 0x400);
    write(reg::lvt_error, vector::lapic_error);
    write(reg::error_status, 0);
    write(reg::eoi, 0);
}

uint32_t lapic_id() { return g_x2apic ? read(reg::id) : (read(reg::id) >> 24); }
uint32_t boot_lapic_id() { return g_boot_lapic_id; }

namespace {

bool send_command(uint32_t apic_id, uint32_t command)
{
    constexpr uint32_t delivery_pending = 1u << 12;
    if (g_x2apic) {
        // One MSR write; x2APIC has no delivery-status bit to poll.
        wrmsr(0x830, (uint64_t(apic_id) << 32) | command);
        return true;
    }
    if (apic_id > 0xff)
        return false;
    for (int i = 0; i < 100000 && (read(reg::icr_low) & delivery_pending); ++i)
        pause();
    write(reg::icr_high, apic_id << 24);
    write(reg::icr_low, command);
    for (int i = 0; i < 100000; ++i) {
        if (!(read(reg::icr_low) & delivery_pending))
            return true;
        pause();
    }
    return false;
}

} // namespace

bool lapic_send_ipi(uint32_t apic_id, uint8_t vector) { return send_command(apic_id, vector); }
// INIT, level assert, edge (the de-assert is obsolete since the P4).
bool lapic_send_init(uint32_t apic_id) { return send_command(apic_id, 0x00004500); }
bool lapic_send_startup(uint32_t apic_id, uint8_t page_number) { return send_command(apic_id, 0x00004600 | page_number); }
bool lapic_x2apic_mode() { return g_x2apic; }
bool lapic_has_tsc_deadline() { return g_tsc_deadline; }

void lapic_timer_init(uint8_t vector)
{
    if (g_tsc_deadline) {
        write(reg::lvt_timer, timer_mode_tsc_deadline | vector);
    } else {
        write(reg::timer_divide, 0xb); // divide by 1
        write(reg::lvt_timer, vector);  // one-shot
        write(reg::timer_initial, 0);
    }
}

void lapic_timer_arm_tsc(uint64_t tsc_deadline, uint64_t tsc_now, uint64_t tsc_hz)
{
    if (g_tsc_deadline) {
        wrmsr(msr::tsc_deadline, tsc_deadline == 0 ? 1 : tsc_deadline);
        return;
    }
    if (g_apic_timer_hz == 0) {
        // Measure the APIC timer against the (calibrated) TSC once, over
        // about 100 microseconds.
        write(reg::timer_divide, 0xb);
        write(reg::timer_initial, 0xffffffff);
        uint64_t start = rdtsc();
        uint64_t window = tsc_hz / 10000;
        while (rdtsc() - start < window)
            pause();
        uint32_t elapsed = 0xffffffff - read(reg::timer_current);
        uint64_t cycles = rdtsc() - start;
        write(reg::timer_initial, 0);
        g_apic_timer_hz = cycles ? uint64_t(elapsed) * tsc_hz / cycles : 0;
        if (g_apic_timer_hz == 0)
            g_apic_timer_hz = 1000000000; // keep going with a plausible rate
        log::debug("apic: timer runs at {} Hz", g_apic_timer_hz);
    }
    uint64_t delta = tsc_deadline > tsc_now ? tsc_deadline - tsc_now : 1;
    unsigned __int128 ticks = (unsigned __int128)delta * g_apic_timer_hz / tsc_hz;
    uint32_t count = ticks == 0 ? 1 : (ticks > 0xffffffffu ? 0xffffffffu : uint32_t(ticks));
    write(reg::timer_initial, count);
}

void lapic_timer_disarm()
{
    if (g_tsc_deadline)
        wrmsr(msr::tsc_deadline, 0);
    else
        write(reg::timer_initial, 0);
}

void legacy_pic_disable()
{
    // Remap both 8259s above the exception vectors, then mask every line, so
    // a stray legacy interrupt is recognisably spurious.
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, vector::first_legacy_pic);
    outb(0xa1, vector::first_legacy_pic + 8);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

// ------------------------------------------------------------------ IOAPIC

namespace {

struct IoApic {
    volatile uint32_t* registers;
    uint32_t gsi_base;
    uint32_t pins;
};
IoApic g_ioapics[8];
size_t g_ioapic_count = 0;
InterruptOverride g_overrides[24];
size_t g_override_count = 0;
IrqSpinLock g_ioapic_lock;

uint32_t ioapic_read(const IoApic& apic, uint32_t index)
{
    apic.registers[0] = index;
    return apic.registers[4];
}

void ioapic_write(const IoApic& apic, uint32_t index, uint32_t value)
{
    apic.registers[0] = index;
    apic.registers[4] = value;
}

IoApic* ioapic_for(uint32_t gsi)
{
    for (size_t i = 0; i < g_ioapic_count; ++i) {
        if (gsi >= g_ioapics[i].gsi_base && gsi < g_ioapics[i].gsi_base + g_ioapics[i].pins)
            return &g_ioapics[i];
    }
    return nullptr;
}

} // namespace

Result<void> ioapic_init(const PlatformInfo& platform)
{
    for (size_t i = 0; i < platform.ioapic_count && g_ioapic_count < 8; ++i) {
        const IoApicDescriptor& descriptor = platform.ioapics[i];
        auto mapped = map_mmio(descriptor.address, 4096);
        if (mapped.is_error()) {
            log::error("ioapic: cannot map {:#x}", descriptor.address);
            continue;
        }
        IoApic apic { static_cast<volatile uint32_t*>(*mapped), descriptor.gsi_base, 0 };
        uint32_t version = ioapic_read(apic, 1);
        apic.pins = ((version >> 16) & 0xff) + 1;
        if (version == 0xffffffff || apic.pins > 240) {
            log::error("ioapic: nothing answers at {:#x}", descriptor.address);
            continue;
        }
        for (uint32_t pin = 0; pin < apic.pins; ++pin) {
            ioapic_write(apic, 0x10 + 2 * pin, 1u << 16);
            ioapic_write(apic, 0x11 + 2 * pin, 0);
        }
        g_ioapics[g_ioapic_count++] = apic;
        log::debug("ioapic: id {} at {:#x}, GSIs {}-{}", descriptor.id, descriptor.address, apic.gsi_base, apic.gsi_base + apic.pins - 1);
    }
    for (size_t i = 0; i < platform.override_count && i < 24; ++i)
        g_overrides[g_override_count++] = platform.overrides[i];
    if (g_ioapic_count == 0)
        return Error::NotFound;
    return ok();
}

Result<void> ioapic_route_gsi(uint32_t gsi, uint8_t vector, bool level_triggered, bool active_low)
{
    LockGuard guard(g_ioapic_lock);
    IoApic* apic = ioapic_for(gsi);
    if (!apic) {
        log::error("ioapic: no IOAPIC serves GSI {}", gsi);
        return Error::NotFound;
    }
    uint32_t destination = boot_lapic_id();
    if (destination > max_interrupt_destination) {
        log::error("ioapic: the boot CPU's APIC id {} does not fit an IOAPIC destination (no interrupt remapping)", destination);
        return Error::Unsupported;
    }
    uint32_t pin = gsi - apic->gsi_base;
    uint32_t low = vector | (active_low ? 1u << 13 : 0) | (level_triggered ? 1u << 15 : 0);
    ioapic_write(*apic, 0x11 + 2 * pin, destination << 24);
    ioapic_write(*apic, 0x10 + 2 * pin, low);
    return ok();
}

Result<void> ioapic_route_isa_irq(uint8_t irq, uint8_t vector)
{
    // ISA interrupts are edge-triggered, active high, identity mapped to GSIs
    // unless the firmware says otherwise.
    for (size_t i = 0; i < g_override_count; ++i) {
        if (g_overrides[i].isa_irq == irq)
            return ioapic_route_gsi(g_overrides[i].gsi, vector, g_overrides[i].level_triggered, g_overrides[i].active_low);
    }
    return ioapic_route_gsi(irq, vector, false, false);
}

Result<void> ioapic_mask_gsi(uint32_t gsi)
{
    LockGuard guard(g_ioapic_lock);
    IoApic* apic = ioapic_for(gsi);
    if (!apic)
        return Error::NotFound;
    ioapic_write(*apic, 0x10 + 2 * (gsi - apic->gsi_base), 1u << 16);
    return ok();
}

} // namespace skiff::x86
