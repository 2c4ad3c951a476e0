// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <optional>
#include <string>

// Reading the environment through a function, so that callers (and tests) can give their own
// and nothing below the command line reads the process environment behind its back.
namespace hfmodels::util {

// The value of variable `name`, or nothing when it is unset.
using GetEnv = std::function<std::optional<std::string>(const char* name)>;

// The process environment (std::getenv).
std::optional<std::string> process_getenv(const char* name);

// Python's reading of a boolean variable: 1, ON, YES, TRUE in any case, spaces around ignored;
// anything else, and unset, is false (docs/hub-and-cache.md, "Environment").
bool env_true(const std::optional<std::string>& value);

} // namespace hfmodels::util
