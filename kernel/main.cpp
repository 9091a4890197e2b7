// From BootInfo to the application's main(), and from its return value to
// power-off.
#include "arch/x86_64/arch.h"
#include "block/block_device.h"
#include "bus/pci/discovery.h"
#include "bus/virtio_mmio/discovery.h"
#include "firmware/acpi.h"
#include "firmware/platform.h"
#include "kernel/boot_info.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/mutex.h"
#include "kernel/kernel.h"
#include "kernel/kernel_options.h"
#include "kernel/memory.h"
#include "lib/log.h"

#include <skiff/system.h>

#include <atomic>
#include <cstring>

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();
// The app's name, generated with its image: argv[0], writable as C promises.
extern "C" char skiff_app_name[];

namespace skiff {

namespace {

const BootInfo* g_boot;
// Constant-initialised (no static constructor, which would run only once
// memory is up, for the app's sake; no guard on the boot path).
constinit CommandLine g_command_line_instance;
CommandLine& command_line() { return g_command_line_instance; }
PlatformInfo g_platform;
bool g_platform_known = false;

// The page tables boot builds (four pages on microvm, seven on pc, with up to
// 1 GiB of RAM) come from this pool in the image, so building them runs no
// allocator search; bigger machines and later mappings continue in the page
// allocator. Only
// cpu_init() and the paging calls, which hold the paging lock, get here.
constexpr size_t boot_table_pool_pages = 8;
[[gnu::section(".noinit")]] alignas(PageAllocator::page_size) uint8_t
    g_boot_table_pool[boot_table_pool_pages][PageAllocator::page_size];
size_t g_boot_table_pool_used = 0;

Result<uint64_t> allocate_table_page()
{
    uint64_t address;
    if (g_boot_table_pool_used < boot_table_pool_pages)
        address = reinterpret_cast<uint64_t>(g_boot_table_pool[g_boot_table_pool_used++]);
    else
        address = TRY(memory::pages().allocate());
    std::memset(reinterpret_cast<void*>(address), 0, PageAllocator::page_size);
    return address;
}

// The FADT is read once, by its first user: the bus probe (any thread), a
// power-off (any CPU, perhaps in a panic with interrupts off) or the platform
// log. Later callers wait for the reader, boundedly: one that faulted while
// reading must not hang a power-off.
enum class FadtState : uint8_t { Unread, Reading, Read };
std::atomic<FadtState> g_fadt_state { FadtState::Unread };
constexpr uint64_t fadt_wait_spins = 50'000'000;

bool ensure_fadt_read()
{
    FadtState expected = FadtState::Unread;
    if (g_fadt_state.compare_exchange_strong(expected, FadtState::Reading, std::memory_order_acquire)) {
        acpi::read_fadt(memory::firmware_memory(), g_platform);
        g_fadt_state.store(FadtState::Read, std::memory_order_release);
        return true;
    }
    for (uint64_t i = 0; i < fadt_wait_spins && g_fadt_state.load(std::memory_order_acquire) != FadtState::Read; ++i)
        arch::cpu_relax();
    return g_fadt_state.load(std::memory_order_acquire) == FadtState::Read;
}

void discover_platform(const BootInfo& boot_info)
{
    std::span<const uint8_t> rsdp_copy { boot_info.acpi_rsdp_copy.data(), boot_info.acpi_rsdp_copy_length };
    auto found = skiff::discover_platform(memory::firmware_memory(), boot_info.acpi_rsdp,
        boot_info.mp_floating_pointer, rsdp_copy, g_platform);
    if (found.is_error()) {
        log::warn("platform: neither ACPI nor an MP table describes this machine; running on the boot CPU only");
        g_platform = {};
        return;
    }
    g_platform_known = true;
    if (log::enabled(log::Level::Info)) {
        ensure_fadt_read(); // for its power registers in the log
        log_platform(g_platform);
    }
}

// The FADT and the DSDT's \_S5 wait until a power-off needs them (see
// acpi::resolve_s5).
bool resolve_sleep_type(PowerControl& power)
{
    if (!ensure_fadt_read())
        return false;
    if (acpi::resolve_s5(memory::firmware_memory(), g_platform).is_error())
        return false;
    power = g_platform.power;
    return power.s5_available;
}

// Cycle-counter checkpoints through boot, printed with `boottime`: one fixed
// slot per phase, so taking one is a single store on the boot path.
enum Phase : uint8_t { KernelMain, Memory, Paging, Platform, Clock, Cpus, phase_count };
constexpr const char* phase_names[phase_count] = { "kernel_main", "memory", "paging", "platform", "clock", "cpus" };
uint64_t g_phase_counter[phase_count];
inline void checkpoint(Phase phase) { arch::record_cycle_counter(g_phase_counter[phase]); }

// Buses: virtio-mmio (command line, else ACPI) and PCI. Drivers bind as
// devices are found; a device that fails is reported and left alone. Runs on
// the first device lookup (block::set_prober), in whichever thread asks.
void discover_devices()
{
    static const PlatformInfo no_platform {};
    if (g_platform_known && !ensure_fadt_read())
        log::warn("devices: the FADT is still being read elsewhere; its DSDT is not searched for devices");
    const PlatformInfo& platform = g_platform_known ? g_platform : no_platform;
    auto mmio = virtio_mmio::discover_virtio_mmio(command_line(), platform, memory::firmware_memory());
    if (mmio.is_error())
        log::warn("devices: virtio-mmio discovery failed: {}", error_name(mmio.error()));
    auto pci = pci::discover_pci(platform);
    if (pci.is_error() && pci.error() != Error::NotFound)
        log::warn("devices: PCI discovery failed: {}", error_name(pci.error()));
}

Once g_devices_probed;
void probe_devices()
{
    g_devices_probed.call(discover_devices);
    // A driver that attached an interrupt brought the controllers up: main,
    // if it is the one asking, takes interrupts from now on like any thread.
    if (arch::interrupt_controllers_up() && sched::current_is_main() && !arch::interrupts_enabled())
        arch::enable_interrupts();
}

void run_static_constructors()
{
    for (auto* constructor = __init_array_start; constructor != __init_array_end; ++constructor)
        (*constructor)();
}

} // namespace

SystemInfo system_info()
{
    return { boot_protocol_name(g_boot->protocol), cpus::count(), memory::usable_bytes(), memory::ram_bytes() };
}

[[noreturn]] void kernel_main(const BootInfo& boot_info)
{
    g_boot = &boot_info;
    cpus::init_boot_cpu(0);
    checkpoint(KernelMain);
    CommandLine& g_command_line = command_line();
    g_command_line.parse(boot_info.command_line_view());
    const KernelOptions options = read_kernel_options(g_command_line);
    log::set_level(options.log_level);
    log::info("boot: entered through {}, command line '{}'", boot_protocol_name(boot_info.protocol), boot_info.command_line_view());
    if (boot_info.command_line_truncated)
        log::warn("boot: the command line was longer than {} bytes and was truncated", BootInfo::max_command_line);
    if (boot_info.memory_map_truncated)
        log::warn("boot: the memory map had more than {} entries; the rest is ignored", BootInfo::max_memory_ranges);

    if (memory::init(boot_info, options.heap_debug).is_error()) {
        console::print("skiff: not enough memory to run (or no usable memory map)");
        arch::power_off(exit_status::out_of_memory);
    }
    checkpoint(Memory);
    memory::preserve_null_page();
    if (auto result = arch::cpu_init(memory::boot_mapped_ranges(), allocate_table_page); result.is_error()) {
        console::print("skiff: cannot build the kernel page tables: {}", error_name(result.error()));
        arch::power_off(exit_status::out_of_memory);
    }

    checkpoint(Paging);
    discover_platform(boot_info);
    checkpoint(Platform);
    arch::set_power_control(g_platform_known ? &g_platform : nullptr, resolve_sleep_type);
    arch::set_interrupt_platform(g_platform_known ? &g_platform : nullptr);
    clock::init(options.tsc_khz, boot_info.entry_tsc);
    checkpoint(Clock);
    sched::init_boot_cpu();
    uint64_t smp_start = arch::read_cycle_counter();
    unsigned online = arch::start_secondary_cpus(g_platform_known ? &g_platform : nullptr, sched::run_secondary_cpu);
    if (g_platform_known && online < g_platform.cpu_count)
        log::warn("smp: {} of {} CPUs online", online, g_platform.cpu_count);
    if (online > 1)
        log::info("smp: {} CPU(s) online in {} us", online, clock::counter_to_ns(arch::read_cycle_counter() - smp_start) / 1000);
    checkpoint(Cpus);
    block::set_prober(probe_devices);
    if (options.probe_devices_at_boot)
        probe_devices();
    run_static_constructors();

    g_command_line.adopt_program_name(skiff_app_name);
    if (options.boottime) {
        uint64_t main_tsc = arch::read_cycle_counter();
        uint64_t previous = boot_info.entry_tsc;
        for (size_t i = 0; i < phase_count; ++i) {
            console::print("skiff: boottime   {:<12} +{}", phase_names[i], g_phase_counter[i] - previous);
            previous = g_phase_counter[i];
        }
        console::print("skiff: boottime entry_tsc={} main_tsc={} delta={}", boot_info.entry_tsc, main_tsc, main_tsc - boot_info.entry_tsc);
    }
    // With other CPUs or devices already up, main runs with interrupts on like
    // any thread; otherwise they come on with its first thread or device.
    if (arch::interrupt_controllers_up())
        arch::enable_interrupts();
    int status = main(g_command_line.argc(), g_command_line.argv());
    arch::power_off(status);
}

} // namespace skiff
