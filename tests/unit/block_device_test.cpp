// The block API's checks (done once, before any driver sees a request), the
// synchronous wrappers and the device registry, with a fake device.
#include "block/block_device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace skiff;
using namespace skiff::block;

namespace {

// A RAM disk: completes in start() or, in poll mode, in poll().
class FakeDisk final : public BlockDevice {
public:
    FakeDisk(const char* name, uint64_t sectors, uint32_t sector_size, bool read_only = false, bool polled = false)
        : m_data(sectors * sector_size), m_polled(polled)
    {
        set_name(name);
        set_geometry(sectors, sector_size);
        set_read_only(read_only);
        Limits limits;
        limits.max_discard_sectors = 8;
        set_limits(limits);
    }

    bool interrupt_driven() const override { return !m_polled; }
    bool broken() const override { return m_broken; }
    size_t poll() override
    {
        size_t count = m_waiting.size();
        for (Request* request : m_waiting)
            finish(*request);
        m_waiting.clear();
        return count;
    }

    std::vector<uint8_t> m_data;
    std::vector<Request*> started;
    bool m_broken { false };

protected:
    void start(Request& request) override
    {
        started.push_back(&request);
        if (m_polled)
            m_waiting.push_back(&request);
        else
            finish(request);
    }

private:
    void finish(Request& request)
    {
        uint64_t offset = request.sector * sector_size();
        uint64_t bytes = uint64_t(request.count) * sector_size();
        if (request.operation == Operation::Read || request.operation == Operation::Write) {
            std::vector<Segment> segments(request.segments.begin(), request.segments.end());
            if (segments.empty())
                segments.push_back({ request.buffer, uint32_t(bytes) });
            for (const Segment& segment : segments) {
                if (request.operation == Operation::Read)
                    std::memcpy(segment.data, m_data.data() + offset, segment.length);
                else
                    std::memcpy(m_data.data() + offset, segment.data, segment.length);
                offset += segment.length;
            }
        }
        request.callback(request);
    }

    bool m_polled;
    std::vector<Request*> m_waiting;
};

int g_calls = 0;
void count_call(Request&) { ++g_calls; }

Request request_for(Operation operation, uint64_t sector, uint32_t count, void* buffer)
{
    Request request;
    request.operation = operation;
    request.sector = sector;
    request.count = count;
    request.buffer = buffer;
    request.callback = count_call;
    return request;
}

} // namespace

TEST(BlockDevice, RefusesBadRequestsWithoutCallingBack)
{
    FakeDisk disk("ram0", 100, 512);
    uint8_t buffer[1024];
    g_calls = 0;

    Request no_callback = request_for(Operation::Read, 0, 1, buffer);
    no_callback.callback = nullptr;
    EXPECT_EQ(disk.submit(no_callback).error(), Error::InvalidArgument);
    Request zero = request_for(Operation::Read, 0, 0, buffer);
    EXPECT_EQ(disk.submit(zero).error(), Error::InvalidArgument);
    Request no_buffer = request_for(Operation::Write, 0, 1, nullptr);
    EXPECT_EQ(disk.submit(no_buffer).error(), Error::InvalidArgument);
    Request past = request_for(Operation::Read, 99, 2, buffer);
    EXPECT_EQ(disk.submit(past).error(), Error::OutOfRange);
    Request at_end = request_for(Operation::Read, 100, 1, buffer);
    EXPECT_EQ(disk.submit(at_end).error(), Error::OutOfRange);
    Request wraps = request_for(Operation::Read, ~uint64_t(0) - 1, 4, buffer);
    EXPECT_EQ(disk.submit(wraps).error(), Error::OutOfRange);

    Segment odd[] = { { buffer, 512 }, { buffer + 512, 100 } };
    Request misaligned = request_for(Operation::Read, 0, 2, nullptr);
    misaligned.segments = odd;
    EXPECT_EQ(disk.submit(misaligned).error(), Error::InvalidArgument);
    Segment short_list[] = { { buffer, 512 } };
    Request mismatch = request_for(Operation::Read, 0, 2, nullptr);
    mismatch.segments = short_list;
    EXPECT_EQ(disk.submit(mismatch).error(), Error::InvalidArgument);
    Segment null_data[] = { { nullptr, 512 } };
    Request null_segment = request_for(Operation::Read, 0, 1, nullptr);
    null_segment.segments = null_data;
    EXPECT_EQ(disk.submit(null_segment).error(), Error::InvalidArgument);
    Request bad_operation = request_for(static_cast<Operation>(42), 0, 1, buffer);
    EXPECT_EQ(disk.submit(bad_operation).error(), Error::InvalidArgument);
    Request zeroes = request_for(Operation::WriteZeroes, 0, 1, nullptr);
    EXPECT_EQ(disk.submit(zeroes).error(), Error::Unsupported);
    Request discard_past = request_for(Operation::Discard, 95, 10, nullptr);
    EXPECT_EQ(disk.submit(discard_past).error(), Error::OutOfRange);

    disk.m_broken = true;
    Request fine = request_for(Operation::Read, 0, 1, buffer);
    EXPECT_EQ(disk.submit(fine).error(), Error::DeviceBroken);

    EXPECT_EQ(g_calls, 0);
    EXPECT_TRUE(disk.started.empty());
}

TEST(BlockDevice, ReadOnlyRefusesEveryKindOfWrite)
{
    FakeDisk disk("ram1", 100, 512, true);
    uint8_t buffer[512];
    g_calls = 0;
    EXPECT_FALSE(disk.supports(Operation::Write));
    Request write = request_for(Operation::Write, 0, 1, buffer);
    EXPECT_EQ(disk.submit(write).error(), Error::ReadOnly);
    Request discard = request_for(Operation::Discard, 0, 1, nullptr);
    EXPECT_EQ(disk.submit(discard).error(), Error::ReadOnly);
    Request zeroes = request_for(Operation::WriteZeroes, 0, 1, nullptr);
    EXPECT_EQ(disk.submit(zeroes).error(), Error::ReadOnly);
    EXPECT_EQ(g_calls, 0);
    Request read = request_for(Operation::Read, 0, 1, buffer);
    EXPECT_TRUE(disk.submit(read));
    Request flush = request_for(Operation::Flush, 12345, 0, nullptr);
    EXPECT_TRUE(disk.submit(flush));
    EXPECT_EQ(g_calls, 2);
}

TEST(BlockDevice, AcceptedRequestsStartCleanAndCallBackOnce)
{
    FakeDisk disk("ram2", 100, 4096);
    std::vector<uint8_t> buffer(8192, 0x5a);
    Request request = request_for(Operation::Write, 98, 2, buffer.data());
    request.error = Error::Io; // stale from an earlier use
    request.internal.parts_in_flight = 77;
    g_calls = 0;
    ASSERT_TRUE(disk.submit(request));
    EXPECT_EQ(g_calls, 1);
    EXPECT_FALSE(request.error);
    EXPECT_EQ(request.internal.parts_in_flight, 0u);
    EXPECT_EQ(disk.m_data[98 * 4096], 0x5a);
    EXPECT_EQ(disk.size_bytes(), 100u * 4096);
}

TEST(BlockDevice, SynchronousWrappers)
{
    for (bool polled : { false, true }) {
        FakeDisk disk("ram3", 64, 512, false, polled);
        std::vector<uint8_t> data(4 * 512);
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = uint8_t(i * 3);
        ASSERT_TRUE(write_sync(disk, 10, 4, data.data()));
        ASSERT_TRUE(flush_sync(disk));
        std::vector<uint8_t> back(4 * 512);
        ASSERT_TRUE(read_sync(disk, 10, 4, back.data()));
        EXPECT_EQ(back, data);
        EXPECT_EQ(read_sync(disk, 62, 4, back.data()).error(), Error::OutOfRange);
        EXPECT_EQ(disk.started.size(), 3u);
    }
}

TEST(BlockRegistry, RegistersFindsAndRefuses)
{
    std::vector<std::unique_ptr<FakeDisk>> disks;
    size_t before = device_count();
    FakeDisk a("vda_test", 1, 512), b("vdb_test", 1, 512), duplicate("vda_test", 1, 512);
    ASSERT_TRUE(register_device(a));
    ASSERT_TRUE(register_device(b));
    EXPECT_EQ(register_device(duplicate).error(), Error::Exists);
    EXPECT_EQ(device_count(), before + 2);
    EXPECT_EQ(find("vda_test"), &a);
    EXPECT_EQ(find("vdb_test"), &b);
    EXPECT_EQ(find("vdc_test"), nullptr);
    EXPECT_EQ(device(before), &a);
    EXPECT_EQ(device(before + 1), &b);
    EXPECT_EQ(device(before + 2), nullptr);

    std::vector<std::string> names;
    for (size_t i = device_count(); i < max_devices; ++i) {
        names.push_back("fill" + std::to_string(i));
        disks.push_back(std::make_unique<FakeDisk>(names.back().c_str(), 1, 512));
        ASSERT_TRUE(register_device(*disks.back()));
    }
    FakeDisk extra("extra", 1, 512);
    EXPECT_EQ(register_device(extra).error(), Error::Full);

    unregister_device(a);
    EXPECT_EQ(find("vda_test"), nullptr);
    EXPECT_EQ(device(before), &b);
    ASSERT_TRUE(register_device(extra));
    for (auto& disk : disks)
        unregister_device(*disk);
    unregister_device(b);
    unregister_device(extra);
    EXPECT_EQ(device_count(), before);
}

// The prober runs before every lookup (it probes once itself) and may
// register devices; lookups then see them.
FakeDisk* g_probed_disk = nullptr;
int g_probe_calls = 0;
void probe_for_test()
{
    if (g_probe_calls++ == 0)
        ASSERT_TRUE(register_device(*g_probed_disk));
}

TEST(BlockRegistry, LookupsRunTheProberFirst)
{
    FakeDisk probed("probed_test", 1, 512);
    g_probed_disk = &probed;
    g_probe_calls = 0;
    set_prober(probe_for_test);
    EXPECT_EQ(find("probed_test"), &probed); // registered by the first lookup's probe
    EXPECT_EQ(g_probe_calls, 1);
    size_t count = device_count();
    EXPECT_EQ(device(count - 1), &probed);
    EXPECT_EQ(g_probe_calls, 3);
    set_prober(nullptr);
    unregister_device(probed);
    EXPECT_EQ(find("probed_test"), nullptr);
    EXPECT_EQ(g_probe_calls, 3);
}
