#include "kernel/kernel_options.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <memory>

using namespace skiff;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

KernelOptions options_for(std::string_view text)
{
    clear_log();
    auto line = std::make_unique<CommandLine>();
    line->parse(text);
    return read_kernel_options(*line);
}

} // namespace

TEST(KernelOptions, DefaultsWithNoParameters)
{
    KernelOptions options = options_for("");
    EXPECT_EQ(options.log_level, log::Level::Warn);
    EXPECT_FALSE(options.heap_debug);
    EXPECT_EQ(options.tsc_khz, 0u);
    EXPECT_FALSE(options.probe_devices_at_boot);
    EXPECT_FALSE(options.boottime);
}

TEST(KernelOptions, EveryOptionRead)
{
    KernelOptions options
        = options_for("loglevel=debug heap_debug tsc_khz=2400000 probe_devices_at_boot=yes boottime -- boottime=0");
    EXPECT_EQ(options.log_level, log::Level::Debug);
    EXPECT_TRUE(options.heap_debug);
    EXPECT_EQ(options.tsc_khz, 2400000u);
    EXPECT_TRUE(options.probe_devices_at_boot);
    EXPECT_TRUE(options.boottime); // application arguments are not kernel parameters
}

TEST(KernelOptions, OthersParametersIgnored)
{
    // Firecracker's default line, a driver's parameter and near-misses of our keys.
    KernelOptions options = options_for("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 "
                                        "virtio_mmio.device=4K@0xd0000000:5 LOGLEVEL=debug boottimes tsc=1");
    EXPECT_EQ(options.log_level, log::Level::Warn);
    EXPECT_FALSE(options.boottime);
    EXPECT_EQ(options.tsc_khz, 0u);
    EXPECT_FALSE(log_contains("cmdline", log::Level::Warn));
}

TEST(KernelOptions, LastOccurrenceWins)
{
    KernelOptions options = options_for("loglevel=debug boottime loglevel=error boottime=off tsc_khz=1 tsc_khz=0x10");
    EXPECT_EQ(options.log_level, log::Level::Error);
    EXPECT_FALSE(options.boottime);
    EXPECT_EQ(options.tsc_khz, 16u);
}

TEST(KernelOptions, MalformedValueWarnsAndGivesTheDefault)
{
    // As with CommandLine::get_*: a malformed last occurrence means the
    // default, not an earlier valid value.
    KernelOptions options = options_for("tsc_khz=5 tsc_khz=fast");
    EXPECT_EQ(options.tsc_khz, 0u);
    EXPECT_TRUE(log_contains("tsc_khz='fast' is not a number", log::Level::Warn));

    options = options_for("loglevel=info loglevel=loud");
    EXPECT_EQ(options.log_level, log::Level::Warn);
    EXPECT_TRUE(log_contains("loglevel='loud' is not one of error|warn|info|debug", log::Level::Warn));

    options = options_for("heap_debug=maybe");
    EXPECT_FALSE(options.heap_debug);
    EXPECT_TRUE(log_contains("heap_debug='maybe' is not a boolean", log::Level::Warn));

    options = options_for("loglevel");
    EXPECT_EQ(options.log_level, log::Level::Warn);
    EXPECT_TRUE(log_contains("loglevel=''", log::Level::Warn));
}
