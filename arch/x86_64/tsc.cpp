// Where the TSC rate comes from, fastest source first.
#include "arch/x86_64/apic.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/interrupts.h"
#include "lib/log.h"

#include <cstring>

namespace skiff::arch {

namespace {

bool hypervisor_vendor_is(const char (&vendor)[13])
{
    if (!(x86::cpuid(1).ecx & (1u << 31)))
        return false;
    auto leaf = x86::cpuid(0x40000000);
    char name[12];
    std::memcpy(name + 0, &leaf.ebx, 4);
    std::memcpy(name + 4, &leaf.ecx, 4);
    std::memcpy(name + 8, &leaf.edx, 4);
    return std::memcmp(name, vendor, 12) == 0;
}

// pvclock_vcpu_time_info, shared with the hypervisor.
struct [[gnu::packed]] PvClockTime {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};
static_assert(sizeof(PvClockTime) == 32);
alignas(64) volatile PvClockTime g_pvclock;

bool rate_from_kvmclock(CounterRate& rate)
{
    if (!hypervisor_vendor_is("KVMKVMKVM\0\0\0"))
        return false;
    if (!(x86::cpuid(0x40000001).eax & (1u << 3))) // KVM_FEATURE_CLOCKSOURCE2
        return false;
    x86::wrmsr(x86::msr::kvm_system_time_new, reinterpret_cast<uint64_t>(&g_pvclock) | 1);
    uint32_t mul = 0;
    int8_t shift = 0;
    for (int tries = 0; tries < 100; ++tries) {
        uint32_t version = g_pvclock.version;
        mul = g_pvclock.tsc_to_system_mul;
        shift = g_pvclock.tsc_shift;
        if (!(version & 1) && version == g_pvclock.version && version != 0)
            break;
    }
    x86::wrmsr(x86::msr::kvm_system_time_new, 0);
    if (mul == 0)
        return false;
    // ns = (tsc << shift) * mul >> 32, so hz = 1e9 * 2^32 / (mul * 2^shift).
    unsigned __int128 numerator = (unsigned __int128)1000000000ull << 32;
    unsigned __int128 denominator = mul;
    if (shift >= 0)
        denominator <<= shift;
    else
        numerator <<= -shift;
    rate = { uint64_t(numerator / denominator), "kvmclock" };
    return true;
}

bool rate_from_hyperv(CounterRate& rate)
{
    if (!hypervisor_vendor_is("Microsoft Hv"))
        return false;
    if (!(x86::cpuid(0x40000003).eax & (1u << 11))) // frequency MSRs available
        return false;
    uint64_t hz = x86::rdmsr(x86::msr::hyperv_tsc_frequency);
    if (hz == 0)
        return false;
    rate = { hz, "hyper-v" };
    return true;
}

bool rate_from_cpuid(CounterRate& rate)
{
    uint32_t max_leaf = x86::cpuid(0).eax;
    if (max_leaf >= 0x15) {
        auto leaf = x86::cpuid(0x15);
        if (leaf.eax != 0 && leaf.ebx != 0 && leaf.ecx != 0) {
            rate = { uint64_t(leaf.ecx) * leaf.ebx / leaf.eax, "cpuid 0x15" };
            return true;
        }
    }
    if (max_leaf >= 0x16) {
        auto leaf = x86::cpuid(0x16);
        if ((leaf.eax & 0xffff) != 0) {
            rate = { uint64_t(leaf.eax & 0xffff) * 1000000, "cpuid 0x16" };
            return true;
        }
    }
    return false;
}

} // namespace

bool cycle_counter_rate_fast(CounterRate& rate)
{
    return rate_from_kvmclock(rate) || rate_from_hyperv(rate) || rate_from_cpuid(rate);
}

namespace {

// Latches and reads PIT channel 0's current count.
uint16_t pit_channel0_count()
{
    x86::outb(0x43, 0x00);
    uint8_t low = x86::inb(0x40);
    uint8_t high = x86::inb(0x40);
    return uint16_t(low | (high << 8));
}

} // namespace

bool cycle_counter_rate_measured(CounterRate& rate)
{
    // PIT channel 0 counting down from 0xffff in mode 0 (its interrupt
    // cannot arrive: the 8259s are masked, or interrupts are still off
    // before the controllers come up): watch 10 ms worth of 1.193182 MHz ticks go by and see how far
    // the TSC moved. Reading the latched count works on every PC-compatible
    // VMM; the speaker-port gate of channel 2 does not exist on microvm.
    constexpr uint64_t pit_hz = 1193182;
    constexpr uint16_t ticks = pit_hz / 100;
    x86::outb(0x43, 0x30);
    x86::outb(0x40, 0xff);
    x86::outb(0x40, 0xff);
    uint16_t first = pit_channel0_count();
    uint64_t start = x86::rdtsc();
    // An absent PIT reads a constant: give up after ~2^33 cycles (seconds
    // at any plausible rate) rather than hang.
    uint64_t now = start;
    uint16_t elapsed = 0;
    while (now - start < (1ull << 33)) {
        uint16_t count = pit_channel0_count();
        now = x86::rdtsc();
        elapsed = uint16_t(first - count);
        if (count <= first && elapsed >= ticks)
            break;
    }
    if (elapsed < ticks) {
        log::error("clock: the PIT is not counting; cannot measure the TSC");
        return false;
    }
    uint64_t hz = (now - start) * pit_hz / elapsed;
    if (hz < 10000000ull) {
        log::error("clock: PIT measurement gave an implausible {} Hz", hz);
        return false;
    }
    rate = { hz, "pit" };
    return true;
}

namespace {
void (*g_timer_expired)() = nullptr;
void timer_interrupt(x86::InterruptFrame&, void*)
{
    if (g_timer_expired)
        g_timer_expired();
}
} // namespace

void timer_init(void (*expired)())
{
    g_timer_expired = expired;
    x86::set_interrupt_handler(x86::vector::lapic_timer, timer_interrupt, nullptr);
    // The boot CPU's local APIC may not be set up yet: its bring-up programs
    // the timer. Other CPUs' are, before they get here.
    if (x86::interrupt_controllers_up())
        x86::lapic_timer_init(x86::vector::lapic_timer);
}

void timer_arm(uint64_t deadline, uint64_t now, uint64_t hz)
{
    ensure_interrupt_controllers();
    x86::lapic_timer_arm_tsc(deadline, now, hz);
}

void timer_disarm()
{
    if (x86::interrupt_controllers_up())
        x86::lapic_timer_disarm();
}

void wait_for_interrupt()
{
    ensure_interrupt_controllers();
    x86::enable_interrupts_and_halt();
}

} // namespace skiff::arch
