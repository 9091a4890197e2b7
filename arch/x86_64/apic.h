// Local APIC (x2APIC when the CPU has it, else xAPIC registers) and IOAPIC.
#pragma once

#include "lib/result.h"

#include <cstdint>

namespace skiff {
struct PlatformInfo;
}

namespace skiff::x86 {

Result<void> lapic_init(uint64_t mmio_base);
// Enables the calling application processor's local APIC in the same mode
// as the boot CPU's.
void lapic_init_secondary();
uint32_t lapic_id();
// The boot CPU's APIC id, where device interrupts (IOAPIC lines, MSIs) are
// sent whichever CPU sets them up: devices are probed on first use, which
// may be in an application thread on any CPU.
uint32_t boot_lapic_id();
// Destinations of IOAPIC entries and MSIs without interrupt remapping are 8 bits.
constexpr uint32_t max_interrupt_destination = 0xff;
// Inter-processor interrupts. Each waits (bounded) for the APIC to accept
// the previous one; false if it never did.
bool lapic_send_ipi(uint32_t apic_id, uint8_t vector);
bool lapic_send_init(uint32_t apic_id);
bool lapic_send_startup(uint32_t apic_id, uint8_t page_number);
bool lapic_x2apic_mode();
bool lapic_has_tsc_deadline();

// One-shot timer. With TSC-deadline the argument is a TSC value; otherwise
// it is converted through the calibrated APIC timer rate.
void lapic_timer_init(uint8_t vector);
// Whether ensure_interrupt_controllers() has run (on the boot CPU).
bool interrupt_controllers_up();
void lapic_timer_arm_tsc(uint64_t tsc_deadline, uint64_t tsc_now, uint64_t tsc_hz);
void lapic_timer_disarm();

// Masks the legacy 8259 pair so only the APICs deliver interrupts.
void legacy_pic_disable();

Result<void> ioapic_init(const PlatformInfo& platform);
// Routes an ISA IRQ (0-15, honouring interrupt source overrides) or a GSI to
// a vector on the boot CPU, unmasked.
Result<void> ioapic_route_isa_irq(uint8_t irq, uint8_t vector);
Result<void> ioapic_route_gsi(uint32_t gsi, uint8_t vector, bool level_triggered, bool active_low);
Result<void> ioapic_mask_gsi(uint32_t gsi);

} // namespace skiff::x86
