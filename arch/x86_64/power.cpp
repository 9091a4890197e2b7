// Power-off for every VMM Skiff runs on, most specific first.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "kernel/console.h"

namespace skiff::arch {

namespace {
constexpr uint16_t debug_exit_port = 0xf4;
constexpr uint16_t i8042_command_port = 0x64;
constexpr uint8_t i8042_pulse_reset = 0xfe;
} // namespace

[[noreturn]] void halt_forever()
{
    for (;;) {
        x86::cli();
        x86::halt();
    }
}

[[noreturn]] void power_off(int status)
{
    x86::cli();
    if (status < 0 || status > 127)
        status = 127;
    console::print("skiff: power off (status {})", status);

    // QEMU's isa-debug-exit (tests): QEMU exits with (status << 1) | 1.
    // Where the device is absent the write goes nowhere.
    x86::outb(debug_exit_port, uint8_t(status));

    power_off_acpi();

    // Firecracker stops the VM on a keyboard-controller reset; elsewhere this
    // resets, which -no-reboot turns into an exit.
    for (int i = 0; i < 1000 && (x86::inb(i8042_command_port) & 0x02); ++i)
        x86::pause();
    x86::outb(i8042_command_port, i8042_pulse_reset);

    // Last resort: a triple fault through an empty IDT.
    struct [[gnu::packed]] {
        uint16_t limit;
        uint64_t base;
    } empty_idt { 0, 0 };
    asm volatile("lidt %0; int3" ::"m"(empty_idt));
    halt_forever();
}

} // namespace skiff::arch
