#include "kernel/dma.h"

#include "kernel/memory.h"
#include "lib/log.h"

#include <cstring>

namespace skiff::dma {

namespace {
constexpr size_t page = PageAllocator::page_size;
}

Result<Region> allocate(size_t size, size_t alignment, uint64_t below)
{
    if (size == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
        log::error("dma: bad request for {} bytes aligned to {}", size, alignment);
        return Error::InvalidArgument;
    }
    size_t pages = (size + page - 1) / page;
    size_t align_pages = alignment > page ? alignment / page : 1;
    uint64_t address = below == ~uint64_t(0) ? TRY(memory::pages().allocate(pages, align_pages))
                                              : TRY(memory::pages().allocate_below(below, pages, align_pages));
    std::memset(reinterpret_cast<void*>(address), 0, pages * page);
    return Region { reinterpret_cast<void*>(address), address, pages * page };
}

void release(const Region& region)
{
    if (!region.cpu)
        return;
    size_t pages = (region.size + page - 1) / page;
    if (memory::pages().free(region.device, pages).is_error())
        log::error("dma: released a region at {:#x} that was not allocated", region.device);
}

} // namespace skiff::dma
