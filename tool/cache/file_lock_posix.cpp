// SPDX-License-Identifier: MIT
// FileLock (cache/cache.hpp) with flock(2).
#include "cache/cache.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <chrono>
#include <sys/file.h>
#include <sys/stat.h>
#include <utility>

namespace hfmodels::cache {

namespace {

// How often a waiter tries again; Python's filelock polls every 50 ms too.
constexpr std::chrono::milliseconds k_poll_interval{50};

bool lock_unsupported(int error) {
  return error == ENOSYS || error == EOPNOTSUPP || error == ENOLCK;
}

} // namespace

FileLock::FileLock(const std::filesystem::path& path, const std::stop_token& stop)
    : FileLock(Dir::open(path.parent_path().empty() ? "." : path.parent_path())
                   .open_lock_file(path.filename().string(), k_file_mode),
               stop) {}

FileLock::FileLock(File file, const std::stop_token& stop) : m_file(std::move(file)) {
  acquire(true, stop);
}

std::optional<FileLock> FileLock::try_take(File file) {
  FileLock lock;
  lock.m_file = std::move(file);
  if (!lock.acquire(false, {})) {
    return std::nullopt;
  }
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept = default;

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    m_file = File(); // closing releases the lock held so far
    m_file = std::move(other.m_file);
  }
  return *this;
}

bool FileLock::acquire(bool wait, const std::stop_token& stop) {
  const int handle = m_file.native_handle();
  // Undo the umask like Python does; fails harmlessly (EPERM) on another user's lock file.
  (void)::fchmod(handle, k_file_mode);

  // Waits until the holder releases it or dies (the kernel drops a dead process's flocks).
  while (::flock(handle, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error == EWOULDBLOCK) {
      if (!wait) {
        m_file = File();
        return false;
      }
      try {
        util::sleep_for(k_poll_interval, stop);
      } catch (...) {
        m_file = File();
        throw;
      }
      continue;
    }
    const std::filesystem::path shown = m_file.path();
    m_file = File();
    if (lock_unsupported(error)) {
      // Some network filesystems cannot lock; correctness rests on unique temporaries and
      // atomic renames, the lock only saves duplicate downloads.
      return true;
    }
    util::throw_io_error("cannot lock", shown, error);
  }
  return true;
}

// Closing the last descriptor releases the flock; the file stays, as Python leaves it, since
// removing it would race with a process that has just opened it.
FileLock::~FileLock() = default;

} // namespace hfmodels::cache
