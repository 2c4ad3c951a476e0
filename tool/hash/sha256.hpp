// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

namespace hfmodels::hash {

// Streaming SHA-256 over OpenSSL EVP.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // 64 lowercase hex digits. The object cannot be updated afterwards.
  std::string hex_digest();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Git's blob id: sha1("blob <size>\0" + bytes), the Hub's etag of a regular (non-LFS) file.
class GitBlobSha1 {
public:
  explicit GitBlobSha1(std::uint64_t size);
  ~GitBlobSha1();
  GitBlobSha1(GitBlobSha1&&) noexcept;
  GitBlobSha1& operator=(GitBlobSha1&&) noexcept;

  void update(const void* data, std::size_t size);
  std::string hex_digest(); // 40 lowercase hex digits

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

std::string sha256_hex(std::string_view data);

// Hashes a file by streaming it in fixed-size blocks; memory does not grow with the file.
// Throws Error(failure) if the file cannot be read, util::Cancelled when `stop` is requested.
std::string sha256_file(const std::filesystem::path& path, const std::stop_token& stop = {});

// Copies the file at `from` into `to`, which it creates (it must not exist), hashing the bytes
// as they are written, and returns their sha256: what the copy holds is what was hashed, however
// `from` changes meanwhile. Throws Error(failure) naming the file that cannot be read or
// written, util::Cancelled when `stop` is requested; `to` is then the caller's to remove.
std::string copy_with_sha256(const std::filesystem::path& from, const std::filesystem::path& to,
                             const std::stop_token& stop = {});

} // namespace hfmodels::hash
