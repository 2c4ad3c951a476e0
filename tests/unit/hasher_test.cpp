// SPDX-License-Identifier: MIT
// Hashing a file as its bytes arrive, in any order (transfer/hasher.hpp).
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "support/temp_dir.hpp"
#include "transfer/hasher.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using hfmodels::cache::File;
using hfmodels::cache::TempBlob;
using hfmodels::transfer::FileHasher;

std::string make_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>(i * 31 + i / 997);
  }
  return bytes;
}

std::string sha256_of(const std::string& data) {
  hfmodels::hash::Sha256 hasher;
  hasher.update(data);
  return hasher.hex_digest();
}

std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

class FileHasherTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("hasher");
    const fs::path path = m_dir / "blob.incomplete";
    m_temp = std::make_unique<TempBlob>(File::open(path, File::Open::create_read_write));
  }
  void TearDown() override {
    m_temp.reset();
    fs::remove_all(m_dir);
  }

  static void wait_until_done(const FileHasher& hasher) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!hasher.done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  fs::path m_dir;
  std::unique_ptr<TempBlob> m_temp;
};

TEST_F(FileHasherTest, BytesInOrderAreHashedWithoutAThread) {
  const std::string bytes = make_bytes(3u << 20);
  const std::size_t threads = thread_count();
  std::atomic<int> wakes{0};
  FileHasher hasher(*m_temp, bytes.size(), true, FileHasher::Hashing::in_order_on_caller,
                    [&] { ++wakes; });
  for (std::size_t at = 0; at < bytes.size(); at += 256u << 10) {
    const std::size_t size = std::min<std::size_t>(256u << 10, bytes.size() - at);
    m_temp->write_at(bytes.data() + at, size, at);
    hasher.written(at, bytes.data() + at, size, at + size);
    EXPECT_EQ(thread_count(), threads) << "no read-back needed for bytes in order";
  }
  ASSERT_TRUE(hasher.done());
  EXPECT_EQ(hasher.digests().sha256, sha256_of(bytes));
  EXPECT_EQ(hasher.digests().git_sha1.size(), 40u);
  EXPECT_EQ(wakes, 0) << "finished on the caller's thread";
}

TEST_F(FileHasherTest, ALargeFileIsHashedOnItsOwnThreadEvenInOrder) {
  // So that the engine's thread only receives: hashing several large files then uses every
  // core (bench/RESULTS.md, the whole set).
  const std::string bytes = make_bytes(3u << 20);
  const std::size_t threads = thread_count();
  std::atomic<int> wakes{0};
  FileHasher hasher(*m_temp, bytes.size(), true, FileHasher::Hashing::own_thread, [&] { ++wakes; });
  const std::size_t first = 256u << 10;
  m_temp->write_at(bytes.data(), first, 0);
  hasher.written(0, bytes.data(), first, first);
  EXPECT_EQ(thread_count(), threads + 1) << "the hasher's thread reads the bytes back";
  m_temp->write_at(bytes.data() + first, bytes.size() - first, first);
  hasher.written(first, bytes.data() + first, bytes.size() - first, bytes.size());
  wait_until_done(hasher);
  ASSERT_TRUE(hasher.done());
  EXPECT_EQ(hasher.digests().sha256, sha256_of(bytes));
  EXPECT_EQ(hasher.digests().git_sha1.size(), 40u);
  EXPECT_EQ(wakes, 1) << "finished on the hasher's thread, which wakes the engine";
}

TEST_F(FileHasherTest, BytesAheadOfTheHashAreReadBackOnceThePrefixReachesThem) {
  const std::string bytes = make_bytes(3u << 20);
  const std::size_t half = bytes.size() / 2;
  std::atomic<int> wakes{0};
  FileHasher hasher(*m_temp, bytes.size(), false, FileHasher::Hashing::in_order_on_caller,
                    [&] { ++wakes; });
  // The second half arrives first (another segment), then the first.
  m_temp->write_at(bytes.data() + half, bytes.size() - half, half);
  hasher.written(half, bytes.data() + half, bytes.size() - half, 0);
  m_temp->write_at(bytes.data(), half, 0);
  hasher.written(0, bytes.data(), half, bytes.size());
  wait_until_done(hasher);
  ASSERT_TRUE(hasher.done());
  EXPECT_EQ(hasher.digests().sha256, sha256_of(bytes));
  EXPECT_EQ(wakes, 1);
}

TEST_F(FileHasherTest, AResumedPrefixIsReadBack) {
  const std::string bytes = make_bytes(2u << 20);
  m_temp->write_at(bytes.data(), 1u << 20, 0); // on disk from an earlier run
  FileHasher hasher(*m_temp, bytes.size(), false, FileHasher::Hashing::in_order_on_caller, {});
  hasher.reached(1u << 20);
  m_temp->write_at(bytes.data() + (1u << 20), 1u << 20, 1u << 20);
  hasher.written(1u << 20, bytes.data() + (1u << 20), 1u << 20, bytes.size());
  wait_until_done(hasher);
  ASSERT_TRUE(hasher.done());
  EXPECT_EQ(hasher.digests().sha256, sha256_of(bytes));
}

} // namespace
