// The block device API: what applications and file systems use to reach a
// disk, whatever driver is behind it.
//
// Requests are asynchronous and caller-owned (no allocation per request):
// fill in a Request, submit() it, and its callback runs once the device has
// finished it. Many requests may be in flight; a driver queues what does not
// fit its rings and splits requests larger than its limits, completing the
// caller's request once, when every part is done (the first error wins).
//
// submit() checks the request before any device sees it. A refused request
// returns the error from submit() and its callback is never called:
//   InvalidArgument  no callback, zero count, no buffer, segments that are not
//                    whole sectors or do not add up to count sectors
//   OutOfRange       sector + count beyond the capacity
//   ReadOnly         a write, discard or write-zeroes on a read-only device
//   Unsupported      discard or write-zeroes the device does not offer
//   DeviceBroken     the device has been found broken
// Otherwise the callback is called exactly once with request.error set (no
// value: success; Io: the device reported an error; Unsupported: the device
// refused the operation; DeviceBroken: the device broke while it was in
// flight). It may run in interrupt context (it must not block) and may run
// before submit() returns. A write completes only after the device said it
// is done; Flush completes once everything completed before it is durable.
#pragma once

#include "lib/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace skiff::block {

enum class Operation : uint8_t { Read, Write, Flush, Discard, WriteZeroes };
const char* operation_name(Operation operation);

struct Segment {
    void* data;
    uint32_t length; // a multiple of the sector size
};

struct Request;
using Callback = void (*)(Request& request);

struct Request {
    Operation operation { Operation::Read };
    uint64_t sector { 0 }; // in units of the device's sector_size(); ignored by Flush
    uint32_t count { 0 };  // sectors; ignored by Flush
    // Read/Write data: `segments` if not empty, else `buffer` holding
    // count * sector_size() bytes. Unused by Flush, Discard, WriteZeroes.
    void* buffer { nullptr };
    std::span<const Segment> segments {};
    Callback callback { nullptr };
    void* context { nullptr };
    // The outcome, valid when the callback runs.
    std::optional<Error> error;

    Result<void> result() const
    {
        if (error)
            return *error;
        return ok();
    }

    // Owned by the device from submit() until the callback.
    struct Internal {
        Request* next;
        uint64_t done_bytes;     // bytes handed to the device so far
        uint32_t segment;        // where the next part starts
        uint64_t segment_offset;
        uint32_t parts_in_flight;
        bool dispatched;         // no more parts to send
    } internal {};
};

// Per device request; larger submissions are split by the driver, so these
// matter only for efficiency.
struct Limits {
    uint32_t max_segments { 1 };
    uint32_t max_segment_bytes { 0 };
    uint32_t max_request_bytes { 0 };
    uint32_t max_discard_sectors { 0 };      // device sectors; 0: no discard
    uint32_t max_write_zeroes_sectors { 0 }; // device sectors; 0: no write-zeroes
};

class BlockDevice {
public:
    static constexpr size_t max_name = 15;

    std::string_view name() const { return m_name; }
    uint64_t capacity() const { return m_capacity; } // sectors
    uint32_t sector_size() const { return m_sector_size; }
    uint64_t size_bytes() const { return m_capacity * m_sector_size; }
    bool read_only() const { return m_read_only; }
    const Limits& limits() const { return m_limits; }
    bool supports(Operation operation) const;

    // See the top of this file for what is refused and how completion works.
    Result<void> submit(Request& request);

    // Whether completions arrive by interrupt. When not, someone must call
    // poll() for requests to complete (the synchronous wrappers do).
    virtual bool interrupt_driven() const = 0;
    // Processes whatever the device has completed, running callbacks.
    // Returns the number of device completions seen. Safe in either mode.
    virtual size_t poll() = 0;
    virtual bool broken() const = 0;

protected:
    BlockDevice() = default;
    ~BlockDevice() = default;
    BlockDevice(const BlockDevice&) = delete;
    BlockDevice& operator=(const BlockDevice&) = delete;

    // Called with a request submit() accepted (error cleared, internal zeroed).
    virtual void start(Request& request) = 0;

    void set_name(std::string_view name);
    void set_geometry(uint64_t capacity, uint32_t sector_size) { m_capacity = capacity, m_sector_size = sector_size; }
    void set_read_only(bool read_only) { m_read_only = read_only; }
    void set_limits(const Limits& limits) { m_limits = limits; }

private:
    Result<void> check(const Request& request) const;

    char m_name[max_name + 1] {};
    uint64_t m_capacity { 0 };
    uint32_t m_sector_size { 512 };
    bool m_read_only { false };
    Limits m_limits {};
};

// Synchronous wrappers: submit, then sleep the calling thread until the
// callback ran (or poll, for a device without interrupts). Not from
// interrupt context.
Result<void> submit_sync(BlockDevice& device, Request& request);
Result<void> read_sync(BlockDevice& device, uint64_t sector, uint32_t count, void* buffer);
Result<void> write_sync(BlockDevice& device, uint64_t sector, uint32_t count, const void* buffer);
Result<void> flush_sync(BlockDevice& device);

// The registry of block devices, filled by drivers as they find disks.
constexpr size_t max_devices = 16;
// Exists if the name is taken, Full beyond max_devices.
Result<void> register_device(BlockDevice& device);
void unregister_device(BlockDevice& device);

// Buses are probed when something first looks for a device, not at boot: an
// application that uses no disk never pays for the scans. The kernel installs
// `probe`, which must be safe to call from any thread, any number of times
// (it probes once; a caller arriving meanwhile waits for it to finish).
void set_prober(void (*probe)());

// Lookups (they run the prober first).
size_t device_count();
BlockDevice* device(size_t index); // registration order; nullptr past the end
BlockDevice* find(std::string_view name);

} // namespace skiff::block
