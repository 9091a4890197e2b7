// Where virtio drivers get memory the device reads and writes (rings, request
// headers) and how they turn a caller's buffer into a device address. The
// image uses kernel/dma.h (identity mapped RAM); host tests use malloc and
// host pointers, with a simulated device on the other side.
#pragma once

#include "kernel/dma.h"
#include "lib/result.h"

#include <cstddef>
#include <cstdint>

namespace skiff::virtio {

class DmaProvider {
public:
    // Zeroed, contiguous for the device, aligned to at least `alignment`.
    virtual Result<dma::Region> allocate(size_t size, size_t alignment) = 0;
    virtual void release(const dma::Region& region) = 0;
    // The device address of CPU-visible memory the caller owns (data buffers
    // handed to the block API). The buffer must be contiguous for the device.
    virtual uint64_t device_address(const void* cpu) = 0;

protected:
    ~DmaProvider() = default;
};

// The image's provider: kernel/dma.h, where device == CPU address.
DmaProvider& kernel_dma();

} // namespace skiff::virtio
