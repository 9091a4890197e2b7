#include "kernel/cmdline.h"
#include "tests/unit/support/log_capture.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace skiff;
using skiff::testing::captured_log;
using skiff::testing::clear_log;
using skiff::testing::log_contains;

namespace {

// A 10 KiB object: keep it on the heap in tests.
std::unique_ptr<CommandLine> parsed(std::string_view text)
{
    clear_log();
    auto line = std::make_unique<CommandLine>();
    line->parse(text);
    return line;
}

std::vector<std::string> args_of(CommandLine& line)
{
    std::vector<std::string> out;
    char** argv = line.argv();
    for (int i = 1; i < line.argc(); ++i)
        out.emplace_back(argv[i]);
    EXPECT_EQ(argv[line.argc()], nullptr);
    return out;
}

// "key=value|flag|key2=" for compact comparisons.
std::string params_of(const CommandLine& line)
{
    std::string out;
    for (const KernelParameter& p : line.parameters()) {
        if (!out.empty())
            out += '|';
        out += std::string(p.key);
        if (p.has_value)
            out += "=" + std::string(p.value);
    }
    return out;
}

bool log_is_empty() { return captured_log().empty(); }

using Args = std::vector<std::string>;

constexpr std::string_view firecracker_line = "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux "
                                              "loglevel=debug virtio_mmio.device=4K@0xd0000000:5 -- --exit 7 "
                                              "\"hello world\"";

} // namespace

TEST(CommandLine, FirecrackerDefaultLine)
{
    auto line = parsed(firecracker_line);
    EXPECT_EQ(params_of(*line), "reboot=k|panic=1|pci=off|nomodule|8250.nr_uarts=0|i8042.noaux|loglevel=debug|"
                                "virtio_mmio.device=4K@0xd0000000:5");
    ASSERT_EQ(line->parameters().size(), 8u);
    EXPECT_FALSE(line->parameters()[3].has_value);
    EXPECT_TRUE(line->parameters()[3].value.empty());
    EXPECT_TRUE(line->parameters()[0].has_value);
    EXPECT_EQ(line->argc(), 4);
    EXPECT_STREQ(line->argv()[0], "app");
    EXPECT_EQ(args_of(*line), (Args { "--exit", "7", "hello world" }));
    EXPECT_EQ(line->argument(2), "hello world");
    EXPECT_EQ(line->argument(3), "");
    EXPECT_EQ(line->dropped_tokens(), 0u);
    EXPECT_TRUE(log_is_empty());

    EXPECT_EQ(line->get_string("reboot", "x"), "k");
    EXPECT_EQ(line->get_uint("panic", 0), 1u);
    EXPECT_FALSE(line->get_bool("pci", true));
    EXPECT_TRUE(line->get_bool("nomodule", false));
    EXPECT_TRUE(line->has_flag("i8042.noaux"));
    EXPECT_EQ(line->get_uint("8250.nr_uarts", 4), 0u);
    EXPECT_EQ(line->get_choice("loglevel", { "error", "warn", "info", "debug" }, 2), 3u);
    EXPECT_FALSE(line->has_flag("i8042.nomux"));
    EXPECT_TRUE(log_is_empty());
}

TEST(CommandLine, OlderFirecrackerLineWithoutSeparator)
{
    auto line = parsed("reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp "
                       "i8042.dumbkbd swiotlb=noforce");
    EXPECT_EQ(line->parameters().size(), 10u);
    EXPECT_EQ(line->argc(), 1);
    EXPECT_EQ(line->argv()[1], nullptr);
    EXPECT_TRUE(line->has_flag("i8042.dumbkbd"));
    EXPECT_EQ(line->get_string("swiotlb", ""), "noforce");
}

TEST(CommandLine, QuotingAndEscapes)
{
    auto line = parsed(R"(key="a b" path="/x y/\"q\"" back="c:\\d" odd="a\nb" mid=x"y z"w "quoted=whole thing" )"
                       R"(out=a\"b" -- "hello world" "say \"hi\"" plain\x)");
    EXPECT_EQ(line->get_string("key", ""), "a b");
    EXPECT_EQ(line->get_string("path", ""), "/x y/\"q\"");
    EXPECT_EQ(line->get_string("back", ""), "c:\\d");
    // Only \" and \\ are escapes, and only inside quotes.
    EXPECT_EQ(line->get_string("odd", ""), "a\\nb");
    EXPECT_EQ(line->get_string("mid", ""), "xy zw");
    EXPECT_EQ(line->get_string("quoted", ""), "whole thing");
    EXPECT_EQ(line->get_string("out", ""), "a\\b");
    EXPECT_EQ(args_of(*line), (Args { "hello world", "say \"hi\"", "plain\\x" }));
    EXPECT_EQ(line->dropped_tokens(), 0u);
    EXPECT_TRUE(log_is_empty());
}

TEST(CommandLine, QuotesGroupAppArguments)
{
    auto line = parsed("x -- \"hello world\" \"\" 'single' \"tab\there\" a\"b c\"d");
    EXPECT_EQ(args_of(*line), (Args { "hello world", "", "'single'", "tab\there", "ab cd" }));
    EXPECT_EQ(params_of(*line), "x");
    EXPECT_TRUE(log_is_empty());
}

TEST(CommandLine, SeparatorHandling)
{
    // Only the first standalone `--` separates; `--foo` is a parameter; a
    // second `--` is an argument.
    auto line = parsed("a=1 --foo --bar=2 -- -- --x --");
    EXPECT_EQ(params_of(*line), "a=1|--foo|--bar=2");
    EXPECT_EQ(args_of(*line), (Args { "--", "--x", "--" }));

    line = parsed("a --");
    EXPECT_EQ(params_of(*line), "a");
    EXPECT_EQ(line->argc(), 1);

    line = parsed("-- only args");
    EXPECT_TRUE(line->parameters().empty());
    EXPECT_EQ(args_of(*line), (Args { "only", "args" }));

    // A quoted "--" is not the separator.
    line = parsed("a \"--\" b");
    EXPECT_EQ(params_of(*line), "a|--|b");
    EXPECT_EQ(line->argc(), 1);

    // Any blank separates tokens, including around the separator.
    line = parsed("a --\tb\n--\r\nc");
    EXPECT_EQ(params_of(*line), "a");
    EXPECT_EQ(args_of(*line), (Args { "b", "--", "c" }));
}

TEST(CommandLine, EmptyAndBlankLines)
{
    for (std::string_view text : { std::string_view(""), std::string_view("   "), std::string_view(" \t\n\r \v\f ") }) {
        auto line = parsed(text);
        EXPECT_TRUE(line->parameters().empty());
        EXPECT_EQ(line->argc(), 1);
        EXPECT_STREQ(line->argv()[0], "app");
        EXPECT_EQ(line->argv()[1], nullptr);
        EXPECT_EQ(line->dropped_tokens(), 0u);
        EXPECT_EQ(line->find(""), nullptr);
        EXPECT_EQ(line->get_uint("x", 5), 5u);
        EXPECT_TRUE(log_is_empty());
    }
}

TEST(CommandLine, NulEndsTheLine)
{
    auto line = parsed(std::string_view("a=1 b\0c=3 -- x", 14));
    EXPECT_EQ(params_of(*line), "a=1|b");
    EXPECT_EQ(line->argc(), 1);
}

TEST(CommandLine, EmptyKeyIsWarnedAndSkipped)
{
    auto line = parsed("a=1 =x b = =");
    EXPECT_EQ(params_of(*line), "a=1|b");
    EXPECT_EQ(line->dropped_tokens(), 3u);
    EXPECT_TRUE(log_contains("empty key: '=x'", log::Level::Warn));

    line = parsed("a \"\" b");
    EXPECT_EQ(params_of(*line), "a|b");
    EXPECT_EQ(line->dropped_tokens(), 1u);
    EXPECT_TRUE(log_contains("empty key", log::Level::Warn));

    // Empty values are fine.
    line = parsed("key= other=\"\"");
    EXPECT_EQ(params_of(*line), "key=|other=");
    EXPECT_TRUE(line->find("key")->has_value);
    EXPECT_EQ(line->get_string("key", "fallback"), "");
    EXPECT_EQ(line->dropped_tokens(), 0u);
    EXPECT_TRUE(log_is_empty());
}

TEST(CommandLine, UnterminatedQuoteTakesRestOfLine)
{
    auto line = parsed("a=1 msg=\"hello  world -- x y");
    EXPECT_EQ(params_of(*line), "a=1|msg=hello  world -- x y");
    EXPECT_EQ(line->argc(), 1);
    EXPECT_TRUE(log_contains("unterminated quote", log::Level::Warn));
    EXPECT_EQ(line->dropped_tokens(), 0u);

    line = parsed("-- a \"b c");
    EXPECT_EQ(args_of(*line), (Args { "a", "b c" }));
    EXPECT_TRUE(log_contains("unterminated quote", log::Level::Warn));

    // A trailing backslash inside an open quote stays literal.
    line = parsed("-- \"x\\");
    EXPECT_EQ(args_of(*line), (Args { "x\\" }));
    EXPECT_TRUE(log_contains("unterminated quote", log::Level::Warn));
}

TEST(CommandLine, TooManyParameters)
{
    std::string text;
    for (int i = 0; i < 140; ++i)
        text += "p" + std::to_string(i) + "=" + std::to_string(i) + " ";
    text += "-- arg";
    auto line = parsed(text);
    EXPECT_EQ(line->parameters().size(), CommandLine::max_parameters);
    EXPECT_EQ(line->dropped_tokens(), 12u);
    EXPECT_EQ(line->get_uint("p127", 0), 127u);
    EXPECT_EQ(line->find("p128"), nullptr);
    EXPECT_TRUE(log_contains("more than 128 kernel parameters; dropped 12", log::Level::Warn));
    // Arguments after the separator are still taken.
    EXPECT_EQ(args_of(*line), (Args { "arg" }));
}

TEST(CommandLine, TooManyArguments)
{
    std::string text = "k --";
    for (int i = 0; i < 70; ++i)
        text += " a" + std::to_string(i);
    auto line = parsed(text);
    EXPECT_EQ(line->argc(), int(CommandLine::max_arguments) + 1);
    EXPECT_EQ(line->dropped_tokens(), 6u);
    EXPECT_STREQ(line->argv()[64], "a63");
    EXPECT_EQ(line->argv()[65], nullptr);
    EXPECT_TRUE(log_contains("more than 64 application arguments; dropped 6", log::Level::Warn));
}

TEST(CommandLine, LineOfExactlyMaxTextFits)
{
    // One huge token of max_text bytes plus nothing else: always fits.
    std::string text = "k=" + std::string(CommandLine::max_text - 2, 'v');
    auto line = parsed(text);
    ASSERT_EQ(line->parameters().size(), 1u);
    EXPECT_EQ(line->parameters()[0].value.size(), CommandLine::max_text - 2);
    EXPECT_EQ(line->dropped_tokens(), 0u);

    // 32 tokens filling exactly max_text bytes with their separators.
    text.clear();
    for (int i = 0; i < 32; ++i) {
        std::string token = "k" + std::to_string(i) + "=";
        token.resize(i == 31 ? 128 : 127, 'v');
        text += token;
        if (i != 31)
            text += ' ';
    }
    ASSERT_EQ(text.size(), CommandLine::max_text);
    line = parsed(text);
    EXPECT_EQ(line->parameters().size(), 32u);
    EXPECT_EQ(line->find("k31")->value.size(), 124u);
    EXPECT_EQ(line->dropped_tokens(), 0u);
    EXPECT_TRUE(log_is_empty());
}

TEST(CommandLine, TextOverflowDropsTheTailWhole)
{
    // 4000 bytes of one parameter, then tokens that cannot all fit.
    std::string text = "big=" + std::string(4000, 'b') + " small=1 tail=" + std::string(200, 't') + " after=2";
    auto line = parsed(text);
    EXPECT_EQ(params_of(*line).substr(0, 4), "big=");
    EXPECT_EQ(line->get_uint("small", 0), 1u);
    // The tail does not fit, so it and everything after it are dropped whole.
    EXPECT_EQ(line->find("tail"), nullptr);
    EXPECT_EQ(line->find("after"), nullptr);
    EXPECT_EQ(line->dropped_tokens(), 2u);
    EXPECT_TRUE(log_contains("exceeds 4096 bytes", log::Level::Warn));
    EXPECT_TRUE(log_contains("dropped 2 tokens", log::Level::Warn));

    // A single token far over the limit.
    line = parsed("a=1 -- " + std::string(10000, 'z') + " b");
    EXPECT_EQ(params_of(*line), "a=1");
    EXPECT_EQ(line->argc(), 1);
    EXPECT_EQ(line->dropped_tokens(), 2u);
    EXPECT_TRUE(log_contains("exceeds 4096 bytes", log::Level::Warn));
}

TEST(CommandLine, ManyMalformedTokensAreSummarised)
{
    std::string text;
    for (int i = 0; i < 50; ++i)
        text += "=x ";
    auto line = parsed(text);
    EXPECT_EQ(line->dropped_tokens(), 50u);
    EXPECT_TRUE(line->parameters().empty());
    EXPECT_TRUE(log_contains("50 malformed tokens ignored", log::Level::Warn));
    EXPECT_LE(captured_log().size(), 10u);
}

TEST(CommandLine, ReparseReplacesEverything)
{
    auto line = parsed("a=1 =bad -- x");
    line->parse("b=2");
    EXPECT_EQ(params_of(*line), "b=2");
    EXPECT_EQ(line->argc(), 1);
    EXPECT_EQ(line->argv()[1], nullptr);
    EXPECT_EQ(line->dropped_tokens(), 0u);
}

TEST(CommandLine, SourceBufferMayBeReused)
{
    std::string text = "key=value -- arg";
    auto line = parsed(text);
    std::fill(text.begin(), text.end(), '#');
    EXPECT_EQ(line->get_string("key", ""), "value");
    EXPECT_STREQ(line->argv()[1], "arg");
}

TEST(CommandLine, ProgramName)
{
    auto line = parsed("-- x");
    line->set_program_name("hello");
    EXPECT_STREQ(line->argv()[0], "hello");
    EXPECT_STREQ(line->argv()[1], "x");
    line->set_program_name(std::string(100, 'n'));
    EXPECT_EQ(std::strlen(line->argv()[0]), CommandLine::max_program_name);
    EXPECT_TRUE(log_contains("truncated", log::Level::Warn));
    // Set before parse: kept across parse.
    auto other = std::make_unique<CommandLine>();
    other->set_program_name("first");
    other->parse("-- y");
    EXPECT_STREQ(other->argv()[0], "first");
    EXPECT_EQ(other->argc(), 2);
}

TEST(CommandLine, AdoptedProgramNameIsNotCopied)
{
    char name[] = "hello";
    auto line = std::make_unique<CommandLine>();
    line->adopt_program_name(name);
    line->parse("-- a b");
    EXPECT_EQ(line->argv()[0], name);
    EXPECT_EQ(line->argc(), 3);
    line->parse("again");
    EXPECT_EQ(line->argv()[0], name);
    EXPECT_EQ(line->argv()[1], nullptr);
    line->set_program_name("copied");
    EXPECT_STREQ(line->argv()[0], "copied");
    EXPECT_NE(line->argv()[0], name);
}

TEST(CommandLine, LastOccurrenceWins)
{
    auto line = parsed("mem=1 flag mem=2 other mem=0x3 flag=off");
    EXPECT_EQ(line->get_uint("mem", 0), 3u);
    EXPECT_EQ(line->find("mem")->value, "0x3");
    EXPECT_FALSE(line->get_bool("flag", true));
    EXPECT_TRUE(line->find("flag")->has_value);
}

TEST(CommandLine, ForEachVisitsInOrder)
{
    auto line = parsed("virtio_mmio.device=4K@0xd0000000:5 x=1 virtio_mmio.device=4K@0xd0001000:6 "
                       "virtio_mmio.device virtio_mmio.device=4K@0xd0002000:7");
    std::vector<std::string> values;
    line->for_each("virtio_mmio.device", [&](std::string_view v) { values.emplace_back(v); });
    EXPECT_EQ(values, (Args { "4K@0xd0000000:5", "4K@0xd0001000:6", "", "4K@0xd0002000:7" }));
    std::vector<bool> has;
    line->for_each("virtio_mmio.device", [&](const KernelParameter& p) { has.push_back(p.has_value); });
    EXPECT_EQ(has, (std::vector<bool> { true, true, false, true }));
    int none = 0;
    line->for_each("absent", [&](std::string_view) { ++none; });
    EXPECT_EQ(none, 0);
}

TEST(CommandLine, KeysMatchExactly)
{
    auto line = parsed("8250.nr_uarts=0 virtio-mmio.x=1 Key=2");
    EXPECT_NE(line->find("8250.nr_uarts"), nullptr);
    EXPECT_EQ(line->find("8250.nr-uarts"), nullptr);
    EXPECT_EQ(line->find("key"), nullptr);
    EXPECT_EQ(line->find("8250"), nullptr);
    EXPECT_EQ(line->get_uint("virtio-mmio.x", 0), 1u);
}

TEST(CommandLine, GetUint)
{
    auto line = parsed("dec=123 hex=0x1F HEX=0XfF zero=0 max=18446744073709551615 over=99999999999999999999 "
                       "hexover=0x10000000000000000 neg=-1 junk=12a empty= bare x0=0x lead=007 plus=+5 space=\" 1\"");
    EXPECT_EQ(line->get_uint("dec", 0), 123u);
    EXPECT_EQ(line->get_uint("hex", 0), 0x1fu);
    EXPECT_EQ(line->get_uint("HEX", 0), 0xffu);
    EXPECT_EQ(line->get_uint("zero", 9), 0u);
    EXPECT_EQ(line->get_uint("max", 0), UINT64_MAX);
    EXPECT_EQ(line->get_uint("lead", 0), 7u);
    EXPECT_EQ(line->get_uint("absent", 42), 42u);
    EXPECT_TRUE(log_is_empty());

    EXPECT_EQ(line->get_uint("over", 42), 42u);
    EXPECT_TRUE(log_contains("over='99999999999999999999'", log::Level::Warn));
    EXPECT_TRUE(log_contains("using default 42", log::Level::Warn));
    for (const char* key : { "hexover", "neg", "junk", "empty", "bare", "x0", "plus", "space" }) {
        clear_log();
        EXPECT_EQ(line->get_uint(key, 7), 7u) << key;
        EXPECT_TRUE(log_contains(std::string("cmdline: ") + key + "=", log::Level::Warn)) << key;
        EXPECT_TRUE(log_contains("using default 7", log::Level::Warn)) << key;
    }
}

TEST(CommandLine, GetSize)
{
    auto line = parsed("a=512 b=4K c=4k d=2M e=1G f=0x1000 g=0x10K h=1T i=16777215T j=16777216T k=4X l=4KB m=K n=");
    EXPECT_EQ(line->get_size("a", 0), 512u);
    EXPECT_EQ(line->get_size("b", 0), 4096u);
    EXPECT_EQ(line->get_size("c", 0), 4096u);
    EXPECT_EQ(line->get_size("d", 0), 2u << 20);
    EXPECT_EQ(line->get_size("e", 0), 1u << 30);
    EXPECT_EQ(line->get_size("f", 0), 0x1000u);
    EXPECT_EQ(line->get_size("g", 0), 0x10u << 10);
    EXPECT_EQ(line->get_size("h", 0), 1ull << 40);
    EXPECT_EQ(line->get_size("i", 0), 16777215ull << 40);
    EXPECT_EQ(line->get_size("absent", 99), 99u);
    EXPECT_TRUE(log_is_empty());

    EXPECT_EQ(line->get_size("k", 64), 64u);
    EXPECT_TRUE(log_contains("k='4X' is not a size", log::Level::Warn));
    EXPECT_TRUE(log_contains("using default 64", log::Level::Warn));
    for (const char* key : { "j", "l", "m", "n" }) {
        clear_log();
        EXPECT_EQ(line->get_size(key, 5), 5u) << key;
        EXPECT_TRUE(log_contains("using default 5", log::Level::Warn)) << key;
    }
}

TEST(CommandLine, NumberParsers)
{
    EXPECT_EQ(parse_uint("0"), 0u);
    EXPECT_EQ(parse_uint("0x0"), 0u);
    EXPECT_EQ(parse_uint("0xffffffffffffffff"), UINT64_MAX);
    EXPECT_EQ(parse_uint("18446744073709551616"), std::nullopt);
    EXPECT_EQ(parse_uint("0x"), std::nullopt);
    EXPECT_EQ(parse_uint(""), std::nullopt);
    EXPECT_EQ(parse_uint("1 "), std::nullopt);
    EXPECT_EQ(parse_uint("0b1"), std::nullopt);
    EXPECT_EQ(parse_size("0x1B"), 0x1bu); // B is a hex digit, not a suffix
    EXPECT_EQ(parse_size("1g"), 1u << 30);
    EXPECT_EQ(parse_size("16383P"), std::nullopt);
    EXPECT_EQ(parse_size("17179869184G"), std::nullopt); // 2^34 G = 2^64
    EXPECT_EQ(parse_size("17179869183G"), 17179869183ull << 30);
    EXPECT_EQ(parse_size(""), std::nullopt);
}

TEST(CommandLine, GetBool)
{
    auto line = parsed("a b=1 c=0 d=on e=off f=yes g=no h=true i=FALSE j=On k=maybe l= m=2");
    EXPECT_TRUE(line->get_bool("a", false));
    EXPECT_TRUE(line->get_bool("b", false));
    EXPECT_FALSE(line->get_bool("c", true));
    EXPECT_TRUE(line->get_bool("d", false));
    EXPECT_FALSE(line->get_bool("e", true));
    EXPECT_TRUE(line->get_bool("f", false));
    EXPECT_FALSE(line->get_bool("g", true));
    EXPECT_TRUE(line->get_bool("h", false));
    EXPECT_FALSE(line->get_bool("i", true));
    EXPECT_TRUE(line->get_bool("j", false));
    EXPECT_TRUE(line->get_bool("absent", true));
    EXPECT_FALSE(line->get_bool("absent", false));
    EXPECT_TRUE(log_is_empty());

    EXPECT_TRUE(line->get_bool("k", true));
    EXPECT_TRUE(log_contains("k='maybe' is not a boolean", log::Level::Warn));
    EXPECT_TRUE(log_contains("using default true", log::Level::Warn));
    clear_log();
    EXPECT_FALSE(line->get_bool("l", false));
    EXPECT_TRUE(log_contains("using default false", log::Level::Warn));
    clear_log();
    EXPECT_FALSE(line->get_bool("m", false));
    EXPECT_TRUE(log_contains("m='2'", log::Level::Warn));
}

TEST(CommandLine, GetString)
{
    auto line = parsed("name=skiff bare empty=");
    EXPECT_EQ(line->get_string("name", "x"), "skiff");
    EXPECT_EQ(line->get_string("empty", "x"), "");
    EXPECT_EQ(line->get_string("absent", "dflt"), "dflt");
    EXPECT_TRUE(log_is_empty());
    EXPECT_EQ(line->get_string("bare", "dflt"), "dflt");
    EXPECT_TRUE(log_contains("bare needs a value", log::Level::Warn));
    EXPECT_TRUE(log_contains("using default 'dflt'", log::Level::Warn));
}

TEST(CommandLine, GetChoice)
{
    constexpr std::array<std::string_view, 4> levels { "error", "warn", "info", "debug" };
    auto line = parsed("loglevel=warn bad=verbose flag case=DEBUG");
    EXPECT_EQ(line->get_choice("loglevel", levels, 2), 1u);
    EXPECT_EQ(line->get_choice("absent", levels, 2), 2u);
    EXPECT_TRUE(log_is_empty());
    EXPECT_EQ(line->get_choice("bad", levels, 2), 2u);
    EXPECT_TRUE(log_contains("bad='verbose' is not one of error|warn|info|debug; using default 'info'", log::Level::Warn));
    clear_log();
    EXPECT_EQ(line->get_choice("flag", levels, 3), 3u);
    EXPECT_TRUE(log_contains("using default 'debug'", log::Level::Warn));
    clear_log();
    EXPECT_EQ(line->get_choice("case", levels, 0), 0u);
    EXPECT_TRUE(log_contains("case='DEBUG'", log::Level::Warn));
    clear_log();
    EXPECT_EQ(line->get_choice("bad", std::span<const std::string_view>(), 9), 9u);
    EXPECT_TRUE(log_contains("using default '(none)'", log::Level::Warn));
}

TEST(CommandLine, HostileValuesAreSanitisedInLogs)
{
    auto line = parsed(std::string("n=\x1b[2J") + std::string(300, 'x'));
    EXPECT_EQ(line->get_uint("n", 1), 1u);
    ASSERT_FALSE(captured_log().empty());
    const std::string& text = captured_log().back().text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_NE(text.find("?[2J"), std::string::npos);
    EXPECT_NE(text.find("..."), std::string::npos);
    EXPECT_NE(text.find("using default 1"), std::string::npos);
}
