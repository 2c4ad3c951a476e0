// SPDX-License-Identifier: MIT
#pragma once

#include "hub/ids.hpp"
#include "hub/repo.hpp"
#include "manifest/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::manifest {

struct LockedFile {
  hub::RepoPath path;
  std::uint64_t size = 0;
  std::string sha256; // of the content, 64 hex
  hub::BlobId etag;   // cache blob name: git sha1 (40 hex) or LFS sha256 (64 hex)

  bool operator==(const LockedFile&) const = default;
};

struct LockedModel {
  std::string name;
  hub::RepoRef repo;
  std::string revision; // as requested in the manifest
  hub::CommitId commit;
  // The licence the model card declared at lock time (hub::is_license_expression), "" when it
  // declared none; written as `license`, optional so older lockfiles still read.
  std::string license;
  std::string manifest_digest; // ModelSpec::digest() of the entry it was locked from
  // The rule its include/exclude patterns were applied with; written as `patterns: fnmatch`, and
  // `segments` when the key is absent (lockfiles written before it existed).
  PatternRule patterns = PatternRule::segments;
  std::vector<LockedFile> files; // sorted by path
  // The `paths` value read from models.lock (empty for entries made in memory). It differs from
  // paths_digest(*this) only when a file entry was added or removed by hand.
  std::string recorded_paths_digest;

  std::uint64_t total_size() const;
  // Compares content; the recorded digest is a check value, not content.
  bool operator==(const LockedModel& other) const;
};

// "sha256:<hex>" over the locked paths, sorted and newline-separated; written as `paths` so that
// an entry added to or removed from `files` by hand is noticed even when a glob selected them.
std::string paths_digest(const LockedModel& model);

struct Lockfile {
  std::vector<LockedModel> models; // sorted by name

  const LockedModel* find(std::string_view name) const;
  std::vector<std::string> names() const;
  bool operator==(const Lockfile&) const = default;
};

// Reads models.lock, validating every value (repo ids, 40-hex commits, 64-hex sha256, etags,
// safe relative paths, no duplicates). A violation throws Error(usage) naming the file, line and
// model, and saying to re-run `hfmodels lock`.
// Reading a large one polls `stop` (util::Cancelled).
Lockfile parse_lockfile(std::string_view text, const std::filesystem::path& path,
                        const std::stop_token& stop = {});
Lockfile load_lockfile(const std::filesystem::path& path, const std::stop_token& stop = {});

// The checks parse_lockfile makes, for a model made in memory (a program's): throws Error(usage)
// naming `source` and the model for the first value that breaks a rule.
void check_model(const LockedModel& model, const std::string& source);

// Deterministic YAML: models and files sorted, fixed key order, no timestamps.
std::string serialize_lockfile(const Lockfile& lockfile);

// Writes atomically; leaves the file untouched (mtime included) when the content is unchanged.
// Returns whether the file changed.
bool save_lockfile(const std::filesystem::path& path, const Lockfile& lockfile);

} // namespace hfmodels::manifest
