// virtio-blk (spec 5.2) as a block::BlockDevice, over any virtio transport.
//
// One request queue. Every device request is a chain: a 16-byte header, the
// data (or a discard / write-zeroes range), and a status byte; headers,
// ranges and status bytes live in a DMA pool with one slot per ring entry,
// set up once, so the I/O path allocates nothing. Caller requests larger
// than SEG_MAX segments, SIZE_MAX bytes per segment or the driver's own part
// size are split into parts and completed once, when all parts are done.
// Completions come from the interrupt handler (handle_interrupt) or, in poll
// mode, from poll().
//
// A notification can be lost in either direction even with a correct driver:
// QEMU before 8.1 drops a guest's memory barriers under TCG with one vCPU
// (its commit "tcg: Do not elide memory barriers for !CF_PARALLEL in system
// mode"), which breaks the EVENT_IDX handshake. So while requests are in
// flight a watchdog (check_progress, driven by a kernel timer) re-kicks the
// device and polls the used ring whenever nothing completed for a period.
#pragma once

#include "block/block_device.h"
#include "drivers/virtio/dma_provider.h"
#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtqueue.h"
#include "lib/spinlock.h"

#include <array>
#include <atomic>
#include <cstdint>

namespace skiff::virtio {

namespace blk {

namespace feature {
constexpr uint64_t size_max = 1ull << 1;
constexpr uint64_t seg_max = 1ull << 2;
constexpr uint64_t read_only = 1ull << 5;
constexpr uint64_t blk_size = 1ull << 6;
constexpr uint64_t flush = 1ull << 9;
constexpr uint64_t discard = 1ull << 13;
constexpr uint64_t write_zeroes = 1ull << 14;
} // namespace feature

// struct virtio_blk_config
namespace config {
constexpr uint32_t capacity = 0x00; // 512-byte sectors, 64-bit
constexpr uint32_t size_max = 0x08;
constexpr uint32_t seg_max = 0x0c;
constexpr uint32_t blk_size = 0x14;
constexpr uint32_t max_discard_sectors = 0x24;
constexpr uint32_t max_discard_seg = 0x28;
constexpr uint32_t max_write_zeroes_sectors = 0x30;
constexpr uint32_t max_write_zeroes_seg = 0x34;
} // namespace config

namespace request_type {
constexpr uint32_t in = 0;
constexpr uint32_t out = 1;
constexpr uint32_t flush = 4;
constexpr uint32_t discard = 11;
constexpr uint32_t write_zeroes = 13;
} // namespace request_type

namespace request_status {
constexpr uint8_t ok = 0;
constexpr uint8_t io_error = 1;
constexpr uint8_t unsupported = 2;
} // namespace request_status

struct [[gnu::packed]] RequestHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector; // always 512-byte units
};
static_assert(sizeof(RequestHeader) == 16);

struct [[gnu::packed]] RangeSegment {
    uint64_t sector;
    uint32_t sectors;
    uint32_t flags;
};
static_assert(sizeof(RangeSegment) == 16);

constexpr uint32_t protocol_sector = 512;

} // namespace blk

class VirtioBlk final : public block::BlockDevice {
public:
    // Per device request. Larger requests are split.
    static constexpr uint32_t max_part_segments = 32;
    static constexpr uint32_t max_part_bytes = 1u << 20;

    // Asked to call check_progress() after a while; the kernel backs it with
    // a timer. Called with no driver lock held.
    struct Watchdog {
        void (*arm)(void* context) { nullptr };
        void* context { nullptr };
    };

    struct Options {
        const char* name { nullptr }; // default: the next of vda, vdb, ...
        uint16_t queue_size { 256 };  // upper bound; the device may offer less
        bool poll_mode { false };     // no interrupts: completions only in poll()
        Watchdog watchdog {};         // interrupt mode only
    };

    VirtioBlk(Transport& transport, DmaProvider& dma) : m_transport(transport), m_dma(dma) {}

    // Negotiates features, reads the configuration, sets up the queue and the
    // request pool, and sets DRIVER_OK. On failure the device is marked
    // FAILED and the reason logged.
    Result<void> init(const Options& options);

    // The interrupt handler body: acknowledges the device, handles a
    // configuration change, drains completions. Interrupts may carry no new
    // work, or stand for many completions. Safe before init() finished.
    void handle_interrupt();
    static void interrupt_entry(void* self) { static_cast<VirtioBlk*>(self)->handle_interrupt(); }

    // The watchdog's tick: if requests are in flight and none completed since
    // the previous tick, notify the device and poll the used ring. Returns
    // whether to tick again (requests are still in flight); once it returns
    // false the next submission arms the watchdog again.
    bool check_progress();

    struct Statistics {
        uint64_t interrupts;     // handler runs, with or without work
        uint64_t completions;    // device chains completed
        uint64_t recovered;      // completions the watchdog found without an interrupt
    };
    Statistics statistics() const;

    bool interrupt_driven() const override { return !m_poll_mode; }
    size_t poll() override { return drain(); }
    bool broken() const override { return m_broken.load(std::memory_order_acquire); }

    uint64_t negotiated_features() const { return m_features; }
    uint16_t queue_size() const { return m_queue.size(); }
    Transport& transport() { return m_transport; }

protected:
    void start(block::Request& request) override;

private:
    struct Slot {
        block::Request* request;
        uint32_t next_free;
    };
    struct [[gnu::packed]] SlotDma {
        blk::RequestHeader header;
        blk::RangeSegment range;
        uint8_t status;
        uint8_t padding[31];
    };
    static_assert(sizeof(SlotDma) == 64);

    struct DoneList {
        block::Request* head { nullptr };
        block::Request* tail { nullptr };
        void push(block::Request& request);
    };
    enum class Dispatch { Added, NoRoom, Failed };

    Result<void> read_configuration();
    size_t drain();
    void pump(DoneList& done);
    Dispatch dispatch_part(block::Request& request);
    void complete_part(const Virtqueue::Used& used, DoneList& done);
    void configuration_changed();
    void break_device(const char* why);
    static void run_callbacks(block::Request* list);

    Transport& m_transport;
    DmaProvider& m_dma;
    uint64_t m_features { 0 };
    bool m_poll_mode { false };
    bool m_has_flush { false };
    uint32_t m_sectors_per_block { 1 }; // protocol sectors per device sector

    IrqSpinLock m_lock;
    Virtqueue m_queue;
    dma::Region m_slot_region {};
    dma::Region m_slot_state {};
    SlotDma* m_slot_dma { nullptr };
    Slot* m_slots { nullptr };
    uint32_t m_slot_count { 0 };
    uint32_t m_free_slot { 0 };
    uint32_t m_free_slots { 0 };
    block::Request* m_pending_head { nullptr };
    block::Request* m_pending_tail { nullptr };
    std::array<Virtqueue::Buffer, max_part_segments + 2> m_scratch {};
    std::atomic<bool> m_ready { false };
    std::atomic<bool> m_broken { false };
    bool m_unknown_status_logged { false };

    Watchdog m_watchdog {};
    bool m_watchdog_armed { false };     // under m_lock
    uint64_t m_completed_at_tick { 0 };  // under m_lock
    bool m_lost_notification_logged { false };
    std::atomic<uint64_t> m_interrupts { 0 };
    std::atomic<uint64_t> m_completions { 0 };
    std::atomic<uint64_t> m_recovered { 0 };
};

} // namespace skiff::virtio
