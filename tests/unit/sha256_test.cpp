// SPDX-License-Identifier: MIT
#include "hash/sha256.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using namespace hfmodels::hash;

namespace {

class Sha256Test : public ::testing::Test {
protected:
  void SetUp() override { m_dir = hfmodels::test::make_temp_dir("sha256"); }
  void TearDown() override { fs::remove_all(m_dir); }

  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path path = m_dir / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path m_dir;
};

// Deterministic bytes with no short period, so chunking bugs cannot cancel out.
std::string test_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  std::uint32_t state = 2463534242u;
  for (char& c : bytes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<char>(state & 0xff);
  }
  return bytes;
}

std::string git_sha1(std::string_view data) {
  GitBlobSha1 sha(data.size());
  sha.update(data.data(), data.size());
  return sha.hex_digest();
}

} // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(GitBlobSha1, MatchesGitHashObject) {
  // docs/hub-and-cache.md §4; `printf 'Hello, World!' | git hash-object --stdin`.
  EXPECT_EQ(git_sha1("Hello, World!"), "b45ef6fec89518d314f546fd6c3025367b721684");
  // The empty blob, famous from every empty file in git.
  EXPECT_EQ(git_sha1(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST(GitBlobSha1, StreamingEqualsOneShot) {
  const std::string data = test_bytes(100000);
  GitBlobSha1 sha(data.size());
  for (std::size_t at = 0; at < data.size(); at += 333) {
    sha.update(data.data() + at, std::min<std::size_t>(333, data.size() - at));
  }
  EXPECT_EQ(sha.hex_digest(), git_sha1(data));
}

TEST(Sha256, StreamingInOddChunksEqualsOneShot) {
  const std::string data = test_bytes(300007);
  const std::string expected = sha256_hex(data);
  for (const std::size_t chunk : {1u, 7u, 63u, 64u, 65u, 4097u, 65536u, 300007u}) {
    Sha256 sha;
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      sha.update(std::string_view(data).substr(at, chunk));
    }
    EXPECT_EQ(sha.hex_digest(), expected) << "chunk size " << chunk;
  }
}

TEST(Sha256, EmptyUpdatesChangeNothing) {
  Sha256 sha;
  sha.update(nullptr, 0);
  sha.update("abc");
  sha.update("", 0);
  EXPECT_EQ(sha.hex_digest(), sha256_hex("abc"));
}

TEST(Sha256, MovedObjectKeepsItsState) {
  Sha256 first;
  first.update("ab");
  Sha256 second = std::move(first);
  second.update("c");
  EXPECT_EQ(second.hex_digest(), sha256_hex("abc"));
}

TEST_F(Sha256Test, FileCrossingBlockBoundaries) {
  // 3 MiB + 17: several full 1 MiB reads and a short tail.
  const std::string data = test_bytes(3 * 1024 * 1024 + 17);
  EXPECT_EQ(sha256_file(write("big.bin", data)), sha256_hex(data));
}

TEST_F(Sha256Test, EmptyFile) {
  EXPECT_EQ(sha256_file(write("empty", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(Sha256Test, MissingFileIsAFailureNamingThePath) {
  const fs::path missing = m_dir / "missing.bin";
  try {
    sha256_file(missing);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::failure);
    EXPECT_NE(std::string(error.what()).find(missing.string()), std::string::npos) << error.what();
    EXPECT_NE(error.why().find("No such file"), std::string::npos) << error.why();
  }
}

TEST_F(Sha256Test, DirectoryIsAFailure) {
  EXPECT_THROW(sha256_file(m_dir), Error);
}
