// Self-test kernel for tools/fc-entry-loader: checks that it was entered in
// the state Firecracker (pre-1.8, Linux 64-bit boot protocol) sets up. The
// expected values are written out here independently of the loader's own
// tables, from Firecracker's sources and its unit tests.
//
// Prints "fc-selftest: PASS|FAIL <check>" lines on COM1 and leaves through
// isa-debug-exit: 0 when every check passed, 1 otherwise.
//
// Expectations come from the command line: expect_cpus=<n>,
// expect_mem_mib=<n> (checks needing one are skipped without it).
#include <cstddef>
#include <cstdint>

extern "C" uint64_t entry_registers[17];
extern "C" const uint8_t ap_trampoline_start[];
extern "C" const uint8_t ap_trampoline_end[];
extern "C" [[noreturn]] void selftest_main();

namespace {

enum Register { Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp, R8, R9, R10, R11, R12, R13, R14, R15, Rflags };
const char* const register_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
    "r11", "r12", "r13", "r14", "r15", "rflags" };

// --- output -------------------------------------------------------------

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

void put(char c)
{
    for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); ++i)
        asm volatile("pause");
    outb(0x3f8, static_cast<uint8_t>(c));
}
void put(const char* s)
{
    while (*s)
        put(*s++);
}
void put_hex(uint64_t v)
{
    put("0x");
    bool started = false;
    for (int shift = 60; shift >= 0; shift -= 4) {
        unsigned digit = (v >> shift) & 0xf;
        if (digit || started || shift == 0) {
            put("0123456789abcdef"[digit]);
            started = true;
        }
    }
}
void put_dec(uint64_t v)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        put(digits[--n]);
}

[[noreturn]] void exit_qemu(uint8_t status)
{
    outb(0xf4, status);
    for (;;)
        asm volatile("cli; hlt");
}

// --- checks -------------------------------------------------------------

unsigned g_failures = 0;
unsigned g_passes = 0;

void pass(const char* name)
{
    ++g_passes;
    put("fc-selftest: PASS ");
    put(name);
    put('\n');
}

// Starts a FAIL line; the caller adds details and the newline.
void fail_begin(const char* name)
{
    ++g_failures;
    put("fc-selftest: FAIL ");
    put(name);
    put(": ");
}

void check(const char* name, bool ok, const char* detail = "")
{
    if (ok) {
        pass(name);
        return;
    }
    fail_begin(name);
    put(detail);
    put('\n');
}

void check_eq(const char* name, uint64_t actual, uint64_t expected)
{
    if (actual == expected) {
        pass(name);
        return;
    }
    fail_begin(name);
    put("got ");
    put_hex(actual);
    put(", want ");
    put_hex(expected);
    put('\n');
}

void skip(const char* name, const char* why)
{
    put("fc-selftest: SKIP ");
    put(name);
    put(": ");
    put(why);
    put('\n');
}

template<typename T>
T read_phys(uint64_t address)
{
    asm("" : "+r"(address));
    return *reinterpret_cast<const volatile T*>(address);
}

template<typename T>
void write_phys(uint64_t address, T value)
{
    asm("" : "+r"(address));
    *reinterpret_cast<volatile T*>(address) = value;
}

// --- command line -------------------------------------------------------

constexpr uint64_t zero_page = 0x7000;
constexpr uint64_t cmdline_address = 0x20000;

size_t cstring_length(uint64_t address, size_t limit)
{
    size_t n = 0;
    while (n < limit && read_phys<char>(address + n) != '\0')
        ++n;
    return n;
}

// Value of "key=<decimal>" in the command line, or -1.
int64_t cmdline_number(const char* key)
{
    size_t length = cstring_length(cmdline_address, 2048);
    size_t key_length = 0;
    while (key[key_length])
        ++key_length;
    for (size_t i = 0; i + key_length <= length; ++i) {
        if (i > 0 && read_phys<char>(cmdline_address + i - 1) != ' ')
            continue;
        bool match = true;
        for (size_t k = 0; k < key_length && match; ++k)
            match = read_phys<char>(cmdline_address + i + k) == key[k];
        if (!match)
            continue;
        int64_t value = 0;
        size_t j = i + key_length;
        if (j >= length || read_phys<char>(cmdline_address + j) < '0' || read_phys<char>(cmdline_address + j) > '9')
            return -1;
        while (j < length && read_phys<char>(cmdline_address + j) >= '0' && read_phys<char>(cmdline_address + j) <= '9')
            value = value * 10 + (read_phys<char>(cmdline_address + j++) - '0');
        return value;
    }
    return -1;
}

// --- the checks ---------------------------------------------------------

void check_registers()
{
    bool others_zero = true;
    for (int r = Rax; r <= R15; ++r) {
        if (r == Rsi || r == Rsp || r == Rbp)
            continue;
        if (entry_registers[r] != 0) {
            others_zero = false;
            fail_begin("gpr-zero");
            put(register_names[r]);
            put(" = ");
            put_hex(entry_registers[r]);
            put('\n');
        }
    }
    if (others_zero)
        pass("gpr-zero");
    check_eq("rsi-zero-page", entry_registers[Rsi], 0x7000);
    check_eq("rsp", entry_registers[Rsp], 0x8ff0);
    check_eq("rbp", entry_registers[Rbp], 0x8ff0);
    check_eq("rflags", entry_registers[Rflags], 0x2);
}

void check_control_registers()
{
    uint64_t cr0, cr3, cr4;
    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    asm volatile("mov %%cr4, %0" : "=r"(cr4));
    uint32_t low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(0xc0000080));
    uint64_t efer = (uint64_t(high) << 32) | low;
    // KVM's reset CR0 (ET, NW, CD) with PE and PG added.
    check_eq("cr0", cr0, 0xe0000011);
    check_eq("cr3", cr3, 0x9000);
    check_eq("cr4-pae-only", cr4, 0x20);
    check_eq("efer-lme-lma", efer, 0x500);
}

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

void check_descriptors()
{
    uint16_t cs, ds, es, ss, fs, gs, tr;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    asm volatile("mov %%ds, %0" : "=r"(ds));
    asm volatile("mov %%es, %0" : "=r"(es));
    asm volatile("mov %%ss, %0" : "=r"(ss));
    asm volatile("mov %%fs, %0" : "=r"(fs));
    asm volatile("mov %%gs, %0" : "=r"(gs));
    asm volatile("str %0" : "=r"(tr));
    check_eq("cs", cs, 0x08);
    check("data-selectors", ds == 0x10 && es == 0x10 && ss == 0x10 && fs == 0x10 && gs == 0x10,
        "ds/es/ss/fs/gs not all 0x10");
    check_eq("tr", tr, 0x18);

    DescriptorPointer gdtr {}, idtr {};
    asm volatile("sgdt %0" : "=m"(gdtr));
    asm volatile("sidt %0" : "=m"(idtr));
    check_eq("gdtr-base", gdtr.base, 0x500);
    check_eq("gdtr-limit", gdtr.limit, 31);
    check_eq("idtr-base", idtr.base, 0x520);
    check_eq("idtr-limit", idtr.limit, 7);

    // Firecracker's gdt tests: null, code 0xa09b, data 0xc093, TSS 0x808b.
    check_eq("gdt-null", read_phys<uint64_t>(0x500), 0);
    check_eq("gdt-code", read_phys<uint64_t>(0x508), 0x00af9b000000ffff);
    check_eq("gdt-data", read_phys<uint64_t>(0x510), 0x00cf93000000ffff);
    check_eq("gdt-tss", read_phys<uint64_t>(0x518), 0x008f8b000000ffff);
    check_eq("idt-empty", read_phys<uint64_t>(0x520), 0);
}

void check_page_tables()
{
    // The CPU sets accessed/dirty bits as it walks; those are not the loader's.
    auto entry = [](uint64_t address) { return read_phys<uint64_t>(address) & ~uint64_t(0x60); };
    bool ok = entry(0x9000) == 0xa003 && entry(0xa000) == 0xb003;
    for (uint64_t i = 1; i < 512 && ok; ++i)
        ok = entry(0x9000 + i * 8) == 0 && entry(0xa000 + i * 8) == 0;
    for (uint64_t i = 0; i < 512 && ok; ++i)
        ok = entry(0xb000 + i * 8) == ((i << 21) | 0x83);
    check("page-tables-1gib-identity", ok, "PML4/PDPT/PD differ from Firecracker's");
}

void check_boot_params(size_t cmdline_length)
{
    check_eq("boot-flag", read_phys<uint16_t>(zero_page + 0x1fe), 0xaa55);
    check_eq("hdrs-magic", read_phys<uint32_t>(zero_page + 0x202), 0x53726448);
    check_eq("type-of-loader", read_phys<uint8_t>(zero_page + 0x210), 0xff);
    check_eq("cmd-line-ptr", read_phys<uint32_t>(zero_page + 0x228), 0x20000);
    check_eq("cmdline-size", read_phys<uint32_t>(zero_page + 0x238), cmdline_length + 1);
    check_eq("kernel-alignment", read_phys<uint32_t>(zero_page + 0x230), 0x1000000);
    check_eq("acpi-rsdp-addr", read_phys<uint64_t>(zero_page + 0x70), 0);

    // Everything Firecracker does not set is zero.
    unsigned entries = read_phys<uint8_t>(zero_page + 0x1e8);
    struct Field {
        uint64_t offset, size;
    };
    const Field set_fields[] = { { 0x1e8, 1 }, { 0x1fe, 2 }, { 0x202, 4 }, { 0x210, 1 }, { 0x228, 4 }, { 0x230, 4 },
        { 0x238, 4 }, { 0x2d0, entries * 20ull } };
    uint64_t stray = 0;
    bool clean = true;
    for (uint64_t offset = 0; offset < 4096 && clean; ++offset) {
        bool is_set = false;
        for (const auto& f : set_fields)
            is_set |= offset >= f.offset && offset < f.offset + f.size;
        if (!is_set && read_phys<uint8_t>(zero_page + offset) != 0) {
            clean = false;
            stray = offset;
        }
    }
    if (clean) {
        pass("zero-page-otherwise-zero");
    } else {
        fail_begin("zero-page-otherwise-zero");
        put("nonzero byte at offset ");
        put_hex(stray);
        put('\n');
    }
}

void check_e820(int64_t expect_mib)
{
    unsigned count = read_phys<uint8_t>(zero_page + 0x1e8);
    put("fc-selftest: e820 entries ");
    put_dec(count);
    put('\n');
    uint64_t total = 0, previous_end = 0;
    bool sane = count >= 2 && count <= 128, holes_respected = true;
    for (unsigned i = 0; i < count && i < 128; ++i) {
        uint64_t at = zero_page + 0x2d0 + i * 20;
        uint64_t base = read_phys<uint64_t>(at), size = read_phys<uint64_t>(at + 8);
        uint32_t type = read_phys<uint32_t>(at + 16);
        put("fc-selftest: e820 ");
        put_hex(base);
        put(" ");
        put_hex(size);
        put(" ");
        put_dec(type);
        put('\n');
        if (size == 0 || base < previous_end || base + size < base)
            sane = false;
        previous_end = base + size;
        if (type != 1)
            sane = false;
        total += size;
        auto overlaps = [&](uint64_t lo, uint64_t hi) { return base < hi && base + size > lo; };
        if (overlaps(0x9fc00, 0x100000) || overlaps(0xd0000000, 0x100000000))
            holes_respected = false;
    }
    check("e820-sorted-ram", sane, "entries unsorted, overlapping, empty or not RAM");
    check("e820-first-entry",
        count >= 1 && read_phys<uint64_t>(zero_page + 0x2d0) == 0 && read_phys<uint64_t>(zero_page + 0x2d8) == 0x9fc00,
        "first entry is not [0, 0x9fc00)");
    check("e820-second-at-1mib", count >= 2 && read_phys<uint64_t>(zero_page + 0x2d0 + 20) == 0x100000,
        "second entry does not start at 1 MiB");
    check("e820-holes", holes_respected, "RAM reported in [0x9fc00, 1 MiB) or the MMIO gap");
    if (expect_mib < 0) {
        skip("e820-covers-memory", "no expect_mem_mib= on the command line");
        return;
    }
    // All of -m, less the 384 KiB + 1 KiB hole below 1 MiB.
    check_eq("e820-covers-memory", total, uint64_t(expect_mib) * 1024 * 1024 - (0x100000 - 0x9fc00));
}

uint8_t byte_sum(uint64_t address, size_t size)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < size; ++i)
        sum = static_cast<uint8_t>(sum + read_phys<uint8_t>(address + i));
    return sum;
}

void check_mptable(int64_t expect_cpus)
{
    constexpr uint64_t mpf = 0x9fc00;
    bool floating_ok = read_phys<uint32_t>(mpf) == 0x5f504d5f /* "_MP_" */ && read_phys<uint8_t>(mpf + 8) == 1
        && read_phys<uint8_t>(mpf + 9) == 4 && byte_sum(mpf, 16) == 0 && read_phys<uint32_t>(mpf + 4) == mpf + 16;
    check("mp-floating-pointer", floating_ok, "missing or malformed at 0x9fc00");
    if (!floating_ok)
        return;
    uint64_t table = read_phys<uint32_t>(mpf + 4);
    uint16_t length = read_phys<uint16_t>(table + 4);
    bool header_ok = read_phys<uint32_t>(table) == 0x504d4350 /* "PCMP" */ && read_phys<uint8_t>(table + 6) == 4
        && length >= 44 && length < 8192 && byte_sum(table, length) == 0
        && read_phys<uint32_t>(table + 36) == 0xfee00000 && read_phys<uint64_t>(table + 8) == 0x2020202020204346;
    check("mp-config-header", header_ok, "bad signature, checksum, OEM id or LAPIC address");
    if (!header_ok)
        return;

    unsigned cpus = 0, buses = 0, ioapics = 0, io_interrupts = 0, local_interrupts = 0;
    bool ids_in_order = true, bsp_ok = true, bus_ok = true, ioapic_ok = true, routing_ok = true, local_ok = true;
    uint8_t ioapic_id = 0;
    uint64_t at = table + 44, end = table + length;
    while (at < end) {
        uint8_t type = read_phys<uint8_t>(at);
        if (type == 0) {
            ids_in_order &= read_phys<uint8_t>(at + 1) == cpus;
            uint8_t flags = read_phys<uint8_t>(at + 3);
            bsp_ok &= flags == (cpus == 0 ? 3 : 1);
            ++cpus;
            at += 20;
        } else if (type == 1) {
            bus_ok &= read_phys<uint8_t>(at + 1) == 0 && read_phys<uint32_t>(at + 2) == 0x20415349 /* "ISA " */
                && read_phys<uint16_t>(at + 6) == 0x2020;
            ++buses;
            at += 8;
        } else if (type == 2) {
            ioapic_id = read_phys<uint8_t>(at + 1);
            ioapic_ok &= read_phys<uint8_t>(at + 3) == 1 && read_phys<uint32_t>(at + 4) == 0xfec00000;
            ++ioapics;
            at += 8;
        } else if (type == 3) {
            routing_ok &= read_phys<uint8_t>(at + 1) == 0 && read_phys<uint8_t>(at + 5) == io_interrupts
                && read_phys<uint8_t>(at + 6) == ioapic_id && read_phys<uint8_t>(at + 7) == io_interrupts;
            ++io_interrupts;
            at += 8;
        } else if (type == 4) {
            // ExtINT to LINT0 of APIC 0, then NMI to LINT1 of every APIC.
            uint8_t kind = read_phys<uint8_t>(at + 1);
            local_ok &= local_interrupts == 0
                ? kind == 3 && read_phys<uint8_t>(at + 6) == 0 && read_phys<uint8_t>(at + 7) == 0
                : kind == 1 && read_phys<uint8_t>(at + 6) == 0xff && read_phys<uint8_t>(at + 7) == 1;
            ++local_interrupts;
            at += 8;
        } else {
            fail_begin("mp-entries");
            put("unknown entry type ");
            put_dec(type);
            put('\n');
            return;
        }
    }
    put("fc-selftest: mp table cpus ");
    put_dec(cpus);
    put(" ioapic id ");
    put_dec(ioapic_id);
    put('\n');
    check("mp-entries-fit", at == end, "entries overrun the table length");
    check("mp-cpu-apic-ids", cpus >= 1 && ids_in_order && bsp_ok, "APIC ids not 0..n-1 or BSP flag wrong");
    check("mp-bus-isa", buses == 1 && bus_ok, "want one ISA bus");
    check("mp-ioapic", ioapics == 1 && ioapic_ok && ioapic_id == cpus + 1, "want one IOAPIC, id cpus+1, 0xfec00000");
    check("mp-io-interrupts", io_interrupts == 24 && routing_ok, "want IRQ i -> IOAPIC pin i for 0..23");
    check("mp-local-interrupts", local_interrupts == 2 && local_ok, "want ExtINT->LINT0, NMI->LINT1");
    if (expect_cpus < 0)
        skip("mp-cpu-count", "no expect_cpus= on the command line");
    else
        check_eq("mp-cpu-count", cpus, uint64_t(expect_cpus));
}


} // namespace

extern volatile uint32_t g_data_pattern[64];
extern volatile uint32_t g_bss_block[16384];
extern volatile const char g_rodata_text[26];
extern "C" char __data_end[];

namespace {

void check_image()
{
    bool data_ok = g_data_pattern[0] == 0xdeadbeef && g_data_pattern[1] == 0x01234567
        && g_data_pattern[2] == 0x89abcdef && g_data_pattern[3] == 0xfeedface;
    for (int i = 4; i < 64; ++i)
        data_ok &= g_data_pattern[i] == 0;
    check("image-data", data_ok, ".data not loaded from the file");
    // From the end of the file's bytes (p_filesz) through g_bss_block, the
    // first thing in .bss: only the loader's zeroing put anything there.
    bool bss_ok = true;
    uint64_t from = reinterpret_cast<uint64_t>(__data_end);
    uint64_t to = reinterpret_cast<uint64_t>(&g_bss_block[16384]);
    for (uint64_t a = from; a < to; ++a)
        bss_ok &= read_phys<uint8_t>(a) == 0;
    check("image-bss-zero", bss_ok && to - from >= sizeof(g_bss_block), ".bss not zeroed");
    const char expected[] = "fc-selftest rodata intact";
    bool rodata_ok = true;
    for (size_t i = 0; i < sizeof(expected); ++i)
        rodata_ok &= g_rodata_text[i] == expected[i];
    check("image-rodata", rodata_ok, ".rodata not loaded");
}

void check_loader_scratch_clean()
{
    // The loader works in [0x10000, 0x20000); Firecracker leaves it zero.
    uint64_t stray = 0;
    for (uint64_t a = 0x10000; a < 0x20000 && !stray; a += 8) {
        if (read_phys<uint64_t>(a) != 0)
            stray = a;
    }
    if (!stray) {
        pass("loader-scratch-zero");
        return;
    }
    fail_begin("loader-scratch-zero");
    put("nonzero at ");
    put_hex(stray);
    put('\n');
}

void cpuid(uint32_t leaf, uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d)
{
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0));
}

uint64_t rdmsr(uint32_t msr)
{
    uint32_t low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (uint64_t(high) << 32) | low;
}

// Maps the LAPIC page: Firecracker's tables only cover the first 1 GiB.
alignas(4096) uint64_t g_high_pd[512];
constexpr uint64_t lapic = 0xfee00000;

void map_lapic()
{
    g_high_pd[(lapic - 0xc0000000) >> 21] = lapic | 0x83 | 0x10; // 2 MiB, uncached
    write_phys<uint64_t>(0xa000 + 3 * 8, reinterpret_cast<uint64_t>(g_high_pd) | 0x3);
    uint64_t cr3;
    asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3)::"memory");
}

uint32_t lapic_read(uint32_t reg) { return read_phys<uint32_t>(lapic + reg); }
void lapic_write(uint32_t reg, uint32_t value) { write_phys<uint32_t>(lapic + reg, value); }

void check_cpu_setup()
{
    uint32_t a, b, c, d;
    cpuid(1, a, b, c, d);
    check_eq("bsp-apic-id", b >> 24, 0);
    check("bsp-flag", rdmsr(0x1b) & 0x100, "IA32_APIC_BASE.BSP clear");
    if (d & (1u << 12))
        check_eq("mtrr-def-type", rdmsr(0x2ff), 0x806);
    map_lapic();
    check_eq("lapic-lint0-extint", (lapic_read(0x350) >> 8) & 7, 7);
    check_eq("lapic-lint1-nmi", (lapic_read(0x360) >> 8) & 7, 4);
}

bool wait_for(uint64_t address, uint8_t value)
{
    // A bound, not a timing assumption: the AP either starts or it doesn't.
    for (uint64_t spins = 0; spins < 400000000; ++spins) {
        if (read_phys<uint8_t>(address) == value)
            return true;
        asm volatile("pause");
    }
    return false;
}

void wait_for_icr_idle()
{
    for (int i = 0; i < 1000000 && (lapic_read(0x300) & (1u << 12)); ++i)
        asm volatile("pause");
}

// The APs must still be waiting for INIT/SIPI (the firmware never ran on
// them): start CPU 1 through a real-mode trampoline and hear from it.
void check_second_cpu()
{
    constexpr uint64_t trampoline = 0x1000;
    size_t size = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
    for (size_t i = 0; i < size; ++i)
        write_phys<uint8_t>(trampoline + i, ap_trampoline_start[i]);
    write_phys<uint8_t>(0x1f00, 0xff);
    write_phys<uint8_t>(0x1f01, 0);

    lapic_write(0xf0, lapic_read(0xf0) | 0x1ff); // software-enable, spurious vector 0xff
    lapic_write(0x310, 1u << 24);
    lapic_write(0x300, 0x4500); // INIT
    wait_for_icr_idle();
    bool started = false;
    for (int attempt = 0; attempt < 2 && !started; ++attempt) {
        lapic_write(0x310, 1u << 24);
        lapic_write(0x300, 0x4600 | (trampoline >> 12)); // SIPI
        wait_for_icr_idle();
        started = wait_for(0x1f01, 0xa5);
    }
    check("ap-starts-on-sipi", started, "CPU 1 did not run the trampoline");
    if (started)
        check_eq("ap-apic-id", read_phys<uint8_t>(0x1f00), 1);
}

} // namespace

extern "C" {
uint64_t entry_registers[17];
}

// The image's own segments: .data initialised, .bss zero. The ELF file has
// other bytes (symbols, strings) right after .data, so a loader copying
// p_memsz instead of p_filesz leaves .bss dirty. Volatile, so the compiler
// cannot answer the checks from the initialisers.
volatile uint32_t g_data_pattern[64] = { 0xdeadbeef, 0x01234567, 0x89abcdef, 0xfeedface };
// First in .bss (selftest.ld), right where the file's trailing bytes would land.
[[gnu::section(".bss.first")]] volatile uint32_t g_bss_block[16384];
volatile const char g_rodata_text[] = "fc-selftest rodata intact";

extern "C" [[noreturn]] void selftest_main()
{
    put("fc-selftest: entered\n");
    size_t cmdline_length = cstring_length(cmdline_address, 2048);
    check("cmdline-terminated", cmdline_length < 2048, "no NUL within 2048 bytes");
    put("fc-selftest: cmdline: ");
    for (size_t i = 0; i < cmdline_length; ++i)
        put(read_phys<char>(cmdline_address + i));
    put('\n');
    int64_t expect_cpus = cmdline_number("expect_cpus=");
    int64_t expect_mib = cmdline_number("expect_mem_mib=");

    check_registers();
    check_control_registers();
    check_descriptors();
    check_page_tables();
    check_boot_params(cmdline_length);
    check_e820(expect_mib);
    check_mptable(expect_cpus);
    check_image();
    check_loader_scratch_clean();
    check_cpu_setup();
    if (expect_cpus >= 2)
        check_second_cpu();

    if (g_failures == 0) {
        put("fc-selftest: ALL ");
        put_dec(g_passes);
        put(" CHECKS PASSED\n");
        exit_qemu(0);
    }
    put("fc-selftest: ");
    put_dec(g_failures);
    put(" CHECKS FAILED\n");
    exit_qemu(1);
}
