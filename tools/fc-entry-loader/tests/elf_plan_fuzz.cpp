// Fuzzes the loader's ELF validation with arbitrary kernel files: it must
// refuse or accept without reading out of bounds, and anything it accepts
// must be safe to load. Inputs starting with an odd byte are applied as
// (offset, value) patches to a valid kernel, so the deep paths get exercised
// without a seed corpus.
#include "tools/fc-entry-loader/elf_plan.h"

#include <cstdlib>
#include <cstring>
#include <vector>

using namespace skiff;
using namespace skiff::fc_loader;

namespace {

std::vector<uint8_t> valid_kernel()
{
    std::vector<uint8_t> f(0x3000, 0);
    auto put = [&](size_t at, auto value) { std::memcpy(&f[at], &value, sizeof(value)); };
    const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    std::memcpy(f.data(), ident, sizeof(ident));
    put(16, uint16_t(2));
    put(18, uint16_t(62));
    put(20, uint32_t(1));
    put(24, uint64_t(0x100000));
    put(32, uint64_t(64));
    put(54, uint16_t(56));
    put(56, uint16_t(3));
    const uint64_t segments[3][4] = { { 0x1000, 0x100000, 0x800, 0x800 }, { 0x2000, 0x102000, 0x100, 0x5000 },
        { 0x2800, 0x200000, 0x100, 0x100 } };
    for (size_t i = 0; i < 3; ++i) {
        size_t at = 64 + i * 56;
        put(at, uint32_t(1));
        put(at + 8, segments[i][0]);
        put(at + 16, segments[i][1]);
        put(at + 24, segments[i][1]);
        put(at + 32, segments[i][2]);
        put(at + 40, segments[i][3]);
    }
    return f;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const E820Map e820 = [] {
        RamMap ram;
        ram.ranges[ram.count++] = { 0, 256ull << 20 };
        return build_e820(ram).value();
    }();
    static const std::vector<uint8_t> templ = valid_kernel();

    std::vector<uint8_t> file;
    if (size > 0 && (data[0] & 1)) {
        file = templ;
        for (size_t i = 1; i + 2 < size; i += 3) {
            size_t offset = (size_t(data[i]) | size_t(data[i + 1]) << 8) % (templ.size() + 1);
            if (offset == templ.size())
                file.resize(data[i + 2] * 16u); // truncation
            else if (offset < file.size())
                file[offset] = data[i + 2];
        }
    } else {
        file.assign(data, data + size);
    }

    std::span<const uint8_t> bytes(file);
    auto header = parse_elf_header(bytes.first(bytes.size() < elf_header_size ? bytes.size() : elf_header_size),
        bytes.size());
    if (!header)
        return 0;
    auto plan = plan_load(*header, bytes.subspan(header->program_header_offset, header->program_headers_size()),
        bytes.size(), e820);
    if (!plan)
        return 0;
    for (size_t i = 0; i < plan->count; ++i) {
        const auto& s = plan->segments[i];
        if (s.file_offset + s.file_size > bytes.size() || s.file_size > s.memory_size || s.address < fc::himem_start
            || !e820.ram_contains(s.address, s.memory_size))
            std::abort();
    }
    if (plan->entry < fc::himem_start || plan->entry >= fc::identity_map_size)
        std::abort();
    return 0;
}
