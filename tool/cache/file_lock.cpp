// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <utility>

namespace hfmodels::cache {

namespace {

// Python's filelock creates lock files 0664 regardless of the umask, so every user of a shared
// cache can open them and wait their turn (docs/hub-and-cache.md §5.6).
constexpr mode_t k_lock_mode = 0664;

// How often a waiter tries again; Python's filelock polls every 50 ms too.
constexpr std::chrono::milliseconds k_poll_interval{50};

bool lock_unsupported(int error) {
  return error == ENOSYS || error == EOPNOTSUPP || error == ENOLCK;
}

} // namespace

FileLock::FileLock(const std::filesystem::path& path, const std::stop_token& stop) {
  if (const std::filesystem::path parent = path.parent_path(); !parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      util::throw_io_error("cannot create the folder", parent, error.value());
    }
  }

  // O_NOFOLLOW: a lock file is never a symlink, and following a planted one would create files
  // wherever it points.
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, k_lock_mode);
  if (m_fd < 0 && errno == EACCES) {
    // Another user's lock file without group write: flock works on a read-only descriptor too.
    m_fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (m_fd < 0) {
    util::throw_io_error("cannot open the lock file", path, errno);
  }
  acquire(path, true, stop);
}

FileLock::FileLock(int fd, const std::filesystem::path& shown, const std::stop_token& stop)
    : m_fd(fd) {
  acquire(shown, true, stop);
}

std::optional<FileLock> FileLock::try_take(int fd, const std::filesystem::path& shown) {
  FileLock lock;
  lock.m_fd = fd;
  if (!lock.acquire(shown, false, {})) {
    return std::nullopt;
  }
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd); // releases the lock held so far
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

bool FileLock::acquire(const std::filesystem::path& shown, bool wait, const std::stop_token& stop) {
  // Undo the umask like Python does; fails harmlessly (EPERM) on another user's lock file.
  (void)::fchmod(m_fd, k_lock_mode);

  // Waits until the holder releases it or dies (the kernel drops a dead process's flocks).
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error == EWOULDBLOCK) {
      if (!wait) {
        ::close(m_fd);
        m_fd = -1;
        return false;
      }
      try {
        util::sleep_for(k_poll_interval, stop);
      } catch (...) {
        ::close(m_fd);
        m_fd = -1;
        throw;
      }
      continue;
    }
    ::close(m_fd);
    m_fd = -1;
    if (lock_unsupported(error)) {
      // Some network filesystems cannot lock; correctness rests on unique temporaries and
      // atomic renames, the lock only saves duplicate downloads.
      return true;
    }
    util::throw_io_error("cannot lock", shown, error);
  }
  return true;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    // Closing the last descriptor releases the flock; the file stays, as Python leaves it, since
    // removing it would race with a process that has just opened it.
    ::close(m_fd);
  }
}

} // namespace hfmodels::cache
