// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace hfmodels::util {

// Matches a repository path against a manifest glob. The whole path must match.
// `*` matches any run of characters except `/`; `**` as a whole segment matches zero or more
// folders (`**/x` matches `x` and `a/b/x`; `a/**` matches everything below `a`); `?` matches one
// character except `/`; `[abc]`, `[a-z]`, `[!a]` match one character of a class.
bool glob_match(std::string_view pattern, std::string_view path);

} // namespace hfmodels::util
