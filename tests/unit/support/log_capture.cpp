#include "tests/unit/support/log_capture.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace skiff::testing {

namespace {
std::mutex g_mutex;
std::vector<CapturedLine>& lines()
{
    static std::vector<CapturedLine> storage;
    return storage;
}

void capture(log::Level level, std::string_view line)
{
#ifdef SKIFF_FUZZ
    // Fuzzers log millions of lines; keeping them only slows leak checks.
    if (!std::getenv("SKIFF_LOG"))
        return;
#endif
    std::lock_guard guard(g_mutex);
    // Bounded: a fuzzer may log millions of lines.
    if (lines().size() > 10000)
        lines().erase(lines().begin(), lines().begin() + 5000);
    lines().push_back({ level, std::string(line) });
    if (std::getenv("SKIFF_LOG"))
        std::fprintf(stderr, "[%.*s] %.*s\n", int(log::level_name(level).size()), log::level_name(level).data(), int(line.size()), line.data());
}

struct Installer {
    Installer()
    {
        log::set_backend(capture);
        log::set_level(log::Level::Debug);
    }
} g_installer;
} // namespace

const std::vector<CapturedLine>& captured_log() { return lines(); }

void clear_log()
{
    std::lock_guard guard(g_mutex);
    lines().clear();
}

bool log_contains(const std::string& needle, log::Level at_most)
{
    std::lock_guard guard(g_mutex);
    for (const auto& line : lines()) {
        if (static_cast<int>(line.level) <= static_cast<int>(at_most) && line.text.find(needle) != std::string::npos)
            return true;
    }
    return false;
}

} // namespace skiff::testing
