// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "hub/repo.hpp"
#include "ops/reporter.hpp"
#include "ops/settings.hpp"

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

// Putting files into the cache: the one path by which bytes from the Hub reach snapshots/.
namespace hfmodels::ops {

struct FileJob {
  std::string model;
  hub::RepoRef repo;
  std::string revision;
  hub::CommitId commit;
  hub::RepoPath path;
  std::uint64_t size = 0;
  hub::BlobId etag;
  // Unknown when locking a regular file: its git blob id (the etag) is checked instead.
  std::optional<std::string> sha256;

  std::string subject() const { return model + "/" + path.str(); }
};

// Where store_files puts the files: into the snapshots (fetch), or as blobs only (lock, which
// downloads regular files only to learn their sha256): a snapshot folder that other clients
// can see is only ever made complete, by fetch.
enum class Publish { snapshots, blobs_only };

// Puts every job's file in place and reports progress. A file whose blob is already cached is
// only checked and linked; otherwise the download engine (transfer/engine.hpp) fetches it,
// settings.jobs files at a time, under the blob's lock into a temporary, checked against size
// and hashes, and renamed into place, so nothing partial is ever visible under snapshots/.
// Failed files are reported, one line per cause; afterwards a summary Error is thrown with the
// most severe exit code. A stop request ends it with util::Cancelled, partial downloads kept.
// Returns the sha256 of each job (same order) and the bytes downloaded. Writes no ref.
// Where the bytes of a run came from (README, "Teams and CI fleets"): per mirror in order,
// then the Hub.
struct SourceTally {
  std::string source; // the mirror's URL, credentials masked; "hub" for the Hub
  bool hub = false;
  std::size_t files = 0;   // files it completed
  std::uint64_t bytes = 0; // bytes it sent
  std::size_t missing = 0; // objects it did not have
  std::size_t wrong = 0;   // objects whose bytes were not the locked ones
  std::size_t failed = 0;  // other failures (unreachable, refused, cut off)
};

struct StoreResult {
  std::vector<std::string> sha256;
  std::size_t downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
  // Empty when nothing was downloaded.
  std::vector<SourceTally> sources;
};
StoreResult store_files(const Settings& settings, const cache::HubCache& cache,
                        const std::vector<FileJob>& jobs, Reporter& reporter, Publish publish,
                        const std::stop_token& stop);

} // namespace hfmodels::ops
