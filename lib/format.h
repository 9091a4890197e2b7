// A small, type-safe formatter in the style of std::format, usable in the
// freestanding image: no allocation, output goes into a caller's buffer.
//
//   {}      value in its natural form (decimal for integers)
//   {:x}    hexadecimal            {:#x}  with 0x prefix
//   {:08x}  zero-padded to width   {:8}   space-padded to width (right aligned)
//   {:<8}   left aligned           {:c}   integer as a character
//   {{ }}   literal braces
// Supported argument types: integers, bool, char, const char*, string_view,
// pointers. A malformed format string is printed as it stands, never crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace skiff {

// A bounded output buffer. Output past the end is dropped and counted.
class FormatBuffer {
public:
    FormatBuffer(char* data, size_t capacity) : m_data(data), m_capacity(capacity) {}

    void put(char c)
    {
        if (m_length < m_capacity)
            m_data[m_length++] = c;
        else
            ++m_dropped;
    }
    void put(std::string_view s)
    {
        for (char c : s)
            put(c);
    }
    std::string_view view() const { return { m_data, m_length }; }
    size_t length() const { return m_length; }
    size_t dropped() const { return m_dropped; }
    bool truncated() const { return m_dropped != 0; }

private:
    char* m_data;
    size_t m_capacity;
    size_t m_length { 0 };
    size_t m_dropped { 0 };
};

namespace format_detail {

struct Spec {
    char type { 0 };        // 0, 'x', 'X', 'c', 'b', 'd', 'p', 's'
    bool alternate { false };
    bool zero_pad { false };
    bool left_align { false };
    unsigned width { 0 };
};

enum class Kind : uint8_t { Signed, Unsigned, Bool, Char, String, Pointer };

struct Argument {
    Kind kind;
    union {
        int64_t s;
        uint64_t u;
        const void* p;
        struct {
            const char* data;
            size_t length;
        } str;
    };
};

template<typename T>
Argument make_argument(const T& value)
{
    Argument a; // kind and the member it names are set below; the rest is never read
    using U = std::remove_cv_t<std::remove_reference_t<T>>;
    if constexpr (std::is_same_v<U, bool>) {
        a.kind = Kind::Bool;
        a.u = value ? 1 : 0;
    } else if constexpr (std::is_same_v<U, char>) {
        a.kind = Kind::Char;
        a.u = static_cast<unsigned char>(value);
    } else if constexpr (std::is_enum_v<U>) {
        a.kind = Kind::Unsigned;
        a.u = static_cast<uint64_t>(value);
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
        a.kind = Kind::Signed;
        a.s = value;
    } else if constexpr (std::is_integral_v<U>) {
        a.kind = Kind::Unsigned;
        a.u = value;
    } else if constexpr (std::is_convertible_v<U, std::string_view>) {
        std::string_view sv;
        if constexpr (std::is_pointer_v<std::remove_cvref_t<U>>)
            sv = value ? std::string_view(value) : std::string_view("(null)");
        else
            sv = value;
        a.kind = Kind::String;
        a.str.data = sv.data();
        a.str.length = sv.size();
    } else if constexpr (std::is_pointer_v<U>) {
        a.kind = Kind::Pointer;
        a.p = reinterpret_cast<const void*>(value);
    } else {
        static_assert(sizeof(U) == 0, "type cannot be formatted");
    }
    return a;
}

void format_arguments(FormatBuffer& out, std::string_view fmt, const Argument* args, size_t count);

} // namespace format_detail

// Calls sink(fmt, arguments, count) with the arguments type-erased: what
// formats them is then written once, not once per combination of types.
template<typename Sink, typename... Args>
void with_arguments(Sink&& sink, std::string_view fmt, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        sink(fmt, static_cast<const format_detail::Argument*>(nullptr), size_t(0));
    } else {
        const format_detail::Argument list[] = { format_detail::make_argument(args)... };
        sink(fmt, static_cast<const format_detail::Argument*>(list), sizeof...(Args));
    }
}

template<typename... Args>
void format_to(FormatBuffer& out, std::string_view fmt, const Args&... args)
{
    with_arguments([&out](std::string_view f, const format_detail::Argument* list, size_t count) {
        format_detail::format_arguments(out, f, list, count);
    }, fmt, args...);
}

// Formats into a fixed array; returns the text written (truncated if needed).
template<size_t N, typename... Args>
std::string_view format(char (&storage)[N], std::string_view fmt, const Args&... args)
{
    FormatBuffer buffer(storage, N);
    format_to(buffer, fmt, args...);
    return buffer.view();
}

} // namespace skiff
