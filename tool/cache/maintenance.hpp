// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

// What `cache ls`, `cache rm` and `cache gc` need of the cache: what it holds, written by any
// client (docs/hub-and-cache.md, "The cache"), hfmodels' own records under
// `<cache>/.locks/hfmodels/`,
// and deletions that take the same blob locks as downloads, so nothing being written is deleted.
namespace hfmodels::cache {

using TimePoint = std::chrono::system_clock::time_point;

struct CachedBlob {
  std::string etag;
  std::uint64_t size = 0;
  std::uint64_t allocated = 0; // bytes on disk
  TimePoint last_used;         // the later of its last read (atime) and its last write
  bool by_hfmodels = false;    // hfmodels downloaded it (its record says so)
};

struct CachedSnapshot {
  std::string commit;
  std::vector<std::string> refs; // refs/<name> naming this commit
  struct File {
    std::string path;
    std::string etag; // the blob its link names; "" for a real file or a link elsewhere
  };
  std::vector<File> files;
};

// A partial download, or its resume record: `<etag>[.<owner>].incomplete[.ranges]`.
struct CachedPartial {
  std::string name;
  std::string etag;
  std::uint64_t allocated = 0;
  TimePoint modified;
};

struct CachedRepo {
  std::string folder; // "models--org--name"
  std::vector<CachedBlob> blobs;
  std::vector<CachedSnapshot> snapshots;
  std::vector<CachedPartial> partials;
};

// Every repo folder of the cache (models--, datasets--, spaces--), sorted. Odd entries (a file
// where a folder should be, a link out of the cache) are skipped, never followed.
std::vector<CachedRepo> scan_cache(const HubCache& cache, const std::stop_token& stop = {});

// One repo's folder as scan_cache() sees it; nothing when the cache has none.
std::optional<CachedRepo> scan_repo(const HubCache& cache, const hub::RepoRef& repo);

// hfmodels' records in `<cache>/.locks/hfmodels/`: one file per lockfile that `lock` or `fetch`
// used
// (`projects/<sha256 of its path>`, holding the path), one empty file per blob hfmodels
// downloaded (`downloaded/<repo folder>/<etag>`). Each is written whole by a rename, so any
// number of processes may record at once.
void remember_project(const HubCache& cache, const std::filesystem::path& lockfile);
std::vector<std::filesystem::path> known_projects(const HubCache& cache);
void forget_project(const HubCache& cache, const std::filesystem::path& lockfile);
void mark_downloaded(const HubCache& cache, const hub::RepoRef& repo, const hub::BlobId& etag);

// One thing to delete: a blob (with the snapshot links that name it), a partial download, or a
// whole snapshot (`name` its commit: every link in it, and the refs naming it).
struct Deletion {
  enum class Kind { blob, partial, snapshot };
  std::string folder;
  Kind kind = Kind::blob;
  std::string name; // the blob's etag, the partial's file name, or the snapshot's commit
  std::uint64_t bytes = 0;
};

// Deletes each planned entry while holding its blob's lock (taken without waiting: an entry
// whose blob another process is downloading now is skipped), then the snapshot links that named
// deleted blobs, snapshot folders left empty, refs to them, and repo folders left empty.
// Returns what was deleted.
std::vector<Deletion> delete_entries(const HubCache& cache, const std::vector<Deletion>& plan);

} // namespace hfmodels::cache
