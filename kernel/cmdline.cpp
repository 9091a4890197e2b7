#include "kernel/cmdline.h"

#include "lib/format.h"
#include "lib/log.h"

namespace skiff {

namespace {

// Per-token warnings beyond this many are summarised, so a hostile line of
// 2000 `=` tokens cannot flood the serial console.
constexpr size_t max_token_warnings = 8;

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i]))
            return false;
    }
    return true;
}

// Values come from the boot loader's user: clip them and hide control bytes
// before they reach the console.
struct Printable {
    char data[52];
    size_t length;
    std::string_view view() const { return { data, length }; }
};

Printable printable(std::string_view text)
{
    constexpr size_t shown = 48;
    Printable p {};
    size_t n = text.size() < shown ? text.size() : shown;
    for (size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        p.data[i] = (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    }
    p.length = n;
    if (text.size() > shown) {
        for (char c : std::string_view("..."))
            p.data[p.length++] = c;
    }
    return p;
}

struct TokenScan {
    size_t end;            // index just past the token's last source byte
    size_t decoded_length; // bytes the token decodes to
    bool unterminated;
};

// Decodes the token starting at `pos` (not a blank). With out == nullptr only
// measures, so a token can be checked against the limits before it is stored.
TokenScan scan_token(std::string_view text, size_t pos, char* out)
{
    TokenScan scan { pos, 0, false };
    bool in_quotes = false;
    size_t i = pos;
    auto put = [&](char c) {
        if (out)
            out[scan.decoded_length] = c;
        ++scan.decoded_length;
    };
    while (i < text.size()) {
        char c = text[i];
        if (!in_quotes && is_blank(c))
            break;
        if (c == '"') {
            in_quotes = !in_quotes;
            ++i;
            continue;
        }
        if (in_quotes && c == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
            put(text[i + 1]);
            i += 2;
            continue;
        }
        put(c);
        ++i;
    }
    scan.end = i;
    scan.unterminated = in_quotes;
    return scan;
}

unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return unsigned(c - '0');
    if (c >= 'a' && c <= 'f')
        return unsigned(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return unsigned(c - 'A' + 10);
    return 99;
}

} // namespace

std::optional<uint64_t> parse_uint(std::string_view text)
{
    uint64_t base = 10;
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty())
        return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        uint64_t digit = digit_value(c);
        if (digit >= base)
            return std::nullopt;
        if (value > (UINT64_MAX - digit) / base)
            return std::nullopt;
        value = value * base + digit;
    }
    return value;
}

std::optional<uint64_t> parse_size(std::string_view text)
{
    unsigned shift = 0;
    if (!text.empty()) {
        switch (to_lower(text.back())) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        default: break;
        }
    }
    if (shift != 0)
        text.remove_suffix(1);
    auto value = parse_uint(text);
    if (!value || *value > (UINT64_MAX >> shift))
        return std::nullopt;
    return *value << shift;
}

void CommandLine::reset()
{
    m_text_used = 0;
    m_parameter_count = 0;
    m_argument_count = 0;
    m_dropped = 0;
    m_warnings = 0;
    m_text_full = false;
    // argv[0] is the program name's, set or adopted before or after parsing.
    m_argv[1] = nullptr;
}

void CommandLine::set_program_name(std::string_view name)
{
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\0') {
            name = name.substr(0, i);
            break;
        }
    }
    if (name.size() > max_program_name) {
        log::warn("cmdline: program name '{}' longer than {} bytes, truncated", printable(name).view(), max_program_name);
        name = name.substr(0, max_program_name);
    }
    for (size_t i = 0; i < name.size(); ++i)
        m_program_name[i] = name[i];
    m_program_name[name.size()] = '\0';
    m_argv[0] = m_program_name.data();
}

std::string_view CommandLine::argument(size_t index) const
{
    if (index >= m_argument_count || !m_argv[index + 1])
        return {};
    return m_argv[index + 1];
}

void CommandLine::drop(std::string_view why, std::string_view token)
{
    ++m_dropped;
    if (m_warnings < max_token_warnings)
        log::warn("cmdline: {}: '{}' ignored", why, printable(token).view());
    ++m_warnings;
}

void CommandLine::parse(std::string_view text)
{
    reset();
    // Loaders hand over C strings; whatever follows a NUL is not the line.
    size_t nul = text.find('\0');
    if (nul != std::string_view::npos)
        text = text.substr(0, nul);

    size_t parameters_over = 0;
    size_t arguments_over = 0;
    size_t text_over = 0;
    bool after_separator = false;
    size_t pos = 0;
    while (true) {
        while (pos < text.size() && is_blank(text[pos]))
            ++pos;
        if (pos >= text.size())
            break;
        // Measure first: a token is checked against the limits before a byte
        // of it is stored, so nothing is ever half-stored.
        TokenScan scan = scan_token(text, pos, nullptr);
        std::string_view raw = text.substr(pos, scan.end - pos);
        size_t start = pos;
        pos = scan.end;
        if (scan.unterminated) {
            log::warn("cmdline: unterminated quote in token at byte {} ('{}'); taking the rest of the line", start,
                printable(raw).view());
        }
        // Compared raw, so a quoted "--" is not the separator.
        if (!after_separator && raw == "--") {
            after_separator = true;
            continue;
        }

        if (m_text_full || scan.decoded_length + 1 > m_text.size() - m_text_used) {
            if (!m_text_full)
                log::warn("cmdline: line exceeds {} bytes; dropping '{}' and everything after it", max_text,
                    printable(raw).view());
            m_text_full = true;
            ++m_dropped;
            ++text_over;
            continue;
        }
        // Decoded in place but only committed (m_text_used advanced) if kept.
        char* stored = m_text.data() + m_text_used;
        scan_token(text, start, stored);
        stored[scan.decoded_length] = '\0';
        std::string_view token(stored, scan.decoded_length);

        if (after_separator) {
            if (m_argument_count == max_arguments) {
                ++m_dropped;
                ++arguments_over;
                continue;
            }
            m_argv[++m_argument_count] = stored;
            m_argv[m_argument_count + 1] = nullptr;
        } else {
            size_t equals = token.find('=');
            if (token.empty() || equals == 0) {
                drop("parameter with an empty key", raw);
                continue;
            }
            if (m_parameter_count == max_parameters) {
                ++m_dropped;
                ++parameters_over;
                continue;
            }
            KernelParameter& parameter = m_parameters[m_parameter_count++];
            if (equals == std::string_view::npos)
                parameter = { token, {}, false };
            else
                parameter = { token.substr(0, equals), token.substr(equals + 1), true };
        }
        m_text_used += scan.decoded_length + 1;
    }

    if (parameters_over)
        log::warn("cmdline: more than {} kernel parameters; dropped {}", max_parameters, parameters_over);
    if (arguments_over)
        log::warn("cmdline: more than {} application arguments; dropped {}", max_arguments, arguments_over);
    if (text_over > 1)
        log::warn("cmdline: dropped {} tokens past the {}-byte limit", text_over, max_text);
    if (m_warnings > max_token_warnings)
        log::warn("cmdline: {} malformed tokens ignored (only the first {} reported)", m_warnings, max_token_warnings);
}

const KernelParameter* CommandLine::find(std::string_view key) const
{
    for (size_t i = m_parameter_count; i > 0; --i) {
        if (m_parameters[i - 1].key == key)
            return &m_parameters[i - 1];
    }
    return nullptr;
}

uint64_t CommandLine::uint_value(const KernelParameter& parameter, uint64_t fallback)
{
    if (auto value = parameter.has_value ? parse_uint(parameter.value) : std::nullopt)
        return *value;
    log::warn("cmdline: {}='{}' is not a number (decimal or 0x hex, at most 2^64-1); using default {}", parameter.key,
        printable(parameter.value).view(), fallback);
    return fallback;
}

uint64_t CommandLine::size_value(const KernelParameter& parameter, uint64_t fallback)
{
    if (auto value = parameter.has_value ? parse_size(parameter.value) : std::nullopt)
        return *value;
    log::warn("cmdline: {}='{}' is not a size (number with optional K/M/G/T); using default {}", parameter.key,
        printable(parameter.value).view(), fallback);
    return fallback;
}

bool CommandLine::bool_value(const KernelParameter& parameter, bool fallback)
{
    if (!parameter.has_value)
        return true;
    for (std::string_view yes : { "1", "on", "yes", "true" }) {
        if (equals_ignoring_case(parameter.value, yes))
            return true;
    }
    for (std::string_view no : { "0", "off", "no", "false" }) {
        if (equals_ignoring_case(parameter.value, no))
            return false;
    }
    log::warn("cmdline: {}='{}' is not a boolean (1/0, on/off, yes/no, true/false); using default {}", parameter.key,
        printable(parameter.value).view(), fallback);
    return fallback;
}

std::string_view CommandLine::string_value(const KernelParameter& parameter, std::string_view fallback)
{
    if (parameter.has_value)
        return parameter.value;
    log::warn("cmdline: {} needs a value ({}=...); using default '{}'", parameter.key, parameter.key,
        printable(fallback).view());
    return fallback;
}

size_t CommandLine::choice_value(const KernelParameter& parameter, std::span<const std::string_view> choices,
    size_t fallback)
{
    if (parameter.has_value) {
        for (size_t i = 0; i < choices.size(); ++i) {
            if (parameter.value == choices[i])
                return i;
        }
    }
    char list_storage[96];
    FormatBuffer list(list_storage, sizeof(list_storage));
    for (size_t i = 0; i < choices.size(); ++i) {
        if (i)
            list.put('|');
        list.put(choices[i]);
    }
    std::string_view fallback_name = fallback < choices.size() ? choices[fallback] : std::string_view("(none)");
    log::warn("cmdline: {}='{}' is not one of {}; using default '{}'", parameter.key,
        printable(parameter.value).view(), list.view(), fallback_name);
    return fallback;
}

uint64_t CommandLine::get_uint(std::string_view key, uint64_t fallback) const
{
    const KernelParameter* parameter = find(key);
    return parameter ? uint_value(*parameter, fallback) : fallback;
}

uint64_t CommandLine::get_size(std::string_view key, uint64_t fallback) const
{
    const KernelParameter* parameter = find(key);
    return parameter ? size_value(*parameter, fallback) : fallback;
}

bool CommandLine::get_bool(std::string_view key, bool fallback) const
{
    const KernelParameter* parameter = find(key);
    return parameter ? bool_value(*parameter, fallback) : fallback;
}

std::string_view CommandLine::get_string(std::string_view key, std::string_view fallback) const
{
    const KernelParameter* parameter = find(key);
    return parameter ? string_value(*parameter, fallback) : fallback;
}

size_t CommandLine::get_choice(std::string_view key, std::span<const std::string_view> choices, size_t fallback) const
{
    const KernelParameter* parameter = find(key);
    return parameter ? choice_value(*parameter, choices, fallback) : fallback;
}

} // namespace skiff
