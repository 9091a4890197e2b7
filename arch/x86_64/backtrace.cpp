#include "arch/x86_64/arch.h"
#include "kernel/console.h"

extern "C" char __text_start[], __text_end[], boot_stack_top[];

namespace skiff::arch {

uint64_t current_frame_pointer() { return reinterpret_cast<uint64_t>(__builtin_frame_address(0)); }

void print_backtrace(uint64_t frame_pointer)
{
    // The image is built with frame pointers: each frame starts with the
    // caller's rbp followed by the return address. Stop at anything that does
    // not look like a frame rather than fault while reporting a fault.
    console::write_line("skiff: backtrace:");
    for (int depth = 0; depth < 32; ++depth) {
        if (frame_pointer == 0 || (frame_pointer & 7) != 0 || frame_pointer < 0x1000 || frame_pointer >= (1ull << 47))
            break;
        auto* frame = reinterpret_cast<const uint64_t*>(frame_pointer);
        uint64_t return_address = frame[1];
        if (return_address < reinterpret_cast<uint64_t>(__text_start) || return_address >= reinterpret_cast<uint64_t>(__text_end))
            break;
        console::print("skiff:   #{} {:#x}", depth, return_address);
        if (frame[0] <= frame_pointer)
            break; // frames must move up the stack
        frame_pointer = frame[0];
    }
}

} // namespace skiff::arch
