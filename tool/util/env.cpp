// SPDX-License-Identifier: MIT
#include "util/env.hpp"

#include "util/strings.hpp"

#include <cstdlib>

namespace hfmodels::util {

std::optional<std::string> process_getenv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

bool env_true(const std::optional<std::string>& value) {
  if (!value) {
    return false;
  }
  const std::string lowered = to_lower(trim(*value));
  return lowered == "1" || lowered == "on" || lowered == "yes" || lowered == "true";
}

} // namespace hfmodels::util
