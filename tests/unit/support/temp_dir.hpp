// SPDX-License-Identifier: MIT
#pragma once

// A fresh, empty folder for one test, `<tmp>/hfmodels-<tag>-XXXXXX`: unique (mkdtemp), so tests
// running at once (ctest -j, two build trees) never share one. The caller removes it.

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace hfmodels::test {

inline std::filesystem::path make_temp_dir(std::string_view tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("hfmodels-" + std::string(tag) + "-XXXXXX"))
          .string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

} // namespace hfmodels::test
