// The loader proper, entered from start.S in long mode on the boot CPU with
// the first 4 GiB identity-mapped. Reads the kernel and its command line from
// fw_cfg, lays out Firecracker's boot state and hands over through fc_enter.
// Any refusal prints one line on the serial port and leaves through
// isa-debug-exit with a status that names the stage (see README.md).
#include "lib/log.h"
#include "tools/fc-entry-loader/boot_tables.h"
#include "tools/fc-entry-loader/elf_plan.h"
#include "tools/fc-entry-loader/firecracker_layout.h"
#include "tools/fc-entry-loader/fw_cfg.h"
#include "tools/fc-entry-loader/port_io.h"

#include <cstring>

extern "C" [[noreturn]] void fc_enter(uint64_t entry);
extern "C" [[noreturn]] void loader_main();

namespace skiff::fc_loader {
namespace {

// Written to isa-debug-exit; QEMU exits with (status << 1) | 1.
enum class Exit : uint8_t {
    NoFwCfg = 0x10,
    NoKernel = 0x11,
    BadElf = 0x12,
    UnsupportedElf = 0x13,
    BadPlacement = 0x14,
    BadEntry = 0x15,
    BadMachine = 0x16,
    FwCfgFailed = 0x17,
};

constexpr uint16_t serial_port = 0x3f8;
constexpr uint16_t debug_exit_port = 0xf4;
constexpr std::string_view kernel_file = "opt/skiff/kernel";
constexpr std::string_view cmdline_file = "opt/skiff/cmdline";

constexpr uint32_t msr_apic_base = 0x1b;
constexpr uint32_t msr_mtrr_def_type = 0x2ff;
constexpr uint64_t mtrr_enable_write_back = 0x806; // as Firecracker: enabled, default WB
constexpr uint32_t lapic_lvt_lint0 = 0x350;
constexpr uint32_t lapic_lvt_lint1 = 0x360;

void serial_put(char c)
{
    // Bounded: a missing UART must not hang the loader.
    for (int i = 0; i < 100000 && !(inb(serial_port + 5) & 0x20); ++i)
        asm volatile("pause");
    outb(serial_port, static_cast<uint8_t>(c));
}

void serial_write(std::string_view text)
{
    for (char c : text)
        serial_put(c);
}

void serial_backend(log::Level level, std::string_view line)
{
    serial_write("fc-entry-loader: ");
    if (level <= log::Level::Warn) {
        serial_write(log::level_name(level));
        serial_write(": ");
    }
    serial_write(line);
    serial_put('\n');
}

[[noreturn]] void fail(Exit status, std::string_view what)
{
    log::error("{}; stopping (isa-debug-exit status {:#x})", what, static_cast<uint8_t>(status));
    outb(debug_exit_port, static_cast<uint8_t>(status));
    // Without isa-debug-exit there is nothing that powers microvm off.
    for (;;)
        asm volatile("cli; hlt");
}

template<typename T>
T must(Result<T> result, Exit status, std::string_view what)
{
    if (result.is_error())
        fail(status, what);
    return result.release_value();
}

Exit elf_exit(Error error)
{
    switch (error) {
    case Error::Unsupported: return Exit::UnsupportedElf;
    case Error::OutOfRange: return Exit::BadPlacement;
    case Error::InvalidArgument: return Exit::BadEntry;
    default: return Exit::BadElf;
    }
}

RamMap read_ram_map(FwCfg& fw_cfg)
{
    // etc/e820 has microvm's real split (up to 3 GiB low, rest above 4 GiB).
    alignas(8) static uint8_t table[RamMap::capacity * 2 * 20];
    auto file = fw_cfg.find("etc/e820");
    if (file && file->size != 0 && file->size <= sizeof(table)) {
        must(fw_cfg.read(file->select, 0, reinterpret_cast<uint64_t>(table), file->size), Exit::FwCfgFailed,
            "cannot read etc/e820");
        return must(parse_qemu_e820({ table, file->size }), Exit::BadMachine, "unusable etc/e820");
    }
    if (file)
        log::warn("etc/e820 has an unexpected size {}; using the RAM size item", file->size);
    uint64_t size = must(fw_cfg.read_integer(fw_cfg_key::ram_size, 8), Exit::FwCfgFailed, "cannot read RAM size");
    return ram_map_from_size(size);
}

unsigned read_cpu_count(FwCfg& fw_cfg)
{
    uint64_t cpus = must(fw_cfg.read_integer(fw_cfg_key::nb_cpus, 2), Exit::FwCfgFailed, "cannot read CPU count");
    if (cpus == 0 || cpus > fc::max_cpus) {
        log::error("{} CPUs: Firecracker's MP table describes 1..{}", cpus, fc::max_cpus);
        fail(Exit::BadMachine, "unsupported CPU count");
    }
    return static_cast<unsigned>(cpus);
}

// Copies each segment to its physical address and zeroes the rest of it.
void load_kernel(FwCfg& fw_cfg, const FwCfg::File& kernel, const LoadPlan& plan)
{
    for (size_t i = 0; i < plan.count; ++i) {
        const auto& segment = plan.segments[i];
        must(fw_cfg.read(kernel.select, segment.file_offset, segment.address, segment.file_size), Exit::FwCfgFailed,
            "cannot read kernel segment");
        std::memset(physical<uint8_t>(segment.address + segment.file_size), 0, segment.memory_size - segment.file_size);
    }
}

LoadPlan plan_kernel(FwCfg& fw_cfg, const FwCfg::File& kernel, const E820Map& e820)
{
    alignas(8) static uint8_t header[elf_header_size];
    alignas(8) static uint8_t program_headers[max_program_headers * elf_program_header_size];
    uint64_t header_bytes = kernel.size < sizeof(header) ? kernel.size : sizeof(header);
    must(fw_cfg.read(kernel.select, 0, reinterpret_cast<uint64_t>(header), header_bytes), Exit::FwCfgFailed,
        "cannot read kernel header");
    auto info = parse_elf_header({ header, header_bytes }, kernel.size);
    if (!info)
        fail(elf_exit(info.error()), "kernel refused");
    must(fw_cfg.read(kernel.select, info->program_header_offset, reinterpret_cast<uint64_t>(program_headers),
             info->program_headers_size()),
        Exit::FwCfgFailed, "cannot read program headers");
    auto plan = plan_load(*info, { program_headers, info->program_headers_size() }, kernel.size, e820);
    if (!plan)
        fail(elf_exit(plan.error()), "kernel refused");
    return *plan;
}

// Returns cmdline_size (with the NUL) after writing the text at 0x20000.
size_t place_cmdline(FwCfg& fw_cfg)
{
    // One byte more than fits, so an over-long line is noticed and reported.
    static char text[fc::cmdline_max_size + 1];
    std::span<char> destination { physical<char>(fc::cmdline_address), fc::cmdline_max_size };
    auto file = fw_cfg.find(cmdline_file);
    if (!file) {
        log::info("no {}: using Firecracker's default command line", cmdline_file);
        return place_command_line(destination, fc::default_cmdline);
    }
    uint64_t size = file->size < sizeof(text) ? file->size : sizeof(text);
    must(fw_cfg.read(file->select, 0, reinterpret_cast<uint64_t>(text), size), Exit::FwCfgFailed,
        "cannot read the command line");
    // QEMU's string= items carry no NUL, file= items may end in one.
    size_t length = 0;
    while (length < size && text[length] != '\0')
        ++length;
    return place_command_line(destination, { text, length });
}

void write_boot_structures(const E820Map& e820, const RamMap& ram, unsigned cpus, size_t cmdline_size)
{
    fill_boot_params(*physical<fc::BootParams>(fc::zero_page_address), e820, static_cast<uint32_t>(cmdline_size));

    size_t mp_size = fc::mptable_size(cpus);
    if (!ram.contains(fc::mptable_address, mp_size))
        fail(Exit::BadMachine, "no RAM for the MP table");
    must(write_mptable({ physical<uint8_t>(fc::mptable_address), mp_size }, fc::mptable_address, cpus),
        Exit::BadMachine, "cannot write the MP table");

    fill_page_tables(std::span<uint64_t, 512>(physical<uint64_t>(fc::pml4_address), 512),
        std::span<uint64_t, 512>(physical<uint64_t>(fc::pdpt_address), 512),
        std::span<uint64_t, 512>(physical<uint64_t>(fc::pd_address), 512));
    fill_descriptor_tables(std::span<uint64_t, 4>(physical<uint64_t>(fc::gdt_address), 4),
        std::span<uint64_t, 1>(physical<uint64_t>(fc::idt_address), 1));
}

// What Firecracker sets outside memory: LINT0 ExtINT and LINT1 NMI delivery
// on the boot CPU's local APIC (mask bits kept), and MTRRs on with WB default.
void configure_cpu()
{
    uint64_t apic_base = rdmsr(msr_apic_base) & ~uint64_t(0xfff);
    auto* lint0 = physical<volatile uint32_t>(apic_base + lapic_lvt_lint0);
    auto* lint1 = physical<volatile uint32_t>(apic_base + lapic_lvt_lint1);
    *lint0 = (*lint0 & ~0x700u) | (0x7u << 8);
    *lint1 = (*lint1 & ~0x700u) | (0x4u << 8);

    if (cpuid(1).edx & (1u << 12))
        wrmsr(msr_mtrr_def_type, mtrr_enable_write_back);
}

} // namespace
} // namespace skiff::fc_loader

extern "C" [[noreturn]] void loader_main()
{
    using namespace skiff;
    using namespace skiff::fc_loader;
    log::set_backend(serial_backend);
    log::set_level(log::Level::Info);

    FwCfg fw_cfg = must(FwCfg::probe(), Exit::NoFwCfg, "no fw_cfg device");
    RamMap ram = read_ram_map(fw_cfg);
    unsigned cpus = read_cpu_count(fw_cfg);
    E820Map e820 = must(build_e820(ram), Exit::BadMachine, "unusable memory layout");

    auto kernel = fw_cfg.find(kernel_file);
    if (!kernel) {
        log::error("fw_cfg has no {} (pass -fw_cfg name={},file=<kernel.elf>)", kernel_file, kernel_file);
        fail(Exit::NoKernel, "no kernel");
    }
    LoadPlan plan = plan_kernel(fw_cfg, *kernel, e820);
    load_kernel(fw_cfg, *kernel, plan);
    size_t cmdline_size = place_cmdline(fw_cfg);
    write_boot_structures(e820, ram, cpus, cmdline_size);
    configure_cpu();

    log::info("kernel {} bytes via {}, entry {:#x}; {} cpu(s), {} MiB RAM, cmdline {} bytes", kernel->size,
        fw_cfg.uses_dma() ? "dma" : "byte i/o", plan.entry, cpus, ram.total() >> 20, cmdline_size);
    fc_enter(plan.entry);
}
