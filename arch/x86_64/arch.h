// The narrow interface the machine-independent kernel uses to reach the
// x86_64 platform. Nothing outside arch/ includes other arch headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skiff {
struct BootInfo;
struct PlatformInfo;
}

namespace skiff::arch {

// Console (COM1 8250). Safe before anything else is set up.
void console_init();
void console_write(std::string_view text);

// CPU state: GDT/TSS/IDT for the boot CPU, then paging over all RAM.
void cpu_init();

// Interrupt controllers and the clock, once the platform tables are known.
void interrupts_init(const PlatformInfo* platform);
void enable_interrupts();

uint64_t read_cycle_counter();

// Walks saved frame pointers from `frame` and prints return addresses.
void print_backtrace(uint64_t frame_pointer);
uint64_t current_frame_pointer();

// Powers the VM off with an exit status: isa-debug-exit, ACPI S5, i8042
// reset, triple fault, in that order.
[[noreturn]] void power_off(int status);
void set_power_control(const PlatformInfo* platform);
void power_off_acpi(); // returns only if ACPI S5 is unavailable or did not work

[[noreturn]] void halt_forever();

} // namespace skiff::arch
