#include "tests/unit/support/virtio_sim.h"

#include "drivers/virtio/mmio_transport.h"
#include "drivers/virtio/pci_transport.h"
#include "drivers/virtio/virtio_blk.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

namespace skiff::testing {

using namespace skiff::virtio;

namespace {

template<typename T>
T* at(uint64_t address)
{
    return reinterpret_cast<T*>(address);
}

uint16_t load16(uint64_t address) { return std::atomic_ref<uint16_t>(*at<uint16_t>(address)).load(std::memory_order_acquire); }
void store16(uint64_t address, uint16_t value) { std::atomic_ref<uint16_t>(*at<uint16_t>(address)).store(value, std::memory_order_release); }

uint32_t read_le(const std::vector<uint8_t>& bytes, size_t offset, unsigned width)
{
    if (offset > bytes.size() || width > bytes.size() - offset)
        return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    uint32_t value = 0;
    for (unsigned i = 0; i < width; ++i)
        value |= uint32_t(bytes[offset + i]) << (8 * i);
    return value;
}

void write_le(std::vector<uint8_t>& bytes, size_t offset, unsigned width, uint32_t value)
{
    if (offset > bytes.size() || width > bytes.size() - offset)
        return;
    for (unsigned i = 0; i < width; ++i)
        bytes[offset + i] = uint8_t(value >> (8 * i));
}

void put64(std::vector<uint8_t>& bytes, size_t offset, uint64_t value)
{
    write_le(bytes, offset, 4, uint32_t(value));
    write_le(bytes, offset + 4, 4, uint32_t(value >> 32));
}

} // namespace

// --- MallocDma ---

// Mapped below 2 GiB (MAP_32BIT): legacy transports take ring addresses as
// 32-bit page frame numbers, as real low memory would give them.
MallocDma::~MallocDma()
{
    for (auto [block, size] : m_blocks)
        munmap(block, size);
}

Result<dma::Region> MallocDma::allocate(size_t size, size_t alignment)
{
    if (fail_after == 0)
        return Error::OutOfMemory;
    if (fail_after > 0)
        --fail_after;
    if (size == 0 || alignment > 4096)
        return Error::InvalidArgument;
    size_t rounded = (size + 4095) / 4096 * 4096;
    void* block = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (block == MAP_FAILED)
        return Error::OutOfMemory;
    m_blocks.emplace_back(block, rounded);
    ++m_live;
    return dma::Region { block, reinterpret_cast<uint64_t>(block), rounded };
}

void MallocDma::release(const dma::Region& region)
{
    auto it = std::find_if(m_blocks.begin(), m_blocks.end(), [&](auto& entry) { return entry.first == region.cpu; });
    if (it == m_blocks.end() || it->second != region.size)
        std::abort(); // a release of something never allocated is a driver bug
    munmap(it->first, it->second);
    m_blocks.erase(it);
    --m_live;
}

// --- SimChain ---

uint64_t SimChain::readable_bytes() const
{
    uint64_t total = 0;
    for (auto& segment : readable)
        total += segment.length;
    return total;
}

uint64_t SimChain::writable_bytes() const
{
    uint64_t total = 0;
    for (auto& segment : writable)
        total += segment.length;
    return total;
}

std::vector<uint8_t> SimChain::gather() const
{
    std::vector<uint8_t> bytes;
    for (auto& segment : readable)
        bytes.insert(bytes.end(), segment.data, segment.data + segment.length);
    return bytes;
}

uint32_t SimChain::scatter(const uint8_t* data, size_t size, size_t skip) const
{
    uint32_t written = 0;
    for (auto& segment : writable) {
        if (size == 0)
            break;
        if (skip >= segment.length) {
            skip -= segment.length;
            continue;
        }
        size_t room = segment.length - skip;
        size_t take = std::min(room, size);
        std::memcpy(segment.data + skip, data, take);
        skip = 0;
        data += take;
        size -= take;
        written += uint32_t(take);
    }
    return written;
}

// --- SimDevice ---

SimDevice::SimDevice(uint32_t type, uint64_t features, size_t config_size, unsigned queue_count)
    : device_type(type), offered(features), queues(queue_count), config(config_size, 0)
{
}

SimDevice::~SimDevice() { stop_thread(); }

void SimDevice::reset_state()
{
    driver_features = 0;
    m_interrupt_status = 0;
    m_pending_interrupt = false;
    for (Queue& queue : queues) {
        uint16_t max_size = queue.max_size;
        queue = {};
        queue.max_size = max_size;
    }
}

void SimDevice::write_status(uint8_t value)
{
    std::lock_guard guard(mutex);
    if (value == 0) {
        ++resets;
        reset_state();
        m_status = status_stuck ? status::acknowledge : 0;
        return;
    }
    if ((value & status::features_ok) && !(m_status & status::features_ok)) {
        if ((driver_features & ~offered) != 0) {
            errors.push_back("driver accepted features the device did not offer");
            value &= uint8_t(~status::features_ok);
        }
        if (refuse_features_ok)
            value &= uint8_t(~status::features_ok);
    }
    if ((value & status::driver_ok) && (driver_features & feature::version_1) && !(value & status::features_ok))
        errors.push_back("DRIVER_OK without FEATURES_OK on a modern device");
    m_status = value;
}

uint32_t SimDevice::read_generation()
{
    std::lock_guard guard(mutex);
    if (generation_flaps)
        ++generation;
    return generation;
}

uint32_t SimDevice::read_config(uint32_t offset, unsigned width)
{
    std::lock_guard guard(mutex);
    return read_le(config, offset, width);
}

void SimDevice::write_config(uint32_t offset, unsigned width, uint32_t value)
{
    std::lock_guard guard(mutex);
    write_le(config, offset, width, value);
}

void SimDevice::notify(uint16_t queue)
{
    {
        std::lock_guard guard(mutex);
        ++notifications;
        if (queue >= queues.size())
            errors.push_back("notify of a queue that does not exist");
        m_kicked = true;
    }
    m_wake.notify_all();
    if (on_notify)
        on_notify(queue);
}

uint32_t SimDevice::take_interrupt_status()
{
    std::lock_guard guard(mutex);
    uint32_t value = m_interrupt_status;
    m_interrupt_status = 0;
    return value;
}

void SimDevice::set_legacy_pfn(uint16_t index, uint32_t pfn, uint32_t page_size)
{
    std::lock_guard guard(mutex);
    if (index >= queues.size())
        return;
    Queue& queue = queues[index];
    queue.pfn = pfn;
    if (pfn == 0) {
        queue.ready = false;
        return;
    }
    if (queue.size == 0)
        queue.size = queue.max_size;
    RingLayout layout = ring_layout(queue.size);
    queue.desc = uint64_t(pfn) * page_size;
    queue.avail = queue.desc + layout.avail;
    queue.used = queue.desc + layout.used;
    queue.ready = true;
}

uint16_t SimDevice::avail_index(uint16_t index) const { return load16(queues[index].avail + 2); }

uint16_t SimDevice::driver_used_event(uint16_t index) const
{
    const Queue& queue = queues[index];
    return load16(queue.avail + 4 + 2 * queue.size);
}

uint16_t SimDevice::driver_avail_flags(uint16_t index) const { return load16(queues[index].avail); }

std::optional<SimChain> SimDevice::pop_avail(uint16_t index)
{
    std::lock_guard guard(mutex);
    if (index >= queues.size())
        return std::nullopt;
    Queue& queue = queues[index];
    if (!queue.ready || queue.size == 0)
        return std::nullopt;
    uint16_t available = load16(queue.avail + 2);
    if (available == queue.last_avail)
        return std::nullopt;
    if (uint16_t(available - queue.last_avail) > queue.size) {
        errors.push_back("driver moved the avail index by more than the queue size");
        return std::nullopt;
    }
    uint16_t head = at<uint16_t>(queue.avail + 4)[queue.last_avail % queue.size];
    ++queue.last_avail;
    if (event_idx())
        store16(queue.used + 4 + 8 * queue.size, avail_event_override.value_or(queue.last_avail));

    SimChain chain { head, false, {}, {} };
    if (head >= queue.size) {
        errors.push_back("avail ring names a descriptor beyond the queue");
        return std::nullopt;
    }
    auto* table = at<Descriptor>(queue.desc);
    uint32_t limit = queue.size;
    uint16_t current = head;
    bool in_indirect = false;
    for (uint32_t steps = 0;; ++steps) {
        if (steps > limit) {
            errors.push_back("descriptor chain loops");
            return std::nullopt;
        }
        Descriptor descriptor = table[current];
        if (descriptor.flags & descriptor_flag::indirect) {
            if (in_indirect || (descriptor.flags & descriptor_flag::next) || descriptor.length == 0 || descriptor.length % 16 != 0) {
                errors.push_back("malformed indirect descriptor");
                return std::nullopt;
            }
            if (!(offered & feature::indirect_desc) || !(driver_features & feature::indirect_desc))
                errors.push_back("indirect descriptor without the feature");
            chain.indirect = true;
            ++indirect_chains;
            in_indirect = true;
            table = at<Descriptor>(descriptor.address);
            limit = descriptor.length / 16;
            current = 0;
            steps = 0;
            continue;
        }
        SimSegment segment { at<uint8_t>(descriptor.address), descriptor.length };
        if (descriptor.flags & descriptor_flag::write) {
            chain.writable.push_back(segment);
        } else {
            if (!chain.writable.empty())
                errors.push_back("device-readable descriptor after a writable one");
            chain.readable.push_back(segment);
        }
        if (!(descriptor.flags & descriptor_flag::next))
            break;
        if (descriptor.next >= limit) {
            errors.push_back("descriptor next beyond the table");
            return std::nullopt;
        }
        current = descriptor.next;
    }
    return chain;
}

void SimDevice::latch_interrupt(uint32_t cause)
{
    m_interrupt_status |= cause;
    m_pending_interrupt = true;
    ++interrupts_latched;
}

void SimDevice::push_used(uint16_t index, uint32_t id, uint32_t length)
{
    std::lock_guard guard(mutex);
    Queue& queue = queues[index];
    auto* ring = at<UsedElement>(queue.used + 4);
    ring[queue.used_index % queue.size] = { id, length };
    uint16_t old_index = queue.used_index++;
    store16(queue.used, no_notify_flag ? used_flag_no_notify : 0);
    store16(queue.used + 2, queue.used_index);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool signal = event_idx() ? need_event(driver_used_event(index), queue.used_index, old_index)
                              : !(driver_avail_flags(index) & avail_flag_no_interrupt);
    if (signal && drop_interrupts > 0)
        --drop_interrupts;
    else if (signal)
        latch_interrupt(interrupt::used_buffer);
}

void SimDevice::push_used_raw(uint16_t index, uint32_t id, uint32_t length, bool signal)
{
    std::lock_guard guard(mutex);
    Queue& queue = queues[index];
    auto* ring = at<UsedElement>(queue.used + 4);
    ring[queue.used_index % queue.size] = { id, length };
    ++queue.used_index;
    store16(queue.used + 2, queue.used_index);
    if (signal)
        latch_interrupt(interrupt::used_buffer);
}

void SimDevice::set_used_index(uint16_t index, uint16_t value, bool signal)
{
    std::lock_guard guard(mutex);
    Queue& queue = queues[index];
    queue.used_index = value;
    store16(queue.used + 2, value);
    if (signal)
        latch_interrupt(interrupt::used_buffer);
}

void SimDevice::raise_config_change()
{
    std::lock_guard guard(mutex);
    ++generation;
    latch_interrupt(interrupt::config_change);
}

void SimDevice::set_status_bits(uint8_t bits)
{
    std::lock_guard guard(mutex);
    m_status |= bits;
}

bool SimDevice::deliver()
{
    {
        std::lock_guard guard(mutex);
        if (!m_pending_interrupt)
            return false;
        m_pending_interrupt = false;
        ++interrupts_delivered;
    }
    if (on_interrupt)
        on_interrupt();
    return true;
}

void SimDevice::start_thread()
{
    m_stop = false;
    m_thread = std::thread([this] {
        while (!m_stop) {
            {
                std::unique_lock lock(mutex);
                m_wake.wait_for(lock, std::chrono::milliseconds(5), [this] { return m_kicked || m_stop.load(); });
                m_kicked = false;
                for (uint16_t q = 0; q < queues.size(); ++q)
                    process(q);
            }
            deliver();
        }
    });
}

void SimDevice::stop_thread()
{
    if (!m_thread.joinable())
        return;
    m_stop = true;
    m_wake.notify_all();
    m_thread.join();
}

// --- SimMmio ---

uint8_t SimMmio::read8(uint32_t offset)
{
    if (offset >= mmio::config && offset < m_size)
        return uint8_t(m_device.read_config(offset - mmio::config, 1));
    ++bad_accesses;
    return 0xff;
}

uint16_t SimMmio::read16(uint32_t offset)
{
    if (offset >= mmio::config && offset < m_size)
        return uint16_t(m_device.read_config(offset - mmio::config, 2));
    ++bad_accesses;
    return 0xffff;
}

void SimMmio::write8(uint32_t offset, uint8_t value)
{
    if (offset >= mmio::config && offset < m_size)
        return m_device.write_config(offset - mmio::config, 1, value);
    ++bad_accesses;
}

void SimMmio::write16(uint32_t offset, uint16_t value)
{
    if (offset >= mmio::config && offset < m_size)
        return m_device.write_config(offset - mmio::config, 2, value);
    ++bad_accesses;
}

uint32_t SimMmio::read32(uint32_t offset)
{
    if (offset >= m_size)
        return 0xffffffff;
    if (offset >= mmio::config)
        return m_device.read_config(offset - mmio::config, 4);
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_queue_select < m_device.queues.size() ? &m_device.queues[m_queue_select] : nullptr;
    switch (offset) {
    case mmio::magic_value: return magic;
    case mmio::version: return m_version;
    case mmio::device_id: return m_device.device_type;
    case mmio::vendor_id: return 0x554d4551;
    case mmio::device_features:
        return m_features_select == 0 ? uint32_t(m_device.offered) : m_features_select == 1 ? uint32_t(m_device.offered >> 32) : 0;
    case mmio::queue_size_max: return queue ? queue->max_size : 0;
    case mmio::queue_ready: return queue && m_version == 2 ? queue->ready : 0;
    case mmio::queue_pfn: return queue && m_version == 1 ? queue->pfn : 0;
    case mmio::interrupt_status: return m_device.interrupt_status();
    case mmio::status: return m_device.status();
    case mmio::config_generation: return m_version == 2 ? m_device.read_generation() : 0;
    default: return 0;
    }
}

void SimMmio::write32(uint32_t offset, uint32_t value)
{
    if (offset >= m_size)
        return;
    if (offset >= mmio::config)
        return m_device.write_config(offset - mmio::config, 4, value);
    if (offset == mmio::queue_notify)
        return m_device.notify(uint16_t(value));
    if (offset == mmio::status)
        return m_device.write_status(uint8_t(value));
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_queue_select < m_device.queues.size() ? &m_device.queues[m_queue_select] : nullptr;
    auto set_half = [](uint64_t& field, bool high, uint32_t half) {
        field = high ? (field & 0xffffffffull) | (uint64_t(half) << 32) : (field & ~0xffffffffull) | half;
    };
    switch (offset) {
    case mmio::device_features_select: m_features_select = value; break;
    case mmio::driver_features_select: m_driver_features_select = value; break;
    case mmio::driver_features:
        if (m_driver_features_select < 2)
            set_half(m_device.driver_features, m_driver_features_select == 1, value);
        break;
    case mmio::guest_page_size: m_page_size = value; break;
    case mmio::queue_select: m_queue_select = value; break;
    case mmio::queue_size:
        if (queue) {
            if (value > queue->max_size || value == 0)
                m_device.errors.push_back("queue size beyond the maximum");
            queue->size = uint16_t(value);
        }
        break;
    case mmio::queue_align:
        if (value != legacy_queue_align)
            m_device.errors.push_back("unexpected legacy queue alignment");
        break;
    case mmio::queue_pfn:
        if (queue && m_version == 1) {
            if (m_page_size == 0)
                m_device.errors.push_back("legacy queue set up before GuestPageSize");
            m_device.set_legacy_pfn(uint16_t(m_queue_select), value, m_page_size ? m_page_size : 4096);
        }
        break;
    case mmio::queue_ready:
        if (queue && m_version == 2)
            queue->ready = value == 1;
        break;
    case mmio::interrupt_ack: m_device.acknowledge(value); break;
    case mmio::queue_desc_low:
    case mmio::queue_desc_high:
        if (queue)
            set_half(queue->desc, offset == mmio::queue_desc_high, value);
        break;
    case mmio::queue_driver_low:
    case mmio::queue_driver_high:
        if (queue)
            set_half(queue->avail, offset == mmio::queue_driver_high, value);
        break;
    case mmio::queue_device_low:
    case mmio::queue_device_high:
        if (queue)
            set_half(queue->used, offset == mmio::queue_device_high, value);
        break;
    default: break;
    }
}

// --- SimPci ---

class SimBarWindow final : public IoWindow {
public:
    SimBarWindow(SimPci& pci, unsigned bar, uint32_t base, uint32_t length) : m_pci(pci), m_bar(bar), m_base(base), m_length(length) {}
    uint8_t read8(uint32_t offset) override { return fits(offset, 1) ? uint8_t(m_pci.bar_read(m_bar, m_base + offset, 1)) : 0xff; }
    uint16_t read16(uint32_t offset) override { return fits(offset, 2) ? uint16_t(m_pci.bar_read(m_bar, m_base + offset, 2)) : 0xffff; }
    uint32_t read32(uint32_t offset) override { return fits(offset, 4) ? m_pci.bar_read(m_bar, m_base + offset, 4) : 0xffffffff; }
    void write8(uint32_t offset, uint8_t value) override
    {
        if (fits(offset, 1))
            m_pci.bar_write(m_bar, m_base + offset, 1, value);
    }
    void write16(uint32_t offset, uint16_t value) override
    {
        if (fits(offset, 2))
            m_pci.bar_write(m_bar, m_base + offset, 2, value);
    }
    void write32(uint32_t offset, uint32_t value) override
    {
        if (fits(offset, 4))
            m_pci.bar_write(m_bar, m_base + offset, 4, value);
    }
    uint32_t size() const override { return m_length; }

private:
    bool fits(uint32_t offset, uint32_t width) const { return offset <= m_length && width <= m_length - offset; }
    SimPci& m_pci;
    unsigned m_bar;
    uint32_t m_base;
    uint32_t m_length;
};

SimPci::~SimPci() = default;

SimPci::SimPci(SimDevice& device, const Options& options) : space(256, 0), m_device(device), m_options(options)
{
    write_le(space, pci::config::vendor_id, 2, pci_ids::vendor);
    uint16_t device_id = options.legacy ? uint16_t(pci_ids::first_transitional + device.device_type - 1)
                                        : uint16_t(pci_ids::first_modern + device.device_type);
    write_le(space, pci::config::device_id, 2, device_id);
    write_le(space, 0x2c, 2, pci_ids::vendor);
    write_le(space, pci::config::subsystem_id, 2, device.device_type);

    // Capabilities from 0x40, each pointing at the next.
    std::vector<uint8_t> offsets;
    auto add_vendor = [&](uint8_t offset, uint8_t type, uint8_t length, uint32_t region_offset, uint32_t region_length) {
        space[offset] = pci::capability::vendor_specific;
        space[offset + pci_cap::length] = length;
        space[offset + pci_cap::type] = type;
        space[offset + pci_cap::bar] = 4;
        write_le(space, offset + pci_cap::offset, 4, region_offset);
        write_le(space, offset + pci_cap::region_length, 4, region_length);
        offsets.push_back(offset);
    };
    if (options.modern) {
        add_vendor(0x40, pci_cap::type_common, 16, common_offset, 0x1000);
        add_vendor(0x50, pci_cap::type_notify, 20, notify_offset, options.notify_cap_short ? 1 : 0x1000);
        write_le(space, 0x50 + pci_cap::notify_multiplier, 4, options.notify_multiplier);
        add_vendor(0x64, pci_cap::type_isr, 16, isr_offset, 0x1000);
        if (options.device_cap)
            add_vendor(0x74, pci_cap::type_device, 16, device_offset, 0x1000);
        add_vendor(0x84, pci_cap::type_pci, 20, 0, 0);
    }
    if (options.msix) {
        space[0x98] = pci::capability::msix;
        offsets.push_back(0x98);
    }
    if (!offsets.empty()) {
        write_le(space, pci::config::status, 2, pci::config::status_capabilities);
        space[pci::config::capabilities_pointer] = offsets[0];
        for (size_t i = 0; i < offsets.size(); ++i)
            space[offsets[i] + 1] = i + 1 < offsets.size() ? offsets[i + 1] : (options.loop_capabilities ? offsets[0] : 0);
    }
}

uint8_t SimPci::config_read8(uint16_t offset) { return uint8_t(read_le(space, offset, 1)); }
uint16_t SimPci::config_read16(uint16_t offset) { return uint16_t(read_le(space, offset, 2)); }
uint32_t SimPci::config_read32(uint16_t offset) { return read_le(space, offset, 4); }
void SimPci::config_write8(uint16_t offset, uint8_t value) { write_le(space, offset, 1, value); }
void SimPci::config_write16(uint16_t offset, uint16_t value) { write_le(space, offset, 2, value); }
void SimPci::config_write32(uint16_t offset, uint32_t value) { write_le(space, offset, 4, value); }

pci::Bar SimPci::bar(unsigned index)
{
    if (index == 0 && m_options.legacy)
        return { pci::Bar::Kind::Io, 0xc000, legacy_bar_size, false };
    if (index == 4 && m_options.modern)
        return { pci::Bar::Kind::Memory64, 0xfe000000, bar4_size, true };
    return {};
}

Result<IoWindow*> SimPci::map_bar(unsigned index, uint64_t offset, uint32_t length)
{
    pci::Bar decoded = bar(index);
    if (decoded.kind == pci::Bar::Kind::None || offset > decoded.size || length > decoded.size - offset)
        return Error::OutOfRange;
    m_windows.push_back(std::make_unique<SimBarWindow>(*this, index, uint32_t(offset), length));
    return m_windows.back().get();
}

Result<void> SimPci::enable_msix(const uint64_t*, const uint32_t*, unsigned count)
{
    if (!m_options.msix)
        return Error::Unsupported;
    msix_vectors_enabled = count;
    m_device.msix_enabled = true;
    return ok();
}

uint32_t SimPci::bar_read(unsigned bar, uint32_t offset, unsigned width)
{
    if (bar == 0)
        return legacy_read(offset, width);
    if (offset < isr_offset)
        return common_read(offset - common_offset, width);
    if (offset < device_offset)
        return offset == isr_offset ? m_device.take_interrupt_status() : 0;
    if (offset < notify_offset)
        return m_device.read_config(offset - device_offset, width);
    return 0;
}

void SimPci::bar_write(unsigned bar, uint32_t offset, unsigned width, uint32_t value)
{
    if (bar == 0)
        return legacy_write(offset, width, value);
    if (offset < isr_offset)
        return common_write(offset - common_offset, width, value);
    if (offset < device_offset)
        return;
    if (offset < notify_offset)
        return m_device.write_config(offset - device_offset, width, value);
    uint32_t expected = uint32_t(m_options.notify_off_base + value) * m_options.notify_multiplier;
    if (offset - notify_offset != expected)
        ++notifications_at_wrong_offset;
    m_device.notify(uint16_t(value));
}

uint32_t SimPci::common_read(uint32_t offset, unsigned width)
{
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_queue_select < m_device.queues.size() ? &m_device.queues[m_queue_select] : nullptr;
    switch (offset) {
    case pci_common::device_feature_select: return m_feature_select;
    case pci_common::device_feature:
        return m_feature_select == 0 ? uint32_t(m_device.offered) : m_feature_select == 1 ? uint32_t(m_device.offered >> 32) : 0;
    case pci_common::driver_feature_select: return m_driver_feature_select;
    case pci_common::driver_feature:
        return m_driver_feature_select == 0 ? uint32_t(m_device.driver_features) : uint32_t(m_device.driver_features >> 32);
    case pci_common::config_msix_vector: return m_config_vector;
    case pci_common::num_queues: return uint32_t(m_device.queues.size());
    case pci_common::device_status: return m_device.status();
    case pci_common::config_generation: return m_device.read_generation() & 0xff;
    case pci_common::queue_select: return m_queue_select;
    case pci_common::queue_size: return queue ? (queue->size ? queue->size : queue->max_size) : 0;
    case pci_common::queue_msix_vector: return queue ? queue->msix_vector : 0xffff;
    case pci_common::queue_enable: return queue ? queue->ready : 0;
    case pci_common::queue_notify_off: return uint16_t(m_options.notify_off_base + m_queue_select);
    case pci_common::queue_desc: return queue ? uint32_t(queue->desc) : 0;
    case pci_common::queue_desc + 4: return queue ? uint32_t(queue->desc >> 32) : 0;
    default: return 0;
    }
}

void SimPci::common_write(uint32_t offset, unsigned width, uint32_t value)
{
    if (offset == pci_common::device_status)
        return m_device.write_status(uint8_t(value));
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_queue_select < m_device.queues.size() ? &m_device.queues[m_queue_select] : nullptr;
    auto set_half = [](uint64_t& field, bool high, uint32_t half) {
        field = high ? (field & 0xffffffffull) | (uint64_t(half) << 32) : (field & ~0xffffffffull) | half;
    };
    auto vector_ok = [&](uint32_t vector) { return vector == 0xffff || vector < msix_vectors_enabled; };
    switch (offset) {
    case pci_common::device_feature_select: m_feature_select = value; break;
    case pci_common::driver_feature_select: m_driver_feature_select = value; break;
    case pci_common::driver_feature:
        if (m_driver_feature_select < 2)
            set_half(m_device.driver_features, m_driver_feature_select == 1, value);
        break;
    case pci_common::config_msix_vector: m_config_vector = vector_ok(value) ? uint16_t(value) : 0xffff; break;
    case pci_common::queue_select: m_queue_select = uint16_t(value); break;
    case pci_common::queue_size:
        if (queue) {
            if (value > queue->max_size || value == 0)
                m_device.errors.push_back("queue size beyond the maximum");
            queue->size = uint16_t(value);
        }
        break;
    case pci_common::queue_msix_vector:
        if (queue)
            queue->msix_vector = vector_ok(value) ? uint16_t(value) : 0xffff;
        break;
    case pci_common::queue_enable:
        if (queue) {
            if (queue->size == 0)
                queue->size = queue->max_size;
            queue->ready = value == 1;
        }
        break;
    case pci_common::queue_desc:
    case pci_common::queue_desc + 4:
        if (queue)
            set_half(queue->desc, offset != pci_common::queue_desc, value);
        break;
    case pci_common::queue_driver:
    case pci_common::queue_driver + 4:
        if (queue)
            set_half(queue->avail, offset != pci_common::queue_driver, value);
        break;
    case pci_common::queue_device:
    case pci_common::queue_device + 4:
        if (queue)
            set_half(queue->used, offset != pci_common::queue_device, value);
        break;
    default: break;
    }
}

uint32_t SimPci::legacy_read(uint32_t offset, unsigned width)
{
    uint32_t config_base = m_device.msix_enabled ? pci_legacy::config_with_msix : pci_legacy::config;
    if (offset >= config_base)
        return m_device.read_config(offset - config_base, width);
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_legacy_queue_select < m_device.queues.size() ? &m_device.queues[m_legacy_queue_select] : nullptr;
    switch (offset) {
    case pci_legacy::device_features: return uint32_t(m_device.offered);
    case pci_legacy::driver_features: return uint32_t(m_device.driver_features);
    case pci_legacy::queue_pfn: return queue ? queue->pfn : 0;
    case pci_legacy::queue_size: return queue ? queue->max_size : 0;
    case pci_legacy::queue_select: return m_legacy_queue_select;
    case pci_legacy::device_status: return m_device.status();
    case pci_legacy::isr: return m_device.take_interrupt_status();
    case pci_legacy::config_msix_vector: return m_config_vector;
    case pci_legacy::queue_msix_vector: return queue ? queue->msix_vector : 0xffff;
    default: return 0;
    }
}

void SimPci::legacy_write(uint32_t offset, unsigned width, uint32_t value)
{
    uint32_t config_base = m_device.msix_enabled ? pci_legacy::config_with_msix : pci_legacy::config;
    if (offset >= config_base)
        return m_device.write_config(offset - config_base, width, value);
    switch (offset) {
    case pci_legacy::device_status: return m_device.write_status(uint8_t(value));
    case pci_legacy::queue_notify: return m_device.notify(uint16_t(value));
    case pci_legacy::queue_pfn: return m_device.set_legacy_pfn(m_legacy_queue_select, value, 4096);
    default: break;
    }
    std::lock_guard guard(m_device.mutex);
    SimDevice::Queue* queue = m_legacy_queue_select < m_device.queues.size() ? &m_device.queues[m_legacy_queue_select] : nullptr;
    auto vector_ok = [&](uint32_t vector) { return vector == 0xffff || vector < msix_vectors_enabled; };
    switch (offset) {
    case pci_legacy::driver_features: m_device.driver_features = value; break;
    case pci_legacy::queue_select: m_legacy_queue_select = uint16_t(value); break;
    case pci_legacy::config_msix_vector: m_config_vector = vector_ok(value) ? uint16_t(value) : 0xffff; break;
    case pci_legacy::queue_msix_vector:
        if (queue)
            queue->msix_vector = vector_ok(value) ? uint16_t(value) : 0xffff;
        break;
    default: break;
    }
}

// --- SimBlk ---

SimBlk::SimBlk(const Geometry& geometry)
    : SimDevice(device_type::block, 0, 0x40), disk(geometry.sectors * 512, 0), durable(geometry.sectors * 512, 0), m_geometry(geometry)
{
    uint64_t features = geometry.legacy_device ? 0 : feature::version_1;
    if (geometry.blk_size != 512)
        features |= blk::feature::blk_size;
    if (geometry.seg_max)
        features |= blk::feature::seg_max;
    if (geometry.size_max)
        features |= blk::feature::size_max;
    if (geometry.read_only)
        features |= blk::feature::read_only;
    if (geometry.flush)
        features |= blk::feature::flush;
    if (geometry.event_idx)
        features |= feature::event_idx;
    if (geometry.indirect)
        features |= feature::indirect_desc;
    if (geometry.discard)
        features |= blk::feature::discard;
    if (geometry.write_zeroes)
        features |= blk::feature::write_zeroes;
    offered = features | geometry.extra_features;
    queues[0].max_size = geometry.queue_size;
    put64(config, blk::config::capacity, geometry.sectors);
    write_le(config, blk::config::size_max, 4, geometry.size_max);
    write_le(config, blk::config::seg_max, 4, geometry.seg_max);
    write_le(config, blk::config::blk_size, 4, geometry.blk_size);
    write_le(config, blk::config::max_discard_sectors, 4, geometry.max_discard_sectors);
    write_le(config, blk::config::max_discard_seg, 4, 1);
    write_le(config, blk::config::max_write_zeroes_sectors, 4, geometry.max_write_zeroes_sectors);
    write_le(config, blk::config::max_write_zeroes_seg, 4, 1);
}

size_t SimBlk::process(uint16_t queue)
{
    std::lock_guard guard(mutex);
    size_t count = 0;
    while (auto chain = pop_avail(queue)) {
        execute(queue, *chain);
        ++count;
    }
    return count;
}

size_t SimBlk::fetch(uint16_t queue)
{
    std::lock_guard guard(mutex);
    size_t count = 0;
    while (auto chain = pop_avail(queue)) {
        m_fetched.emplace_back(queue, std::move(*chain));
        ++count;
    }
    return count;
}

size_t SimBlk::complete_fetched(size_t n)
{
    std::lock_guard guard(mutex);
    size_t count = 0;
    while (count < n && !m_fetched.empty()) {
        auto [queue, chain] = std::move(m_fetched.front());
        m_fetched.erase(m_fetched.begin());
        execute(queue, chain);
        ++count;
    }
    return count;
}

void SimBlk::execute(uint16_t queue, const SimChain& chain)
{
    std::vector<uint8_t> in = chain.gather();
    uint64_t writable = chain.writable_bytes();
    if (in.size() < sizeof(blk::RequestHeader) || writable < 1) {
        errors.push_back("virtio-blk request without header or status");
        push_used(queue, chain.head, 0);
        return;
    }
    blk::RequestHeader header;
    std::memcpy(&header, in.data(), sizeof(header));
    uint8_t status = blk::request_status::ok;
    uint32_t written = 0;
    uint64_t data_bytes = 0;
    size_t data_segments = 0;
    uint32_t largest = 0;
    auto in_range = [&](uint64_t sector, uint64_t bytes) { return sector * 512 <= disk.size() && bytes <= disk.size() - sector * 512; };
    auto touches_failing = [&](uint64_t sector, uint64_t bytes) {
        return fail_sector && *fail_sector >= sector && *fail_sector < sector + (bytes + 511) / 512;
    };
    switch (header.type) {
    case blk::request_type::in: {
        data_bytes = writable - 1;
        for (size_t i = 0; i < chain.writable.size(); ++i) {
            uint32_t length = chain.writable[i].length - (i + 1 == chain.writable.size() ? 1 : 0);
            if (length) {
                ++data_segments;
                largest = std::max(largest, length);
            }
        }
        if (data_bytes % 512 != 0 || !in_range(header.sector, data_bytes) || touches_failing(header.sector, data_bytes)) {
            status = blk::request_status::io_error;
        } else {
            written = chain.scatter(disk.data() + header.sector * 512, data_bytes);
        }
        break;
    }
    case blk::request_type::out: {
        data_bytes = in.size() - sizeof(blk::RequestHeader);
        for (size_t i = 0; i < chain.readable.size(); ++i) {
            uint32_t length = chain.readable[i].length - (i == 0 ? std::min<uint32_t>(chain.readable[i].length, 16) : 0);
            if (length) {
                ++data_segments;
                largest = std::max(largest, length);
            }
        }
        if (m_geometry.read_only || data_bytes % 512 != 0 || !in_range(header.sector, data_bytes)
            || touches_failing(header.sector, data_bytes)) {
            status = blk::request_status::io_error;
        } else {
            std::memcpy(disk.data() + header.sector * 512, in.data() + sizeof(header), data_bytes);
        }
        break;
    }
    case blk::request_type::flush:
        if (m_geometry.flush)
            durable = disk;
        else
            status = blk::request_status::unsupported;
        break;
    case blk::request_type::discard:
    case blk::request_type::write_zeroes: {
        bool offered_bit = header.type == blk::request_type::discard ? m_geometry.discard : m_geometry.write_zeroes;
        if (!offered_bit || m_geometry.read_only) {
            status = offered_bit ? blk::request_status::io_error : blk::request_status::unsupported;
            break;
        }
        for (size_t offset = sizeof(header); offset + sizeof(blk::RangeSegment) <= in.size(); offset += sizeof(blk::RangeSegment)) {
            blk::RangeSegment range;
            std::memcpy(&range, in.data() + offset, sizeof(range));
            uint32_t limit = header.type == blk::request_type::discard ? m_geometry.max_discard_sectors : m_geometry.max_write_zeroes_sectors;
            if (range.sectors > limit || !in_range(range.sector, uint64_t(range.sectors) * 512)) {
                status = blk::request_status::io_error;
                break;
            }
            std::memset(disk.data() + range.sector * 512, 0, uint64_t(range.sectors) * 512);
            data_bytes += uint64_t(range.sectors) * 512;
            header.sector = range.sector;
        }
        break;
    }
    default: status = blk::request_status::unsupported; break;
    }
    if (unsupported_type && *unsupported_type == header.type)
        status = blk::request_status::unsupported;
    if (forced_status)
        status = *forced_status;
    requests.push_back({ header.type, header.sector, data_bytes, data_segments, largest, chain.indirect });
    chain.scatter(&status, 1, writable - 1);
    push_used(queue, chain.head, written + 1);
}

} // namespace skiff::testing
