// SPDX-License-Identifier: MIT
#pragma once

#include "hub/client.hpp"
#include "manifest/manifest.hpp"

#include <vector>

namespace hfmodels::manifest {

// The files of a commit that `spec` asks for:
// - `files`: exactly those paths; each must exist.
// - otherwise the files matched by `include` (every file if `include` is empty and there is no
//   `quant`), plus with `quant` the .gguf files of that quantization (split shards included),
//   minus those matched by `exclude`.
// Selecting nothing, or a missing exact file, throws Error(usage) naming the model and selector.
std::vector<hub::RepoFile> select_files(const ModelSpec& spec,
                                        const std::vector<hub::RepoFile>& files);

// select_files over bare paths: the indices of the selected ones, in path order. For checks
// over a lockfile of many files, which need no copies.
// `rule` is how the patterns match: the fnmatch of `hf download`, or the rule a lockfile entry
// written before it was made with.
std::vector<std::size_t> select_paths(const ModelSpec& spec,
                                      const std::vector<std::string_view>& paths,
                                      PatternRule rule = PatternRule::fnmatch);

// True if `path` is a .gguf file of quantization `quant` (case-insensitive, as a whole token:
// "Q4_K" does not match "Q4_K_M").
bool matches_quant(std::string_view path, std::string_view quant);

} // namespace hfmodels::manifest
