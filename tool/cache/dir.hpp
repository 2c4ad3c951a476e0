// SPDX-License-Identifier: MIT
#pragma once

// The cache's folders and files as the operating system gives them: dir_posix.cpp does it with
// descriptors and *at() calls; a Windows port adds dir_win32.cpp behind this header
// (docs/ARCHITECTURE.md, "Platform seams"). The cache itself (cache.cpp) only decides names,
// order and what to refuse.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace hfmodels::cache {

// An open file, owned (closed on destruction), with the path that names it in errors. I/O
// failures throw Error(failure) through util::throw_io_error.
class File {
public:
  enum class Open {
    read_write,        // an existing file
    create_read_write, // created when missing (tests, and files outside the cache)
  };
  // Opens `path`, following symlinks: for files the caller chose (Dir opens the cache's own).
  static File open(const std::filesystem::path& path, Open how);

  File() = default;
  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool is_open() const { return m_handle >= 0; }
  const std::filesystem::path& path() const { return m_path; }

  std::uint64_t size() const;
  // Up to `size` bytes at `offset`, the file position unmoved; 0 at the end.
  std::size_t read_at(char* data, std::size_t size, std::uint64_t offset) const;
  // All of `data`, at the file position.
  void write(const char* data, std::size_t size);
  // All of `data` at `offset`, wherever the file position is.
  void write_at(const char* data, std::size_t size, std::uint64_t offset);
  // Cuts (or extends) the file to `size` bytes and puts the file position there.
  void truncate(std::uint64_t size);
  // Permission bits, as chmod takes them (group and others matter in a shared cache).
  void set_mode(unsigned mode);

  // What tells whether a file found in the cache may be written through: a hard link to another
  // file has more than one name, and another user's file is not ours to change.
  std::uint64_t link_count() const;
  bool owned_by_this_user() const;
  // Seconds since the epoch; nothing when it cannot be read.
  std::optional<double> modified_seconds() const;
  // Where the first hole begins (the size, or more, when there is none or the filesystem cannot
  // tell), and the filesystem's block size.
  struct FirstHole {
    std::uint64_t offset = 0;
    std::uint64_t block_size = 4096;
  };
  FirstHole first_hole() const;

  // Closes it now: where a network filesystem reports a failed write-back, so this throws.
  void close();

  // The descriptor, for the platform's own files (file_lock_posix.cpp).
  int native_handle() const { return m_handle; }

private:
  friend class Dir;
  File(int handle, std::filesystem::path path) : m_handle(handle), m_path(std::move(path)) {}

  int m_handle = -1;
  std::filesystem::path m_path;
};

enum class EntryType { regular, directory, symlink, other };

// What the system says of one entry of a folder.
struct Entry {
  EntryType type = EntryType::other;
  std::uint64_t size = 0;
  std::uint64_t allocated = 0; // bytes of the blocks it holds (a sparse file holds fewer)
  std::chrono::system_clock::time_point modified;
  // When it was last read, as far as the filesystem keeps it (relatime updates it at least
  // once a day; noatime never): Python's cache scan calls it "last accessed".
  std::chrono::system_clock::time_point accessed;
};

// `path`'s entry, through symlinks (`follow`) or of the link itself; nothing when missing (or a
// folder on the way is not one). Other failures throw.
enum class Follow { links, no };
std::optional<Entry> stat_path(const std::filesystem::path& path, Follow follow);

// An open folder of the cache. Names are looked up relative to it and never through a symlink
// where a file is created or opened, so a link swapped in after a check still cannot redirect a
// write out of the cache.
class Dir {
public:
  // Opens `base`, creating it if missing, then each of `components` below it, creating missing
  // ones. `base` (the cache root or a repo folder) may be a symlink: users move whole caches or
  // large repos to other disks that way. Below it Hugging Face clients only create real folders,
  // so a component that is a symlink, or not a folder, was planted: it is refused with
  // Error(failure), cause "cache:planted-link".
  static Dir open(const std::filesystem::path& base,
                  const std::vector<std::string>& components = {});
  // An existing folder, symlinks followed; nothing when it is missing.
  static std::optional<Dir> open_existing(const std::filesystem::path& path);

  Dir() = default;
  ~Dir();
  Dir(Dir&& other) noexcept;
  Dir& operator=(Dir&& other) noexcept;
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  const std::filesystem::path& path() const { return m_path; }

  // `name` (which may hold '/', as a snapshot file's path does), like stat_path() below here.
  std::optional<Entry> stat(std::string_view name, Follow follow) const;
  // The name of every entry but "." and "..": stat() those that matter (a folder of 100,000
  // blobs is listed for the few temporaries among them).
  std::vector<std::string> list() const;

  // A new file, named by `next_name`, which is asked again while the name is taken (two writers
  // never share a file); never through a symlink. Throws after a few names in a row are taken.
  File create_new(const std::function<std::string()>& next_name, unsigned mode) const;
  // An existing regular file for reading and writing, not through a symlink; nothing when that
  // fails (it is gone, or is a link).
  std::optional<File> open_file(std::string_view name) const;
  // A lock file: created when missing (`mode`), opened read-only when it is another user's
  // without write permission (locking needs no more). A symlink is refused as in open().
  File open_lock_file(std::string_view name, unsigned mode) const;

  // rename(2) within this folder: replaces `to`.
  std::error_code rename(std::string_view from, std::string_view to) const;
  // A second name `to` for `from`; fails with file_exists where something is already there.
  std::error_code link(std::string_view from, std::string_view to) const;
  // A symlink `name` whose text is `target`; fails with file_exists where something is there.
  std::error_code symlink(std::string_view target, std::string_view name) const;
  // The content of regular file `name` if it holds at most `max_bytes`; nothing when it is
  // missing, bigger, or no regular file (a link, a FIFO: never opened through or waited on).
  std::optional<std::string> read_small_file(std::string_view name, std::size_t max_bytes) const;
  // The text of symlink `name`; nothing when it is none.
  std::optional<std::string> read_link(std::string_view name) const;
  // Best effort: the name goes (not what a link leads to), or nothing happens.
  void remove(std::string_view name) const noexcept;
  // The folder `name` if it is empty; false when it is not (or is gone).
  bool remove_empty_folder(std::string_view name) const noexcept;
  // The folder `name` below this one, never through a symlink; nothing when it is no folder.
  std::optional<Dir> open_folder(std::string_view name) const;

private:
  Dir(int handle, std::filesystem::path path) : m_handle(handle), m_path(std::move(path)) {}

  int m_handle = -1;
  std::filesystem::path m_path;
};

} // namespace hfmodels::cache
