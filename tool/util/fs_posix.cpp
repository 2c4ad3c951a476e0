// SPDX-License-Identifier: MIT
#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <random>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <system_error>

namespace hfmodels::util {

namespace {

// Closes a descriptor on scope exit unless the caller closed it (and checked the result) first.
class FdGuard {
public:
  explicit FdGuard(int fd) : m_fd(fd) {}
  ~FdGuard() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;

  int get() const { return m_fd; }
  // Returns close(2)'s errno, or 0. Linux releases the descriptor even when close fails, so it is
  // never retried.
  int close() {
    const int fd = m_fd;
    m_fd = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

private:
  int m_fd;
};

// Reads `fd` (the file at `path`, for messages) to its end through `buffer`, giving each block
// to `consume`; checks `stop` before every block.
void read_to_end(int fd, const std::filesystem::path& path, char* buffer, std::size_t size,
                 const std::stop_token& stop,
                 const std::function<void(const char* data, std::size_t size)>& consume) {
  for (;;) {
    throw_if_stopped(stop);
    const ssize_t got = ::read(fd, buffer, size);
    if (got == 0) {
      return;
    }
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io_error("cannot read", path, errno);
    }
    consume(buffer, static_cast<std::size_t>(got));
  }
}

} // namespace

void throw_io_error(std::string_view action, const std::filesystem::path& path, int error_number) {
  // std::error_code gives strerror's text without strerror's shared buffer (threads).
  throw Error(ErrorKind::failure, std::string(action) + " " + path.string(),
              std::error_code(error_number, std::generic_category()).message())
      .with_cause("io:" + std::to_string(error_number));
}

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const char* next = static_cast<const char*>(data);
  while (size != 0) {
    const ssize_t written = ::write(fd, next, size);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io_error("cannot write", path, errno);
    }
    if (written == 0) {
      // Not expected from a file; looping would spin forever.
      throw_io_error("cannot write", path, EIO);
    }
    next += written;
    size -= static_cast<std::size_t>(written);
  }
}

std::string read_file(const std::filesystem::path& path) {
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw_io_error("cannot read", path, errno);
  }
  std::string content;
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    content.reserve(static_cast<std::size_t>(info.st_size));
  }
  char buffer[64 * 1024];
  read_to_end(fd.get(), path, buffer, sizeof buffer, {},
              [&](const char* data, std::size_t size) { content.append(data, size); });
  return content;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path parent = path.parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      throw_io_error("cannot create the folder", parent, error.value());
    }
  }

  // A unique name, so concurrent writers (two processes, two threads) never share a temporary.
  std::filesystem::path temp;
  int raw_fd = -1;
  for (int attempt = 0; raw_fd < 0; ++attempt) {
    // Short, whatever the name's length: `<name>.<hex>.tmp` would not fit NAME_MAX for a name of
    // over 242 bytes, which a repo path's last segment may have. Appended piece by piece, as
    // one expression trips GCC 12's -Wrestrict false positive at -O3 (GCC bug 105329).
    temp = path.parent_path();
    temp /= ".tmp-";
    temp += random_hex(8);
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw_fd < 0 && (errno != EEXIST || attempt == 8)) {
      throw_io_error("cannot create", temp, errno);
    }
  }
  FdGuard fd(raw_fd);

  try {
    write_all(fd.get(), content.data(), content.size(), temp);
    // close(2) is where NFS and some FUSE filesystems report a failed write-back.
    if (const int error = fd.close(); error != 0) {
      throw_io_error("cannot write", temp, error);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      throw_io_error("cannot replace", path, errno);
    }
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

std::string random_hex(std::size_t length) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string bytes((length + 1) / 2, '\0');
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      break; // no getrandom (old kernel, seccomp): std::random_device below
    }
    filled += static_cast<std::size_t>(got);
  }
  if (filled < bytes.size()) {
    std::random_device device;
    for (; filled < bytes.size(); ++filled) {
      bytes[filled] = static_cast<char>(device() & 0xff);
    }
  }

  std::string hex(length, '\0');
  for (std::size_t i = 0; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i / 2]);
    hex[i] = k_digits[i % 2 == 0 ? byte >> 4 : byte & 0x0f];
  }
  return hex;
}

std::uintmax_t available_space(const std::filesystem::path& path) {
  // The target folder usually does not exist yet (a first download); its nearest existing
  // ancestor is on the same filesystem unless a mount point is created later, which is rare.
  std::filesystem::path probe = path.empty() ? std::filesystem::path(".") : path;
  struct statvfs info {};
  while (::statvfs(probe.c_str(), &info) != 0) {
    const int error = errno;
    if (error != ENOENT && error != ENOTDIR) {
      throw_io_error("cannot query the free space of", probe, error);
    }
    std::filesystem::path parent = probe.parent_path();
    if (parent.empty() && probe != ".") {
      parent = "."; // a relative path's last ancestor is the working folder
    }
    if (parent.empty() || parent == probe) {
      throw_io_error("cannot query the free space of", probe, error);
    }
    probe = std::move(parent);
  }
  return static_cast<std::uintmax_t>(info.f_bavail) * static_cast<std::uintmax_t>(info.f_frsize);
}

void read_blocks(const std::filesystem::path& path, std::size_t block_size,
                 const std::stop_token& stop,
                 const std::function<void(const char* data, std::size_t size)>& consume) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw_io_error("cannot read", path, errno);
  }
  const FdGuard guard(fd);
  // Doubles the kernel's readahead window: measurably faster on spinning disks and network
  // filesystems, free elsewhere. Purely advisory, so its result is ignored.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  const auto buffer = std::make_unique_for_overwrite<char[]>(block_size);
  read_to_end(fd, path, buffer.get(), block_size, stop, consume);
}

InputFile::InputFile(const std::filesystem::path& path)
    : m_path(path), m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (m_fd < 0) {
    throw_io_error("cannot read", path, errno);
  }
}

InputFile::~InputFile() {
  ::close(m_fd);
}

std::size_t InputFile::read_at(char* data, std::size_t size, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(m_fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      throw_io_error("cannot read", m_path, errno);
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

namespace {

double seconds_of(const timespec& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

} // namespace

std::optional<double> modified_seconds(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  return seconds_of(info.st_mtim);
}

} // namespace hfmodels::util
