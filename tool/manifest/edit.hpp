// SPDX-License-Identifier: MIT
#pragma once

#include "manifest/manifest.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

// Edits of models.yaml as text, so that everything outside the entry touched (comments, order,
// blank lines, quoting, line endings) stays byte for byte: a YAML library's round trip would
// reformat the user's file. Each result is parsed again and compared with the intent before it
// is returned; an edit that would change anything else throws instead.
namespace hfmodels::manifest {

// `text` with `spec` appended as the last entry of `models` (created when the text is empty or
// has no entry yet), indented as the existing entries are. Writes `spec`'s fields that differ
// from the defaults: repo, revision (unless "main"), type (unless model), quant, files,
// include, exclude. Error(usage) when the name is taken; `path` names the file in errors.
std::string with_model_added(std::string_view text, const ModelSpec& spec,
                             const std::filesystem::path& path);

// `text` without the entries `names` (each with the comment lines right above it).
// Error(usage) for a name that is not there.
std::string with_models_removed(std::string_view text, const std::vector<std::string>& names,
                                const std::filesystem::path& path);

} // namespace hfmodels::manifest
