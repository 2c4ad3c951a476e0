// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

// Structure checks of model files that read headers, never the whole file: what `verify
// --quick` runs in place of hashing. They catch what goes wrong in practice (an HTML login or
// error page saved under the model's name, a download cut short, a file of another format), not
// a flipped bit in the weights; hashing is for that.
namespace hfmodels::formats {

// Whether the file at `path` (named `repo_path` in the repo, of `size` bytes) is an HTML page
// though its name says otherwise: a login, error or proxy page saved under the model's name.
bool is_html_page(const std::filesystem::path& path, std::string_view repo_path,
                  std::uint64_t size);

// Why the file is not what its name says, or nothing when its structure holds. Formats: GGUF
// (magic, version, counts, every tensor's data inside the file), safetensors (header length,
// JSON, data extent equal to the file size), JSON. I/O failures throw Error(failure).
std::optional<std::string> structure_problem(const std::filesystem::path& path,
                                             std::string_view repo_path, std::uint64_t size);

} // namespace hfmodels::formats
