// COM1 16550/8250 UART, polled transmit. Present on QEMU pc and microvm,
// Firecracker and Hyper-V generation 1.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"

namespace skiff::arch {

namespace {
constexpr uint16_t com1 = 0x3f8;
constexpr uint16_t data = 0, interrupt_enable = 1, fifo_control = 2, line_control = 3, modem_control = 4, line_status = 5;
constexpr uint16_t interrupt_identification = 2; // read side of fifo_control
constexpr uint8_t transmit_empty = 1 << 5;
constexpr uint8_t fifos_enabled = 0xc0; // IIR bits 7:6 on a 16550A with working FIFOs
constexpr unsigned fifo_depth = 16;
// A UART that never reports space (absent device reads 0xff, a stuck one 0)
// must not hang the kernel: give up on a character after this many polls.
constexpr unsigned max_polls = 100000;
bool g_present = false;
// Bytes that may follow one another after the transmitter reports empty:
// the FIFO's depth on a 16550A, one on an 8250. Each poll is a port read,
// which a VMM handles as a trap; this spares fifteen of every sixteen.
unsigned g_burst = 1;
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
    g_burst = g_present && (inb(com1 + interrupt_identification) & fifos_enabled) == fifos_enabled ? fifo_depth : 1;
}

void console_write(std::string_view text)
{
    if (!g_present)
        return;
    unsigned room = 0; // bytes the transmitter is known to take without another poll
    bool carriage_sent = false;
    for (size_t i = 0; i < text.size();) {
        // A newline goes out as CR LF: the CR first, then the same index again.
        uint8_t byte = uint8_t(text[i]);
        if (byte == '\n' && !carriage_sent) {
            byte = '\r';
            carriage_sent = true;
        } else {
            carriage_sent = false;
            ++i;
        }
        if (room == 0) {
            unsigned polls = 0;
            while (!(x86::inb(com1 + line_status) & transmit_empty) && ++polls < max_polls)
                x86::pause();
            room = g_burst; // empty: the holding register and the whole FIFO
        }
        x86::outb(com1 + data, byte);
        --room;
    }
}

} // namespace skiff::arch
