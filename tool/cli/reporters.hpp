// SPDX-License-Identifier: MIT
#pragma once

#include "ops/reporter.hpp"

#include <memory>

namespace hfmodels::cli {

class Console;

enum class OutputMode {
  terminal, // live bars per transfer and a total, redrawn in place on stderr
  plain,    // CI logs: a line at most every few seconds, and one per finished file
  json,     // one JSON object per line on stdout
  quiet,    // errors only
};

// Errors always go to stderr as `hfmodels: error: ...`; in JSON mode they are also emitted as
// {"event":"error"} objects on stdout. Everything goes out through `console`, which must outlive
// the reporter.
std::unique_ptr<ops::Reporter> make_reporter(OutputMode mode, bool verbose, Console& console);

} // namespace hfmodels::cli
