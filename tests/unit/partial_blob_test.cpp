// SPDX-License-Identifier: MIT
// Partial downloads in the cache: which leftovers a new download continues (claims), parking an
// interrupted one, and the locks around them (cache/cache.hpp).
#include "cache/cache.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::cache::FileLock;
using hfmodels::cache::HubCache;
using hfmodels::cache::TempBlob;
using hfmodels::hub::BlobId;
using hfmodels::hub::RepoRef;
using hfmodels::hub::RepoType;
using hfmodels::util::read_file;

namespace {

const BlobId k_etag{"dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"};
const RepoRef k_repo{RepoType::model, "org/name"};

class PartialBlob : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("partial");
    m_cache = HubCache(m_dir / "hub");
    m_blobs = m_cache.blob_path(k_repo, k_etag).parent_path();
    fs::create_directories(m_blobs);
    // This process's name for a temporary (removed again with the probe).
    const TempBlob probe = m_cache.open_partial_blob(k_repo, k_etag, 100);
    m_own_name = probe.path().filename().string();
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void write(const fs::path& path, const std::string& content) const {
    hfmodels::util::write_file_atomic(path, content);
  }

  // Sets the file's modification time `minutes` into the past.
  static void age(const fs::path& path, int minutes) {
    const auto when = std::chrono::system_clock::now() - std::chrono::minutes(minutes);
    timespec times[2];
    times[0].tv_sec = times[1].tv_sec = std::chrono::system_clock::to_time_t(when);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }

  // The name a temporary of process `pid` of this machine would have: this process's own name
  // for one, with the pid swapped (and `n` in its random part, to tell several apart).
  std::string name_for_pid(pid_t pid, int n = 0) const {
    std::string name = m_own_name;
    const std::string mine = "-" + std::to_string(::getpid()) + "-";
    const auto at = name.find(mine);
    EXPECT_NE(at, std::string::npos) << name;
    name.replace(at, mine.size(), "-" + std::to_string(pid) + "-");
    name[name.size() - std::string(".incomplete").size() - 1] = static_cast<char>('0' + n);
    return name;
  }

  static pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) {
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
  }

  std::string claim(std::uint64_t max_size = 100) const {
    TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, max_size);
    std::string content(temp.size(), '\0');
    EXPECT_EQ(temp.read_at(content.data(), content.size(), 0), content.size());
    return content;
  }

  fs::path m_dir;
  fs::path m_blobs;
  std::string m_own_name;
  HubCache m_cache{fs::path()};
};

TEST_F(PartialBlob, NewTemporaryNamesItsOwner) {
  TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
  const std::string name = temp.path().filename().string();
  EXPECT_TRUE(name.starts_with(k_etag.str() + "."));
  EXPECT_TRUE(name.ends_with(".incomplete"));
  EXPECT_NE(name.find("-" + std::to_string(::getpid()) + "-"), std::string::npos) << name;
  EXPECT_EQ(temp.size(), 0u);
}

TEST_F(PartialBlob, ContinuesTheParkedOneAndParksAgain) {
  write(m_blobs / (k_etag.str() + ".incomplete"), "abc");
  {
    TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
    EXPECT_FALSE(fs::exists(m_blobs / (k_etag.str() + ".incomplete"))); // claimed: renamed away
    temp.write_at("def", 3, 3);
    m_cache.park_partial_blob(k_repo, k_etag, std::move(temp), true);
  }
  EXPECT_EQ(read_file(m_blobs / (k_etag.str() + ".incomplete")), "abcdef");
  EXPECT_EQ(claim(), "abcdef");
}

TEST_F(PartialBlob, ARecordGoesWhereItsPartialGoes) {
  {
    TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
    temp.write_at("abc", 3, 0);
    write(temp.record_path(), "record");
    m_cache.park_partial_blob(k_repo, k_etag, std::move(temp), true);
  }
  EXPECT_EQ(read_file(m_blobs / (k_etag.str() + ".incomplete.ranges")), "record")
      << "a parked prefix keeps the record that vouches for its blocks";
  // Old enough to be cleaned up, were it not this blob's.
  age(m_blobs / (k_etag.str() + ".incomplete.ranges"), 3 * 24 * 60);
  age(m_blobs / (k_etag.str() + ".incomplete"), 3 * 24 * 60);
  TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
  EXPECT_EQ(read_file(temp.record_path()), "record") << "claimed with its partial";
  EXPECT_FALSE(fs::exists(m_blobs / (k_etag.str() + ".incomplete.ranges")));
}

TEST_F(PartialBlob, BytesWithHolesAreContinuedByTheNextFetchOfThisProcess) {
  // A program cancels a segmented download and fetches again without exiting: the bytes it
  // parked are its own leftovers, not a live download of another thread.
  {
    TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
    temp.write_at("abc", 3, 0);
    temp.write_at("xyz", 3, 10); // a hole between
    write(temp.record_path(), "record");
    m_cache.park_partial_blob(k_repo, k_etag, std::move(temp), false);
  }
  EXPECT_FALSE(fs::exists(m_blobs / (k_etag.str() + ".incomplete")))
      << "never under the name Python resumes as a prefix";
  TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
  EXPECT_EQ(temp.size(), 13u);
  EXPECT_EQ(read_file(temp.record_path()), "record");
  std::size_t left = 0;
  for (const auto& entry : fs::directory_iterator(m_blobs)) {
    left += entry.path() != temp.path() && entry.path() != temp.record_path() ? 1 : 0;
  }
  EXPECT_EQ(left, 0u) << "claimed, not copied";
}

TEST_F(PartialBlob, AnEmptyOneIsNotParked) {
  {
    TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
    m_cache.park_partial_blob(k_repo, k_etag, std::move(temp), true);
  }
  EXPECT_TRUE(fs::is_empty(m_blobs));
}

TEST_F(PartialBlob, ContinuesTheTemporaryOfADeadProcessAtOnce) {
  write(m_blobs / name_for_pid(dead_pid()), "killed");
  EXPECT_EQ(claim(), "killed");
}

TEST_F(PartialBlob, ContinuesTheTemporaryOfAKilledProcessNotYetReaped) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ::kill(child, SIGKILL);
  siginfo_t info{};
  // Wait until it is a zombie, without reaping it.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  write(m_blobs / name_for_pid(child), "zombie");
  EXPECT_EQ(claim(), "zombie");
  ::waitpid(child, nullptr, 0);
}

TEST_F(PartialBlob, LeavesALiveDownloadAlone) {
  // A live process of this machine (our parent stands in) is still writing it; on a filesystem
  // where flock grants everyone the lock, taking it over would make that writer fail.
  write(m_blobs / name_for_pid(::getppid()), "busy");
  EXPECT_EQ(claim(), "");
  EXPECT_TRUE(fs::exists(m_blobs / name_for_pid(::getppid())));
}

TEST_F(PartialBlob, ForeignOnesOnlyOnceIdleForTenMinutes) {
  // Python >= 1.18's temporary, or another machine's: nobody can tell whether its writer lives.
  const fs::path python = m_blobs / (k_etag.str() + ".1a2b3c4d.incomplete");
  write(python, "python");
  age(python, 5);
  EXPECT_EQ(claim(), "");
  age(python, 11);
  EXPECT_EQ(claim(), "python");
}

TEST_F(PartialBlob, PrefersTheLongestAndSkipsOversizedAndSymlinks) {
  write(m_blobs / (k_etag.str() + ".incomplete"), "short");
  write(m_blobs / name_for_pid(dead_pid(), 1), "the longest one");
  write(m_blobs / name_for_pid(dead_pid(), 2), std::string(200, 'x')); // over max_size
  const fs::path outside = m_dir / "outside";
  write(outside, "never claimed, never changed, and longer than the rest");
  fs::create_symlink(outside, m_blobs / name_for_pid(dead_pid(), 3));
  EXPECT_EQ(claim(), "the longest one");
  EXPECT_EQ(claim(), "short");
  EXPECT_EQ(claim(), "");
  EXPECT_EQ(read_file(outside), "never claimed, never changed, and longer than the rest");
}

TEST_F(PartialBlob, StrayTemporariesOlderThanADayAreRemoved) {
  const fs::path other = m_blobs / "0123456789abcdef0123456789abcdef01234567.99aa88bb.incomplete";
  const fs::path part = m_blobs / (k_etag.str() + ".sync.part");
  const fs::path fresh = m_blobs / "0123456789abcdef0123456789abcdef01234567.incomplete";
  write(other, "old");
  write(part, "old hf-hub");
  write(fresh, "new");
  age(other, 25 * 60);
  age(part, 25 * 60);
  claim();
  EXPECT_FALSE(fs::exists(other));
  EXPECT_FALSE(fs::exists(part));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST_F(PartialBlob, CommitRefusesTheWrongSize) {
  TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
  temp.write_at("12345", 5, 0);
  const fs::path path = temp.path();
  EXPECT_THROW(m_cache.commit_blob(k_repo, k_etag, std::move(temp), 6), Error);
  EXPECT_FALSE(fs::exists(m_cache.blob_path(k_repo, k_etag)));
}

TEST_F(PartialBlob, WriteAtPutsBytesInPlace) {
  TempBlob temp = m_cache.open_partial_blob(k_repo, k_etag, 100);
  temp.write_at("world", 5, 6);
  temp.write_at("hello ", 6, 0);
  std::string content(11, '\0');
  EXPECT_EQ(temp.read_at(content.data(), 11, 0), 11u);
  EXPECT_EQ(content, "hello world");
}

TEST_F(PartialBlob, LockBlobRefusesAPlantedLinkAndWorksOtherwise) {
  const fs::path outside = m_dir / "outside";
  fs::create_directories(outside);
  const fs::path lock = m_cache.lock_path(k_repo, k_etag);
  fs::create_directories(lock.parent_path());
  fs::create_symlink(outside / "victim", lock);
  EXPECT_THROW(m_cache.lock_blob(k_repo, k_etag), Error);
  EXPECT_FALSE(fs::exists(outside / "victim"));
  fs::remove(lock);
  const FileLock held = m_cache.lock_blob(k_repo, k_etag);
  EXPECT_TRUE(held.held());
}

} // namespace
