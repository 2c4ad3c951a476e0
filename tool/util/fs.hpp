// SPDX-License-Identifier: MIT
#pragma once

// Files, the POSIX way (fs_posix.cpp): a Windows port adds fs_win32.cpp behind this header.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace hfmodels::util {

// Throws Error(failure) "<action> <path>: <strerror(error_number)>", with a hint for a full disk.
// The one way I/O failures are reported, e.g. throw_io_error("cannot write", path, errno).
[[noreturn]] void throw_io_error(std::string_view action, const std::filesystem::path& path,
                                 int error_number);

// Writes all `size` bytes to `fd`, looping over partial writes and EINTR; a failure throws
// through throw_io_error naming `path`.
void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path);

// Whole-file read; throws Error(failure) naming the path.
std::string read_file(const std::filesystem::path& path);

// Writes `content` to a unique temporary beside `path`, then renames it over `path`, so readers
// see the old content or the new one, never a mix. Creates missing parent folders.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// `length` random lowercase hex characters (for unique temporary names).
std::string random_hex(std::size_t length);

// Free bytes for an unprivileged writer on the filesystem that holds `path` (or its nearest
// existing parent).
std::uintmax_t available_space(const std::filesystem::path& path);

// Reads the file at `path` from start to end in blocks of up to `block_size` bytes, giving each
// to `consume`, telling the system the reading is sequential; throws util::Cancelled between
// blocks once `stop` is requested, Error(failure) naming `path` when a read fails.
void read_blocks(const std::filesystem::path& path, std::size_t block_size,
                 const std::stop_token& stop,
                 const std::function<void(const char* data, std::size_t size)>& consume);

// A file opened for reading at any offset (uploads read their parts side by side).
class InputFile {
public:
  // Throws Error(failure) naming `path` when it cannot be opened.
  explicit InputFile(const std::filesystem::path& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to `size` bytes at `offset`; fewer only at the end of the file.
  std::size_t read_at(char* data, std::size_t size, std::uint64_t offset) const;

private:
  std::filesystem::path m_path;
  int m_fd = -1;
};

// The last modification time of `path`, in seconds since the epoch; nothing when it cannot be
// read.
std::optional<double> modified_seconds(const std::filesystem::path& path);

} // namespace hfmodels::util
