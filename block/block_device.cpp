#include "block/block_device.h"

#include "kernel/sync/completion.h"
#include "lib/spinlock.h"

#include <algorithm>

namespace skiff::block {

const char* operation_name(Operation operation)
{
    switch (operation) {
    case Operation::Read: return "read";
    case Operation::Write: return "write";
    case Operation::Flush: return "flush";
    case Operation::Discard: return "discard";
    case Operation::WriteZeroes: return "write-zeroes";
    }
    return "unknown";
}

bool BlockDevice::supports(Operation operation) const
{
    switch (operation) {
    case Operation::Read:
    case Operation::Flush: return true;
    case Operation::Write: return !m_read_only;
    case Operation::Discard: return !m_read_only && m_limits.max_discard_sectors != 0;
    case Operation::WriteZeroes: return !m_read_only && m_limits.max_write_zeroes_sectors != 0;
    }
    return false;
}

void BlockDevice::set_name(std::string_view name)
{
    size_t length = std::min(name.size(), max_name);
    std::copy_n(name.data(), length, m_name);
    m_name[length] = '\0';
}

Result<void> BlockDevice::check(const Request& request) const
{
    if (!request.callback)
        return Error::InvalidArgument;
    if (broken())
        return Error::DeviceBroken;
    Operation operation = request.operation;
    if (operation == Operation::Flush)
        return ok();
    if (operation != Operation::Read && operation != Operation::Write && operation != Operation::Discard
        && operation != Operation::WriteZeroes)
        return Error::InvalidArgument;
    if (operation != Operation::Read && m_read_only)
        return Error::ReadOnly;
    if (!supports(operation))
        return Error::Unsupported;
    if (request.count == 0)
        return Error::InvalidArgument;
    if (request.sector >= m_capacity || request.count > m_capacity - request.sector)
        return Error::OutOfRange;
    if (operation == Operation::Discard || operation == Operation::WriteZeroes)
        return ok();

    uint64_t bytes = uint64_t(request.count) * m_sector_size;
    if (request.segments.empty())
        return request.buffer ? ok() : Result<void>(Error::InvalidArgument);
    uint64_t total = 0;
    for (const Segment& segment : request.segments) {
        if (!segment.data || segment.length == 0 || segment.length % m_sector_size != 0)
            return Error::InvalidArgument;
        total += segment.length;
    }
    return total == bytes ? ok() : Result<void>(Error::InvalidArgument);
}

Result<void> BlockDevice::submit(Request& request)
{
    TRY(check(request));
    request.error = std::nullopt;
    request.internal = {};
    start(request);
    return ok();
}

namespace {

void wake(Request& request) { static_cast<Completion*>(request.context)->complete(); }

} // namespace

Result<void> submit_sync(BlockDevice& device, Request& request)
{
    Completion done;
    request.callback = wake;
    request.context = &done;
    TRY(device.submit(request));
    if (device.interrupt_driven()) {
        done.wait();
    } else {
        while (!done.is_complete()) {
            if (device.poll() == 0)
                cpu_hooks::relax();
        }
    }
    return request.result();
}

Result<void> read_sync(BlockDevice& device, uint64_t sector, uint32_t count, void* buffer)
{
    Request request;
    request.operation = Operation::Read;
    request.sector = sector;
    request.count = count;
    request.buffer = buffer;
    return submit_sync(device, request);
}

Result<void> write_sync(BlockDevice& device, uint64_t sector, uint32_t count, const void* buffer)
{
    Request request;
    request.operation = Operation::Write;
    request.sector = sector;
    request.count = count;
    // The device only reads a write's buffer.
    request.buffer = const_cast<void*>(buffer);
    return submit_sync(device, request);
}

Result<void> flush_sync(BlockDevice& device)
{
    Request request;
    request.operation = Operation::Flush;
    return submit_sync(device, request);
}

} // namespace skiff::block
