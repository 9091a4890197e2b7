#include "kernel/kernel_options.h"

#include <string_view>

namespace skiff {

namespace {

constexpr std::string_view log_levels[] = { "error", "warn", "info", "debug" };
static_assert(size_t(log::Level::Error) == 0 && size_t(log::Level::Debug) == 3);

// The on/off switches, read alike.
struct Switch {
    std::string_view key;
    bool KernelOptions::*field;
};
constexpr Switch switches[] = {
    { "heap_debug", &KernelOptions::heap_debug },
    { "probe_devices_at_boot", &KernelOptions::probe_devices_at_boot },
    { "boottime", &KernelOptions::boottime },
};

} // namespace

KernelOptions read_kernel_options(const CommandLine& command_line)
{
    KernelOptions options;
    const KernelOptions defaults;
    for (const KernelParameter& parameter : command_line.parameters()) {
        if (parameter.key == "loglevel") {
            options.log_level = log::Level(CommandLine::choice_value(parameter, log_levels, size_t(defaults.log_level)));
            continue;
        }
        if (parameter.key == "tsc_khz") {
            options.tsc_khz = CommandLine::uint_value(parameter, defaults.tsc_khz);
            continue;
        }
        for (const Switch& option : switches) {
            if (parameter.key == option.key)
                options.*option.field = CommandLine::bool_value(parameter, defaults.*option.field);
        }
    }
    return options;
}

} // namespace skiff
