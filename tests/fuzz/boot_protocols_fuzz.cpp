// Loader structures from an untrusted loader: the first bytes choose the
// protocol, the rest becomes memory at fixed addresses.
#include "arch/x86_64/boot/boot_protocols.h"
#include "tests/unit/support/fake_memory.h"

#include <cstdint>
#include <cstdlib>

using namespace skiff;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t protocol = data[0] % 3;
    skiff::testing::FakeMemory memory;
    // The structure, and a second window that pointers inside it may name.
    memory.place(0x1000, data + 1, size - 1);
    memory.place(0x20000, data + 1, size - 1);
    BootInfo info;
    switch (protocol) {
    case 0:
        boot_info_reset(info, BootProtocol::Pvh, 0);
        (void)boot::convert_pvh(memory, 0x1000, info);
        break;
    case 1:
        boot_info_reset(info, BootProtocol::Linux64, 0);
        (void)boot::convert_linux64(memory, 0x1000, info);
        break;
    default:
        boot_info_reset(info, BootProtocol::Multiboot2, 0);
        (void)boot::convert_multiboot2(memory, 0x36d76289, 0x1000, info);
        break;
    }
    if (info.memory_range_count > BootInfo::max_memory_ranges || info.module_count > BootInfo::max_modules
        || info.command_line_length >= BootInfo::max_command_line || info.command_line[info.command_line_length] != '\0'
        || info.acpi_rsdp_copy_length > info.acpi_rsdp_copy.size())
        std::abort();
    return 0;
}
