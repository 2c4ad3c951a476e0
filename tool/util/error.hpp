// SPDX-License-Identifier: MIT
#pragma once

// hfmodels::Error and ErrorKind are public (include/hfmodels/error.hpp): every layer throws the
// type a program catches. cli::run catches it once and prints `hfmodels: error: <message>`, then
// exits with the kind's value.
#include <hfmodels/error.hpp>
#include <string>

namespace hfmodels {

// Formats the message without the "hfmodels: error: " prefix.
std::string format_error(const std::string& what, const std::string& subject,
                         const std::string& why, const std::string& hint);

} // namespace hfmodels
