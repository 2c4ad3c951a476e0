// SPDX-License-Identifier: MIT
#pragma once

#include "ops/reporter.hpp"

#include <memory>

namespace hfmodels::cli {

enum class OutputMode {
  terminal, // live bars per transfer and a total, redrawn in place on stderr
  plain,    // CI logs: a line at most every few seconds, and one per finished file
  json,     // one JSON object per line on stdout
  quiet,    // errors only
};

// Errors always go to stderr in the SPEC.md format; in JSON mode they are also emitted as
// {"event":"error"} objects on stdout.
std::unique_ptr<ops::Reporter> make_reporter(OutputMode mode, bool verbose);

// Prints `hfmodels: error: ...` to stderr (and nothing else); shared by the top-level handler.
void print_error(const Error& error);

} // namespace hfmodels::cli
