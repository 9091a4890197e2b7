// scan_paragraphs: the signature scan behind the RSDP and MP floating-pointer
// searches, through memory that copies (read) and memory that lends a view
// (scan_view), checked against a plain byte-by-byte reference.
#include "firmware/table_access.h"
#include "tests/unit/support/fake_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace skiff {
namespace {

// One contiguous region that hands out pointers for scans, as the kernel's
// direct-mapped firmware memory does.
class ViewMemory final : public PhysicalMemory {
public:
    ViewMemory(uint64_t base, std::vector<uint8_t> bytes) : m_base(base), m_bytes(std::move(bytes)) {}
    bool read(uint64_t address, void* out, size_t size) const override
    {
        if (address < m_base || address - m_base > m_bytes.size() || size > m_bytes.size() - (address - m_base))
            return false;
        std::memcpy(out, m_bytes.data() + (address - m_base), size);
        return true;
    }
    const uint8_t* scan_view(uint64_t address, size_t size) const override
    {
        if (address < m_base || address - m_base > m_bytes.size() || size > m_bytes.size() - (address - m_base))
            return nullptr;
        ++views;
        return m_bytes.data() + (address - m_base);
    }
    mutable int views = 0;

private:
    uint64_t m_base;
    std::vector<uint8_t> m_bytes;
};

constexpr uint64_t base = 0xe0000;

// Every paragraph whose first bytes are the signature, in order.
std::vector<uint64_t> reference(const std::vector<uint8_t>& bytes, std::string_view signature)
{
    std::vector<uint64_t> found;
    for (size_t offset = 0; offset + signature.size() <= bytes.size(); offset += 16) {
        if (std::memcmp(bytes.data() + offset, signature.data(), signature.size()) == 0)
            found.push_back(base + offset);
    }
    return found;
}

void put(std::vector<uint8_t>& bytes, size_t offset, std::string_view text) { std::memcpy(bytes.data() + offset, text.data(), text.size()); }

TEST(ScanParagraphs, FindsTheFirstAcceptedMatchThroughBothKindsOfMemory)
{
    std::vector<uint8_t> bytes(0x20000, 0);
    put(bytes, 0x3f0, "RSD PTR ");   // last paragraph of the first 1 KiB chunk
    put(bytes, 0x1008, "RSD PTR ");  // not on a paragraph boundary: never a match
    put(bytes, 0x5000, "RSD PTR ");
    put(bytes, 0x1fff0, "RSD PTR "); // the last paragraph of the area
    testing::FakeMemory copying;
    copying.place(base, bytes.data(), bytes.size());
    ViewMemory viewing(base, bytes);
    for (const PhysicalMemory* memory : { static_cast<const PhysicalMemory*>(&copying), static_cast<const PhysicalMemory*>(&viewing) }) {
        std::vector<uint64_t> seen;
        uint64_t accepted = firmware::scan_paragraphs(*memory, base, bytes.size(), "RSD PTR ", [&](uint64_t address) {
            seen.push_back(address);
            return address == base + 0x1fff0; // turn down the others
        });
        EXPECT_EQ(accepted, base + 0x1fff0);
        EXPECT_EQ(seen, (std::vector<uint64_t> { base + 0x3f0, base + 0x5000, base + 0x1fff0 }));
    }
    EXPECT_GT(viewing.views, 0);
}

TEST(ScanParagraphs, ShortSignaturesAndAnAreaThatEndsMidChunk)
{
    std::vector<uint8_t> bytes(0x430, 0); // 1 KiB and three paragraphs
    put(bytes, 0x420, "_MP_");
    put(bytes, 0x400, "_MP");             // one byte short
    ViewMemory viewing(base, bytes);
    EXPECT_EQ(firmware::scan_paragraphs(viewing, base, bytes.size(), "_MP_", [](uint64_t) { return true; }), base + 0x420);
    // The area may end before the signature does: no read past it.
    EXPECT_EQ(firmware::scan_paragraphs(viewing, base, 0x422, "_MP_", [](uint64_t) { return true; }), 0u);
}

TEST(ScanParagraphs, AHoleOnlyHidesWhatIsInIt)
{
    // Two regions with an unreadable gap: the chunk spanning the gap is
    // scanned paragraph by paragraph.
    std::vector<uint8_t> low(0x300, 0), high(0x800, 0);
    put(high, 0x10, "RSD PTR ");
    testing::FakeMemory memory;
    memory.place(base, low.data(), low.size());
    memory.place(base + 0x400, high.data(), high.size());
    EXPECT_EQ(firmware::scan_paragraphs(memory, base, 0xc00, "RSD PTR ", [](uint64_t) { return true; }), base + 0x410);
}

TEST(ScanParagraphs, RefusesWhatItCannotDo)
{
    std::vector<uint8_t> bytes(0x100, 'A');
    ViewMemory viewing(base, bytes);
    auto any = [](uint64_t) { return true; };
    EXPECT_EQ(firmware::scan_paragraphs(viewing, base, bytes.size(), "", any), 0u);
    EXPECT_EQ(firmware::scan_paragraphs(viewing, base, bytes.size(), "AAAAAAAAA", any), 0u); // longer than 8
    EXPECT_EQ(firmware::scan_paragraphs(viewing, UINT64_MAX - 8, 64, "A", any), 0u);        // wraps
}

TEST(ScanParagraphs, AgreesWithAByteByByteScanOnRandomMemory)
{
    std::mt19937_64 random(7);
    for (int round = 0; round < 200; ++round) {
        size_t size = 16 * (1 + random() % 300) + random() % 16;
        std::vector<uint8_t> bytes(size);
        for (auto& b : bytes)
            b = "_MPRSD T"[random() % 8]; // signature letters, so near misses abound
        for (int i = 0; i < 3; ++i)
            put(bytes, 16 * (random() % (size / 16)), "_MP_");
        std::vector<uint64_t> expected = reference(bytes, "_MP_");
        for (int view = 0; view < 2; ++view) {
            testing::FakeMemory copying;
            copying.place(base, bytes.data(), bytes.size());
            ViewMemory viewing(base, bytes);
            const PhysicalMemory& memory = view ? static_cast<const PhysicalMemory&>(viewing) : copying;
            std::vector<uint64_t> seen;
            firmware::scan_paragraphs(memory, base, bytes.size(), "_MP_", [&](uint64_t address) {
                seen.push_back(address);
                return false;
            });
            EXPECT_EQ(seen, expected) << "round " << round << " size " << size << (view ? " (view)" : " (copy)");
        }
    }
}

} // namespace
} // namespace skiff
