// SPDX-License-Identifier: MIT
#pragma once

#include "hub/repo.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hfmodels::cache {

// A temporary blob being written: `blobs/<etag>.<8 hex>.incomplete`, private to this process.
// Removed on destruction unless it was committed.
class TempBlob {
public:
  TempBlob(std::filesystem::path path, int fd);
  ~TempBlob();
  TempBlob(TempBlob&&) noexcept;
  TempBlob& operator=(TempBlob&&) = delete;
  TempBlob(const TempBlob&) = delete;
  TempBlob& operator=(const TempBlob&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  int fd() const { return m_fd; }
  // Appends all of `data`; throws Error(failure) on a failed write (disk full, ...).
  void write(const char* data, std::size_t size);
  // Empties the file (a server ignored a Range request and sent the whole body).
  void truncate();
  // Closes the descriptor and forgets the path, so the destructor removes nothing.
  std::filesystem::path release();

private:
  std::filesystem::path m_path;
  int m_fd;
};

// The shared Hugging Face hub cache (hub-protocol.md §5): `models--org--name/{blobs,snapshots,
// refs}`, `.locks/`. Every path that comes from outside is validated before it is joined, and no
// write goes through a symlink that leads outside the cache.
class HubCache {
public:
  explicit HubCache(std::filesystem::path root);

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path repo_dir(const hub::RepoRef& repo) const;
  std::filesystem::path blob_path(const hub::RepoRef& repo, std::string_view etag) const;
  std::filesystem::path snapshot_dir(const hub::RepoRef& repo, std::string_view commit) const;
  std::filesystem::path snapshot_path(const hub::RepoRef& repo, std::string_view commit,
                                      std::string_view repo_path) const;
  std::filesystem::path lock_path(const hub::RepoRef& repo, std::string_view etag) const;

  // True if snapshots/<commit>/<path> leads to a regular file of exactly `size` bytes.
  // Presence and size only: no hashing.
  bool has_file(const hub::RepoRef& repo, std::string_view commit, std::string_view repo_path,
                std::uint64_t size) const;
  bool has_blob(const hub::RepoRef& repo, std::string_view etag, std::uint64_t size) const;

  // The commit refs/<revision> names (whitespace trimmed), if any.
  std::optional<std::string> read_ref(const hub::RepoRef& repo, std::string_view revision) const;
  // Writes refs/<revision> (40 hex, no newline, atomically) unless `revision` is a commit or the
  // ref already holds it.
  void write_ref(const hub::RepoRef& repo, std::string_view revision,
                 std::string_view commit) const;

  TempBlob create_temp_blob(const hub::RepoRef& repo, std::string_view etag) const;
  // Gives the temporary the mode of a newly created file and renames it to blobs/<etag>.
  void commit_blob(const hub::RepoRef& repo, std::string_view etag, TempBlob&& temp) const;

  // Creates snapshots/<commit>/<path> as a relative symlink to ../../blobs/<etag> (one more ../
  // per sub-folder), replacing whatever was there atomically.
  void link_snapshot(const hub::RepoRef& repo, std::string_view commit, std::string_view repo_path,
                     std::string_view etag) const;

  // Writes CACHEDIR.TAG at the root if missing.
  void ensure_cachedir_tag() const;

private:
  std::filesystem::path m_root;
  // 0666 minus the umask, read when the cache is opened: the mode commit_blob gives blobs.
  unsigned m_file_mode;
};

// The cache location from the environment (SPEC.md "The cache"): HF_HUB_CACHE, else
// HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface
// then ~/.cache/huggingface. `getenv` is injected for tests.
using GetEnv = std::optional<std::string> (*)(const char* name);
std::filesystem::path default_hf_home(GetEnv getenv);
std::filesystem::path default_cache_dir(GetEnv getenv);

// An exclusive flock(2) on `.locks/<repo folder>/<etag>.lock`, the lock Python's filelock takes,
// so hfmodels and Python processes exclude each other. Released on destruction; a killed holder
// releases it with its descriptor. If the filesystem does not support flock the lock is skipped:
// correctness never depends on it (unique temporaries and atomic renames do that).
class FileLock {
public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int m_fd = -1;
};

} // namespace hfmodels::cache
