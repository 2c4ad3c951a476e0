// SPDX-License-Identifier: MIT
#pragma once

#include "util/error.hpp"

// What the command line tells the user to do about an error, in its own terms: the environment
// variables it reads, its flags and its commands. The layers below state facts and a cause key
// (Error::cause()) and leave such advice out, so that a program using the library never reads
// "pass --cache-dir". Every error the command line prints goes through advised() once
// (cli/console, cli/reporters).
namespace hfmodels::cli {

// `error` with the command line's advice for its cause added to its hint; unchanged when the
// cause has none.
Error advised(const Error& error);

} // namespace hfmodels::cli
