#include "lib/format.h"

namespace skiff::format_detail {

namespace {

// Parses "{...}" starting just after '{'. Returns the position after '}',
// or npos if the spec is malformed.
size_t parse_spec(std::string_view fmt, size_t pos, Spec& spec)
{
    if (pos < fmt.size() && fmt[pos] == '}')
        return pos + 1;
    if (pos >= fmt.size() || fmt[pos] != ':')
        return std::string_view::npos;
    ++pos;
    if (pos < fmt.size() && fmt[pos] == '<') {
        spec.left_align = true;
        ++pos;
    }
    if (pos < fmt.size() && fmt[pos] == '#') {
        spec.alternate = true;
        ++pos;
    }
    if (pos < fmt.size() && fmt[pos] == '0') {
        spec.zero_pad = true;
        ++pos;
    }
    while (pos < fmt.size() && fmt[pos] >= '0' && fmt[pos] <= '9') {
        if (spec.width < 1000)
            spec.width = spec.width * 10 + unsigned(fmt[pos] - '0');
        ++pos;
    }
    if (pos < fmt.size() && fmt[pos] != '}') {
        spec.type = fmt[pos];
        ++pos;
    }
    if (pos >= fmt.size() || fmt[pos] != '}')
        return std::string_view::npos;
    return pos + 1;
}

void pad(FormatBuffer& out, size_t length, const Spec& spec, char fill)
{
    for (size_t i = length; i < spec.width; ++i)
        out.put(fill);
}

void put_aligned(FormatBuffer& out, std::string_view prefix, std::string_view body, const Spec& spec)
{
    size_t total = prefix.size() + body.size();
    if (total >= spec.width) { // no padding: most placeholders are a plain {}
        out.put(prefix);
        out.put(body);
        return;
    }
    if (spec.left_align) {
        out.put(prefix);
        out.put(body);
        pad(out, total, spec, ' ');
    } else if (spec.zero_pad) {
        out.put(prefix);
        pad(out, total, spec, '0');
        out.put(body);
    } else {
        pad(out, total, spec, ' ');
        out.put(prefix);
        out.put(body);
    }
}

void put_unsigned(FormatBuffer& out, uint64_t value, bool negative, const Spec& spec)
{
    unsigned base = 10;
    const char* digits = "0123456789abcdef";
    std::string_view prefix;
    if (spec.type != 0) { // most placeholders are a plain {}: one test for them
        switch (spec.type) {
        case 'x':
            base = 16;
            prefix = spec.alternate ? "0x" : "";
            break;
        case 'X':
            base = 16;
            digits = "0123456789ABCDEF";
            prefix = spec.alternate ? "0x" : "";
            break;
        case 'b':
            base = 2;
            prefix = spec.alternate ? "0b" : "";
            break;
        default:
            break;
        }
    }
    if (negative)
        prefix = "-";
    char text[64];
    size_t length = 0;
    do {
        text[sizeof(text) - 1 - length] = digits[value % base];
        value /= base;
        ++length;
    } while (value != 0 && length < sizeof(text));
    put_aligned(out, prefix, { text + sizeof(text) - length, length }, spec);
}

void put_argument(FormatBuffer& out, const Argument& arg, Spec spec)
{
    switch (arg.kind) {
    case Kind::Signed:
        if (spec.type == 'c') {
            char c = char(arg.s);
            put_aligned(out, "", { &c, 1 }, spec);
        } else if (arg.s < 0 && spec.type != 'x' && spec.type != 'X' && spec.type != 'b') {
            put_unsigned(out, uint64_t(0) - uint64_t(arg.s), true, spec);
        } else {
            put_unsigned(out, uint64_t(arg.s), false, spec);
        }
        break;
    case Kind::Unsigned:
        if (spec.type == 'c') {
            char c = char(arg.u);
            put_aligned(out, "", { &c, 1 }, spec);
        } else {
            put_unsigned(out, arg.u, false, spec);
        }
        break;
    case Kind::Bool:
        put_aligned(out, "", arg.u ? "true" : "false", spec);
        break;
    case Kind::Char:
        if (spec.type == 'x' || spec.type == 'X' || spec.type == 'd') {
            put_unsigned(out, arg.u, false, spec);
        } else {
            char c = char(arg.u);
            put_aligned(out, "", { &c, 1 }, spec);
        }
        break;
    case Kind::String:
        put_aligned(out, "", { arg.str.data, arg.str.length }, spec);
        break;
    case Kind::Pointer:
        spec.type = 'x';
        spec.alternate = true;
        put_unsigned(out, reinterpret_cast<uintptr_t>(arg.p), false, spec);
        break;
    }
}

} // namespace

void format_arguments(FormatBuffer& out, std::string_view fmt, const Argument* args, size_t count)
{
    size_t next_argument = 0;
    size_t pos = 0;
    while (pos < fmt.size()) {
        char c = fmt[pos];
        if (c == '{') {
            if (pos + 1 < fmt.size() && fmt[pos + 1] == '{') {
                out.put('{');
                pos += 2;
                continue;
            }
            Spec spec;
            size_t end = parse_spec(fmt, pos + 1, spec);
            if (end == std::string_view::npos || next_argument >= count) {
                // Malformed or missing argument: show the text literally.
                out.put(c);
                ++pos;
                continue;
            }
            put_argument(out, args[next_argument++], spec);
            pos = end;
            continue;
        }
        if (c == '}' && pos + 1 < fmt.size() && fmt[pos + 1] == '}') {
            out.put('}');
            pos += 2;
            continue;
        }
        out.put(c);
        ++pos;
    }
}

} // namespace skiff::format_detail
