// Host backend for lib/log: keeps every line so tests can assert that bad
// input produced a clear message, and echoes to stderr when SKIFF_LOG is set.
#pragma once

#include "lib/log.h"

#include <string>
#include <vector>

namespace skiff::testing {

struct CapturedLine {
    log::Level level;
    std::string text;
};

// Lines logged since the last clear_log().
const std::vector<CapturedLine>& captured_log();
void clear_log();
// True if any captured line at `level` or more severe contains `needle`.
bool log_contains(const std::string& needle, log::Level at_most = log::Level::Debug);

} // namespace skiff::testing
