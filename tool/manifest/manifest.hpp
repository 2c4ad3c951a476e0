// SPDX-License-Identifier: MIT
#pragma once

#include "hub/repo.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::manifest {

// How `include` and `exclude` patterns match paths. Lockfile entries record the rule that selected
// their files, so one written before the fnmatch rule is still checked as it was made.
enum class PatternRule {
  segments, // hfmodels 0.2 and older: util::segment_glob_match
  fnmatch,  // `hf download --include`: util::glob_match
};

// One entry of models.yaml (README.md, "models.yaml").
struct ModelSpec {
  std::string name; // [A-Za-z][A-Za-z0-9_]*
  hub::RepoRef repo;
  std::string revision = "main"; // the Hub's default branch is always main
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::vector<std::string> files;
  std::optional<std::string> quant;
  int line = 0; // 1-based line of the entry in models.yaml

  // "sha256:<hex>" of a canonical form of every field that affects resolution (not `line`), so
  // reformatting models.yaml does not make the lock stale but any real edit does.
  std::string digest() const;
};

struct Manifest {
  std::filesystem::path path;
  std::vector<ModelSpec> models; // in file order

  const ModelSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;
};

// True for a valid model name, `[A-Za-z][A-Za-z0-9_]*`: it becomes the CMake target
// HFModels::<name> and part of variable names.
bool is_valid_model_name(std::string_view name);

// Why `revision` cannot be a branch, tag, `refs/pr/N` or commit (empty, whitespace or control
// characters, anything git refuses in a ref name), or nothing if it can.
std::optional<std::string> revision_error(std::string_view revision);

// Parses and validates models.yaml. Every rule of the format (README.md, "models.yaml") is checked;
// a violation throws Error(usage) whose message names the file, line, model and key, with "did you
// mean" for near-miss keys.
Manifest parse_manifest(std::string_view text, const std::filesystem::path& path);
Manifest load_manifest(const std::filesystem::path& path);

} // namespace hfmodels::manifest
