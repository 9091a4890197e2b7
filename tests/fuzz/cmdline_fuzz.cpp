// Parses arbitrary bytes as a command line, then exercises every lookup and
// checks the structural promises: views point into the object, argv is
// NUL-terminated and nullptr-ended, limits hold.
#include "kernel/cmdline.h"
#include "kernel/kernel_options.h"

#include "lib/log.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

using namespace skiff;

namespace {

void check(bool condition)
{
    if (!condition)
        abort();
}

bool inside(const CommandLine& line, std::string_view view)
{
    auto object = reinterpret_cast<uintptr_t>(&line);
    auto begin = reinterpret_cast<uintptr_t>(view.data());
    return view.empty() || (begin >= object && begin + view.size() <= object + sizeof(CommandLine));
}

} // namespace

// Log lines are still formatted (that code sees the hostile values too) but
// then discarded: the capture backend keeps them, and libFuzzer's per-input
// leak check would spend most of the run scanning them.
extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    log::set_backend([](log::Level, std::string_view) {});
    log::set_level(log::Level::Debug);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static auto line = std::make_unique<CommandLine>();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    line->parse(text);

    check(line->parameters().size() <= CommandLine::max_parameters);
    check(line->argc() >= 1 && size_t(line->argc()) <= CommandLine::max_arguments + 1);
    char** argv = line->argv();
    check(argv[line->argc()] == nullptr);
    size_t stored = 0;
    for (int i = 0; i < line->argc(); ++i) {
        check(argv[i] != nullptr);
        std::string_view arg(argv[i]); // must be NUL-terminated inside the object
        check(inside(*line, arg));
        if (i > 0) {
            check(arg == line->argument(size_t(i - 1)));
            stored += arg.size() + 1;
        }
    }

    const std::string_view levels[] = { "error", "warn", "info", "debug" };
    for (const KernelParameter& parameter : line->parameters()) {
        check(!parameter.key.empty());
        check(inside(*line, parameter.key) && inside(*line, parameter.value));
        check(parameter.has_value || parameter.value.empty());
        check(parameter.key.find('=') == std::string_view::npos);
        stored += parameter.key.size() + parameter.value.size() + 1;
        const KernelParameter* found = line->find(parameter.key);
        check(found != nullptr && found->key == parameter.key && found >= &parameter);
        check(line->has_flag(parameter.key));
        (void)line->get_uint(parameter.key, 1);
        (void)line->get_size(parameter.key, 2);
        (void)line->get_bool(parameter.key, true);
        (void)line->get_string(parameter.key, "x");
        check(line->get_choice(parameter.key, levels, 7) < 8);
        size_t visits = 0;
        line->for_each(parameter.key, [&](const KernelParameter& p) {
            check(p.key == parameter.key);
            ++visits;
        });
        check(visits >= 1);
        if (auto value = parse_size(parameter.value)) {
            auto plain = parse_uint(parameter.value);
            check(!plain || *plain == *value);
        }
    }
    // The whole line (and its NULs) always fits in max_text + 1 bytes.
    check(stored <= CommandLine::max_text + 1);
    // A key never contains "=", so this one is always absent.
    check(line->get_uint("absent=key", 5) == 5);
    check(line->get_string("absent=key", "d") == "d");

    // The kernel's own options agree with the one-key lookups they replace.
    KernelOptions options = read_kernel_options(*line);
    check(options.tsc_khz == line->get_uint("tsc_khz", 0));
    check(options.heap_debug == line->get_bool("heap_debug", false));
    check(options.boottime == line->get_bool("boottime", false));
    check(size_t(options.log_level) == line->get_choice("loglevel", { "error", "warn", "info", "debug" }, 1));

    line->set_program_name(text.substr(0, size % 100));
    check(std::strlen(line->argv()[0]) <= CommandLine::max_program_name);
    return 0;
}
