// SPDX-License-Identifier: MIT
// cache/dir.hpp with POSIX descriptors: every name below a Dir is resolved by an *at() call
// relative to a descriptor opened with O_NOFOLLOW.
#include "cache/dir.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <sys/stat.h>
#include <utility>

namespace hfmodels::cache {

namespace fs = std::filesystem;

namespace {

// Attempts at a fresh name before giving up: a collision of random names is already improbable,
// several in a row mean something else is wrong.
constexpr int k_new_name_attempts = 8;

std::error_code last_error() {
  return {errno, std::generic_category()};
}

Entry entry_of(const struct stat& info) {
  Entry entry;
  if (S_ISREG(info.st_mode)) {
    entry.type = EntryType::regular;
  } else if (S_ISDIR(info.st_mode)) {
    entry.type = EntryType::directory;
  } else if (S_ISLNK(info.st_mode)) {
    entry.type = EntryType::symlink;
  }
  entry.size = static_cast<std::uint64_t>(info.st_size);
  entry.allocated = static_cast<std::uint64_t>(info.st_blocks) * 512;
  const auto time_of = [](const struct timespec& time) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec)));
  };
  entry.modified = time_of(info.st_mtim);
  entry.accessed = time_of(info.st_atim);
  return entry;
}

// fstatat of `name` relative to `dir` (AT_FDCWD for a whole path), which `folder` names in an
// error; nothing when the entry is missing. The path is only put together for an error: a
// lockfile's every file is looked up this way.
std::optional<Entry> stat_at(int dir, const char* name, Follow follow, const fs::path* folder) {
  struct stat info {};
  if (::fstatat(dir, name, &info, follow == Follow::no ? AT_SYMLINK_NOFOLLOW : 0) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR || error == ELOOP) {
      return std::nullopt;
    }
    util::throw_io_error("cannot read", folder == nullptr ? fs::path(name) : *folder / name, error);
  }
  return entry_of(info);
}

struct stat stat_of(int handle, const fs::path& path) {
  struct stat info {};
  if (::fstat(handle, &info) != 0) {
    util::throw_io_error("cannot read the size of", path, errno);
  }
  return info;
}

[[noreturn]] void refuse_planted_link(const fs::path& path) {
  throw Error(ErrorKind::failure, "refusing to write through " + path.string(),
              "it is a symbolic link or not a folder, so writing below it could leave the cache")
      .with_cause("cache:planted-link");
}

} // namespace

// --- File ---------------------------------------------------------------------------------------

File File::open(const fs::path& path, Open how) {
  const int flags = O_RDWR | O_CLOEXEC | (how == Open::create_read_write ? O_CREAT : 0);
  const int handle = ::open(path.c_str(), flags, 0644);
  if (handle < 0) {
    util::throw_io_error("cannot open", path, errno);
  }
  return {handle, path};
}

File::~File() {
  if (m_handle >= 0) {
    ::close(m_handle);
  }
}

File::File(File&& other) noexcept
    : m_handle(std::exchange(other.m_handle, -1)), m_path(std::move(other.m_path)) {}

File& File::operator=(File&& other) noexcept {
  std::swap(m_handle, other.m_handle);
  std::swap(m_path, other.m_path);
  return *this;
}

std::uint64_t File::size() const {
  return static_cast<std::uint64_t>(stat_of(m_handle, m_path).st_size);
}

std::size_t File::read_at(char* data, std::size_t size, std::uint64_t offset) const {
  for (;;) {
    const ssize_t got = ::pread(m_handle, data, size, static_cast<off_t>(offset));
    if (got >= 0) {
      return static_cast<std::size_t>(got);
    }
    if (errno != EINTR) {
      util::throw_io_error("cannot read", m_path, errno);
    }
  }
}

void File::write(const char* data, std::size_t size) {
  util::write_all(m_handle, data, size, m_path);
}

void File::write_at(const char* data, std::size_t size, std::uint64_t offset) {
  while (size != 0) {
    const ssize_t written = ::pwrite(m_handle, data, size, static_cast<off_t>(offset));
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

void File::truncate(std::uint64_t size) {
  if (::ftruncate(m_handle, static_cast<off_t>(size)) != 0) {
    util::throw_io_error("cannot truncate", m_path, errno);
  }
  if (::lseek(m_handle, static_cast<off_t>(size), SEEK_SET) < 0) {
    util::throw_io_error("cannot rewind", m_path, errno);
  }
}

void File::set_mode(unsigned mode) {
  if (::fchmod(m_handle, static_cast<mode_t>(mode)) != 0) {
    util::throw_io_error("cannot set the mode of", m_path, errno);
  }
}

std::uint64_t File::link_count() const {
  return static_cast<std::uint64_t>(stat_of(m_handle, m_path).st_nlink);
}

bool File::owned_by_this_user() const {
  return stat_of(m_handle, m_path).st_uid == ::geteuid();
}

std::optional<double> File::modified_seconds() const {
  struct stat info {};
  if (::fstat(m_handle, &info) != 0) {
    return std::nullopt;
  }
  return static_cast<double>(info.st_mtim.tv_sec) + static_cast<double>(info.st_mtim.tv_nsec) / 1e9;
}

File::FirstHole File::first_hole() const {
  FirstHole hole;
  struct stat info {};
  if (::fstat(m_handle, &info) == 0) {
    hole.block_size = std::max<std::uint64_t>(static_cast<std::uint64_t>(info.st_blksize), 4096);
    hole.offset = static_cast<std::uint64_t>(info.st_size);
  }
  const off_t at = ::lseek(m_handle, 0, SEEK_HOLE);
  if (at >= 0) {
    hole.offset = static_cast<std::uint64_t>(at);
  }
  return hole;
}

void File::close() {
  if (m_handle < 0) {
    return;
  }
  // Linux frees the descriptor even when close fails (EINTR included): never retried.
  if (::close(std::exchange(m_handle, -1)) != 0 && errno != EINTR) {
    util::throw_io_error("cannot write", m_path, errno);
  }
}

// --- paths ---------------------------------------------------------------------------------------

std::optional<Entry> stat_path(const fs::path& path, Follow follow) {
  return stat_at(AT_FDCWD, path.c_str(), follow, nullptr);
}

// --- Dir ----------------------------------------------------------------------------------------

Dir Dir::open(const fs::path& base, const std::vector<std::string>& components) {
  std::error_code error;
  fs::create_directories(base, error);
  if (error) {
    util::throw_io_error("cannot create the folder", base, error.value());
  }
  Dir dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), base);
  if (dir.m_handle < 0) {
    util::throw_io_error("cannot open the folder", base, errno);
  }
  for (const std::string& component : components) {
    const fs::path shown = dir.m_path / component;
    for (int attempt = 0;; ++attempt) {
      const int handle = ::openat(dir.m_handle, component.c_str(),
                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (handle >= 0) {
        dir = Dir(handle, shown);
        break;
      }
      const int open_error = errno;
      if (open_error == ELOOP || open_error == ENOTDIR) {
        refuse_planted_link(shown);
      }
      if (open_error != ENOENT || attempt == 1) {
        util::throw_io_error("cannot open the folder", shown, open_error);
      }
      // EEXIST: another process created it first, which is just as good.
      if (::mkdirat(dir.m_handle, component.c_str(), 0777) != 0 && errno != EEXIST) {
        util::throw_io_error("cannot create the folder", shown, errno);
      }
    }
  }
  return dir;
}

std::optional<Dir> Dir::open_existing(const fs::path& path) {
  const int handle = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (handle < 0) {
    return std::nullopt;
  }
  return Dir(handle, path);
}

Dir::~Dir() {
  if (m_handle >= 0) {
    ::close(m_handle);
  }
}

Dir::Dir(Dir&& other) noexcept
    : m_handle(std::exchange(other.m_handle, -1)), m_path(std::move(other.m_path)) {}

Dir& Dir::operator=(Dir&& other) noexcept {
  std::swap(m_handle, other.m_handle);
  std::swap(m_path, other.m_path);
  return *this;
}

std::optional<Entry> Dir::stat(std::string_view name, Follow follow) const {
  const std::string owned(name);
  return stat_at(m_handle, owned.c_str(), follow, &m_path);
}

std::vector<std::string> Dir::list() const {
  // readdir consumes its descriptor: a duplicate keeps this one.
  const int list_handle = ::dup(m_handle);
  DIR* listing = list_handle < 0 ? nullptr : ::fdopendir(list_handle);
  if (listing == nullptr) {
    if (list_handle >= 0) {
      ::close(list_handle);
    }
    util::throw_io_error("cannot list", m_path, errno);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  ::closedir(listing);
  return names;
}

File Dir::create_new(const std::function<std::string()>& next_name, unsigned mode) const {
  for (int attempt = 0;; ++attempt) {
    const std::string name = next_name();
    const int handle =
        ::openat(m_handle, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 static_cast<mode_t>(mode));
    if (handle >= 0) {
      return {handle, m_path / name};
    }
    if (errno != EEXIST || attempt == k_new_name_attempts) {
      util::throw_io_error("cannot create", m_path / name, errno);
    }
  }
}

std::optional<File> Dir::open_file(std::string_view name) const {
  const std::string owned(name);
  const int handle = ::openat(m_handle, owned.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (handle < 0) {
    return std::nullopt;
  }
  return File(handle, m_path / owned);
}

File Dir::open_lock_file(std::string_view name, unsigned mode) const {
  const std::string owned(name);
  int handle = ::openat(m_handle, owned.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (handle < 0 && errno == EACCES) {
    // Another user's lock file without group write: flock works on a read-only descriptor too.
    handle = ::openat(m_handle, owned.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (handle < 0) {
    if (errno == ELOOP) {
      refuse_planted_link(m_path / owned);
    }
    util::throw_io_error("cannot open the lock file", m_path / owned, errno);
  }
  return {handle, m_path / owned};
}

std::error_code Dir::rename(std::string_view from, std::string_view to) const {
  if (::renameat(m_handle, std::string(from).c_str(), m_handle, std::string(to).c_str()) != 0) {
    return last_error();
  }
  return {};
}

std::error_code Dir::link(std::string_view from, std::string_view to) const {
  if (::linkat(m_handle, std::string(from).c_str(), m_handle, std::string(to).c_str(), 0) != 0) {
    return last_error();
  }
  return {};
}

std::error_code Dir::symlink(std::string_view target, std::string_view name) const {
  if (::symlinkat(std::string(target).c_str(), m_handle, std::string(name).c_str()) != 0) {
    return last_error();
  }
  return {};
}

std::optional<std::string> Dir::read_link(std::string_view name) const {
  char text[PATH_MAX];
  const ssize_t length = ::readlinkat(m_handle, std::string(name).c_str(), text, sizeof text);
  if (length < 0) {
    return std::nullopt;
  }
  return std::string(text, static_cast<std::size_t>(length));
}

void Dir::remove(std::string_view name) const noexcept {
  ::unlinkat(m_handle, std::string(name).c_str(), 0);
}

std::optional<std::string> Dir::read_small_file(std::string_view name,
                                                std::size_t max_bytes) const {
  const int handle =
      ::openat(m_handle, std::string(name).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (handle < 0) {
    return std::nullopt;
  }
  const File file(handle, m_path / std::string(name));
  struct stat info {};
  if (::fstat(handle, &info) != 0 || !S_ISREG(info.st_mode) ||
      static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return std::nullopt;
  }
  std::string text(max_bytes + 1, '\0');
  std::size_t length = 0;
  while (length < text.size()) {
    const std::size_t got = file.read_at(text.data() + length, text.size() - length, length);
    if (got == 0) {
      break;
    }
    length += got;
  }
  if (length > max_bytes) {
    return std::nullopt; // it grew meanwhile
  }
  text.resize(length);
  return text;
}

bool Dir::remove_empty_folder(std::string_view name) const noexcept {
  return ::unlinkat(m_handle, std::string(name).c_str(), AT_REMOVEDIR) == 0;
}

std::optional<Dir> Dir::open_folder(std::string_view name) const {
  const int handle = ::openat(m_handle, std::string(name).c_str(),
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (handle < 0) {
    return std::nullopt;
  }
  return Dir(handle, m_path / std::string(name));
}

} // namespace hfmodels::cache
