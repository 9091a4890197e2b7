// The image's DmaProvider. Skiff identity-maps RAM (kernel/dma.h), so a
// caller's buffer is at the same device address as its CPU address.
#include "drivers/virtio/dma_provider.h"

namespace skiff::virtio {

namespace {

class KernelDma final : public DmaProvider {
public:
    Result<dma::Region> allocate(size_t size, size_t alignment) override { return dma::allocate(size, alignment); }
    void release(const dma::Region& region) override { dma::release(region); }
    uint64_t device_address(const void* cpu) override { return reinterpret_cast<uint64_t>(cpu); }
};

// constinit: kernel objects must not wait for static constructors.
constinit KernelDma g_kernel_dma;

} // namespace

DmaProvider& kernel_dma() { return g_kernel_dma; }

} // namespace skiff::virtio
