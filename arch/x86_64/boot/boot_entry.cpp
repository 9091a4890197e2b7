// The C++ half of every entry: bring up the console, convert the loader's
// structures into BootInfo, hand over to the kernel.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/boot/boot_protocols.h"
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/kernel.h"
#include "lib/log.h"
#include "lib/one_test.h"

#include <cstring>

namespace skiff::boot {

namespace {

// Until the kernel builds its own tables, the entry code's identity map of the
// first 4 GiB is what can be read.
class EarlyPhysicalMemory final : public PhysicalMemory {
public:
    [[gnu::always_inline]] bool read(uint64_t address, void* out, size_t size) const override
    {
        constexpr uint64_t limit = 4ull << 30;
        if (as_one_test((address >= limit) | (size > limit - address)))
            return false;
        std::memcpy(out, reinterpret_cast<const void*>(address), size);
        return true;
    }
};

BootInfo g_boot_info;

enum EntryProtocol : uint32_t { entry_pvh = 0, entry_linux64 = 1, entry_multiboot2 = 2 };

} // namespace

extern "C" [[noreturn]] void boot_entry(uint64_t pointer, uint32_t protocol, uint64_t entry_tsc, uint32_t magic)
{
    console::init();
    EarlyPhysicalMemory memory;
    // An if-chain, PVH first: QEMU's and Firecracker's usual way in decides
    // in one test (each test is a translation block under TCG).
    Result<void> converted = Error::InvalidArgument;
    if (protocol == entry_pvh) [[likely]] {
        boot_info_reset(g_boot_info, BootProtocol::Pvh, entry_tsc);
        converted = convert_pvh(memory, pointer, g_boot_info);
    } else if (protocol == entry_linux64) {
        boot_info_reset(g_boot_info, BootProtocol::Linux64, entry_tsc);
        converted = convert_linux64(memory, pointer, g_boot_info);
    } else if (protocol == entry_multiboot2) {
        boot_info_reset(g_boot_info, BootProtocol::Multiboot2, entry_tsc);
        converted = convert_multiboot2(memory, magic, pointer, g_boot_info);
    }
    if (converted.is_error()) {
        console::print("skiff: cannot use what the {} loader handed over: {}",
            boot_protocol_name(g_boot_info.protocol), error_name(converted.error()));
        arch::power_off(exit_status::kernel_failure);
    }
    kernel_main(g_boot_info);
}

} // namespace skiff::boot
