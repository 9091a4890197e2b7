// A simulated virtio device for host tests and fuzzers.
//
// SimDevice is the device's state (features, status, configuration space,
// queues) and its side of the split rings: it reads the driver's rings
// straight from host memory (device address == host pointer, as MallocDma
// hands out). Front ends present it as a bus would:
//   SimMmio      virtio-mmio registers, version 2 or legacy version 1
//   SimPci       a PCI function: modern capabilities in BAR 4 and/or the
//                legacy register block in I/O BAR 0, optional MSI-X
// SimBlk adds a virtio-blk device with an in-memory disk on top.
//
// Interrupts are latched, not delivered from inside a register access (the
// driver would re-enter itself): tests call deliver() or run the device on
// its own thread with start_thread().
#pragma once

#include "bus/io_window.h"
#include "bus/pci/pci_function.h"
#include "drivers/virtio/dma_provider.h"
#include "drivers/virtio/virtio_spec.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace skiff::testing {

// Host memory for rings and pools; counts what is outstanding so tests can
// check nothing leaks, and can be told to fail.
class MallocDma final : public virtio::DmaProvider {
public:
    ~MallocDma();
    Result<dma::Region> allocate(size_t size, size_t alignment) override;
    void release(const dma::Region& region) override;
    uint64_t device_address(const void* cpu) override { return reinterpret_cast<uint64_t>(cpu); }

    size_t live() const { return m_live; }
    // Fail the allocation after `count` more successful ones (-1: never).
    int fail_after { -1 };

private:
    size_t m_live { 0 };
    std::vector<std::pair<void*, size_t>> m_blocks;
};

struct SimSegment {
    uint8_t* data;
    uint32_t length;
};

struct SimChain {
    uint16_t head;
    bool indirect;
    std::vector<SimSegment> readable;
    std::vector<SimSegment> writable;
    uint64_t readable_bytes() const;
    uint64_t writable_bytes() const;
    // Concatenated device-readable bytes.
    std::vector<uint8_t> gather() const;
    // Writes into the device-writable buffers in order; returns bytes written.
    uint32_t scatter(const uint8_t* data, size_t size, size_t skip = 0) const;
};

class SimDevice {
public:
    struct Queue {
        uint16_t max_size { 256 };
        uint16_t size { 0 };
        uint64_t desc { 0 };
        uint64_t avail { 0 };
        uint64_t used { 0 };
        bool ready { false };
        uint16_t last_avail { 0 };
        uint16_t used_index { 0 };
        uint16_t msix_vector { 0xffff };
        uint32_t pfn { 0 };
    };

    SimDevice(uint32_t device_type, uint64_t features, size_t config_size, unsigned queue_count = 1);
    virtual ~SimDevice();

    // --- what the front ends call ---
    uint32_t device_type;
    uint64_t offered;
    uint64_t driver_features { 0 };
    uint8_t status() const { return m_status; }
    void write_status(uint8_t value);
    uint32_t read_generation();
    uint32_t read_config(uint32_t offset, unsigned width);
    void write_config(uint32_t offset, unsigned width, uint32_t value);
    void notify(uint16_t queue);
    // Reads and clears (the ISR semantics); MMIO reads without clearing.
    uint32_t interrupt_status() const { return m_interrupt_status; }
    void acknowledge(uint32_t bits) { m_interrupt_status &= ~bits; }
    uint32_t take_interrupt_status();
    // Legacy layout: queue addresses from a page frame.
    void set_legacy_pfn(uint16_t queue, uint32_t pfn, uint32_t page_size);

    std::vector<Queue> queues;
    std::vector<uint8_t> config;
    uint32_t generation { 0 };
    bool msix_enabled { false };

    // --- knobs for tests ---
    bool refuse_features_ok { false };  // FEATURES_OK never sticks
    bool generation_flaps { false };    // every generation read differs
    bool status_stuck { false };        // reset never reads back 0
    bool no_notify_flag { false };      // sets USED_F_NO_NOTIFY (no EVENT_IDX)
    int drop_interrupts { 0 };          // the next N used-buffer interrupts are lost
    // Device-side EVENT_IDX: where it asks to be notified; nullopt keeps
    // avail_event at "every new buffer".
    std::optional<uint16_t> avail_event_override;

    // --- device side of the rings ---
    bool event_idx() const { return driver_features & virtio::feature::event_idx; }
    uint16_t avail_index(uint16_t queue) const;
    // The next chain the driver made available, or nullopt. Malformed chains
    // are recorded in errors and skipped.
    std::optional<SimChain> pop_avail(uint16_t queue);
    // Returns a chain, updates the used index and latches an interrupt if
    // the driver's suppression rules allow one.
    void push_used(uint16_t queue, uint32_t id, uint32_t length);
    // Hostile: arbitrary used element without bookkeeping, or a raw index.
    void push_used_raw(uint16_t queue, uint32_t id, uint32_t length, bool signal = true);
    void set_used_index(uint16_t queue, uint16_t value, bool signal = true);
    uint16_t driver_used_event(uint16_t queue) const;
    uint16_t driver_avail_flags(uint16_t queue) const;
    void raise_config_change();
    // The device sets status bits itself (DEVICE_NEEDS_RESET).
    void set_status_bits(uint8_t bits);

    // Calls on_interrupt if an interrupt is latched; returns whether it did.
    bool deliver();
    std::function<void()> on_interrupt;
    // Called (without the device lock) after every notify().
    std::function<void(uint16_t)> on_notify;

    // Runs process() on its own thread whenever notified and delivers
    // interrupts; stop_thread() (or destruction) ends it.
    void start_thread();
    void stop_thread();
    // Device work for one queue: the base completes nothing.
    virtual size_t process(uint16_t queue) { return 0; }

    int notifications { 0 };
    int interrupts_latched { 0 };
    int interrupts_delivered { 0 };
    int resets { 0 };
    int indirect_chains { 0 };
    std::vector<std::string> errors; // protocol violations by the driver

    std::recursive_mutex mutex;

private:
    void reset_state();
    void latch_interrupt(uint32_t cause);

    uint8_t m_status { 0 };
    uint32_t m_interrupt_status { 0 };
    bool m_pending_interrupt { false };
    std::thread m_thread;
    std::condition_variable_any m_wake;
    bool m_kicked { false };
    std::atomic<bool> m_stop { false };
};

// virtio-mmio registers over a SimDevice.
class SimMmio final : public IoWindow {
public:
    SimMmio(SimDevice& device, uint32_t version, uint32_t size = 0x1000) : m_device(device), m_version(version), m_size(size) {}
    uint8_t read8(uint32_t offset) override;
    uint16_t read16(uint32_t offset) override;
    uint32_t read32(uint32_t offset) override;
    void write8(uint32_t offset, uint8_t value) override;
    void write16(uint32_t offset, uint16_t value) override;
    void write32(uint32_t offset, uint32_t value) override;
    uint32_t size() const override { return m_size; }

    uint32_t magic { 0x74726976 };
    int bad_accesses { 0 }; // non-32-bit accesses to registers

private:
    SimDevice& m_device;
    uint32_t m_version;
    uint32_t m_size;
    uint32_t m_queue_select { 0 };
    uint32_t m_features_select { 0 };
    uint32_t m_driver_features_select { 0 };
    uint32_t m_page_size { 0 };
};

class SimBarWindow;

// A PCI function presenting a SimDevice.
class SimPci final : public pci::Function {
public:
    struct Options {
        bool modern { true };      // vendor capabilities + BAR 4
        bool legacy { false };     // I/O BAR 0 legacy registers (transitional)
        bool msix { true };        // an MSI-X capability
        bool device_cap { true };  // a DEVICE configuration capability
        uint32_t notify_multiplier { 4 };
        uint16_t notify_off_base { 0 }; // queue_notify_off of queue 0
        bool notify_cap_short { false }; // NOTIFY capability region of 1 byte
        bool loop_capabilities { false };
    };
    SimPci(SimDevice& device, const Options& options);
    ~SimPci();

    pci::Address address() const override { return { 0, 0, 3, 0 }; }
    uint8_t config_read8(uint16_t offset) override;
    uint16_t config_read16(uint16_t offset) override;
    uint32_t config_read32(uint16_t offset) override;
    void config_write8(uint16_t offset, uint8_t value) override;
    void config_write16(uint16_t offset, uint16_t value) override;
    void config_write32(uint16_t offset, uint32_t value) override;
    pci::Bar bar(unsigned index) override;
    Result<IoWindow*> map_bar(unsigned index, uint64_t offset, uint32_t length) override;
    Result<void> enable_msix(const uint64_t* addresses, const uint32_t* data, unsigned count) override;
    Result<uint32_t> legacy_interrupt_gsi() override { return 11u; }

    std::vector<uint8_t> space; // configuration space, 256 bytes
    unsigned msix_vectors_enabled { 0 };
    int notifications_at_wrong_offset { 0 };

    // Register access at an offset in a BAR (used by the windows).
    uint32_t bar_read(unsigned bar, uint32_t offset, unsigned width);
    void bar_write(unsigned bar, uint32_t offset, unsigned width, uint32_t value);

    static constexpr uint32_t common_offset = 0x0000;
    static constexpr uint32_t isr_offset = 0x1000;
    static constexpr uint32_t device_offset = 0x2000;
    static constexpr uint32_t notify_offset = 0x3000;
    static constexpr uint32_t bar4_size = 0x4000;
    static constexpr uint32_t legacy_bar_size = 0x100;

private:
    uint32_t common_read(uint32_t offset, unsigned width);
    void common_write(uint32_t offset, unsigned width, uint32_t value);
    uint32_t legacy_read(uint32_t offset, unsigned width);
    void legacy_write(uint32_t offset, unsigned width, uint32_t value);

    SimDevice& m_device;
    Options m_options;
    std::vector<std::unique_ptr<SimBarWindow>> m_windows;
    uint32_t m_feature_select { 0 };
    uint32_t m_driver_feature_select { 0 };
    uint16_t m_queue_select { 0 };
    uint16_t m_legacy_queue_select { 0 };
    uint16_t m_config_vector { 0xffff };
};

// virtio-blk with an in-memory disk (both the volatile view and what a
// flush made durable).
class SimBlk final : public SimDevice {
public:
    struct Geometry {
        uint64_t sectors { 2048 }; // 512-byte sectors
        uint32_t blk_size { 512 };
        uint32_t seg_max { 0 };    // 0: feature not offered
        uint32_t size_max { 0 };   // 0: feature not offered
        bool read_only { false };
        bool flush { true };
        bool event_idx { true };
        bool indirect { true };
        bool discard { false };
        bool write_zeroes { false };
        uint32_t max_discard_sectors { 64 };
        uint32_t max_write_zeroes_sectors { 64 };
        uint16_t queue_size { 128 };
        bool legacy_device { false }; // no VERSION_1 offered
        uint64_t extra_features { 0 }; // offered as well (e.g. SEG_MAX with seg_max 0)
    };
    explicit SimBlk(const Geometry& geometry);

    size_t process(uint16_t queue) override;
    // Takes chains off the avail ring without completing them.
    size_t fetch(uint16_t queue = 0);
    // Executes and completes fetched chains (oldest first); n = all.
    size_t complete_fetched(size_t n = SIZE_MAX);

    std::vector<uint8_t> disk;
    std::vector<uint8_t> durable;

    struct Seen {
        uint32_t type;
        uint64_t sector;
        uint64_t bytes;
        size_t data_segments;
        uint32_t largest_segment;
        bool indirect;
    };
    std::vector<Seen> requests;
    // Requests touching this 512-byte sector fail with IOERR.
    std::optional<uint64_t> fail_sector;
    // Every request of this type gets UNSUPP.
    std::optional<uint32_t> unsupported_type;
    // Status byte to return instead of the real one.
    std::optional<uint8_t> forced_status;

private:
    void execute(uint16_t queue, const SimChain& chain);
    Geometry m_geometry;
    std::vector<std::pair<uint16_t, SimChain>> m_fetched;
};

} // namespace skiff::testing
