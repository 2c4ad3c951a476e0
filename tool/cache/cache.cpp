// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"

#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace hfmodels::cache {

namespace fs = std::filesystem;

namespace {

// Content as huggingface_hub writes it (byte for byte), so whichever tool creates it first, the
// cache looks the same. https://bford.info/cachedir/
constexpr std::string_view k_cachedir_tag = "Signature: 8a477f597d28d172789f06886806bc55\n"
                                            "# This file is a cache directory tag created by "
                                            "huggingface_hub.\n"
                                            "# For information about cache directory tags, see:\n"
                                            "#\thttps://bford.info/cachedir/\n";

// Attempts at a fresh random temporary name before giving up; a collision of 8 random hex
// digits is already improbable, several in a row means something else is wrong.
constexpr int k_temp_name_attempts = 8;

// Partial downloads: `<etag>.incomplete` (parked, Python <= 1.17) or `<etag>.<hex>.incomplete`.
constexpr std::string_view k_partial_suffix = ".incomplete";
// docs/hub-and-cache.md §3.6: delete stray temporaries "older than a day or so".
constexpr std::chrono::hours k_stale_temporary_age{24};
// A partial download whose owner cannot be known to be dead is only taken over once nobody has
// written to it for this long: far beyond any stall timeout or back-off of a live download.
constexpr std::chrono::minutes k_foreign_partial_age{10};

// This machine, as 8 hex digits (FNV-1a of the host name): part of a partial download's name, so
// that a process on the same machine can tell whether its writer is still alive.
const std::string& host_tag() {
  static const std::string tag = [] {
    const std::string name = util::host_name();
    std::uint32_t hash = 2166136261u;
    for (const char c : name) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", hash);
    return std::string(hex);
  }();
  return tag;
}

// `<host>-<pid>-<random>`: the middle of `<etag>.<owner>.incomplete` for partial downloads
// written under the blob's lock.
std::string owner_tag() {
  return host_tag() + "-" + std::to_string(util::current_process_id()) + "-" + util::random_hex(8);
}

// Whether the partial download named by `owner` (empty for the parked `<etag>.incomplete`) may
// be taken over. Holding the blob's lock, every partial is a leftover, since its writer would
// hold the lock; but some network filesystems grant flock to everyone, and taking over a live
// download there would make its writer fail. So: a parked one always (its writer closed it);
// one of a process of this machine once that process is gone (so `kill -9` and a rerun
// resume at once); any other (another machine's, Python's, a lockless temporary) once idle for
// k_foreign_partial_age.
bool abandoned(std::string_view owner, std::chrono::system_clock::duration age) {
  if (owner.empty()) {
    return true;
  }
  const std::string host = host_tag() + "-";
  if (owner.starts_with(host)) {
    const std::string_view rest = owner.substr(host.size());
    const std::string_view pid_text = rest.substr(0, rest.find('-'));
    long pid = 0;
    const auto [end, error] =
        std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (error == std::errc() && end == pid_text.data() + pid_text.size() && pid > 0 &&
        pid != util::current_process_id() && !util::process_alive(pid)) {
      return true;
    }
  }
  // Alive, or a reused pid: only its silence can tell.
  return age > k_foreign_partial_age;
}

void validate_etag(std::string_view etag) {
  if (!util::is_lower_hex(etag, 40) && !util::is_lower_hex(etag, 64)) {
    throw Error(ErrorKind::usage, "invalid blob etag '" + std::string(etag) + "'",
                "a blob name is a 40-hex git sha1 or a 64-hex sha256");
  }
}

void validate_commit(std::string_view commit) {
  if (!hub::is_commit_hash(commit)) {
    throw Error(ErrorKind::usage, "invalid commit '" + std::string(commit) + "'",
                "a commit is 40 lowercase hex digits");
  }
}

// A revision becomes folders under refs/ ("refs/pr/1" → refs/refs/pr/1), so it must not be able
// to climb out of refs/ or name something odd. Returns its segments.
std::vector<std::string> revision_segments(std::string_view revision) {
  const auto refuse = [&](const char* why) {
    return Error(ErrorKind::usage, "invalid revision '" + std::string(revision) + "'", why);
  };
  if (revision.empty()) {
    throw refuse("it is empty");
  }
  if (revision.find('\\') != std::string_view::npos ||
      revision.find('\0') != std::string_view::npos) {
    throw refuse("it contains a backslash or a NUL byte");
  }
  if (revision.front() == '/' || revision.back() == '/') {
    throw refuse("it starts or ends with '/'");
  }
  std::vector<std::string> segments = util::split(revision, '/');
  for (const std::string& segment : segments) {
    if (segment.empty() || segment == "." || segment == "..") {
      throw refuse("it has an empty, '.' or '..' path segment");
    }
  }
  return segments;
}

// An owned directory descriptor: writes below the repo folder go through *at() calls relative to
// descriptors opened with O_NOFOLLOW, so a symlink swapped in after a check still cannot redirect
// them.
class DirFd {
public:
  explicit DirFd(int fd) : m_fd(fd) {}
  ~DirFd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  DirFd(DirFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  DirFd& operator=(DirFd&& other) noexcept {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  DirFd(const DirFd&) = delete;
  DirFd& operator=(const DirFd&) = delete;

  int get() const { return m_fd; }

private:
  int m_fd;
};

[[noreturn]] void refuse_symlink(const fs::path& path) {
  throw Error(ErrorKind::failure, "refusing to write through " + path.string(),
              "it is a symbolic link or not a folder, so writing below it could leave the cache",
              "Remove it; hfmodels recreates it on the next fetch")
      .with_cause("cache:planted-link");
}

// Opens `base`, creating it if missing, then each of `components` below it, creating missing ones
// and refusing any that is not a real directory. `base` (the cache root or a repo folder) may be a
// symlink: users move whole caches or large repos to other disks that way. Below it, Hugging Face
// clients only ever create real folders, so a symlink there was planted.
DirFd open_dirs(const fs::path& base, const std::vector<std::string>& components) {
  std::error_code error;
  fs::create_directories(base, error);
  if (error) {
    util::throw_io_error("cannot create the folder", base, error.value());
  }
  DirFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    util::throw_io_error("cannot open the folder", base, errno);
  }

  fs::path shown = base;
  for (const std::string& component : components) {
    shown /= component;
    for (int attempt = 0;; ++attempt) {
      const int fd =
          ::openat(dir.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        dir = DirFd(fd);
        break;
      }
      const int open_error = errno;
      if (open_error == ELOOP || open_error == ENOTDIR) {
        refuse_symlink(shown);
      }
      if (open_error != ENOENT || attempt == 1) {
        util::throw_io_error("cannot open the folder", shown, open_error);
      }
      // EEXIST: another process created it first, which is just as good.
      if (::mkdirat(dir.get(), component.c_str(), 0777) != 0 && errno != EEXIST) {
        util::throw_io_error("cannot create the folder", shown, errno);
      }
    }
  }
  return dir;
}

std::string temp_name(const std::string& name, std::string_view suffix) {
  std::string temp = name + "." + util::random_hex(8) + std::string(suffix);
  if (temp.size() > NAME_MAX) {
    // A 250-byte file name leaves no room for a suffix; the temporary need not resemble it.
    temp = "." + util::random_hex(16) + std::string(suffix);
  }
  return temp;
}

// A new file in `dir` (shown as `folder`), named by `next_name`, which is asked again while the
// name is taken (O_EXCL: two writers never share a file; O_NOFOLLOW: never through a planted
// symlink). Returns the open descriptor and the name.
std::pair<int, std::string> create_new_file(const DirFd& dir, const fs::path& folder,
                                            const std::function<std::string()>& next_name,
                                            int access, mode_t mode) {
  for (int attempt = 0;; ++attempt) {
    std::string name = next_name();
    const int fd =
        ::openat(dir.get(), name.c_str(), access | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
      return {fd, std::move(name)};
    }
    if (errno != EEXIST || attempt == k_temp_name_attempts) {
      util::throw_io_error("cannot create", folder / name, errno);
    }
  }
}

// write_file_atomic's scheme relative to a verified directory descriptor.
// How write_atomic_at puts the new file in place.
enum class Replace {
  always,     // rename over whatever is there
  if_missing, // only where nothing is: false, and nothing written, if something is
};

// Writes `content` to a temporary beside `name`, then puts it in place: readers see the old file
// or the new one, never half of it. Returns whether it did.
bool write_atomic_at(const DirFd& dir, const std::string& name, std::string_view content,
                     const fs::path& shown, Replace replace = Replace::always) {
  const auto [fd, temp] = create_new_file(
      dir, shown.parent_path(), [&] { return temp_name(name, ".tmp"); }, O_WRONLY, 0666);
  try {
    try {
      util::write_all(fd, content.data(), content.size(), shown.parent_path() / temp);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0 && errno != EINTR) {
      util::throw_io_error("cannot write", shown.parent_path() / temp, errno);
    }
    if (replace == Replace::if_missing) {
      // link(2) fails with EEXIST where rename(2) would replace: the file someone else made
      // in the meantime stays.
      const bool linked = ::linkat(dir.get(), temp.c_str(), dir.get(), name.c_str(), 0) == 0;
      const int error = errno;
      ::unlinkat(dir.get(), temp.c_str(), 0);
      if (!linked && error != EEXIST) {
        util::throw_io_error("cannot create", shown, error);
      }
      return linked;
    }
    if (::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
      util::throw_io_error("cannot replace", shown, errno);
    }
    return true;
  } catch (...) {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    throw;
  }
}

// The folder part and the last segment of a validated repo path.
std::pair<std::vector<std::string>, std::string> split_repo_path(std::string_view repo_path) {
  hub::validate_repo_path(repo_path);
  std::vector<std::string> folders = util::split(repo_path, '/');
  std::string name = std::move(folders.back());
  folders.pop_back();
  return {std::move(folders), std::move(name)};
}

bool is_regular_file_of_size(const fs::path& path, std::uint64_t size) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         static_cast<std::uint64_t>(info.st_size) == size;
}

// A non-empty variable; an empty one counts as unset (an empty HF_HOME would otherwise put the
// cache in the working folder).
std::optional<std::string> non_empty(const util::GetEnv& getenv, const char* name) {
  std::optional<std::string> value = getenv(name);
  if (value && value->empty()) {
    value.reset();
  }
  return value;
}

// Python's os.path.expanduser: `~` and `~/…` are $HOME (else the password database), `~user/…`
// that user's home; anything else, or an unknown user, is left as it is.
std::string expand_user(const std::string& text, const util::GetEnv& getenv) {
  if (text.empty() || text.front() != '~') {
    return text;
  }
  const std::size_t slash = text.find('/');
  const std::string user = text.substr(1, slash == std::string::npos ? slash : slash - 1);
  std::optional<std::string> home = user.empty() ? non_empty(getenv, "HOME") : std::nullopt;
  if (!home) {
    home = util::home_of_user(user);
  }
  if (!home) {
    return text;
  }
  while (!home->empty() && home->back() == '/') {
    home->pop_back();
  }
  const std::string expanded =
      *home + (slash == std::string::npos ? std::string() : text.substr(slash));
  return expanded.empty() ? "/" : expanded;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Python's os.path.expandvars: `$NAME` and `${NAME}` are replaced when set, left as they are when
// not.
std::string expand_vars(const std::string& text, const util::GetEnv& getenv) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::size_t end = i + 1;
    std::string name;
    if (end < text.size() && text[end] == '{') {
      const std::size_t close = text.find('}', end);
      if (close == std::string::npos) {
        out += text[i++];
        continue;
      }
      name = text.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < text.size() && is_name_char(text[end])) {
        ++end;
      }
      name = text.substr(i + 1, end - i - 1);
    }
    std::optional<std::string> value = name.empty() ? std::nullopt : getenv(name.c_str());
    if (value) {
      out += *value;
    } else {
      out.append(text, i, end - i);
    }
    i = end;
  }
  return out;
}

fs::path expand(const std::string& text, const util::GetEnv& getenv) {
  return expand_vars(expand_user(text, getenv), getenv);
}

} // namespace

// --- TempBlob -----------------------------------------------------------------------------------

TempBlob::TempBlob(fs::path path, int fd) : m_path(std::move(path)), m_fd(fd) {}

TempBlob::~TempBlob() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  if (!m_path.empty()) {
    ::unlink(m_path.c_str());
    ::unlink(record_path().c_str());
  }
}

fs::path TempBlob::record_path() const {
  return m_path.empty() ? fs::path() : fs::path(m_path.string() + std::string(k_record_suffix));
}

TempBlob::TempBlob(TempBlob&& other) noexcept
    : m_path(std::exchange(other.m_path, {})), m_fd(std::exchange(other.m_fd, -1)) {}

void TempBlob::write(const char* data, std::size_t size) {
  util::write_all(m_fd, data, size, m_path);
}

std::uint64_t TempBlob::size() const {
  struct stat info {};
  if (::fstat(m_fd, &info) != 0) {
    util::throw_io_error("cannot read the size of", m_path, errno);
  }
  return static_cast<std::uint64_t>(info.st_size);
}

std::size_t TempBlob::read_at(char* data, std::size_t size, std::uint64_t offset) const {
  for (;;) {
    const ssize_t got = ::pread(m_fd, data, size, static_cast<off_t>(offset));
    if (got >= 0) {
      return static_cast<std::size_t>(got);
    }
    if (errno != EINTR) {
      util::throw_io_error("cannot read", m_path, errno);
    }
  }
}

void TempBlob::write_at(const char* data, std::size_t size, std::uint64_t offset) {
  while (size != 0) {
    const ssize_t written = ::pwrite(m_fd, data, size, static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      util::throw_io_error("cannot write", m_path, errno);
    }
    if (written == 0) {
      util::throw_io_error("cannot write", m_path, EIO);
    }
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += static_cast<std::uint64_t>(written);
  }
}

void TempBlob::truncate(std::uint64_t size) {
  if (::ftruncate(m_fd, static_cast<off_t>(size)) != 0) {
    util::throw_io_error("cannot truncate", m_path, errno);
  }
  if (::lseek(m_fd, static_cast<off_t>(size), SEEK_SET) < 0) {
    util::throw_io_error("cannot rewind", m_path, errno);
  }
}

fs::path TempBlob::release() {
  if (m_fd >= 0) {
    const int fd = std::exchange(m_fd, -1);
    // close(2) is where NFS reports a failed write-back; the path is kept on failure so the
    // destructor removes the damaged file. Linux frees the descriptor even on EINTR.
    if (::close(fd) != 0 && errno != EINTR) {
      util::throw_io_error("cannot write", m_path, errno);
    }
  }
  return std::exchange(m_path, {});
}

// --- HubCache paths -----------------------------------------------------------------------------

HubCache::HubCache(fs::path root)
    : m_root(std::move(root)), m_file_mode(0666 & ~util::file_mode_mask()) {}

fs::path HubCache::repo_dir(const hub::RepoRef& repo) const {
  hub::validate_repo_id(repo.id);
  return m_root / hub::cache_folder_name(repo);
}

fs::path HubCache::blob_path(const hub::RepoRef& repo, std::string_view etag) const {
  validate_etag(etag);
  return repo_dir(repo) / "blobs" / std::string(etag);
}

fs::path HubCache::snapshot_dir(const hub::RepoRef& repo, std::string_view commit) const {
  validate_commit(commit);
  return repo_dir(repo) / "snapshots" / std::string(commit);
}

fs::path HubCache::snapshot_path(const hub::RepoRef& repo, std::string_view commit,
                                 std::string_view repo_path) const {
  hub::validate_repo_path(repo_path);
  return snapshot_dir(repo, commit) / std::string(repo_path);
}

fs::path HubCache::lock_path(const hub::RepoRef& repo, std::string_view etag) const {
  validate_etag(etag);
  hub::validate_repo_id(repo.id);
  return m_root / ".locks" / hub::cache_folder_name(repo) / (std::string(etag) + ".lock");
}

// --- HubCache reads -----------------------------------------------------------------------------

bool HubCache::has_file(const hub::RepoRef& repo, std::string_view commit,
                        std::string_view repo_path, std::uint64_t size) const {
  return is_regular_file_of_size(snapshot_path(repo, commit, repo_path), size);
}

bool HubCache::has_blob(const hub::RepoRef& repo, std::string_view etag, std::uint64_t size) const {
  return is_regular_file_of_size(blob_path(repo, etag), size);
}

std::vector<bool> HubCache::files_present(const hub::RepoRef& repo, std::string_view commit,
                                          const std::vector<SnapshotFile>& files,
                                          const std::stop_token& stop) const {
  std::vector<bool> present(files.size(), false);
  const DirFd dir(::open(snapshot_dir(repo, commit).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return present; // no snapshot yet: nothing is there
  }
  // The lookups are system calls that wait on the kernel, not on each other: a block of files
  // per core halves the time of a large lockfile on two cores.
  constexpr std::size_t k_block = 4096;
  std::vector<char> found(files.size(), 0); // not vector<bool>: blocks are written in parallel
  const std::size_t blocks = (files.size() + k_block - 1) / k_block;
  const auto failures = util::run_parallel(
      std::thread::hardware_concurrency(), blocks, [&](std::size_t, std::size_t block) {
        util::throw_if_stopped(stop);
        const std::size_t end = std::min(files.size(), (block + 1) * k_block);
        for (std::size_t i = block * k_block; i < end; ++i) {
          const std::string path(files[i].path);
          struct stat info {};
          found[i] = ::fstatat(dir.get(), path.c_str(), &info, 0) == 0 && S_ISREG(info.st_mode) &&
                     static_cast<std::uint64_t>(info.st_size) == files[i].size;
        }
      });
  for (const auto& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
  std::copy(found.begin(), found.end(), present.begin());
  return present;
}

std::optional<std::string> HubCache::read_ref(const hub::RepoRef& repo,
                                              std::string_view revision) const {
  revision_segments(revision);
  const fs::path path = repo_dir(repo) / "refs" / std::string(revision);
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    util::throw_io_error("cannot read", path, errno);
  }
  if (!S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  // Trimmed: other tools may end the line with a newline (docs/hub-and-cache.md §5.7). A ref that
  // does not hold a commit is as good as no ref: nothing can be looked up through it.
  const std::string content = util::read_file(path);
  const std::string_view commit = util::trim(content);
  if (!hub::is_commit_hash(commit)) {
    return std::nullopt;
  }
  return std::string(commit);
}

// --- HubCache writes ----------------------------------------------------------------------------

bool HubCache::create_ref(const hub::RepoRef& repo, std::string_view revision,
                          std::string_view commit) const {
  std::vector<std::string> folders = revision_segments(revision);
  validate_commit(commit);
  if (hub::is_commit_hash(revision)) {
    return false;
  }
  // A ref that names a snapshot is ours already, or another client's, perhaps newer: never
  // moved. One that names nothing (or is no ref) is replaced; where none is, one is created
  // only if nobody else creates it first.
  Replace replace = Replace::if_missing;
  const fs::path ref = repo_dir(repo) / "refs" / std::string(revision);
  struct stat info {};
  if (::lstat(ref.c_str(), &info) == 0) {
    const auto existing = read_ref(repo, revision);
    const fs::path snapshot = repo_dir(repo) / "snapshots" / existing.value_or("");
    if (existing && ::stat(snapshot.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      return false;
    }
    replace = Replace::always;
  }
  // Python's scan_cache_dir rejects the whole repo if a ref names a commit without a snapshot
  // folder (§5.7), so the folder comes first.
  open_dirs(repo_dir(repo), {"snapshots", std::string(commit)});
  const std::string name = std::move(folders.back());
  folders.pop_back();
  folders.insert(folders.begin(), "refs");
  const DirFd dir = open_dirs(repo_dir(repo), folders);
  // No trailing newline: Python compares the raw content with commit hashes.
  return write_atomic_at(dir, name, commit, ref, replace);
}

TempBlob HubCache::create_temp_blob(const hub::RepoRef& repo, std::string_view etag) const {
  const fs::path blob = blob_path(repo, etag);
  const DirFd dir = open_dirs(repo_dir(repo), {"blobs"});
  // Unique per attempt, so two processes racing on one blob never write into the same file.
  const auto [fd, name] = create_new_file(
      dir, blob.parent_path(), [&] { return temp_name(std::string(etag), ".incomplete"); }, O_RDWR,
      0644);
  return TempBlob(blob.parent_path() / name, fd);
}

TempBlob HubCache::open_partial_blob(const hub::RepoRef& repo, std::string_view etag,
                                     std::uint64_t max_size) const {
  const fs::path blob = blob_path(repo, etag);
  const DirFd dir = open_dirs(repo_dir(repo), {"blobs"});
  const std::string suffix(k_partial_suffix);
  const std::string parked = std::string(etag) + suffix;
  const std::string prefix = std::string(etag) + ".";

  // One pass over blobs/: the candidates for this blob, and stray temporaries to clean up.
  std::vector<std::pair<std::uint64_t, std::string>> candidates;
  {
    const int list_fd = ::dup(dir.get());
    DIR* listing = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
    if (listing == nullptr) {
      if (list_fd >= 0) {
        ::close(list_fd);
      }
      util::throw_io_error("cannot list", blob.parent_path(), errno);
    }
    const auto now = std::chrono::system_clock::now();
    while (const dirent* entry = ::readdir(listing)) {
      const std::string name = entry->d_name;
      const bool temporary =
          name.ends_with(suffix) || name.ends_with(".part") || name.ends_with(k_record_suffix);
      struct stat info {};
      if (!temporary || ::fstatat(dir.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(info.st_mode)) {
        continue;
      }
      const auto age = now - std::chrono::system_clock::from_time_t(info.st_mtime);
      const bool of_this_blob =
          name == parked || (name.starts_with(prefix) && name.ends_with(suffix));
      if (name.starts_with(prefix) && name.ends_with(k_record_suffix)) {
        continue; // a record of this blob's partials: it goes where its partial goes
      }
      if (of_this_blob && static_cast<std::uint64_t>(info.st_size) <= max_size) {
        const std::string_view owner =
            name == parked ? std::string_view()
                           : std::string_view(name).substr(
                                 prefix.size(), name.size() - prefix.size() - suffix.size());
        if (abandoned(owner, age)) {
          candidates.emplace_back(static_cast<std::uint64_t>(info.st_size), name);
        }
      } else if (age > k_stale_temporary_age) {
        // A temporary nobody has written to for a day was left by a crash; the space is
        // worth more than the bytes. Best effort: another process may remove it first.
        ::unlinkat(dir.get(), name.c_str(), 0);
      }
    }
    ::closedir(listing);
  }
  // The longest partial saves the most; ties don't matter.
  std::sort(candidates.begin(), candidates.end(), std::greater<>());

  for (const auto& [size, name] : candidates) {
    // Renaming it to a name of this process is the claim: of several processes trying, exactly
    // one succeeds, the others get ENOENT and look further.
    const std::string claimed = prefix + owner_tag() + suffix;
    if (::renameat(dir.get(), name.c_str(), dir.get(), claimed.c_str()) != 0) {
      continue;
    }
    // Its record, if it has one, comes along (a record left behind just means the bytes are
    // taken as a prefix and checked by the hash).
    const std::string record = name + std::string(k_record_suffix);
    const std::string claimed_record = claimed + std::string(k_record_suffix);
    ::renameat(dir.get(), record.c_str(), dir.get(), claimed_record.c_str());
    const int fd = ::openat(dir.get(), claimed.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    struct stat info {};
    // Never written through: a hard link planted to another file (writing would change that
    // file), or another user's file.
    if (fd < 0 || ::fstat(fd, &info) != 0 || info.st_nlink != 1 || info.st_uid != ::geteuid()) {
      if (fd >= 0) {
        ::close(fd);
      }
      ::unlinkat(dir.get(), claimed.c_str(), 0); // only this name goes, not what it links to
      ::unlinkat(dir.get(), claimed_record.c_str(), 0);
      continue;
    }
    return TempBlob(blob.parent_path() / claimed, fd);
  }
  const auto [fd, name] = create_new_file(
      dir, blob.parent_path(), [&] { return prefix + owner_tag() + suffix; }, O_RDWR, 0644);
  return TempBlob(blob.parent_path() / name, fd);
}

std::uint64_t HubCache::partial_bytes(const hub::RepoRef& repo, std::string_view etag) const {
  const fs::path blobs = blob_path(repo, etag).parent_path();
  const std::string prefix = std::string(etag) + ".";
  std::uint64_t largest = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(blobs, error)) {
    const std::string name = entry.path().filename().string();
    struct stat info {};
    if (name.starts_with(prefix) && name.ends_with(k_partial_suffix) &&
        ::lstat(entry.path().c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      largest = std::max(largest, static_cast<std::uint64_t>(info.st_blocks) * 512);
    }
  }
  return largest;
}

void HubCache::park_partial_blob(const hub::RepoRef& repo, std::string_view etag, TempBlob&& temp,
                                 bool prefix_only) const noexcept {
  try {
    TempBlob owned = std::move(temp);
    if (owned.path().empty() || owned.size() == 0) {
      return; // nothing worth keeping; the destructor removes it
    }
    const fs::path blob = blob_path(repo, etag);
    if (owned.path().parent_path() != blob.parent_path()) {
      return;
    }
    const DirFd dir = open_dirs(repo_dir(repo), {"blobs"});
    const std::string name = owned.path().filename().string();
    const std::string record = name + std::string(k_record_suffix);
    owned.release();
    if (!prefix_only) {
      // Bytes with holes between them stay under this process's name with their record, where
      // the next run (open_partial_blob) claims them once this process has ended; Python would
      // take a file named like its own for a prefix and append to it.
      return;
    }
    // Under the name Python <= 1.17 resumes too, with its record, which keeps vouching for the
    // blocks hfmodels wrote should Python append more. If the rename fails the file stays under
    // its own name, where open_partial_blob finds it once this process has ended.
    const std::string parked = std::string(etag) + std::string(k_partial_suffix);
    if (::renameat(dir.get(), name.c_str(), dir.get(), parked.c_str()) == 0) {
      const std::string parked_record = parked + std::string(k_record_suffix);
      if (::renameat(dir.get(), record.c_str(), dir.get(), parked_record.c_str()) != 0) {
        ::unlinkat(dir.get(), parked_record.c_str(), 0); // never an older one beside it
      }
    }
  } catch (...) {
    // Losing a partial download costs a re-download, never correctness.
  }
}

void HubCache::commit_blob(const hub::RepoRef& repo, std::string_view etag, TempBlob&& temp,
                           std::optional<std::uint64_t> size) const {
  const fs::path blob = blob_path(repo, etag);
  if (temp.path().parent_path() != blob.parent_path()) {
    throw Error(ErrorKind::failure, "cannot commit " + temp.path().string(),
                "it is not a temporary of " + blob.parent_path().string());
  }
  if (size && temp.size() != *size) {
    // The download checked every byte it wrote; this guards the file itself, whatever happened
    // to it on the way.
    throw Error(ErrorKind::integrity, "refusing to add a blob of the wrong size",
                temp.path().string() + " has " + std::to_string(temp.size()) + " bytes, not " +
                    std::to_string(*size),
                "Run the command again");
  }
  const DirFd dir = open_dirs(repo_dir(repo), {"blobs"});
  // The temporary was created 0644 at most; a shared cache with umask 002 wants 0664, like every
  // other new file there (Python's _chmod_and_move).
  if (::fchmod(temp.fd(), static_cast<mode_t>(m_file_mode)) != 0) {
    util::throw_io_error("cannot set the mode of", temp.path(), errno);
  }
  const std::string name = temp.path().filename().string();
  // Complete: what the record said of its parts is of no use any more.
  ::unlinkat(dir.get(), (name + std::string(k_record_suffix)).c_str(), 0);
  temp.release();
  // Replacing an existing blob is harmless: a blob's name is the hash of its content, so a
  // concurrent writer put the same bytes there.
  if (::renameat(dir.get(), name.c_str(), dir.get(), std::string(etag).c_str()) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      // Only another process renames our temporaries: one that took the lock while this one
      // held it, which a filesystem whose locks do not work allows. It checks the bytes itself.
      throw Error(ErrorKind::failure, "another process took over the download of " + blob.string(),
                  "the cache's filesystem does not seem to lock files (flock)",
                  "Run the command again; avoid fetching into this cache from several machines at "
                  "once");
    }
    ::unlinkat(dir.get(), name.c_str(), 0);
    util::throw_io_error("cannot rename " + blob.parent_path().string() + "/" + name + " to", blob,
                         error);
  }
}

void HubCache::link_snapshot(const hub::RepoRef& repo, std::string_view commit,
                             std::string_view repo_path, std::string_view etag) const {
  const fs::path link = snapshot_path(repo, commit, repo_path);
  validate_etag(etag);
  auto [folders, name] = split_repo_path(repo_path);
  folders.insert(folders.begin(), {"snapshots", std::string(commit)});

  // Relative to the link's own folder, so the cache can be moved; from snapshots/<commit>/a/b/
  // that is four levels up to the repo folder.
  std::string target;
  for (std::size_t i = 0; i < folders.size(); ++i) {
    target += "../";
  }
  target += "blobs/" + std::string(etag);

  const DirFd dir = open_dirs(repo_dir(repo), folders);
  char existing[PATH_MAX];
  const ssize_t length = ::readlinkat(dir.get(), name.c_str(), existing, sizeof existing);
  if (length >= 0 && std::string_view(existing, static_cast<std::size_t>(length)) == target) {
    return; // already right, perhaps made by another process that won the race
  }

  // A link beside the destination, renamed over it: readers see the old entry or the new link.
  std::string temp;
  for (int attempt = 0;; ++attempt) {
    temp = temp_name(name, ".tmp");
    if (::symlinkat(target.c_str(), dir.get(), temp.c_str()) == 0) {
      break;
    }
    if (errno != EEXIST || attempt == k_temp_name_attempts) {
      util::throw_io_error("cannot create the link", link.parent_path() / temp, errno);
    }
  }
  if (::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    const int error = errno;
    ::unlinkat(dir.get(), temp.c_str(), 0);
    util::throw_io_error("cannot create the link", link, error);
  }
}

namespace {

// The blob's lock file, opened (never through a symlink: a planted link cannot make the lock
// create files outside the cache).
int open_lock_file(const DirFd& dir, const std::string& name, const fs::path& path) {
  int fd = ::openat(dir.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0664);
  if (fd < 0 && errno == EACCES) {
    // Another user's lock file without group write: flock works on a read-only descriptor too.
    fd = ::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ELOOP) {
      refuse_symlink(path);
    }
    util::throw_io_error("cannot open the lock file", path, errno);
  }
  return fd;
}

} // namespace

FileLock HubCache::lock_blob(const hub::RepoRef& repo, std::string_view etag,
                             const std::stop_token& stop) const {
  const fs::path path = lock_path(repo, etag);
  const DirFd dir = open_dirs(m_root, {".locks", hub::cache_folder_name(repo)});
  return FileLock(open_lock_file(dir, path.filename().string(), path), path, stop);
}

std::optional<FileLock> HubCache::try_lock_blob(const hub::RepoRef& repo,
                                                std::string_view etag) const {
  const fs::path path = lock_path(repo, etag);
  const DirFd dir = open_dirs(m_root, {".locks", hub::cache_folder_name(repo)});
  return FileLock::try_take(open_lock_file(dir, path.filename().string(), path), path);
}

void HubCache::ensure_cachedir_tag() const {
  write_cachedir_tag(m_root);
}

void write_cachedir_tag(const fs::path& folder) {
  const fs::path tag = folder / "CACHEDIR.TAG";
  struct stat info {};
  if (::lstat(tag.c_str(), &info) == 0) {
    return; // whoever wrote it, it is not ours to rewrite
  }
  util::write_file_atomic(tag, k_cachedir_tag);
}

// --- Location -----------------------------------------------------------------------------------

fs::path default_hf_home(const util::GetEnv& getenv) {
  if (std::optional<std::string> home = non_empty(getenv, "HF_HOME")) {
    return expand(*home, getenv);
  }
  if (std::optional<std::string> xdg = non_empty(getenv, "XDG_CACHE_HOME")) {
    return expand(*xdg + "/huggingface", getenv);
  }
  std::optional<std::string> home = non_empty(getenv, "HOME");
  if (!home) {
    home = util::home_of_user("");
  }
  if (!home) {
    throw Error(ErrorKind::failure, "cannot locate the Hugging Face cache",
                "HOME is not set and the user has no home folder")
        .with_cause("cache:no-home");
  }
  return fs::path(*home) / ".cache" / "huggingface";
}

fs::path default_cache_dir(const util::GetEnv& getenv) {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    if (std::optional<std::string> value = non_empty(getenv, name)) {
      return expand(*value, getenv);
    }
  }
  return default_hf_home(getenv) / "hub";
}

} // namespace hfmodels::cache
