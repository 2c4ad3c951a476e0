// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfmodels::util {

// Matches a repository path against a manifest pattern exactly as `hf download --include` does
// (huggingface_hub's filter_repo_objects: Python's fnmatch on the whole path, case-sensitive as
// on POSIX): `*` matches any run of characters, `/` included, so `**` means the same; `?` any one
// character; `[abc]`, `[a-z]`, `[!a]` one character of a class (an unclosed `[` is literal); a
// pattern ending in `/` matches everything below that folder. README.md, "models.yaml".
bool glob_match(std::string_view pattern, std::string_view path);

// The rule of lockfiles written before `patterns: fnmatch` (hfmodels 0.2 and older), kept so that
// such a lockfile is checked against the rule that selected its files: `*`, `?` and classes stay
// within one folder; `**` as a whole segment matches zero or more folders (`**/x` matches `x`
// and `a/b/x`; `a/**` everything below `a`); `[^a]` negates as `[!a]` does.
bool segment_glob_match(std::string_view pattern, std::string_view path);

// Why `pattern` is surely a mistake (empty, a control character, a leading `/` that no
// repository path has), or nothing. `hf download` takes such patterns silently and matches
// nothing; a manifest says so where the pattern is written.
std::optional<std::string> glob_syntax_error(std::string_view pattern);

} // namespace hfmodels::util
