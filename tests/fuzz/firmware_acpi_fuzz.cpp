// Bytes become physical memory at 0xe0000 holding an RSDP and ACPI tables
// (format: firmware/testing/fuzz_input.h); discover_platform must refuse or
// accept them without reading out of bounds, looping or breaking its limits.
#include "firmware/acpi.h"
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

void check_invariants(const PlatformInfo& info)
{
    check(info.cpu_count <= info.cpus.size());
    check(info.ioapic_count <= info.ioapics.size());
    check(info.override_count <= info.overrides.size());
    for (size_t i = 0; i < info.cpu_count; ++i) {
        for (size_t j = i + 1; j < info.cpu_count; ++j)
            check(info.cpus[i].apic_id != info.cpus[j].apic_id);
    }
    for (size_t i = 0; i < info.override_count; ++i) {
        for (size_t j = i + 1; j < info.override_count; ++j)
            check(info.overrides[i].isa_irq != info.overrides[j].isa_irq);
    }
    check(info.source != PlatformSource::None);
    check(info.cpu_count > 0);
    check(info.local_apic_address != 0);
    if (info.source == PlatformSource::Acpi)
        check(info.madt != 0);
    if (info.power.s5_available)
        check(info.power.slp_typ_a <= 7 && info.power.slp_typ_b <= 7);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    testing::clear_log();
    static testing::FuzzMachine machine;
    testing::load_acpi_fuzz_input(machine, data, size);
    auto result = discover_platform(machine.memory, machine.rsdp_hint, 0);
    if (result) {
        check_invariants(*result);
        // What boot leaves for later: the FADT, then the DSDT's \_S5.
        acpi::read_fadt(machine.memory, *result);
        (void)acpi::resolve_s5(machine.memory, *result);
        check(result->fadt_read || result->fadt == 0);
        check_invariants(*result);
    }

    // The same bytes as an RSDP copy and as bare AML.
    if (size > 1) {
        (void)acpi::parse_rsdp({ data + 1, size - 1 });
        auto s5 = acpi::find_s5_in_aml({ data + 1, size - 1 });
        if (s5)
            check(s5->a <= 7 && s5->b <= 7);
    }
    return 0;
}
