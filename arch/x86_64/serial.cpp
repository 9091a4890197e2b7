// COM1 16550/8250 UART, polled transmit. Present on QEMU pc and microvm,
// Firecracker and Hyper-V generation 1.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"

namespace skiff::arch {

namespace {
constexpr uint16_t com1 = 0x3f8;
constexpr uint16_t data = 0, interrupt_enable = 1, fifo_control = 2, line_control = 3, modem_control = 4, line_status = 5;
constexpr uint8_t transmit_empty = 1 << 5;
// A UART that never reports space (absent device reads 0xff, a stuck one 0)
// must not hang the kernel: give up on a character after this many polls.
constexpr unsigned max_polls = 100000;
bool g_present = false;
} // namespace

void console_init()
{
    using namespace x86;
    outb(com1 + interrupt_enable, 0x00);
    outb(com1 + line_control, 0x80); // divisor latch
    outb(com1 + 0, 0x01);            // 115200 baud
    outb(com1 + 1, 0x00);
    outb(com1 + line_control, 0x03); // 8N1
    outb(com1 + fifo_control, 0xc7);
    outb(com1 + modem_control, 0x03);
    // An absent port floats to 0xff.
    g_present = inb(com1 + line_status) != 0xff;
}

void console_write(std::string_view text)
{
    if (!g_present)
        return;
    for (char c : text) {
        if (c == '\n')
            console_write("\r");
        unsigned polls = 0;
        while (!(x86::inb(com1 + line_status) & transmit_empty) && ++polls < max_polls)
            x86::pause();
        x86::outb(com1 + data, uint8_t(c));
    }
}

} // namespace skiff::arch
