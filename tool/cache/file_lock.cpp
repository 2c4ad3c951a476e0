// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "util/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>

namespace hfmodels::cache {

namespace {

// Python's filelock creates lock files 0664 regardless of the umask, so every user of a shared
// cache can open them and wait their turn (hub-protocol.md §5.6).
constexpr mode_t k_lock_mode = 0664;

bool lock_unsupported(int error) {
  return error == ENOSYS || error == EOPNOTSUPP || error == ENOLCK;
}

} // namespace

FileLock::FileLock(const std::filesystem::path& path) {
  if (const std::filesystem::path parent = path.parent_path(); !parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      util::throw_io_error("cannot create the folder", parent, error.value());
    }
  }

  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, k_lock_mode);
  if (m_fd < 0 && errno == EACCES) {
    // Another user's lock file without group write: flock works on a read-only descriptor too.
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (m_fd < 0) {
    util::throw_io_error("cannot open the lock file", path, errno);
  }
  // Undo the umask like Python does; fails harmlessly (EPERM) on another user's lock file.
  (void)::fchmod(m_fd, k_lock_mode);

  // Blocks until the holder releases it or dies (the kernel drops a dead process's flocks).
  while (::flock(m_fd, LOCK_EX) != 0) {
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    ::close(m_fd);
    m_fd = -1;
    if (lock_unsupported(error)) {
      // Some network filesystems cannot lock; correctness rests on unique temporaries and
      // atomic renames, the lock only saves duplicate downloads.
      return;
    }
    util::throw_io_error("cannot lock", path, error);
  }
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    // Closing the last descriptor releases the flock; the file stays, as Python leaves it, since
    // removing it would race with a process that has just opened it.
    ::close(m_fd);
  }
}

} // namespace hfmodels::cache
