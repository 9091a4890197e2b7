#include "lib/format.h"
#include "lib/result.h"

#include <gtest/gtest.h>
#include <string>

using namespace skiff;

namespace {
template<typename... Args>
std::string fmt(std::string_view f, const Args&... args)
{
    char storage[128];
    return std::string(format(storage, f, args...));
}
} // namespace

TEST(Format, IntegersInAllBases)
{
    EXPECT_EQ(fmt("{}", 0), "0");
    EXPECT_EQ(fmt("{}", -42), "-42");
    EXPECT_EQ(fmt("{}", uint64_t(18446744073709551615ull)), "18446744073709551615");
    EXPECT_EQ(fmt("{}", int64_t(-9223372036854775807ll - 1)), "-9223372036854775808");
    EXPECT_EQ(fmt("{:x}", 255), "ff");
    EXPECT_EQ(fmt("{:#x}", 255u), "0xff");
    EXPECT_EQ(fmt("{:X}", 0xabcu), "ABC");
    EXPECT_EQ(fmt("{:016x}", 0x1234u), "0000000000001234");
    EXPECT_EQ(fmt("{:#010x}", 0x1234u), "0x00001234");
    EXPECT_EQ(fmt("{:b}", 5), "101");
}

TEST(Format, WidthAndAlignment)
{
    EXPECT_EQ(fmt("[{:5}]", 42), "[   42]");
    EXPECT_EQ(fmt("[{:<5}]", 42), "[42   ]");
    EXPECT_EQ(fmt("[{:6}]", "ab"), "[    ab]");
    EXPECT_EQ(fmt("[{:<6}]", std::string_view("ab")), "[ab    ]");
}

TEST(Format, OtherTypes)
{
    EXPECT_EQ(fmt("{} {}", true, false), "true false");
    EXPECT_EQ(fmt("{}", 'z'), "z");
    EXPECT_EQ(fmt("{:c}", 65), "A");
    EXPECT_EQ(fmt("{}", static_cast<const char*>(nullptr)), "(null)");
    EXPECT_EQ(fmt("{}", reinterpret_cast<void*>(0x1000)), "0x1000");
}

TEST(Format, BracesAndMalformedSpecsAreLiteral)
{
    EXPECT_EQ(fmt("{{}}"), "{}");
    EXPECT_EQ(fmt("{} {}", 1), "1 {}");
    EXPECT_EQ(fmt("{:q", 1), "{:q");
    EXPECT_EQ(fmt("{", 1), "{");
    EXPECT_EQ(fmt("no args {}"), "no args {}");
}

TEST(Format, TruncatesWithoutOverflow)
{
    char small[4];
    FormatBuffer buffer(small, sizeof(small));
    format_to(buffer, "{}", 123456);
    EXPECT_EQ(buffer.view(), "1234");
    EXPECT_TRUE(buffer.truncated());
    EXPECT_EQ(buffer.dropped(), 2u);
}

namespace {
Result<int> half(int v)
{
    if (v % 2)
        return Error::InvalidArgument;
    return v / 2;
}
Result<int> quarter(int v)
{
    int h = TRY(half(v));
    return TRY(half(h));
}
} // namespace

TEST(Result, TryPropagatesErrors)
{
    EXPECT_EQ(*quarter(8), 2);
    auto r = quarter(6);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_STREQ(error_name(r.error()), "invalid argument");
}
