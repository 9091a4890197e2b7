// The few privileged operations the loader uses.
#pragma once

#include "arch/x86_64/cpu.h"

#include <cstdint>

namespace skiff::fc_loader {

// The port and MSR wrappers are the kernel's own.
using x86::cpuid;
using x86::inb;
using x86::outb;
using x86::outl;
using x86::outw;
using x86::rdmsr;
using x86::wrmsr;

// A physical address as a pointer. The loader runs identity-mapped; going
// through an opaque register keeps the compiler from reasoning about small
// constant addresses as if they were null-pointer arithmetic.
template<typename T>
T* physical(uint64_t address)
{
    asm("" : "+r"(address));
    return reinterpret_cast<T*>(address);
}

} // namespace skiff::fc_loader
