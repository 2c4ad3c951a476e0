// SPDX-License-Identifier: MIT
#include "cache/local_dir.hpp"

#include "cache/cache.hpp"
#include "util/fs.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <system_error>

namespace hfmodels::cache {

namespace fs = std::filesystem;

namespace {

// huggingface_hub's content, byte for byte: "*" without a newline.
constexpr std::string_view k_gitignore = "*";

void write_if_missing(const fs::path& path, std::string_view content) {
  std::error_code error;
  if (!fs::exists(fs::symlink_status(path, error))) {
    util::write_file_atomic(path, content);
  }
}

// Seconds since the epoch as Python's float() reads them ("1733353000.123456").
std::string now_seconds() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double seconds = std::chrono::duration<double>(now).count();
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.6f", seconds);
  return text.data();
}

} // namespace

LocalDir::LocalDir(const fs::path& dir) : m_meta(dir / ".cache" / "huggingface") {
  write_if_missing(m_meta / ".gitignore", k_gitignore);
  write_cachedir_tag(m_meta);
}

void LocalDir::record(std::string_view repo_path, std::string_view commit,
                      std::string_view etag) const {
  const fs::path path = m_meta / "download" / (std::string(repo_path) + ".metadata");
  const std::string identity = std::string(commit) + "\n" + std::string(etag) + "\n";
  std::error_code error;
  if (fs::is_regular_file(path, error) && util::read_file(path).starts_with(identity)) {
    return;
  }
  // Three lines, each ending in a newline; the time says the file is no newer than this record.
  util::write_file_atomic(path, identity + now_seconds() + "\n");
}

} // namespace hfmodels::cache
