// SPDX-License-Identifier: MIT
#pragma once

#include "ops/operations.hpp"

#include <string>
#include <vector>

namespace hfmodels::cli {

// The CMake script that `hfmodels cmake-info` writes for cmake/HFModels.cmake to include:
// for each model, _HFMODELS_<name>_{REPO,COMMIT,DIR,FILES}, and _HFMODELS_MODELS listing them.
// Values are quoted and escaped so any path survives.
std::string cmake_script(const std::vector<ops::ModelLocation>& models);

// A CMake quoted argument holding `value` literally (`\`, `"`, `$` and `;` escaped).
std::string cmake_quote(std::string_view value);

} // namespace hfmodels::cli
