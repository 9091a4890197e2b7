// kernel/irq.h on x86_64: IOAPIC lines and MSI messages, both delivered to
// the boot CPU's local APIC.
#include "arch/x86_64/apic.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/interrupts.h"
#include "kernel/irq.h"
#include "lib/log.h"

#include <array>

namespace skiff::irq {

namespace {

struct Binding {
    Handler handler;
    void* context;
};
// An entry is written before its vector's handler is installed and read only
// through that handler: no need to zero it at boot.
[[gnu::section(".noinit")]] std::array<Binding, 256> g_bindings;

void trampoline(x86::InterruptFrame& frame, void* binding)
{
    auto* b = static_cast<Binding*>(binding);
    b->handler(b->context);
}

Result<uint8_t> bind(Handler handler, void* context)
{
    if (!handler)
        return Error::InvalidArgument;
    uint8_t vector = x86::allocate_device_vector();
    if (vector == 0) {
        log::error("irq: out of interrupt vectors");
        return Error::Full;
    }
    g_bindings[vector] = { handler, context };
    x86::set_interrupt_handler(vector, trampoline, &g_bindings[vector]);
    return vector;
}

} // namespace

Result<void> attach_line(const Line& line, Handler handler, void* context)
{
    arch::ensure_interrupt_controllers();
    uint8_t vector = TRY(bind(handler, context));
    return x86::ioapic_route_gsi(line.gsi, vector, line.level_triggered, line.active_low);
}

Result<void> mask_line(uint32_t gsi)
{
    arch::ensure_interrupt_controllers();
    return x86::ioapic_mask_gsi(gsi);
}

Result<MsiMessage> allocate_msi(Handler handler, void* context)
{
    arch::ensure_interrupt_controllers();
    uint32_t destination = x86::boot_lapic_id();
    if (destination > x86::max_interrupt_destination) {
        log::error("irq: the boot CPU's APIC id {} does not fit an MSI destination (no interrupt remapping)", destination);
        return Error::Unsupported;
    }
    uint8_t vector = TRY(bind(handler, context));
    // Fixed delivery, edge, physical destination: the boot CPU.
    uint64_t address = 0xfee00000ull | (uint64_t(destination) << 12);
    return MsiMessage { address, vector, vector };
}

} // namespace skiff::irq
