#include "drivers/virtio/virtio_blk.h"

#include "drivers/virtio/virtio_spec.h"
#include "lib/log.h"

#include <algorithm>
#include <bit>

namespace skiff::virtio {

namespace {

using block::Operation;
using block::Request;

// Sizes beyond this are not a disk but a lie (and would overflow byte counts).
constexpr uint64_t max_capacity_sectors = 1ull << 54;

std::atomic<unsigned> g_next_name { 0 };

// vda ... vdz, vdaa ... vdzz (as Linux names them).
void make_name(unsigned index, char (&out)[8])
{
    out[0] = 'v';
    out[1] = 'd';
    if (index < 26) {
        out[2] = char('a' + index);
        out[3] = '\0';
    } else {
        index = std::min(index - 26, 26u * 26u - 1);
        out[2] = char('a' + index / 26);
        out[3] = char('a' + index % 26);
        out[4] = '\0';
    }
}

// The data of a Read/Write request as (address, length) pairs: its scatter
// list, or the one buffer.
struct DataSegment {
    uint8_t* data;
    uint64_t length;
};
DataSegment data_segment(const Request& request, uint32_t index, uint32_t sector_size)
{
    if (request.segments.empty())
        return { static_cast<uint8_t*>(request.buffer), uint64_t(request.count) * sector_size };
    const block::Segment& segment = request.segments[index];
    return { static_cast<uint8_t*>(segment.data), segment.length };
}
uint32_t data_segment_count(const Request& request) { return request.segments.empty() ? 1 : uint32_t(request.segments.size()); }

} // namespace

void VirtioBlk::DoneList::push(Request& request)
{
    request.internal.next = nullptr;
    if (tail)
        tail->internal.next = &request;
    else
        head = &request;
    tail = &request;
}

Result<void> VirtioBlk::init(const Options& options)
{
    if (options.name) {
        set_name(options.name);
    } else {
        char generated[8];
        make_name(g_next_name.fetch_add(1, std::memory_order_relaxed), generated);
        set_name(generated);
    }
    const char* who = name().data();
    m_poll_mode = options.poll_mode;
    m_watchdog = options.poll_mode ? Watchdog {} : options.watchdog;

    uint64_t wanted = blk::feature::size_max | blk::feature::seg_max | blk::feature::read_only | blk::feature::blk_size
        | blk::feature::flush | blk::feature::discard | blk::feature::write_zeroes | feature::event_idx | feature::indirect_desc;
    m_features = TRY(negotiate_features(m_transport, who, wanted));
    m_has_flush = m_features & blk::feature::flush;

    Virtqueue::Config queue_config { who, 0, options.queue_size, bool(m_features & feature::event_idx),
        bool(m_features & feature::indirect_desc), uint16_t(max_part_segments + 2) };
    if (auto result = m_queue.init(m_transport, m_dma, queue_config); result.is_error()) {
        fail_device(m_transport, who, "cannot set up the request queue");
        return result.error();
    }
    if (m_queue.size() < 4) {
        m_queue.release();
        fail_device(m_transport, who, "the request queue is too small");
        return Error::Unsupported;
    }
    if (auto result = read_configuration(); result.is_error()) {
        m_queue.release();
        fail_device(m_transport, who, "unusable device configuration");
        return result.error();
    }

    m_slot_count = m_queue.size();
    auto slots = m_dma.allocate(size_t(m_slot_count) * sizeof(SlotDma), alignof(SlotDma));
    auto state = m_dma.allocate(size_t(m_slot_count) * sizeof(Slot), alignof(Slot));
    if (slots.is_error() || state.is_error()) {
        if (slots)
            m_dma.release(*slots);
        if (state)
            m_dma.release(*state);
        m_queue.release();
        fail_device(m_transport, who, "out of memory for the request pool");
        return Error::OutOfMemory;
    }
    m_slot_region = *slots;
    m_slot_state = *state;
    m_slot_dma = static_cast<SlotDma*>(m_slot_region.cpu);
    m_slots = static_cast<Slot*>(m_slot_state.cpu);
    for (uint32_t i = 0; i < m_slot_count; ++i)
        m_slots[i] = { nullptr, i + 1 };
    m_free_slot = 0;
    m_free_slots = m_slot_count;

    if (m_poll_mode)
        m_queue.disable_interrupts();
    set_driver_ok(m_transport);
    m_ready.store(true, std::memory_order_release);
    log::info("{}: virtio-blk over {}: {} sectors of {} bytes{}{}, queue {}{}{}", who, m_transport.kind(), capacity(), sector_size(),
        read_only() ? ", read-only" : "", m_has_flush ? ", write cache" : "", m_queue.size(), m_queue.uses_indirect() ? ", indirect" : "",
        (m_features & feature::event_idx) ? ", event-idx" : "");
    return ok();
}

Result<void> VirtioBlk::read_configuration()
{
    const char* who = name().data();
    uint64_t capacity = TRY(m_transport.config_read64(blk::config::capacity));
    uint32_t sector_size = blk::protocol_sector;
    if (m_features & blk::feature::blk_size) {
        uint32_t size = TRY(m_transport.config_read32(blk::config::blk_size));
        if (std::has_single_bit(size) && size >= blk::protocol_sector && size <= 65536)
            sector_size = size;
        else
            log::warn("{}: ignoring block size {}; using 512", who, size);
    }
    m_sectors_per_block = sector_size / blk::protocol_sector;
    if (capacity > max_capacity_sectors) {
        log::error("{}: capacity of {} sectors is not plausible", who, capacity);
        return Error::Corrupt;
    }
    set_geometry(capacity / m_sectors_per_block, sector_size);
    set_read_only(m_features & blk::feature::read_only);

    block::Limits limits;
    // Without indirect descriptors a part takes segments + 2 ring entries.
    uint32_t segments = max_part_segments;
    if (!m_queue.uses_indirect())
        segments = std::min<uint32_t>(segments, m_queue.size() - 2u);
    if (m_features & blk::feature::seg_max) {
        uint32_t seg_max = TRY(m_transport.config_read32(blk::config::seg_max));
        if (seg_max == 0) {
            log::warn("{}: device reports seg_max 0; using 1", who);
            seg_max = 1;
        }
        segments = std::min(segments, seg_max);
    }
    uint32_t segment_bytes = max_part_bytes;
    if (m_features & blk::feature::size_max) {
        uint32_t size_max = TRY(m_transport.config_read32(blk::config::size_max));
        segment_bytes = std::min(segment_bytes, size_max);
    }
    segment_bytes -= segment_bytes % sector_size;
    if (segment_bytes == 0) {
        log::warn("{}: device limits segments to less than one sector; using one sector", who);
        segment_bytes = sector_size;
    }
    limits.max_segments = segments;
    limits.max_segment_bytes = segment_bytes;
    limits.max_request_bytes = uint32_t(std::min<uint64_t>(max_part_bytes, uint64_t(segments) * segment_bytes));
    limits.max_request_bytes -= limits.max_request_bytes % sector_size;

    auto range_limit = [&](uint64_t bit, uint32_t offset, const char* what) -> Result<uint32_t> {
        if (!(m_features & bit))
            return 0u;
        uint32_t sectors = TRY(m_transport.config_read32(offset));
        // 0 means the device set no limit; bound parts by 32-bit sector counts.
        uint32_t blocks = (sectors ? sectors : 0xffffffffu) / m_sectors_per_block;
        if (blocks == 0)
            log::warn("{}: {} limit of {} sectors is below one block; not using {}", who, what, sectors, what);
        return blocks;
    };
    limits.max_discard_sectors = TRY(range_limit(blk::feature::discard, blk::config::max_discard_sectors, "discard"));
    limits.max_write_zeroes_sectors = TRY(range_limit(blk::feature::write_zeroes, blk::config::max_write_zeroes_sectors, "write-zeroes"));
    set_limits(limits);
    return ok();
}

void VirtioBlk::start(Request& request)
{
    if (request.operation == Operation::Flush && !m_has_flush) {
        // No FLUSH feature: the device has no volatile cache, so whatever
        // completed is durable already.
        request.callback(request);
        return;
    }
    DoneList done;
    bool arm_watchdog = false;
    {
        LockGuard guard(m_lock);
        request.internal.next = nullptr;
        if (m_pending_tail)
            m_pending_tail->internal.next = &request;
        else
            m_pending_head = &request;
        m_pending_tail = &request;
        pump(done);
        if (m_watchdog.arm && !m_watchdog_armed && m_queue.chains_in_flight() > 0) {
            m_watchdog_armed = true;
            m_completed_at_tick = m_completions.load(std::memory_order_relaxed);
            arm_watchdog = true;
        }
    }
    if (arm_watchdog)
        m_watchdog.arm(m_watchdog.context);
    run_callbacks(done.head);
}

bool VirtioBlk::check_progress()
{
    DoneList done;
    size_t recovered = 0;
    bool again;
    {
        LockGuard guard(m_lock);
        uint64_t completed = m_completions.load(std::memory_order_relaxed);
        if (m_queue.chains_in_flight() > 0 && completed == m_completed_at_tick && !m_queue.broken()) {
            // Nothing moved for a whole period: the device may have missed
            // our kick, or we its interrupt. Both are harmless to repeat.
            m_queue.notify_device();
            recovered = m_queue.poll([&](const Virtqueue::Used& used) { complete_part(used, done); });
            pump(done);
        }
        m_completed_at_tick = m_completions.load(std::memory_order_relaxed);
        again = m_queue.chains_in_flight() > 0;
        m_watchdog_armed = again;
    }
    if (recovered) {
        m_recovered.fetch_add(recovered, std::memory_order_relaxed);
        if (!m_lost_notification_logged) {
            m_lost_notification_logged = true;
            log::warn("{}: {} completion(s) were waiting without an interrupt; recovered by polling (logged once)", name(), recovered);
        }
    }
    run_callbacks(done.head);
    return again;
}

VirtioBlk::Statistics VirtioBlk::statistics() const
{
    return { m_interrupts.load(std::memory_order_relaxed), m_completions.load(std::memory_order_relaxed),
        m_recovered.load(std::memory_order_relaxed) };
}

void VirtioBlk::pump(DoneList& done)
{
    bool added = false;
    while (m_pending_head) {
        Request& request = *m_pending_head;
        if (m_queue.broken()) {
            if (!request.error)
                request.error = Error::DeviceBroken;
            request.internal.dispatched = true;
        } else if (request.error) {
            // A part failed: the rest is not worth sending.
            request.internal.dispatched = true;
        }
        if (!request.internal.dispatched) {
            Dispatch result = dispatch_part(request);
            if (result == Dispatch::NoRoom)
                break;
            added |= result == Dispatch::Added;
            continue;
        }
        m_pending_head = request.internal.next;
        if (!m_pending_head)
            m_pending_tail = nullptr;
        if (request.internal.parts_in_flight == 0)
            done.push(request);
    }
    if (m_queue.broken() && !broken())
        break_device(nullptr);
    if (added)
        m_queue.kick();
}

VirtioBlk::Dispatch VirtioBlk::dispatch_part(Request& request)
{
    if (m_free_slots == 0)
        return Dispatch::NoRoom;
    uint32_t slot_index = m_free_slot;
    SlotDma& slot = m_slot_dma[slot_index];
    uint64_t slot_device = m_slot_region.device + uint64_t(slot_index) * sizeof(SlotDma);
    Request::Internal& progress = request.internal;
    Request::Internal next = progress;
    size_t count = 0;
    m_scratch[count++] = { slot_device + offsetof(SlotDma, header), sizeof(blk::RequestHeader), false };

    uint32_t sector_size = this->sector_size();
    uint64_t total_bytes = uint64_t(request.count) * sector_size;
    uint64_t first_sector = request.sector * m_sectors_per_block + progress.done_bytes / blk::protocol_sector;
    switch (request.operation) {
    case Operation::Read:
    case Operation::Write: {
        bool device_writes = request.operation == Operation::Read;
        const block::Limits& limit = limits();
        uint64_t part_bytes = 0;
        uint32_t segments = data_segment_count(request);
        while (next.segment < segments && count - 1 < limit.max_segments && part_bytes < limit.max_request_bytes) {
            DataSegment segment = data_segment(request, next.segment, sector_size);
            uint64_t take = std::min<uint64_t>({ segment.length - next.segment_offset, limit.max_segment_bytes,
                limit.max_request_bytes - part_bytes });
            uint64_t address = m_dma.device_address(segment.data + next.segment_offset);
            m_scratch[count++] = { address, uint32_t(take), device_writes };
            part_bytes += take;
            next.segment_offset += take;
            if (next.segment_offset == segment.length) {
                ++next.segment;
                next.segment_offset = 0;
            }
        }
        next.done_bytes += part_bytes;
        slot.header = { device_writes ? blk::request_type::in : blk::request_type::out, 0, first_sector };
        break;
    }
    case Operation::Discard:
    case Operation::WriteZeroes: {
        bool discard = request.operation == Operation::Discard;
        uint64_t limit_bytes = uint64_t(discard ? limits().max_discard_sectors : limits().max_write_zeroes_sectors) * sector_size;
        uint64_t part_bytes = std::min(total_bytes - progress.done_bytes, limit_bytes);
        slot.range = { first_sector, uint32_t(part_bytes / blk::protocol_sector), 0 };
        m_scratch[count++] = { slot_device + offsetof(SlotDma, range), sizeof(blk::RangeSegment), false };
        next.done_bytes += part_bytes;
        slot.header = { discard ? blk::request_type::discard : blk::request_type::write_zeroes, 0, 0 };
        break;
    }
    case Operation::Flush:
        next.done_bytes = total_bytes = 0;
        slot.header = { blk::request_type::flush, 0, 0 };
        break;
    }
    slot.status = 0xff;
    m_scratch[count++] = { slot_device + offsetof(SlotDma, status), 1, true };

    Result<void> added = m_queue.add({ m_scratch.data(), count }, &m_slots[slot_index]);
    if (added.is_error()) {
        if (added.error() == Error::Full)
            return Dispatch::NoRoom;
        log::error("{}: cannot queue a {} request: {}", name(), block::operation_name(request.operation), error_name(added.error()));
        if (!request.error)
            request.error = added.error();
        progress.dispatched = true;
        return Dispatch::Failed;
    }
    m_free_slot = m_slots[slot_index].next_free;
    --m_free_slots;
    m_slots[slot_index].request = &request;
    next.parts_in_flight = progress.parts_in_flight + 1;
    next.dispatched = next.done_bytes >= total_bytes;
    progress = next;
    return Dispatch::Added;
}

void VirtioBlk::complete_part(const Virtqueue::Used& used, DoneList& done)
{
    Slot& slot = *static_cast<Slot*>(used.token);
    uint32_t slot_index = uint32_t(&slot - m_slots);
    Request& request = *slot.request;
    std::optional<Error> error = used.error;
    if (!error) {
        uint8_t status = *static_cast<volatile uint8_t*>(&m_slot_dma[slot_index].status);
        if (status == blk::request_status::io_error) {
            error = Error::Io;
        } else if (status == blk::request_status::unsupported) {
            error = Error::Unsupported;
        } else if (status != blk::request_status::ok) {
            if (!m_unknown_status_logged)
                log::error("{}: device returned request status {:#x}; treating it as an I/O error", name(), status);
            m_unknown_status_logged = true;
            error = Error::Io;
        }
    }
    if (error && !request.error)
        request.error = error;
    slot.request = nullptr;
    slot.next_free = m_free_slot;
    m_free_slot = slot_index;
    ++m_free_slots;
    m_completions.fetch_add(1, std::memory_order_relaxed);
    if (--request.internal.parts_in_flight == 0 && request.internal.dispatched)
        done.push(request);
}

size_t VirtioBlk::drain()
{
    if (!m_ready.load(std::memory_order_acquire))
        return 0;
    DoneList done;
    size_t completed;
    {
        LockGuard guard(m_lock);
        completed = m_queue.poll([&](const Virtqueue::Used& used) { complete_part(used, done); });
        pump(done);
    }
    run_callbacks(done.head);
    return completed;
}

void VirtioBlk::run_callbacks(Request* list)
{
    while (list) {
        Request* next = list->internal.next;
        list->internal.next = nullptr;
        // The callback may reuse or free the request: touch it no more.
        list->callback(*list);
        list = next;
    }
}

void VirtioBlk::handle_interrupt()
{
    uint32_t causes = m_transport.acknowledge_interrupt();
    m_interrupts.fetch_add(1, std::memory_order_relaxed);
    if (!m_ready.load(std::memory_order_acquire))
        return;
    if (causes & interrupt::config_change)
        configuration_changed();
    drain();
}

void VirtioBlk::configuration_changed()
{
    if (m_transport.status() & status::device_needs_reset) {
        break_device("device needs a reset");
        return;
    }
    auto capacity = m_transport.config_read64(blk::config::capacity);
    if (capacity.is_error() || *capacity > max_capacity_sectors)
        return;
    LockGuard guard(m_lock);
    uint64_t blocks = *capacity / m_sectors_per_block;
    if (blocks != this->capacity()) {
        log::info("{}: capacity changed from {} to {} sectors", name(), this->capacity(), blocks);
        set_geometry(blocks, sector_size());
    }
}

void VirtioBlk::break_device(const char* why)
{
    if (why) {
        LockGuard guard(m_lock);
        m_queue.mark_broken(why);
    }
    if (!m_broken.exchange(true))
        m_transport.set_status(uint8_t(m_transport.status() | status::failed));
    if (why)
        drain();
}

} // namespace skiff::virtio
