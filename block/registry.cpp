// The block-device registry. Drivers register disks while the kernel probes
// buses (on the first lookup); applications look them up by name ("vda") or
// index.
#include "block/block_device.h"

#include "lib/log.h"
#include "lib/spinlock.h"

#include <array>
#include <atomic>

namespace skiff::block {

namespace {

std::atomic<void (*)()> g_prober { nullptr };
SpinLock g_lock;
std::array<BlockDevice*, max_devices> g_devices {};
size_t g_count = 0;

void ensure_probed()
{
    if (auto probe = g_prober.load(std::memory_order_acquire))
        probe();
}

BlockDevice* find_locked(std::string_view name)
{
    for (size_t i = 0; i < g_count; ++i) {
        if (g_devices[i]->name() == name)
            return g_devices[i];
    }
    return nullptr;
}

} // namespace

Result<void> register_device(BlockDevice& device)
{
    LockGuard guard(g_lock);
    if (device.name().empty() || find_locked(device.name())) {
        log::error("block: a device named '{}' already exists (or the name is empty)", device.name());
        return Error::Exists;
    }
    if (g_count == max_devices) {
        log::error("block: no room for {}: {} devices registered already", device.name(), max_devices);
        return Error::Full;
    }
    g_devices[g_count++] = &device;
    return ok();
}

void unregister_device(BlockDevice& device)
{
    LockGuard guard(g_lock);
    for (size_t i = 0; i < g_count; ++i) {
        if (g_devices[i] != &device)
            continue;
        for (size_t j = i + 1; j < g_count; ++j)
            g_devices[j - 1] = g_devices[j];
        g_devices[--g_count] = nullptr;
        return;
    }
}

void set_prober(void (*probe)()) { g_prober.store(probe, std::memory_order_release); }

size_t device_count()
{
    ensure_probed();
    LockGuard guard(g_lock);
    return g_count;
}

BlockDevice* device(size_t index)
{
    ensure_probed();
    LockGuard guard(g_lock);
    return index < g_count ? g_devices[index] : nullptr;
}

BlockDevice* find(std::string_view name)
{
    ensure_probed();
    LockGuard guard(g_lock);
    return find_locked(name);
}

} // namespace skiff::block
