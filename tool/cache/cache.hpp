// SPDX-License-Identifier: MIT
#pragma once

#include "cache/dir.hpp"
#include "hub/ids.hpp"
#include "hub/repo.hpp"
#include "util/env.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::cache {

// A temporary blob being written: `blobs/<etag>.<8 hex>.incomplete`, private to this process.
// Removed on destruction unless it was committed or parked.
class TempBlob {
public:
  explicit TempBlob(File file);
  ~TempBlob();
  TempBlob(TempBlob&&) noexcept;
  TempBlob& operator=(TempBlob&&) = delete;
  TempBlob(const TempBlob&) = delete;
  TempBlob& operator=(const TempBlob&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  // Where the download engine keeps what of this temporary can be trusted
  // (transfer/partial.hpp): the temporary's name and ".ranges". It goes wherever the temporary
  // goes (claimed, parked, removed).
  std::filesystem::path record_path() const;
  const File& file() const { return m_file; }
  File& file() { return m_file; }
  // Bytes in the file now (a resumed partial download starts with some).
  std::uint64_t size() const { return m_file.size(); }
  // Reads up to `size` bytes at `offset` without moving the write position; 0 at the end.
  std::size_t read_at(char* data, std::size_t size, std::uint64_t offset) const {
    return m_file.read_at(data, size, offset);
  }
  // Appends all of `data`; throws Error(failure) on a failed write (disk full, ...).
  void write(const char* data, std::size_t size) { m_file.write(data, size); }
  // Writes all of `data` at `offset`, wherever the file position is: each byte lands at its
  // place in the blob even if another writer shares the file.
  void write_at(const char* data, std::size_t size, std::uint64_t offset) {
    m_file.write_at(data, size, offset);
  }
  // Cuts the file to `size` bytes (0: a server ignored a Range request and sends the whole
  // body) and writes continue there.
  void truncate(std::uint64_t size = 0) { m_file.truncate(size); }
  // Closes the file and forgets the path, so the destructor removes nothing.
  std::filesystem::path release();

private:
  std::filesystem::path m_path;
  File m_file;
};

class FileLock;

inline constexpr std::string_view k_record_suffix = ".ranges";

// The shared Hugging Face hub cache (docs/hub-and-cache.md §5):
// `models--org--name/{blobs,snapshots, refs}`, `.locks/`. Every path that comes from outside is
// validated before it is joined, and no write goes through a symlink that leads outside the cache.
class HubCache {
public:
  explicit HubCache(std::filesystem::path root);

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path repo_dir(const hub::RepoRef& repo) const;
  std::filesystem::path blob_path(const hub::RepoRef& repo, const hub::BlobId& etag) const;
  std::filesystem::path snapshot_dir(const hub::RepoRef& repo, const hub::CommitId& commit) const;
  std::filesystem::path snapshot_path(const hub::RepoRef& repo, const hub::CommitId& commit,
                                      const hub::RepoPath& repo_path) const;
  std::filesystem::path lock_path(const hub::RepoRef& repo, const hub::BlobId& etag) const;

  // True if snapshots/<commit>/<path> leads to a regular file of exactly `size` bytes.
  // Presence and size only: no hashing.
  bool has_file(const hub::RepoRef& repo, const hub::CommitId& commit,
                const hub::RepoPath& repo_path, std::uint64_t size) const;
  bool has_blob(const hub::RepoRef& repo, const hub::BlobId& etag, std::uint64_t size) const;

  // A file of a snapshot, as a lockfile names it.
  struct SnapshotFile {
    const hub::RepoPath* path = nullptr;
    std::uint64_t size = 0;
  };
  // has_file() for many files of one snapshot: entry i says whether files[i] is there. The
  // snapshot folder is opened once and each file looked up relative to it, so a lockfile of
  // 100,000 files is checked in a fraction of a second. Polls for Ctrl-C.
  std::vector<bool> files_present(const hub::RepoRef& repo, const hub::CommitId& commit,
                                  const std::vector<SnapshotFile>& files,
                                  const std::stop_token& stop = {}) const;
  // The same, telling a file that is not there from one of another size (a truncated copy, a
  // file replaced by hand): what `status --check` reports apart.
  enum class Presence : char { missing, wrong_size, present };
  std::vector<Presence> presence(const hub::RepoRef& repo, const hub::CommitId& commit,
                                 const std::vector<SnapshotFile>& files,
                                 const std::stop_token& stop = {}) const;

  // The commit refs/<revision> names (whitespace trimmed), if any.
  std::optional<hub::CommitId> read_ref(const hub::RepoRef& repo, std::string_view revision) const;
  // Writes refs/<revision> (40 hex, no newline, atomically) unless `revision` is a commit or a
  // ref is there already that names a commit with a snapshot folder: that one was written by
  // this or another client and may name a newer commit, so it is never moved. A missing,
  // unreadable or dangling ref is (re)written. Returns whether it wrote.
  bool create_ref(const hub::RepoRef& repo, std::string_view revision,
                  const hub::CommitId& commit) const;

  TempBlob create_temp_blob(const hub::RepoRef& repo, const hub::BlobId& etag) const;

  // The partial download of blob `etag` to continue, claimed for this process, or a new empty
  // temporary `blobs/<etag>.<host>-<pid>-<random>.incomplete`. Candidates, of at most
  // `max_size` bytes: `blobs/<etag>.incomplete` (where park_partial_blob leaves one, and
  // Python <= 1.17's name), `blobs/<etag>.parked-<random>.incomplete` (bytes with holes parked),
  // a temporary of a process of this machine that has ended (killed),
  // and any other `blobs/<etag>.*.incomplete` nobody has written to for 10 minutes. The largest
  // is renamed to a name of this process (the claim: only one process can win it). Symlinks and
  // other odd entries are never claimed. Call it holding the blob's lock. Stray temporaries of
  // any blob older than a day are deleted on the way. The caller must check the claimed file's
  // bytes as they are on disk: they were written by someone else.
  TempBlob open_partial_blob(const hub::RepoRef& repo, const hub::BlobId& etag,
                             std::uint64_t max_size) const;
  // The bytes on disk of the largest partial download of blob `etag` (its allocated blocks: a
  // partial with holes counts only what it holds), 0 if there is none.
  std::uint64_t partial_bytes(const hub::RepoRef& repo, const hub::BlobId& etag) const;

  // Keeps an interrupted download for the next run, with its record: a complete prefix
  // (`prefix_only`) as `blobs/<etag>.incomplete`, the name Python resumes too; bytes with holes
  // as `blobs/<etag>.parked-<random>.incomplete` (the next fetch claims it, in this process
  // too). Never throws: it runs while
  // another error is on its way out; an empty temporary is just removed.
  void park_partial_blob(const hub::RepoRef& repo, const hub::BlobId& etag, TempBlob&& temp,
                         bool prefix_only) const noexcept;

  // Gives the temporary the mode of a newly created file and renames it to blobs/<etag>. With
  // `size`, a temporary of any other size is removed and refused (the last check before the
  // bytes become visible).
  void commit_blob(const hub::RepoRef& repo, const hub::BlobId& etag, TempBlob&& temp,
                   std::optional<std::uint64_t> size = std::nullopt) const;

  // Creates snapshots/<commit>/<path> as a relative symlink to ../../blobs/<etag> (one more ../
  // per sub-folder), replacing whatever was there atomically.
  void link_snapshot(const hub::RepoRef& repo, const hub::CommitId& commit,
                     const hub::RepoPath& repo_path, const hub::BlobId& etag) const;

  // Writes CACHEDIR.TAG at the root if missing.
  void ensure_cachedir_tag() const;

  // Takes the lock of blob `etag` (lock_path), refusing a `.locks` folder or lock file that is a
  // symlink, so a planted link cannot make the lock create files outside the cache.
  FileLock lock_blob(const hub::RepoRef& repo, const hub::BlobId& etag,
                     const std::stop_token& stop = {}) const;
  // lock_blob() without waiting: nothing when another process holds the lock now.
  std::optional<FileLock> try_lock_blob(const hub::RepoRef& repo, const hub::BlobId& etag) const;

private:
  std::filesystem::path m_root;
  // 0666 minus the umask, read when the cache is opened: the mode commit_blob gives blobs.
  unsigned m_file_mode;
};

// Writes CACHEDIR.TAG into `folder` (huggingface_hub's content, byte for byte) unless one is
// there: backup tools skip folders that hold one.
void write_cachedir_tag(const std::filesystem::path& folder);

// The cache location from the environment (README.md, "Environment and cache"): HF_HUB_CACHE, else
// HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface
// then ~/.cache/huggingface. `getenv` is injected for tests.
std::filesystem::path default_hf_home(const util::GetEnv& getenv);
std::filesystem::path default_cache_dir(const util::GetEnv& getenv);

// An exclusive flock(2) on `.locks/<repo folder>/<etag>.lock`, the lock Python's filelock takes,
// so hfmodels and Python processes exclude each other. Released on destruction; a killed holder
// releases it with its descriptor. If the filesystem does not support flock the lock is skipped:
// correctness never depends on it (unique temporaries and atomic renames do that).
//
// Waiting polls (a non-blocking flock every 50 ms, as Python's filelock does), so a stop request
// is noticed while waiting: it throws util::Cancelled.
class FileLock {
public:
  // Python's filelock creates lock files 0664 regardless of the umask, so every user of a shared
  // cache can open them and wait their turn (docs/hub-and-cache.md §5.6).
  static constexpr unsigned k_file_mode = 0664;

  explicit FileLock(const std::filesystem::path& path, const std::stop_token& stop = {});
  // The lock of `file`, an open lock file.
  explicit FileLock(File file, const std::stop_token& stop = {});
  // The lock of `file` if nobody holds it now; nothing, and `file` closed, if someone does.
  static std::optional<FileLock> try_take(File file);
  ~FileLock();
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // False when the filesystem cannot lock and the lock was skipped.
  bool held() const { return m_file.is_open(); }

private:
  FileLock() = default;
  // Takes the lock, waiting (`stop` ends the wait) or not; false when not waiting and it is
  // held elsewhere.
  bool acquire(bool wait, const std::stop_token& stop);

  File m_file; // closed when the filesystem cannot lock
};

} // namespace hfmodels::cache
