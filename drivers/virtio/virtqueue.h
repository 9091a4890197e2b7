// A split virtqueue (spec 2.7), driver side.
//
// The ring memory is shared with an untrusted device. The queue keeps its own
// private record of every chain it posted (free list, chain lengths, tokens,
// writable bytes) and never reads back what it wrote to shared memory, so a
// device can only lie through the used ring, and every used entry is checked:
//   - the used index may not advance by more than the chains in flight
//     (which also catches it moving backwards),
//   - a used id must be the head of a chain currently in flight (out of range,
//     not a head, or a duplicate are all refused),
//   - a used length may not exceed the writable bytes of that chain.
// A violation marks the queue broken with one log line; the chains still in
// flight then come back from pop_used() failed with Error::DeviceBroken, and
// add() refuses further work. Nothing is read or written out of bounds.
//
// Not thread-safe: the owner serialises add/kick/pop_used (the drivers hold
// an IrqSpinLock shared with their interrupt handler).
#pragma once

#include "drivers/virtio/dma_provider.h"
#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtio_spec.h"
#include "lib/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace skiff::virtio {

class Virtqueue {
public:
    struct Buffer {
        uint64_t address; // device address
        uint32_t length;
        bool device_writes; // device-writable buffers come after all readable ones
    };

    struct Used {
        void* token;
        uint32_t written;           // bytes the device says it wrote (bounded)
        std::optional<Error> error; // DeviceBroken when failed back
    };

    struct Config {
        const char* name;  // for log lines, e.g. "vda"; must outlive the queue
        uint16_t index;
        uint16_t max_size; // the queue gets min(max_size, device maximum), a power of 2
        bool event_idx;    // VIRTIO_F_RING_EVENT_IDX negotiated
        bool indirect;     // VIRTIO_F_INDIRECT_DESC negotiated
        uint16_t indirect_capacity; // descriptors per indirect table (when indirect)
    };

    Virtqueue() = default;
    Virtqueue(const Virtqueue&) = delete;
    Virtqueue& operator=(const Virtqueue&) = delete;

    // Allocates the rings and tables and programs the queue into the device
    // (before DRIVER_OK).
    Result<void> init(Transport& transport, DmaProvider& dma, const Config& config);
    // Gives the memory back. Only once the device has been reset, since it
    // might still write into the rings otherwise.
    void release();

    uint16_t size() const { return m_size; }
    uint16_t free_descriptors() const { return m_free_count; }
    uint16_t chains_in_flight() const { return m_in_flight; }
    bool broken() const { return m_broken; }
    bool uses_indirect() const { return m_indirect_capacity != 0; }
    // The most buffers one add() can take.
    size_t max_buffers() const { return m_indirect_capacity > m_size ? m_indirect_capacity : m_size; }
    // Whether add() of `count` buffers would find room now.
    bool can_add(size_t count) const;

    // Posts one chain; `token` comes back with it from pop_used(). Full when
    // there is no room now (retry after completions), InvalidArgument for a
    // chain that can never be posted, DeviceBroken once broken. The device
    // sees it after the next kick() at the latest.
    Result<void> add(std::span<const Buffer> buffers, void* token);
    // Tells the device about chains added since the last kick, unless it
    // asked not to be told (EVENT_IDX avail_event or NO_NOTIFY). Returns
    // whether it notified.
    bool kick();
    // Notifies the device whatever it asked for (recovery from a lost kick).
    void notify_device();

    // The next completed chain, or nullopt. Once broken, the chains still in
    // flight come back one by one with error DeviceBroken.
    std::optional<Used> pop_used();
    // Drains the used ring into fn(const Used&), re-arming interrupts (when
    // enabled) and draining again if the device raced ahead. Returns the
    // number of chains handed to fn.
    template<typename F>
    size_t poll(F&& fn)
    {
        size_t count = 0;
        do {
            while (std::optional<Used> used = pop_used()) {
                fn(*used);
                ++count;
            }
        } while (rearm());
        return count;
    }

    // Interrupt suppression, device to driver: in poll mode the device is
    // asked not to interrupt (NO_INTERRUPT, or a used_event it will not reach).
    void disable_interrupts();
    // Returns true when completions are already waiting (poll them).
    bool enable_interrupts();
    bool interrupts_enabled() const { return m_interrupts_wanted; }

    // Stops the queue: logs `why` once and fails everything in flight.
    void mark_broken(const char* why);

private:
    struct Head {
        void* token;
        uint32_t writable;     // bytes the device may write into this chain
        uint16_t descriptors;  // ring descriptors the chain holds
        bool in_flight;
    };

    // Writes used_event / flags so the device interrupts (or not) for the
    // next completion; true if completions arrived meanwhile.
    bool rearm();
    void free_chain(uint16_t head);
    std::optional<Used> fail_next();

    Transport* m_transport { nullptr };
    DmaProvider* m_dma { nullptr };
    const char* m_name { "virtqueue" };
    uint16_t m_index { 0 };
    uint16_t m_size { 0 };
    uint16_t m_mask { 0 };
    bool m_event_idx { false };
    uint16_t m_indirect_capacity { 0 };

    dma::Region m_ring {};
    dma::Region m_indirect_region {};
    dma::Region m_private {};

    // Shared with the device.
    Descriptor* m_descriptors { nullptr };
    uint16_t* m_avail_flags { nullptr };
    uint16_t* m_avail_index { nullptr };
    uint16_t* m_avail_ring { nullptr };
    uint16_t* m_used_event { nullptr };
    uint16_t* m_used_flags { nullptr };
    uint16_t* m_used_index { nullptr };
    UsedElement* m_used_ring { nullptr };
    uint16_t* m_avail_event { nullptr };
    Descriptor* m_indirect_tables { nullptr };
    uint64_t m_indirect_device { 0 };

    // Private.
    Head* m_heads { nullptr };
    uint16_t* m_next { nullptr };
    uint16_t m_free_head { 0 };
    uint16_t m_free_count { 0 };
    uint16_t m_in_flight { 0 };
    uint16_t m_avail_shadow { 0 };
    uint32_t m_added_since_kick { 0 };
    uint16_t m_last_used { 0 };
    uint32_t m_fail_cursor { 0 };
    bool m_interrupts_wanted { true };
    bool m_broken { false };
};

} // namespace skiff::virtio
