// Bytes become physical memory at 0x9fc00, where Firecracker < 1.8 puts its
// MP table (format: firmware/testing/fuzz_input.h). With no ACPI anywhere,
// discover_platform falls back to the MP table parser.
#include "firmware/mp_table.h"
#include "firmware/platform.h"
#include "firmware/testing/fuzz_input.h"
#include "tests/unit/support/log_capture.h"

#include <cstdint>
#include <cstdlib>

using namespace skiff;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    testing::clear_log();
    static testing::FuzzMachine machine;
    testing::load_mp_fuzz_input(machine, data, size);
    auto result = discover_platform(machine.memory, 0, machine.mp_hint);
    if (!result)
        return 0;
    const PlatformInfo& info = *result;
    check(info.source == PlatformSource::MpTable);
    check(info.mp_floating_pointer != 0);
    check(info.cpu_count > 0 && info.cpu_count <= info.cpus.size());
    check(info.ioapic_count <= info.ioapics.size());
    check(info.override_count <= info.overrides.size());
    check(info.legacy_pic_present);
    for (size_t i = 0; i < info.cpu_count; ++i) {
        check(info.cpus[i].enabled);
        for (size_t j = i + 1; j < info.cpu_count; ++j)
            check(info.cpus[i].apic_id != info.cpus[j].apic_id);
    }
    // Every ISA route points into an IOAPIC that was listed.
    for (const auto& route : info.override_list()) {
        bool routed = false;
        for (const auto& ioapic : info.ioapic_list())
            routed = routed || route.gsi >= ioapic.gsi_base;
        check(routed);
    }
    return 0;
}
