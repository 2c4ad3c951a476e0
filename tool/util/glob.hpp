// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfmodels::util {

// Matches a repository path against a manifest glob. The whole path must match.
// `*` matches any run of characters except `/`; `**` as a whole segment matches zero or more
// folders (`**/x` matches `x` and `a/b/x`; `a/**` matches everything below `a`); `?` matches one
// character except `/`; `[abc]`, `[a-z]`, `[!a]` match one character of a class.
bool glob_match(std::string_view pattern, std::string_view path);

// Why `pattern` can never match a repository path (empty, unclosed `[`, a backslash, a leading or
// trailing `/`, an empty segment), or nothing if it is well formed. glob_match itself treats such
// patterns literally; this is for rejecting them early with a precise message.
std::optional<std::string> glob_syntax_error(std::string_view pattern);

} // namespace hfmodels::util
