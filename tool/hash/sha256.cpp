// SPDX-License-Identifier: MIT
#include "hash/sha256.hpp"

#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

namespace hfmodels::hash {

namespace {

// 1 MiB: large enough that syscall and EVP call overhead vanish next to the hashing itself, small
// enough to stay in L2/L3 while OpenSSL's SHA-NI/AVX2 code runs over it.
constexpr std::size_t k_file_block = 1024 * 1024;

// EVP_sha256() makes OpenSSL 3 look the provider implementation up again on every init; fetching
// once keeps per-file cost low when `verify` hashes thousands of small files. The fetched objects
// live for the whole process (freed by OpenSSL's atexit cleanup).
const EVP_MD* fetch_digest(const char* name) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) {
    throw Error(ErrorKind::failure, std::string("OpenSSL has no ") + name + " implementation",
                "EVP_MD_fetch failed", "Check the OpenSSL installation and its providers");
  }
  return md;
}

const EVP_MD* sha256_md() {
  static const EVP_MD* const md = fetch_digest("SHA256");
  return md;
}

const EVP_MD* sha1_md() {
  static const EVP_MD* const md = fetch_digest("SHA1");
  return md;
}

std::string to_hex(const unsigned char* bytes, unsigned int size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex(std::size_t{size} * 2, '\0');
  for (unsigned int i = 0; i < size; ++i) {
    hex[2 * i] = k_digits[bytes[i] >> 4];
    hex[2 * i + 1] = k_digits[bytes[i] & 0x0f];
  }
  return hex;
}

// One EVP context; shared by both digest classes.
class Digest {
public:
  explicit Digest(const EVP_MD* md) : m_ctx(EVP_MD_CTX_new()) {
    if (m_ctx == nullptr || EVP_DigestInit_ex(m_ctx, md, nullptr) != 1) {
      EVP_MD_CTX_free(m_ctx);
      throw Error(ErrorKind::failure, "cannot initialise an OpenSSL digest");
    }
  }
  ~Digest() { EVP_MD_CTX_free(m_ctx); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(const void* data, std::size_t size) {
    if (size != 0 && EVP_DigestUpdate(m_ctx, data, size) != 1) {
      throw Error(ErrorKind::failure, "OpenSSL digest update failed");
    }
  }

  std::string hex_digest() {
    unsigned char bytes[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_ctx, bytes, &size) != 1) {
      throw Error(ErrorKind::failure, "OpenSSL digest finalisation failed");
    }
    return to_hex(bytes, size);
  }

private:
  EVP_MD_CTX* m_ctx;
};

} // namespace

struct Sha256::Impl {
  Digest digest{sha256_md()};
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  m_impl->digest.update(data, size);
}

std::string Sha256::hex_digest() {
  return m_impl->digest.hex_digest();
}

struct GitBlobSha1::Impl {
  Digest digest{sha1_md()};
};

GitBlobSha1::GitBlobSha1(std::uint64_t size) : m_impl(std::make_unique<Impl>()) {
  // The header git hashes before the content; the NUL is part of it.
  const std::string header = "blob " + std::to_string(size);
  m_impl->digest.update(header.c_str(), header.size() + 1);
}
GitBlobSha1::~GitBlobSha1() = default;
GitBlobSha1::GitBlobSha1(GitBlobSha1&&) noexcept = default;
GitBlobSha1& GitBlobSha1::operator=(GitBlobSha1&&) noexcept = default;

void GitBlobSha1::update(const void* data, std::size_t size) {
  m_impl->digest.update(data, size);
}

std::string GitBlobSha1::hex_digest() {
  return m_impl->digest.hex_digest();
}

std::string sha256_hex(std::string_view data) {
  Sha256 sha;
  sha.update(data);
  return sha.hex_digest();
}

std::string sha256_file(const std::filesystem::path& path, const std::stop_token& stop) {
  Sha256 sha;
  util::read_blocks(path, k_file_block, stop,
                    [&](const char* data, std::size_t size) { sha.update(data, size); });
  return sha.hex_digest();
}

std::string copy_with_sha256(const std::filesystem::path& from, const std::filesystem::path& to,
                             const std::stop_token& stop) {
  std::FILE* out = std::fopen(to.c_str(), "wbx");
  if (out == nullptr) {
    util::throw_io_error("cannot create", to, errno);
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(out, &std::fclose);
  Sha256 sha;
  util::read_blocks(from, k_file_block, stop, [&](const char* data, std::size_t size) {
    sha.update(data, size);
    if (std::fwrite(data, 1, size, out) != size) {
      util::throw_io_error("cannot write", to, errno);
    }
  });
  if (std::fflush(out) != 0) {
    util::throw_io_error("cannot write", to, errno);
  }
  return sha.hex_digest();
}

} // namespace hfmodels::hash
