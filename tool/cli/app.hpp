// SPDX-License-Identifier: MIT
#pragma once

namespace hfmodels::cli {

// The whole command line: parses arguments, runs one command, prints errors in the documented
// format and returns the process exit code. Nothing below this layer prints.
int run(int argc, char** argv);

} // namespace hfmodels::cli
