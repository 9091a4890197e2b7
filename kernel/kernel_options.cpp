#include "kernel/kernel_options.h"

#include <string_view>

namespace skiff {

namespace {

enum class Option : uint8_t { LogLevel, HeapDebug, TscKhz, ProbeDevicesAtBoot, Boottime, count };

constexpr std::string_view option_keys[size_t(Option::count)] = {
    "loglevel", "heap_debug", "tsc_khz", "probe_devices_at_boot", "boottime",
};

constexpr std::string_view log_levels[] = { "error", "warn", "info", "debug" };
static_assert(size_t(log::Level::Error) == 0 && size_t(log::Level::Debug) == 3);

} // namespace

KernelOptions read_kernel_options(const CommandLine& command_line)
{
    KernelOptions options;
    const KernelOptions defaults;
    for (const KernelParameter& parameter : command_line.parameters()) {
        size_t option = 0;
        while (option < size_t(Option::count) && option_keys[option] != parameter.key)
            ++option;
        switch (Option(option)) {
        case Option::LogLevel:
            options.log_level = log::Level(CommandLine::choice_value(parameter, log_levels, size_t(defaults.log_level)));
            break;
        case Option::HeapDebug:
            options.heap_debug = CommandLine::bool_value(parameter, defaults.heap_debug);
            break;
        case Option::TscKhz:
            options.tsc_khz = CommandLine::uint_value(parameter, defaults.tsc_khz);
            break;
        case Option::ProbeDevicesAtBoot:
            options.probe_devices_at_boot = CommandLine::bool_value(parameter, defaults.probe_devices_at_boot);
            break;
        case Option::Boottime:
            options.boottime = CommandLine::bool_value(parameter, defaults.boottime);
            break;
        case Option::count:
            break;
        }
    }
    return options;
}

} // namespace skiff
