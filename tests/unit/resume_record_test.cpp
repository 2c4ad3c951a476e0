// SPDX-License-Identifier: MIT
// What of a partial download is trusted on resume (transfer/partial.hpp).
#include "cache/cache.hpp"
#include "support/temp_dir.hpp"
#include "transfer/partial.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hfmodels::cache::File;
using hfmodels::cache::TempBlob;
using namespace hfmodels::transfer;

constexpr std::uint64_t k_size = 8 * k_block_size;

std::string make_bytes(std::uint64_t size) {
  std::string bytes(size, '\0');
  for (std::uint64_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>('a' + (i * 13 + i / 4093) % 26);
  }
  return bytes;
}

class ResumeRecordTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("record");
    m_bytes = make_bytes(k_size);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  std::unique_ptr<TempBlob> open_temp() const {
    const fs::path path = m_dir / "blob.incomplete";
    auto temp = std::make_unique<TempBlob>(File::open(path, File::Open::create_read_write));
    return temp;
  }

  // Writes bytes [begin, end) of the file as the engine does: into the temporary, and their
  // blocks into the record.
  void download(TempBlob& temp, ResumeRecord& record, std::uint64_t begin, std::uint64_t end) {
    BlockChecksummer checksums;
    temp.write_at(m_bytes.data() + begin, end - begin, begin);
    for (const Block& block : checksums.add(begin, m_bytes.data() + begin, end - begin)) {
      record.add(block);
    }
    if (auto block = checksums.close()) {
      record.add(*block);
    }
  }

  static std::uint64_t total(const std::vector<ByteRange>& ranges) {
    std::uint64_t sum = 0;
    for (const ByteRange& range : ranges) {
      sum += range.end - range.begin;
    }
    return sum;
  }

  // Moves the temporary's modification time `seconds` later than its record's.
  static void touch_later(const TempBlob& temp, int seconds) {
    struct stat record {};
    ASSERT_EQ(::stat(temp.record_path().c_str(), &record), 0);
    timespec times[2] = {record.st_mtim, record.st_mtim};
    times[0].tv_sec += seconds;
    times[1].tv_sec += seconds;
    ASSERT_EQ(::futimens(temp.file().native_handle(), times), 0);
  }

  fs::path m_dir;
  std::string m_bytes;
};

TEST_F(ResumeRecordTest, KeepsEveryRecordedSegment) {
  auto temp = open_temp();
  {
    ResumeRecord record(*temp, k_size);
    record.load();
    download(*temp, record, 0, 2 * k_block_size + 100);
    download(*temp, record, 5 * k_block_size, 6 * k_block_size);
    record.save(true);
  }
  ResumeRecord again(*temp, k_size);
  EXPECT_EQ(total(again.load()), 3 * k_block_size + 100);
}

TEST_F(ResumeRecordTest, DropsABlockWhoseBytesChanged) {
  auto temp = open_temp();
  {
    ResumeRecord record(*temp, k_size);
    record.load();
    download(*temp, record, 0, 3 * k_block_size);
    record.save(true);
  }
  // Zeros where the kernel had not written the bytes when the power went.
  const std::string zeros(4096, '\0');
  temp->write_at(zeros.data(), zeros.size(), k_block_size + 8192);
  ResumeRecord again(*temp, k_size);
  const auto trusted = again.load();
  EXPECT_EQ(total(trusted), 2 * k_block_size);
  for (const ByteRange& range : trusted) {
    EXPECT_TRUE(range.end <= k_block_size || range.begin >= 2 * k_block_size);
  }
}

TEST_F(ResumeRecordTest, APartialWithoutRecordIsAPrefixAndIsRecordedFromThenOn) {
  auto temp = open_temp();
  temp->write_at(m_bytes.data(), 3 * k_block_size + 10, 0); // as Python leaves one
  {
    ResumeRecord record(*temp, k_size);
    EXPECT_EQ(total(record.load()), 3 * k_block_size + 10);
    record.save(true);
  }
  // The record now vouches for the prefix: a damaged block of it is caught.
  temp->write_at("\0", 1, 100);
  ResumeRecord again(*temp, k_size);
  EXPECT_EQ(total(again.load()), 2 * k_block_size + 10);
}

TEST_F(ResumeRecordTest, BytesAnotherClientAppendedAfterTheRecordAreTaken) {
  auto temp = open_temp();
  {
    ResumeRecord record(*temp, k_size);
    record.load();
    download(*temp, record, 0, 2 * k_block_size);
    record.save(true);
  }
  // Python continues blobs/<etag>.incomplete by appending, later.
  temp->write_at(m_bytes.data() + 2 * k_block_size, 2 * k_block_size, 2 * k_block_size);
  touch_later(*temp, 30);
  ResumeRecord again(*temp, k_size);
  EXPECT_EQ(total(again.load()), 4 * k_block_size);
}

TEST_F(ResumeRecordTest, BytesPastTheRecordOfItsOwnWriterAreNotTrusted) {
  // Written moments after the last save, then the power went: they may be zeros.
  auto temp = open_temp();
  {
    ResumeRecord record(*temp, k_size);
    record.load();
    download(*temp, record, 0, 2 * k_block_size);
    record.save(true);
  }
  temp->write_at(m_bytes.data() + 2 * k_block_size, k_block_size, 2 * k_block_size);
  ResumeRecord again(*temp, k_size);
  EXPECT_EQ(total(again.load()), 2 * k_block_size);
}

TEST_F(ResumeRecordTest, ARecordOfAnotherSizeIsIgnored) {
  auto temp = open_temp();
  {
    ResumeRecord record(*temp, k_size + 1);
    record.load();
    download(*temp, record, 0, k_block_size);
    download(*temp, record, 4 * k_block_size, 5 * k_block_size);
    record.save(true);
  }
  ResumeRecord again(*temp, k_size);
  const auto trusted = again.load();
  // Taken as a prefix up to its first hole (less the block before it, which may hold zeros).
  EXPECT_LE(total(trusted), k_block_size);
  for (const ByteRange& range : trusted) {
    EXPECT_EQ(range.begin % k_block_size, 0u);
    EXPECT_LE(range.end, k_block_size);
  }
}

} // namespace
