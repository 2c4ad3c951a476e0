// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "hub/repo.hpp"
#include "ops/reporter.hpp"
#include "ops/settings.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Putting files into the cache: the one path by which bytes from the Hub reach snapshots/.
namespace hfmodels::ops {

struct FileJob {
  std::string model;
  hub::RepoRef repo;
  std::string revision;
  std::string commit;
  std::string path;
  std::uint64_t size = 0;
  std::string etag;
  // Unknown when locking a regular file: its git blob id (the etag) is checked instead.
  std::optional<std::string> sha256;

  std::string subject() const { return model + "/" + path; }
};

// Runs every job on settings.jobs workers (one reused connection each) and reports progress.
// A file whose blob is already cached is only linked; otherwise it is downloaded under the
// blob's lock into a private temporary, checked against size and hash, and renamed into place,
// so nothing partial is ever visible under snapshots/. Then refs/<revision> is written for each
// repo. Failed files are reported one by one; afterwards a summary Error is thrown with the most
// severe exit code. Returns the sha256 of each job (same order) and the bytes downloaded.
struct StoreResult {
  std::vector<std::string> sha256;
  std::size_t downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
};
StoreResult store_files(const Settings& settings, const cache::HubCache& cache,
                        const std::vector<FileJob>& jobs, Reporter& reporter);

// Writes refs/<revision> → commit for the jobs' repos where it differs (a local, cheap step).
void write_refs(const cache::HubCache& cache, const std::vector<FileJob>& jobs);

} // namespace hfmodels::ops
