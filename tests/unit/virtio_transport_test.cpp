// The virtio transports against simulated register windows: virtio-mmio
// version 2 and legacy version 1, modern and legacy virtio-pci; feature
// negotiation (FEATURES_OK that does not stick, a missing VERSION_1), queue
// programming, notifications, interrupt acknowledgement, configuration reads
// with a flapping generation.
#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/pci_transport.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/unit/support/log_capture.h"
#include "tests/unit/support/virtio_sim.h"

#include <gtest/gtest.h>

using namespace skiff;
using namespace skiff::virtio;
using skiff::testing::MallocDma;
using skiff::testing::SimDevice;
using skiff::testing::SimMmio;
using skiff::testing::SimPci;

namespace {

constexpr uint64_t feature_a = 1ull << 3;
constexpr uint64_t feature_b = 1ull << 40;

void fill_config(SimDevice& device)
{
    for (size_t i = 0; i < device.config.size(); ++i)
        device.config[i] = uint8_t(0x10 + i);
}

} // namespace

// --- negotiation, shared by every transport ---

TEST(VirtioNegotiation, AcceptsOfferedWantedBitsAndSetsFeaturesOk)
{
    SimDevice device(2, feature::version_1 | feature_a | feature_b | feature::event_idx, 16);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    auto negotiated = negotiate_features(transport, "t", feature_a | feature::indirect_desc | feature::event_idx);
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(*negotiated, feature::version_1 | feature_a | feature::event_idx);
    EXPECT_EQ(device.driver_features, *negotiated);
    EXPECT_EQ(device.status(), status::acknowledge | status::driver | status::features_ok);
    EXPECT_EQ(device.resets, 1);
    set_driver_ok(transport);
    EXPECT_TRUE(device.status() & status::driver_ok);
    EXPECT_TRUE(device.errors.empty());
    EXPECT_EQ(window.bad_accesses, 0);
}

TEST(VirtioNegotiation, FeaturesOkThatDoesNotStickFailsTheDevice)
{
    SimDevice device(2, feature::version_1 | feature_a, 16);
    device.refuse_features_ok = true;
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    skiff::testing::clear_log();
    auto negotiated = negotiate_features(transport, "disk", feature_a);
    ASSERT_FALSE(negotiated);
    EXPECT_EQ(negotiated.error(), Error::Unsupported);
    EXPECT_TRUE(device.status() & status::failed);
    EXPECT_FALSE(device.status() & status::driver_ok);
    EXPECT_TRUE(skiff::testing::log_contains("FEATURES_OK did not stick", log::Level::Error));
}

TEST(VirtioNegotiation, ModernDeviceWithoutVersion1IsRefused)
{
    SimDevice device(2, feature_a, 16);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    skiff::testing::clear_log();
    EXPECT_EQ(negotiate_features(transport, "disk", feature_a).error(), Error::Unsupported);
    EXPECT_TRUE(device.status() & status::failed);
    EXPECT_TRUE(skiff::testing::log_contains("does not offer VERSION_1"));
}

TEST(VirtioNegotiation, MissingRequiredFeatureIsRefused)
{
    SimDevice device(2, feature::version_1, 16);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    skiff::testing::clear_log();
    EXPECT_EQ(negotiate_features(transport, "disk", 0, feature_a).error(), Error::Unsupported);
    EXPECT_TRUE(device.status() & status::failed);
    EXPECT_TRUE(skiff::testing::log_contains("lacking required"));
}

TEST(VirtioNegotiation, ResetThatNeverCompletesIsReported)
{
    SimDevice device(2, feature::version_1, 16);
    device.status_stuck = true;
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    skiff::testing::clear_log();
    EXPECT_EQ(negotiate_features(transport, "disk", 0).error(), Error::DeviceBroken);
    EXPECT_TRUE(skiff::testing::log_contains("did not complete its reset"));
}

// --- virtio-mmio ---

TEST(VirtioMmio, ProbeChecksMagicAndVersion)
{
    SimDevice device(2, feature::version_1, 16);
    {
        SimMmio window(device, 2);
        window.magic = 0x12345678;
        MmioTransport transport(window);
        EXPECT_EQ(transport.probe().error(), Error::NotFound);
    }
    {
        SimMmio window(device, 3);
        MmioTransport transport(window);
        EXPECT_EQ(transport.probe().error(), Error::Unsupported);
    }
    {
        SimMmio window(device, 2, 0x80);
        MmioTransport transport(window);
        EXPECT_EQ(transport.probe().error(), Error::InvalidArgument);
    }
    SimMmio window(device, 1);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    EXPECT_TRUE(transport.legacy());
    EXPECT_EQ(transport.device_type(), 2u);
}

TEST(VirtioMmio, Version2ProgramsQueueAddressesAndNotifies)
{
    SimDevice device(2, feature::version_1, 16, 2);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    ASSERT_TRUE(negotiate_features(transport, "t", 0));
    EXPECT_EQ(transport.queue_max_size(1), 256);
    EXPECT_EQ(transport.queue_max_size(2), 0);
    QueueAddresses addresses { 0x1234567000, 0x1234568000, 0x1234569000 };
    ASSERT_TRUE(transport.setup_queue(1, 64, addresses));
    EXPECT_EQ(device.queues[1].desc, addresses.descriptors);
    EXPECT_EQ(device.queues[1].avail, addresses.avail);
    EXPECT_EQ(device.queues[1].used, addresses.used);
    EXPECT_EQ(device.queues[1].size, 64);
    EXPECT_TRUE(device.queues[1].ready);
    EXPECT_EQ(transport.queue_max_size(1), 0); // in use now
    EXPECT_FALSE(transport.setup_queue(0, 512, addresses));

    int notified = -1;
    device.on_notify = [&](uint16_t queue) { notified = queue; };
    transport.notify(1);
    EXPECT_EQ(notified, 1);
    EXPECT_EQ(window.bad_accesses, 0);
}

TEST(VirtioMmio, Version1UsesPageFrameLayout)
{
    SimDevice device(2, feature_a, 16);
    SimMmio window(device, 1);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    auto negotiated = negotiate_features(transport, "t", feature_a);
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(*negotiated, feature_a);
    // Legacy: no FEATURES_OK step.
    EXPECT_EQ(device.status(), status::acknowledge | status::driver);

    MallocDma dma;
    Virtqueue queue;
    ASSERT_TRUE(queue.init(transport, dma, { "legacy", 0, 16, false, false, 0 }));
    EXPECT_TRUE(device.queues[0].ready);
    EXPECT_EQ(device.queues[0].size, 16);
    EXPECT_NE(device.queues[0].pfn, 0u);
    // The device derives the rings from the page frame; a round trip proves
    // both sides agree on the layout.
    uint8_t byte = 0;
    Virtqueue::Buffer buffer { reinterpret_cast<uint64_t>(&byte), 1, true };
    ASSERT_TRUE(queue.add({ &buffer, 1 }, &byte));
    queue.kick();
    auto chain = device.pop_avail(0);
    ASSERT_TRUE(chain);
    ASSERT_EQ(chain->writable.size(), 1u);
    EXPECT_EQ(chain->writable[0].data, &byte);
    device.push_used(0, chain->head, 1);
    size_t completions = queue.poll([&](const Virtqueue::Used& used) { EXPECT_EQ(used.token, &byte); });
    EXPECT_EQ(completions, 1u);
    EXPECT_TRUE(device.errors.empty());
    queue.release();

    QueueAddresses misaligned { 0x1000800, 0x1000900, 0x1002000 };
    EXPECT_EQ(transport.setup_queue(0, 16, misaligned).error(), Error::InvalidArgument);
}

TEST(VirtioMmio, InterruptStatusIsAcknowledged)
{
    SimDevice device(2, feature::version_1, 16);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    EXPECT_EQ(transport.acknowledge_interrupt(), 0u);
    device.raise_config_change();
    EXPECT_EQ(transport.acknowledge_interrupt(), interrupt::config_change);
    EXPECT_EQ(device.interrupt_status(), 0u);
}

TEST(VirtioMmio, ConfigurationReadsAndGenerationRetry)
{
    SimDevice device(2, feature::version_1, 16);
    fill_config(device);
    SimMmio window(device, 2);
    MmioTransport transport(window);
    ASSERT_TRUE(transport.probe());
    EXPECT_EQ(*transport.config_read8(1), 0x11);
    EXPECT_EQ(*transport.config_read16(2), 0x1312);
    EXPECT_EQ(*transport.config_read32(4), 0x17161514u);
    EXPECT_EQ(*transport.config_read64(8), 0x1f1e1d1c1b1a1918ull);
    transport.config_write32(0, 0xdeadbeef);
    EXPECT_EQ(*transport.config_read32(0), 0xdeadbeefu);

    device.generation_flaps = true;
    skiff::testing::clear_log();
    auto flapping = transport.config_read64(8);
    ASSERT_FALSE(flapping);
    EXPECT_EQ(flapping.error(), Error::DeviceBroken);
    EXPECT_TRUE(skiff::testing::log_contains("keeps changing its configuration generation"));
}

// --- virtio-pci ---

TEST(VirtioPci, DeviceTypeFromIds)
{
    SimDevice device(2, feature::version_1, 16);
    SimPci modern(device, {});
    EXPECT_EQ(pci_device_type(modern), 2u);
    SimPci::Options transitional_options;
    transitional_options.legacy = true;
    SimPci transitional(device, transitional_options);
    EXPECT_EQ(transitional.config_read16(pci::config::device_id), 0x1001);
    EXPECT_EQ(pci_device_type(transitional), 2u);
    modern.space[0] = 0x86; // another vendor
    EXPECT_FALSE(pci_device_type(modern));
}

TEST(VirtioPci, ModernTransportFindsCapabilitiesAndRunsAQueue)
{
    SimDevice device(2, feature::version_1 | feature_b, 16, 2);
    fill_config(device);
    SimPci::Options options;
    options.notify_off_base = 3;
    SimPci function(device, options);
    PciModernTransport transport(function);
    ASSERT_TRUE(transport.probe());
    EXPECT_EQ(transport.device_type(), 2u);
    EXPECT_FALSE(transport.legacy());
    EXPECT_TRUE(function.config_read16(pci::config::command) & pci::config::command_bus_master);
    auto negotiated = negotiate_features(transport, "t", feature_b);
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(*negotiated, feature::version_1 | feature_b);
    EXPECT_EQ(*transport.config_read32(4), 0x17161514u);
    EXPECT_EQ(*transport.config_read64(8), 0x1f1e1d1c1b1a1918ull);

    MallocDma dma;
    Virtqueue queue;
    ASSERT_TRUE(queue.init(transport, dma, { "pci", 1, 32, false, false, 0 }));
    EXPECT_TRUE(device.queues[1].ready);
    EXPECT_EQ(device.queues[1].size, 32);
    uint8_t byte = 0;
    Virtqueue::Buffer buffer { reinterpret_cast<uint64_t>(&byte), 1, true };
    ASSERT_TRUE(queue.add({ &buffer, 1 }, &byte));
    EXPECT_TRUE(queue.kick());
    EXPECT_EQ(device.notifications, 1);
    EXPECT_EQ(function.notifications_at_wrong_offset, 0);
    ASSERT_TRUE(device.pop_avail(1));
    queue.release();

    device.raise_config_change();
    EXPECT_EQ(transport.acknowledge_interrupt(), interrupt::config_change);
    EXPECT_EQ(transport.acknowledge_interrupt(), 0u); // reading the ISR cleared it

    device.generation_flaps = true;
    EXPECT_EQ(transport.config_read32(0).error(), Error::DeviceBroken);
}

TEST(VirtioPci, MsixVectorsAreProgrammedAndSurviveReset)
{
    SimDevice device(2, feature::version_1, 16);
    SimPci function(device, {});
    PciModernTransport transport(function);
    ASSERT_TRUE(transport.probe());
    // The device refuses vectors beyond its enabled table.
    skiff::testing::clear_log();
    EXPECT_EQ(transport.use_msix_vector(0).error(), Error::Unsupported);
    EXPECT_TRUE(skiff::testing::log_contains("refused MSI-X vector 0"));
    uint64_t address = 0xfee00000;
    uint32_t data = 0x41;
    ASSERT_TRUE(function.enable_msix(&address, &data, 1));
    ASSERT_TRUE(transport.use_msix_vector(0));
    ASSERT_TRUE(negotiate_features(transport, "t", 0)); // resets, then re-programs
    EXPECT_EQ(function.bar_read(4, SimPci::common_offset + pci_common::config_msix_vector, 2), 0u);
    MallocDma dma;
    Virtqueue queue;
    ASSERT_TRUE(queue.init(transport, dma, { "pci", 0, 8, false, false, 0 }));
    EXPECT_EQ(device.queues[0].msix_vector, 0);
    queue.release();
}

TEST(VirtioPci, NoModernCapabilitiesMeansNotFound)
{
    SimDevice device(2, 0, 16);
    SimPci::Options options;
    options.modern = false;
    options.legacy = true;
    options.msix = false;
    SimPci function(device, options);
    PciModernTransport transport(function);
    EXPECT_EQ(transport.probe().error(), Error::NotFound);
}

TEST(VirtioPci, IncompleteOrBrokenCapabilitiesAreRefused)
{
    SimDevice device(2, feature::version_1, 16);
    {
        SimPci function(device, {});
        function.space[0x50 + pci_cap::type] = 0; // NOTIFY gone
        PciModernTransport transport(function);
        skiff::testing::clear_log();
        EXPECT_EQ(transport.probe().error(), Error::Corrupt);
        EXPECT_TRUE(skiff::testing::log_contains("capabilities incomplete"));
    }
    {
        SimPci::Options options;
        options.notify_cap_short = true;
        SimPci function(device, options);
        PciModernTransport transport(function);
        EXPECT_EQ(transport.probe().error(), Error::Corrupt);
    }
    {
        SimPci function(device, {});
        function.config_write32(0x40 + pci_cap::region_length, 0x10000); // common beyond BAR 4
        PciModernTransport transport(function);
        skiff::testing::clear_log();
        EXPECT_EQ(transport.probe().error(), Error::OutOfRange);
        EXPECT_TRUE(skiff::testing::log_contains("cannot map the common region"));
    }
    {
        // A notify offset outside the notify region.
        SimPci::Options options;
        options.notify_off_base = 0x2000;
        SimPci function(device, options);
        PciModernTransport transport(function);
        ASSERT_TRUE(transport.probe());
        ASSERT_TRUE(negotiate_features(transport, "t", 0));
        MallocDma dma;
        Virtqueue queue;
        skiff::testing::clear_log();
        EXPECT_EQ(queue.init(transport, dma, { "pci", 0, 8, false, false, 0 }).error(), Error::Corrupt);
        EXPECT_TRUE(skiff::testing::log_contains("notify offset"));
        EXPECT_EQ(dma.live(), 0u);
    }
    {
        // A capability list that loops ends; the transport still works.
        SimPci::Options options;
        options.loop_capabilities = true;
        SimPci function(device, options);
        PciModernTransport transport(function);
        EXPECT_TRUE(transport.probe());
    }
}

TEST(VirtioPci, LegacyTransportUsesIoBarLayout)
{
    SimDevice device(2, feature_a, 0x20);
    fill_config(device);
    device.queues[0].max_size = 16;
    SimPci::Options options;
    options.modern = false;
    options.legacy = true;
    SimPci function(device, options);
    PciLegacyTransport transport(function);
    ASSERT_TRUE(transport.probe());
    EXPECT_TRUE(transport.legacy());
    EXPECT_TRUE(transport.queue_size_fixed());
    EXPECT_EQ(transport.device_type(), 2u);
    EXPECT_TRUE(function.config_read16(pci::config::command) & pci::config::command_io);
    auto negotiated = negotiate_features(transport, "t", feature_a);
    ASSERT_TRUE(negotiated);
    EXPECT_EQ(*negotiated, feature_a);
    EXPECT_EQ(device.driver_features, feature_a);
    EXPECT_EQ(*transport.config_read32(0), 0x13121110u);

    MallocDma dma;
    Virtqueue queue;
    // The size is the device's, whatever the driver asks for.
    ASSERT_TRUE(queue.init(transport, dma, { "legacy", 0, 256, false, false, 0 }));
    EXPECT_EQ(queue.size(), 16);
    EXPECT_TRUE(device.queues[0].ready);
    uint8_t byte = 0;
    Virtqueue::Buffer buffer { reinterpret_cast<uint64_t>(&byte), 1, true };
    ASSERT_TRUE(queue.add({ &buffer, 1 }, &byte));
    EXPECT_TRUE(queue.kick());
    auto chain = device.pop_avail(0);
    ASSERT_TRUE(chain);
    device.push_used(0, chain->head, 1);
    EXPECT_EQ(transport.acknowledge_interrupt(), interrupt::used_buffer);
    EXPECT_EQ(queue.poll([](const Virtqueue::Used&) {}), 1u);
    queue.release();

    // With MSI-X on, the device-specific configuration moves to 0x18.
    uint64_t address = 0xfee00000;
    uint32_t data = 0x41;
    ASSERT_TRUE(function.enable_msix(&address, &data, 1));
    ASSERT_TRUE(transport.use_msix_vector(0));
    EXPECT_EQ(*transport.config_read32(0), 0x13121110u);
    EXPECT_TRUE(device.errors.empty());
}

TEST(VirtioPci, LegacyQueueOfOddSizeIsRefused)
{
    SimDevice device(2, 0, 0x20);
    device.queues[0].max_size = 100;
    SimPci::Options options;
    options.modern = false;
    options.legacy = true;
    SimPci function(device, options);
    PciLegacyTransport transport(function);
    ASSERT_TRUE(transport.probe());
    ASSERT_TRUE(negotiate_features(transport, "t", 0));
    MallocDma dma;
    Virtqueue queue;
    EXPECT_EQ(queue.init(transport, dma, { "legacy", 0, 64, false, false, 0 }).error(), Error::Corrupt);
    EXPECT_EQ(dma.live(), 0u);
}
