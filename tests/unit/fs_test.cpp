// SPDX-License-Identifier: MIT
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using namespace hfmodels::util;

namespace {

class FsTest : public ::testing::Test {
protected:
  void SetUp() override { m_dir = hfmodels::test::make_temp_dir("fs"); }
  void TearDown() override { fs::remove_all(m_dir); }

  std::set<std::string> entries(const fs::path& dir) const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  fs::path m_dir;
};

} // namespace

TEST_F(FsTest, ReadFileReturnsEveryByte) {
  const std::string content("a\0b\nc\xff", 6);
  std::ofstream(m_dir / "f", std::ios::binary) << content;
  EXPECT_EQ(read_file(m_dir / "f"), content);

  const std::string big(200000, 'x'); // more than one read buffer
  std::ofstream(m_dir / "big", std::ios::binary) << big;
  EXPECT_EQ(read_file(m_dir / "big"), big);
}

TEST_F(FsTest, ReadMissingFileNamesThePath) {
  try {
    read_file(m_dir / "nope");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::failure);
    EXPECT_EQ(error.summary(), "cannot read " + (m_dir / "nope").string());
    EXPECT_EQ(error.why(), "No such file or directory");
  }
}

TEST_F(FsTest, WriteFileAtomicCreatesParentsAndReplaces) {
  const fs::path path = m_dir / "a" / "b" / "file.txt";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
  write_file_atomic(path, "");
  EXPECT_EQ(read_file(path), "");
  // No temporary left behind.
  EXPECT_EQ(entries(path.parent_path()), std::set<std::string>{"file.txt"});
}

TEST_F(FsTest, WriteFileAtomicRemovesItsTemporaryOnFailure) {
  // rename(2) cannot replace a non-empty directory.
  fs::create_directories(m_dir / "target" / "inside");
  EXPECT_THROW(write_file_atomic(m_dir / "target", "x"), Error);
  EXPECT_EQ(entries(m_dir), std::set<std::string>{"target"});
}

TEST_F(FsTest, WriteFileAtomicFailsWhenTheParentIsAFile) {
  std::ofstream(m_dir / "file") << "x";
  EXPECT_THROW(write_file_atomic(m_dir / "file" / "child", "x"), Error);
}

TEST_F(FsTest, WriteFileAtomicKeepsTheUmask) {
  const mode_t mask = ::umask(027);
  write_file_atomic(m_dir / "f", "x");
  ::umask(mask);
  EXPECT_EQ(fs::status(m_dir / "f").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST(RandomHex, LengthAndAlphabet) {
  for (const std::size_t length : {0u, 1u, 7u, 8u, 33u}) {
    const std::string hex = random_hex(length);
    EXPECT_EQ(hex.size(), length);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  }
}

TEST(RandomHex, ValuesDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(random_hex(16));
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(FsTest, AvailableSpaceOfAMissingPathUsesItsParent) {
  EXPECT_GT(available_space(m_dir), 0u);
  EXPECT_GT(available_space(m_dir / "not" / "yet" / "there"), 0u);
  EXPECT_GT(available_space("relative/missing/path"), 0u);
}

TEST_F(FsTest, AvailableSpaceThroughAFileIsTheFilesFilesystem) {
  std::ofstream(m_dir / "file") << "x";
  // ENOTDIR below a regular file: its parent answers.
  EXPECT_GT(available_space(m_dir / "file" / "child"), 0u);
}

TEST_F(FsTest, WriteAllReportsAFullDisk) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    GTEST_SKIP() << "no /dev/full";
  }
  try {
    write_all(fd, "data", 4, "/some/blob");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::failure);
    EXPECT_EQ(error.summary(), "cannot write /some/blob");
    EXPECT_EQ(error.why(), "No space left on device");
    EXPECT_EQ(error.cause(), "io:28"); // the command line advises on it (cli/advice)
  }
  ::close(fd);
}

TEST(ThrowIoError, FormatsPathAndReason) {
  try {
    throw_io_error("cannot open", "/x/y", EACCES);
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "cannot open /x/y: Permission denied");
    EXPECT_EQ(error.kind(), ErrorKind::failure);
  }
}
