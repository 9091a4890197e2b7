#include "drivers/virtio/virtqueue.h"

#include "lib/log.h"

#include <atomic>
#include <bit>

namespace skiff::virtio {

namespace {

// Shared 16-bit fields (indices, flags, events) are read and written whole
// and exactly once per use; atomic_ref keeps the compiler from tearing,
// caching or repeating those accesses.
uint16_t load(uint16_t* field) { return std::atomic_ref<uint16_t>(*field).load(std::memory_order_acquire); }
void store(uint16_t* field, uint16_t value) { std::atomic_ref<uint16_t>(*field).store(value, std::memory_order_release); }

} // namespace

Result<void> Virtqueue::init(Transport& transport, DmaProvider& dma, const Config& config)
{
    m_transport = &transport;
    m_dma = &dma;
    m_name = config.name ? config.name : "virtqueue";
    m_index = config.index;

    uint16_t device_max = transport.queue_max_size(config.index);
    if (device_max == 0) {
        log::error("{}: the device has no queue {}", m_name, config.index);
        return Error::NotFound;
    }
    uint32_t size;
    if (transport.queue_size_fixed()) {
        size = device_max;
        if (!std::has_single_bit(size)) {
            log::error("{}: queue {} has {} entries, not a power of two", m_name, config.index, size);
            return Error::Corrupt;
        }
    } else {
        uint32_t wanted = config.max_size < device_max ? config.max_size : device_max;
        size = wanted == 0 ? 0 : std::bit_floor(wanted);
        if (size == 0) {
            log::error("{}: queue {} cannot have {} entries", m_name, config.index, wanted);
            return Error::InvalidArgument;
        }
    }
    m_size = uint16_t(size);
    m_mask = uint16_t(size - 1);
    m_event_idx = config.event_idx;
    m_indirect_capacity = config.indirect ? config.indirect_capacity : 0;

    RingLayout layout = ring_layout(size);
    m_ring = TRY(dma.allocate(layout.total, legacy_queue_align));
    auto* base = static_cast<uint8_t*>(m_ring.cpu);
    m_descriptors = reinterpret_cast<Descriptor*>(base + layout.descriptors);
    m_avail_flags = reinterpret_cast<uint16_t*>(base + layout.avail);
    m_avail_index = m_avail_flags + 1;
    m_avail_ring = m_avail_flags + 2;
    m_used_event = m_avail_ring + size;
    m_used_flags = reinterpret_cast<uint16_t*>(base + layout.used);
    m_used_index = m_used_flags + 1;
    m_used_ring = reinterpret_cast<UsedElement*>(m_used_flags + 2);
    m_avail_event = reinterpret_cast<uint16_t*>(m_used_ring + size);

    if (m_indirect_capacity) {
        auto region = dma.allocate(size_t(size) * m_indirect_capacity * sizeof(Descriptor), 16);
        if (region.is_error()) {
            release();
            return region.error();
        }
        m_indirect_region = *region;
        m_indirect_tables = static_cast<Descriptor*>(m_indirect_region.cpu);
        m_indirect_device = m_indirect_region.device;
    }
    auto state = dma.allocate(size_t(size) * (sizeof(Head) + sizeof(uint16_t)), alignof(Head));
    if (state.is_error()) {
        release();
        return state.error();
    }
    m_private = *state;
    m_heads = static_cast<Head*>(m_private.cpu);
    m_next = reinterpret_cast<uint16_t*>(m_heads + size);
    for (uint32_t i = 0; i < size; ++i) {
        m_heads[i] = {};
        m_next[i] = uint16_t((i + 1) & m_mask);
    }
    m_free_head = 0;
    m_free_count = m_size;
    m_in_flight = 0;
    m_avail_shadow = 0;
    m_added_since_kick = 0;
    m_last_used = 0;
    m_fail_cursor = 0;
    m_broken = false;
    m_interrupts_wanted = true;

    QueueAddresses addresses { m_ring.device + layout.descriptors, m_ring.device + layout.avail, m_ring.device + layout.used };
    if (auto result = transport.setup_queue(config.index, m_size, addresses); result.is_error()) {
        release();
        return result.error();
    }
    return ok();
}

void Virtqueue::release()
{
    if (m_dma) {
        if (m_ring.cpu)
            m_dma->release(m_ring);
        if (m_indirect_region.cpu)
            m_dma->release(m_indirect_region);
        if (m_private.cpu)
            m_dma->release(m_private);
    }
    m_ring = {};
    m_indirect_region = {};
    m_private = {};
    m_heads = nullptr;
    m_next = nullptr;
    m_indirect_tables = nullptr;
    m_free_count = 0;
    m_in_flight = 0;
    m_size = 0;
    m_broken = true;
}

bool Virtqueue::can_add(size_t count) const
{
    if (m_broken || count == 0)
        return false;
    if (m_indirect_capacity && count > 1 && count <= m_indirect_capacity)
        return m_free_count >= 1;
    return count <= m_free_count;
}

Result<void> Virtqueue::add(std::span<const Buffer> buffers, void* token)
{
    if (m_broken)
        return Error::DeviceBroken;
    size_t count = buffers.size();
    if (count == 0 || count > max_buffers())
        return Error::InvalidArgument;
    uint64_t writable = 0;
    bool seen_writable = false;
    for (const Buffer& buffer : buffers) {
        if (buffer.length == 0 || (seen_writable && !buffer.device_writes))
            return Error::InvalidArgument;
        seen_writable |= buffer.device_writes;
        if (buffer.device_writes)
            writable += buffer.length;
    }
    if (writable > 0xffffffffull)
        return Error::InvalidArgument;

    bool indirect = m_indirect_capacity && count > 1 && count <= m_indirect_capacity;
    size_t needed = indirect ? 1 : count;
    if (needed > m_free_count)
        return Error::Full;

    auto flags_of = [](const Buffer& buffer, bool last) {
        return uint16_t((buffer.device_writes ? descriptor_flag::write : 0) | (last ? 0 : descriptor_flag::next));
    };
    uint16_t head = m_free_head;
    if (indirect) {
        Descriptor* table = m_indirect_tables + size_t(head) * m_indirect_capacity;
        for (size_t i = 0; i < count; ++i)
            table[i] = { buffers[i].address, buffers[i].length, flags_of(buffers[i], i + 1 == count), uint16_t(i + 1 < count ? i + 1 : 0) };
        uint64_t table_device = m_indirect_device + uint64_t(head) * m_indirect_capacity * sizeof(Descriptor);
        m_descriptors[head] = { table_device, uint32_t(count * sizeof(Descriptor)), descriptor_flag::indirect, 0 };
        m_free_head = m_next[head];
    } else {
        uint16_t current = head;
        for (size_t i = 0; i < count; ++i) {
            bool last = i + 1 == count;
            m_descriptors[current] = { buffers[i].address, buffers[i].length, flags_of(buffers[i], last), last ? uint16_t(0) : m_next[current] };
            if (!last)
                current = m_next[current];
        }
        m_free_head = m_next[current];
    }
    m_free_count = uint16_t(m_free_count - needed);
    m_heads[head] = { token, uint32_t(writable), uint16_t(needed), true };
    ++m_in_flight;

    m_avail_ring[m_avail_shadow & m_mask] = head;
    // The ring entry (and the descriptors) before the index that publishes it.
    std::atomic_thread_fence(std::memory_order_release);
    store(m_avail_index, ++m_avail_shadow);
    ++m_added_since_kick;
    return ok();
}

bool Virtqueue::kick()
{
    if (m_added_since_kick == 0 || m_broken)
        return false;
    // The published index must be visible before we read whether the device
    // wants to hear about it; otherwise both sides can wait for each other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool notify;
    if (m_event_idx) {
        uint16_t old_index = uint16_t(m_avail_shadow - m_added_since_kick);
        notify = m_added_since_kick >= 0x8000 || need_event(load(m_avail_event), m_avail_shadow, old_index);
    } else {
        notify = !(load(m_used_flags) & used_flag_no_notify);
    }
    m_added_since_kick = 0;
    if (notify)
        m_transport->notify(m_index);
    return notify;
}

void Virtqueue::notify_device()
{
    if (!m_broken && m_transport)
        m_transport->notify(m_index);
}

void Virtqueue::free_chain(uint16_t head)
{
    Head& state = m_heads[head];
    uint16_t tail = head;
    for (uint16_t i = 1; i < state.descriptors; ++i)
        tail = m_next[tail];
    m_next[tail] = m_free_head;
    m_free_head = head;
    m_free_count = uint16_t(m_free_count + state.descriptors);
    state.in_flight = false;
    state.token = nullptr;
    --m_in_flight;
}

void Virtqueue::mark_broken(const char* why)
{
    if (why && !m_broken)
        log::error("{}: queue {}: {}; the device is treated as broken", m_name, m_index, why);
    m_broken = true;
}

std::optional<Virtqueue::Used> Virtqueue::fail_next()
{
    while (m_heads && m_fail_cursor < m_size) {
        uint16_t head = uint16_t(m_fail_cursor++);
        if (m_heads[head].in_flight) {
            void* token = m_heads[head].token;
            m_heads[head].in_flight = false;
            m_heads[head].token = nullptr;
            --m_in_flight;
            return Used { token, 0, Error::DeviceBroken };
        }
    }
    return std::nullopt;
}

std::optional<Virtqueue::Used> Virtqueue::pop_used()
{
    if (m_broken)
        return fail_next();
    uint16_t used_index = load(m_used_index);
    if (used_index == m_last_used)
        return std::nullopt;
    uint16_t pending = uint16_t(used_index - m_last_used);
    if (pending > m_in_flight) {
        log::error("{}: queue {}: device moved the used index from {} to {} with only {} chains in flight; treating the device as broken",
            m_name, m_index, m_last_used, used_index, m_in_flight);
        mark_broken(nullptr);
        return fail_next();
    }
    // The entry was written before the index we just loaded (acquire).
    const volatile UsedElement& element = m_used_ring[m_last_used & m_mask];
    uint32_t id = element.id;
    uint32_t length = element.length;
    if (id >= m_size || !m_heads[id].in_flight) {
        log::error("{}: queue {}: device returned descriptor id {}, which is not a chain in flight (queue size {}); treating the device as broken",
            m_name, m_index, id, m_size);
        mark_broken(nullptr);
        return fail_next();
    }
    if (length > m_heads[id].writable) {
        log::error("{}: queue {}: device claims {} bytes written into chain {} with room for {}; treating the device as broken",
            m_name, m_index, length, id, m_heads[id].writable);
        mark_broken(nullptr);
        return fail_next();
    }
    ++m_last_used;
    void* token = m_heads[id].token;
    free_chain(uint16_t(id));
    return Used { token, length, std::nullopt };
}

bool Virtqueue::rearm()
{
    if (m_broken)
        return false;
    if (!m_interrupts_wanted) {
        if (m_event_idx)
            store(m_used_event, uint16_t(m_last_used - 1));
        return false;
    }
    if (m_event_idx)
        store(m_used_event, m_last_used);
    // Our used_event must be visible before we look at the used index again.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return load(m_used_index) != m_last_used;
}

void Virtqueue::disable_interrupts()
{
    m_interrupts_wanted = false;
    if (!m_avail_flags)
        return;
    if (m_event_idx)
        store(m_used_event, uint16_t(m_last_used - 1));
    else
        store(m_avail_flags, avail_flag_no_interrupt);
}

bool Virtqueue::enable_interrupts()
{
    m_interrupts_wanted = true;
    if (!m_avail_flags)
        return false;
    if (!m_event_idx)
        store(m_avail_flags, 0);
    return rearm();
}

} // namespace skiff::virtio
