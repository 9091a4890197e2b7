// The boot command line: kernel parameters, then `--`, then the application's
// arguments.
//
//   reboot=k panic=1 8250.nr_uarts=0 loglevel=debug virtio_mmio.device=4K@0xd0000000:5 -- --exit 7 "hello world"
//
// Tokens are split on blanks (space, tab, CR, LF, VT, FF). Double quotes group
// blanks into a token and may appear anywhere in it (`key="a b"` is key `key`,
// value `a b`); inside quotes `\"` and `\\` are escapes, any other backslash is
// literal. The first bare (unquoted) `--` token separates kernel parameters
// from application arguments; a quoted `"--"` is not a separator, and a later
// `--` is an ordinary argument. A NUL byte ends the line (loaders hand over C
// strings).
//
// Everything is copied into fixed storage inside the object, so the source
// buffer may be reused. Limits: every line of up to max_text bytes always fits;
// beyond that, up to max_parameters parameters and max_arguments arguments.
// Whatever does not fit is dropped whole (never truncated), with a warning.
// Malformed tokens (empty key, `=x`) are dropped with a warning; an
// unterminated quote is kept (the rest of the line is its content) with a
// warning.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace skiff {

struct KernelParameter {
    std::string_view key;
    std::string_view value; // empty when !has_value
    bool has_value { false }; // false for a bare flag such as `nomodule`
};

class CommandLine {
public:
    static constexpr size_t max_text = 4096;
    static constexpr size_t max_parameters = 128;
    static constexpr size_t max_arguments = 64; // not counting argv[0]
    static constexpr size_t max_program_name = 63;

    // Constant: the kernel's instance is ready before any code runs, with
    // nothing to construct on the boot path.
    constexpr CommandLine() { m_argv[0] = m_program_name.data(); }
    // The views and argv pointers point into the object itself.
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    // Replaces whatever an earlier call parsed. Never fails: problems are
    // logged and the offending token is skipped.
    void parse(std::string_view text);

    std::span<const KernelParameter> parameters() const { return { m_parameters.data(), m_parameter_count }; }

    // argv-style application arguments: argv()[0] is the program name (default
    // "app"), argv()[argc()] == nullptr; every string is NUL-terminated and
    // lives in the object. The program name may be set before or after parse().
    void set_program_name(std::string_view name);
    // argv()[0] becomes `name` itself, not a copy: for a NUL-terminated,
    // writable name that outlives the object (the image's own app name).
    void adopt_program_name(char* name) { m_argv[0] = name; }
    int argc() const { return static_cast<int>(m_argument_count + 1); }
    char** argv() { return m_argv.data(); }
    // The arguments after the program name, as views.
    std::string_view argument(size_t index) const;
    size_t argument_count() const { return m_argument_count; }

    // The last occurrence of a key wins (as in Linux). Keys match exactly.
    const KernelParameter* find(std::string_view key) const;
    bool has_flag(std::string_view key) const { return find(key) != nullptr; }

    // Typed lookups: an absent key gives the fallback silently; a present but
    // malformed value logs a warning naming the key, the value and the default,
    // then gives the fallback.
    uint64_t get_uint(std::string_view key, uint64_t fallback) const;
    uint64_t get_size(std::string_view key, uint64_t fallback) const;
    // A bare flag is true; values 1/0, on/off, yes/no, true/false (any case).
    bool get_bool(std::string_view key, bool fallback) const;
    // `key=` is a valid empty string; a bare flag has no value (warned).
    std::string_view get_string(std::string_view key, std::string_view fallback) const;
    // Index of the value among `choices` (exact match).
    size_t get_choice(std::string_view key, std::span<const std::string_view> choices, size_t fallback) const;
    size_t get_choice(std::string_view key, std::initializer_list<std::string_view> choices, size_t fallback) const
    {
        return get_choice(key, std::span<const std::string_view>(choices.begin(), choices.size()), fallback);
    }

    // The same typed readings for one parameter already in hand (for a
    // caller that reads several keys in one pass over parameters()).
    static uint64_t uint_value(const KernelParameter& parameter, uint64_t fallback);
    static uint64_t size_value(const KernelParameter& parameter, uint64_t fallback);
    static bool bool_value(const KernelParameter& parameter, bool fallback);
    static std::string_view string_value(const KernelParameter& parameter, std::string_view fallback);
    static size_t choice_value(const KernelParameter& parameter, std::span<const std::string_view> choices,
        size_t fallback);

    // Calls fn for every occurrence of key, in command-line order. fn takes
    // either `const KernelParameter&` or `std::string_view` (the value).
    template<typename F>
    void for_each(std::string_view key, F&& fn) const
    {
        for (const KernelParameter& parameter : parameters()) {
            if (parameter.key != key)
                continue;
            if constexpr (std::is_invocable_v<F&, const KernelParameter&>)
                fn(parameter);
            else
                fn(parameter.value);
        }
    }

    // Tokens that were malformed or did not fit, and so are not in
    // parameters() or argv(). An unterminated quote is kept, so not counted.
    size_t dropped_tokens() const { return m_dropped; }

private:
    void reset();
    void drop(std::string_view why, std::string_view token);

    // Decoded tokens, each NUL-terminated. A token never decodes longer than
    // its source and tokens are separated by at least one byte, so a line of
    // max_text bytes needs at most max_text + 1.
    std::array<char, max_text + 1> m_text {};
    size_t m_text_used { 0 };

    std::array<KernelParameter, max_parameters> m_parameters {};
    size_t m_parameter_count { 0 };

    std::array<char, max_program_name + 1> m_program_name { 'a', 'p', 'p' };
    std::array<char*, max_arguments + 2> m_argv {};
    size_t m_argument_count { 0 };

    size_t m_dropped { 0 };
    size_t m_warnings { 0 };
    bool m_text_full { false };
};

// Number parsers shared with other parsers. nullopt on malformed text or
// overflow. parse_uint: decimal or 0x/0X hex ("123", "0x1F"). parse_size: the
// same with an optional K/M/G/T suffix (any case, powers of 1024): "4K", "1G".
std::optional<uint64_t> parse_uint(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);

} // namespace skiff
