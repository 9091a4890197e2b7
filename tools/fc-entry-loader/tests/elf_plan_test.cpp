// Host tests for fc-entry-loader's ELF validation: what Firecracker would
// load is planned exactly; everything else is refused with a clear message.
#include "tools/fc-entry-loader/elf_plan.h"

#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

using namespace skiff;
using namespace skiff::fc_loader;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

constexpr uint64_t MiB = 1ull << 20;

struct Phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

// A minimal ELF64 executable: header, program headers, then file bytes.
struct ElfBuilder {
    uint8_t cls = 2, data = 1, version = 1;
    uint16_t type = 2, machine = 62, phentsize = 56;
    uint64_t entry = MiB;
    std::vector<Phdr> phdrs { { 1, 0x1000, MiB, 0x2000, 0x3000 } };
    size_t file_size = 0x4000;
    std::optional<uint64_t> phoff_override;

    std::vector<uint8_t> build() const
    {
        std::vector<uint8_t> f(file_size, 0xab);
        auto put = [&](size_t at, auto value) {
            if (at + sizeof(value) <= f.size())
                std::memcpy(&f[at], &value, sizeof(value));
        };
        f[0] = 0x7f;
        f[1] = 'E';
        f[2] = 'L';
        f[3] = 'F';
        f[4] = cls;
        f[5] = data;
        f[6] = version;
        put(16, type);
        put(18, machine);
        put(20, uint32_t(1));
        put(24, entry);
        put(32, phoff_override.value_or(64));
        put(54, phentsize);
        put(56, uint16_t(phdrs.size()));
        for (size_t i = 0; i < phdrs.size(); ++i) {
            size_t at = 64 + i * 56;
            put(at, phdrs[i].type);
            put(at + 8, phdrs[i].offset);
            put(at + 16, phdrs[i].paddr);
            put(at + 24, phdrs[i].paddr);
            put(at + 32, phdrs[i].filesz);
            put(at + 40, phdrs[i].memsz);
        }
        return f;
    }
};

E820Map ram_256mib()
{
    RamMap ram;
    ram.ranges[ram.count++] = { 0, 256 * MiB };
    return build_e820(ram).value();
}

Result<LoadPlan> plan(const ElfBuilder& b)
{
    auto file = b.build();
    std::span<const uint8_t> bytes(file);
    auto header = parse_elf_header(bytes.first(std::min(bytes.size(), elf_header_size)), bytes.size());
    if (!header)
        return header.error();
    return plan_load(*header, bytes.subspan(header->program_header_offset, header->program_headers_size()),
        bytes.size(), ram_256mib());
}

void expect_refused(const ElfBuilder& b, Error error, const char* message)
{
    clear_log();
    auto result = plan(b);
    ASSERT_FALSE(result) << message;
    EXPECT_EQ(result.error(), error) << message;
    EXPECT_TRUE(log_contains(message, log::Level::Error)) << "no log line containing: " << message;
}

} // namespace

TEST(FcElfPlan, PlansLoadSegmentsAtPhysicalAddresses)
{
    ElfBuilder b;
    b.entry = MiB + 0x10;
    b.phdrs = { { 1, 0x1000, MiB, 0x800, 0x800 }, { 4, 0, 0, 0, 0 }, { 1, 0x2000, 2 * MiB, 0x100, 0x9000 },
        { 1, 0x3000, 3 * MiB, 0, 0 } };
    auto result = plan(b);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->entry, MiB + 0x10);
    ASSERT_EQ(result->count, 2u) << "non-LOAD and empty segments are skipped";
    EXPECT_EQ(result->segments[0].address, MiB);
    EXPECT_EQ(result->segments[0].file_offset, 0x1000u);
    EXPECT_EQ(result->segments[1].address, 2 * MiB);
    EXPECT_EQ(result->segments[1].file_size, 0x100u);
    EXPECT_EQ(result->segments[1].memory_size, 0x9000u);
}

TEST(FcElfPlan, RefusesMalformedHeaders)
{
    ElfBuilder tiny;
    tiny.file_size = 40;
    expect_refused(tiny, Error::Corrupt, "too small");

    ElfBuilder magic;
    auto file = magic.build();
    file[1] = 'X';
    clear_log();
    EXPECT_EQ(parse_elf_header(file, file.size()).error(), Error::Corrupt);
    EXPECT_TRUE(log_contains("not an ELF file"));

    ElfBuilder phentsize;
    phentsize.phentsize = 32;
    expect_refused(phentsize, Error::Corrupt, "program header size");

    ElfBuilder none;
    none.phdrs.clear();
    expect_refused(none, Error::Corrupt, "0 program headers");

    ElfBuilder many;
    many.phdrs.assign(65, { 4, 0, 0, 0, 0 });
    many.file_size = 0x2000;
    expect_refused(many, Error::Corrupt, "65 program headers");

    ElfBuilder past_end;
    past_end.phoff_override = 0x4000 - 40;
    expect_refused(past_end, Error::Corrupt, "run past the end");

    ElfBuilder huge_offset;
    huge_offset.phoff_override = ~0ull - 1; // must not wrap around
    expect_refused(huge_offset, Error::Corrupt, "run past the end");
}

TEST(FcElfPlan, RefusesOtherKindsOfElf)
{
    ElfBuilder b32;
    b32.cls = 1;
    expect_refused(b32, Error::Unsupported, "not 64-bit");
    ElfBuilder big;
    big.data = 2;
    expect_refused(big, Error::Unsupported, "not little-endian");
    ElfBuilder dyn;
    dyn.type = 3;
    expect_refused(dyn, Error::Unsupported, "not ET_EXEC");
    ElfBuilder arm;
    arm.machine = 183;
    expect_refused(arm, Error::Unsupported, "not x86_64");
}

TEST(FcElfPlan, RefusesInconsistentSegments)
{
    ElfBuilder filesz;
    filesz.phdrs = { { 1, 0x1000, MiB, 0x2000, 0x1000 } };
    expect_refused(filesz, Error::Corrupt, "above its memory size");

    ElfBuilder beyond_file;
    beyond_file.phdrs = { { 1, 0x3000, MiB, 0x2000, 0x2000 } };
    expect_refused(beyond_file, Error::Corrupt, "past the end of the");

    ElfBuilder wrapping;
    wrapping.phdrs = { { 1, ~0ull - 0x10, MiB, 0x100, 0x100 } };
    expect_refused(wrapping, Error::Corrupt, "past the end of the");

    ElfBuilder no_load;
    no_load.phdrs = { { 4, 0, 0, 0, 0 } };
    expect_refused(no_load, Error::Corrupt, "no loadable segments");

    ElfBuilder too_many;
    too_many.phdrs.assign(17, { 1, 0x1000, MiB, 0x10, 0x10 });
    expect_refused(too_many, Error::Corrupt, "more than 16");
}

TEST(FcElfPlan, RefusesSegmentsOutsideKernelRam)
{
    ElfBuilder low;
    low.phdrs = { { 1, 0x1000, 0x80000, 0x100, 0x100 } };
    expect_refused(low, Error::OutOfRange, "below 1 MiB");

    ElfBuilder over_end;
    over_end.phdrs = { { 1, 0x1000, 256 * MiB - 0x100, 0x100, 0x200 } };
    expect_refused(over_end, Error::OutOfRange, "not inside guest RAM");

    ElfBuilder above_4g;
    above_4g.phdrs = { { 1, 0x1000, 0xffffff00, 0x100, 0x200 } };
    expect_refused(above_4g, Error::OutOfRange, "above 4 GiB");

    ElfBuilder wraps;
    wraps.phdrs = { { 1, 0x1000, ~0ull - 0xff, 0x100, 0x200 } };
    expect_refused(wraps, Error::OutOfRange, "above 4 GiB");
}

TEST(FcElfPlan, RefusesUnusableEntryPoints)
{
    ElfBuilder high;
    high.entry = 1ull << 30;
    expect_refused(high, Error::InvalidArgument, "outside [1 MiB, 1 GiB)");

    ElfBuilder virtual_entry;
    virtual_entry.entry = 0xffffffff80100000;
    expect_refused(virtual_entry, Error::InvalidArgument, "outside [1 MiB, 1 GiB)");

    ElfBuilder unloaded;
    unloaded.entry = 64 * MiB;
    expect_refused(unloaded, Error::InvalidArgument, "not inside any loaded segment");

    ElfBuilder at_end;
    at_end.entry = MiB + 0x3000; // one past the segment
    expect_refused(at_end, Error::InvalidArgument, "not inside any loaded segment");
}
