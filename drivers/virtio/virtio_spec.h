// Numbers from the virtio 1.x specification that more than one file needs:
// status bits, transport-independent feature bits, device ids and the split
// virtqueue's memory layout. Everything here is what the device sees, so the
// structures are packed and their sizes checked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skiff::virtio {

namespace status {
constexpr uint8_t acknowledge = 1;
constexpr uint8_t driver = 2;
constexpr uint8_t driver_ok = 4;
constexpr uint8_t features_ok = 8;
constexpr uint8_t device_needs_reset = 64;
constexpr uint8_t failed = 128;
} // namespace status

// Feature bits every device type shares (spec section 6).
namespace feature {
constexpr uint64_t indirect_desc = 1ull << 28;
constexpr uint64_t event_idx = 1ull << 29;
constexpr uint64_t version_1 = 1ull << 32;
// "The device sits behind an IOMMU/translation": Skiff gives devices
// physical addresses, which is what this bit allows, so accepting it is safe.
constexpr uint64_t access_platform = 1ull << 33;
} // namespace feature

namespace device_type {
constexpr uint32_t none = 0;
constexpr uint32_t net = 1;
constexpr uint32_t block = 2;
constexpr uint32_t console = 3;
constexpr uint32_t entropy = 4;
constexpr uint32_t balloon = 5;
constexpr uint32_t scsi = 8;
constexpr uint32_t vsock = 19;
} // namespace device_type

const char* device_type_name(uint32_t id);

// Bits of the interrupt status (MMIO InterruptStatus, PCI ISR).
namespace interrupt {
constexpr uint32_t used_buffer = 1;
constexpr uint32_t config_change = 2;
} // namespace interrupt

// --- split virtqueue (spec 2.7) ---

struct [[gnu::packed]] Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

namespace descriptor_flag {
constexpr uint16_t next = 1;
constexpr uint16_t write = 2; // device-writable
constexpr uint16_t indirect = 4;
} // namespace descriptor_flag

struct [[gnu::packed]] UsedElement {
    uint32_t id;
    uint32_t length;
};
static_assert(sizeof(UsedElement) == 8);

constexpr uint16_t avail_flag_no_interrupt = 1;
constexpr uint16_t used_flag_no_notify = 1;

// The largest split queue the spec allows.
constexpr uint32_t max_queue_size = 32768;
// Legacy devices (and the layout Skiff uses everywhere) put the used ring on
// the next 4 KiB boundary after the available ring.
constexpr uint32_t legacy_queue_align = 4096;

// Byte offsets of the three parts in one contiguous region (legacy layout:
// descriptors, available ring with used_event, padding, used ring with
// avail_event). Modern devices accept it too: every part is aligned enough.
struct RingLayout {
    size_t descriptors;
    size_t avail;
    size_t used;
    size_t total;
};
constexpr RingLayout ring_layout(uint32_t size)
{
    size_t desc_bytes = size_t(16) * size;
    size_t avail_bytes = 2 * 3 + size_t(2) * size; // flags, idx, ring[size], used_event
    size_t used_offset = (desc_bytes + avail_bytes + legacy_queue_align - 1) & ~size_t(legacy_queue_align - 1);
    size_t used_bytes = 2 * 3 + size_t(8) * size; // flags, idx, ring[size], avail_event
    return { 0, desc_bytes, used_offset, used_offset + used_bytes };
}

// Whether an index moving from `old_index` to `new_index` crosses `event`
// (spec 2.7.7.2 / 2.7.10): the rule for both notification directions.
constexpr bool need_event(uint16_t event, uint16_t new_index, uint16_t old_index)
{
    return uint16_t(new_index - event - 1) < uint16_t(new_index - old_index);
}

} // namespace skiff::virtio
