// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::cache::File;
using hfmodels::cache::HubCache;
using hfmodels::cache::TempBlob;
using hfmodels::hub::BlobId;
using hfmodels::hub::CommitId;
using hfmodels::hub::RepoPath;
using hfmodels::hub::RepoRef;
using hfmodels::hub::RepoType;
using hfmodels::util::read_file;

namespace {

const CommitId k_commit{"0123456789abcdef0123456789abcdef01234567"};
const CommitId k_commit2{"fedcba9876543210fedcba9876543210fedcba98"};
const BlobId k_sha1{"b45ef6fec89518d314f546fd6c3025367b721684"};
const BlobId k_sha256{"dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"};
const RepoRef k_model{RepoType::model, "org/name"};
const RepoRef k_dataset{RepoType::dataset, "org/data"};

class Cache : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("cache");
    m_root = m_dir / "hub";
    m_cache = HubCache(m_root);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // A committed blob with `content`.
  void put_blob(const RepoRef& repo, const BlobId& etag, const std::string& content) const {
    TempBlob temp = m_cache.create_temp_blob(repo, etag);
    temp.write(content.data(), content.size());
    m_cache.commit_blob(repo, etag, std::move(temp));
  }

  std::set<std::string> entries(const fs::path& dir) const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  fs::path m_dir;
  fs::path m_root;
  HubCache m_cache{fs::path()};
};

ino_t inode_of_link(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_ino;
}

mode_t current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

} // namespace

// --- paths --------------------------------------------------------------------------------------

TEST_F(Cache, PathsFollowTheHubLayout) {
  EXPECT_EQ(m_cache.repo_dir(k_model), m_root / "models--org--name");
  EXPECT_EQ(m_cache.repo_dir(k_dataset), m_root / "datasets--org--data");
  EXPECT_EQ(m_cache.repo_dir({RepoType::model, "gpt2"}), m_root / "models--gpt2");
  EXPECT_EQ(m_cache.blob_path(k_model, k_sha1), m_root / "models--org--name/blobs" / k_sha1.str());
  EXPECT_EQ(m_cache.blob_path(k_dataset, k_sha256),
            m_root / "datasets--org--data/blobs" / k_sha256.str());
  EXPECT_EQ(m_cache.snapshot_dir(k_model, k_commit),
            m_root / "models--org--name/snapshots" / k_commit.str());
  EXPECT_EQ(m_cache.snapshot_path(k_model, k_commit, RepoPath("onnx/sub/model.onnx")),
            m_root / "models--org--name/snapshots" / k_commit.str() / "onnx/sub/model.onnx");
  EXPECT_EQ(m_cache.lock_path(k_model, k_sha256),
            m_root / ".locks/models--org--name" / (k_sha256.str() + ".lock"));
}

TEST_F(Cache, InvalidInputsAreRefusedBeforeJoining) {
  const auto expect_usage = [](auto&& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << "accepted " << what;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage) << what;
    }
  };
  // The values the cache joins into paths are refused where they become their types.
  expect_usage([] { static_cast<void>(BlobId("B45EF6FEC89518D314F546FD6C3025367B721684")); },
               "upper-case etag");
  expect_usage([] { static_cast<void>(BlobId("abc")); }, "short etag");
  expect_usage([] { static_cast<void>(BlobId("../../../../etc/passwd")); }, "path etag");
  expect_usage([] { static_cast<void>(BlobId(k_sha1.str() + "0")); }, "41-hex etag");
  expect_usage([] { static_cast<void>(CommitId("main")); }, "branch as commit");
  expect_usage([] { static_cast<void>(RepoPath("../escape")); }, "..");
  expect_usage([] { static_cast<void>(RepoPath("/etc/passwd")); }, "absolute");
  expect_usage([] { static_cast<void>(RepoPath("a\\b")); }, "backslash");
  expect_usage([&] { m_cache.repo_dir({RepoType::model, "../x"}); }, "repo id ..");
  for (const std::string& revision : std::vector<std::string>{
           "", "../x", "/main", "main/", "a/../b", "a//b", "./a", "a\\b", std::string("a\0b", 3)}) {
    expect_usage([&] { m_cache.read_ref(k_model, revision); }, revision.c_str());
    expect_usage([&] { m_cache.create_ref(k_model, revision, k_commit); }, revision.c_str());
  }
  EXPECT_FALSE(fs::exists(m_root / "models--org--name" / "refs"));
}

// --- blobs --------------------------------------------------------------------------------------

TEST_F(Cache, TempBlobLifecycle) {
  fs::path path;
  {
    TempBlob temp = m_cache.create_temp_blob(k_model, k_sha1);
    path = temp.path();
    EXPECT_EQ(path.parent_path(), m_cache.blob_path(k_model, k_sha1).parent_path());
    const std::string name = path.filename().string();
    const std::string middle = name.substr(k_sha1.str().size() + 1, 8);
    EXPECT_EQ(name, k_sha1.str() + "." + middle + ".incomplete");
    EXPECT_EQ(middle.find_first_not_of("0123456789abcdef"), std::string::npos) << name;
    temp.write("garbage", 7);
    temp.truncate(); // a server ignored the Range request: start over
    temp.write("Hello, ", 7);
    temp.write("World!", 6);
    EXPECT_EQ(read_file(path), "Hello, World!");

    TempBlob moved = std::move(temp);
    EXPECT_EQ(moved.path(), path);
    EXPECT_TRUE(temp.path().empty());
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path)) << "destructor must remove an uncommitted temporary";
}

TEST_F(Cache, TempBlobsAreUnique) {
  TempBlob first = m_cache.create_temp_blob(k_model, k_sha1);
  TempBlob second = m_cache.create_temp_blob(k_model, k_sha1);
  EXPECT_NE(first.path(), second.path());
}

TEST_F(Cache, ReleasedTempBlobIsKept) {
  fs::path path;
  {
    TempBlob temp = m_cache.create_temp_blob(k_model, k_sha1);
    path = temp.release();
    EXPECT_FALSE(temp.file().is_open());
  }
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(Cache, AFailedWriteNamesThePath) {
  if (!fs::exists("/dev/full")) {
    GTEST_SKIP() << "no /dev/full";
  }
  // A File, not a TempBlob: a TempBlob removes its path when it goes.
  File file = File::open("/dev/full", File::Open::read_write);
  try {
    file.write("data", 4);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::failure);
    EXPECT_NE(std::string(error.what()).find("/dev/full"), std::string::npos);
    EXPECT_EQ(error.why(), "No space left on device");
  }
}

TEST_F(Cache, CommitBlobRenamesWithTheUmaskMode) {
  const mode_t mask = current_umask();
  TempBlob temp = m_cache.create_temp_blob(k_model, k_sha1);
  const fs::path temp_path = temp.path();
  temp.write("Hello, World!", 13);
  m_cache.commit_blob(k_model, k_sha1, std::move(temp));

  const fs::path blob = m_cache.blob_path(k_model, k_sha1);
  EXPECT_EQ(read_file(blob), "Hello, World!");
  EXPECT_FALSE(fs::exists(temp_path));
  struct stat info {};
  ASSERT_EQ(::stat(blob.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0666 & ~mask);
  EXPECT_TRUE(m_cache.has_blob(k_model, k_sha1, 13));
  EXPECT_FALSE(m_cache.has_blob(k_model, k_sha1, 12));
  EXPECT_FALSE(m_cache.has_blob(k_model, k_sha256, 13));
  EXPECT_EQ(entries(blob.parent_path()), std::set<std::string>{k_sha1.str()});
}

TEST_F(Cache, CommitBlobUndoesTheTemporarysStricterMode) {
  // With umask 002 the temporary is 0644 but a new file would be 0664: shared caches rely on it.
  const mode_t mask = ::umask(002);
  const HubCache cache(m_root);
  TempBlob temp = cache.create_temp_blob(k_model, k_sha1);
  struct stat info {};
  ASSERT_EQ(::fstat(temp.file().native_handle(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0644u);
  cache.commit_blob(k_model, k_sha1, std::move(temp));
  ::umask(mask);
  ASSERT_EQ(::stat(cache.blob_path(k_model, k_sha1).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0664u);
}

TEST_F(Cache, CommitOverAnExistingBlobIsFine) {
  put_blob(k_model, k_sha1, "Hello, World!");
  put_blob(k_model, k_sha1, "Hello, World!");
  EXPECT_EQ(read_file(m_cache.blob_path(k_model, k_sha1)), "Hello, World!");
  EXPECT_EQ(entries(m_cache.blob_path(k_model, k_sha1).parent_path()),
            std::set<std::string>{k_sha1.str()});
}

TEST_F(Cache, CommitRefusesAForeignTemporary) {
  TempBlob temp = m_cache.create_temp_blob(k_dataset, k_sha1);
  EXPECT_THROW(m_cache.commit_blob(k_model, k_sha1, std::move(temp)), Error);
  EXPECT_FALSE(fs::exists(m_cache.blob_path(k_model, k_sha1)));
}

// --- snapshots ----------------------------------------------------------------------------------

TEST_F(Cache, LinksAreRelativeAndResolve) {
  put_blob(k_model, k_sha1, "Hello, World!");
  m_cache.link_snapshot(k_model, k_commit, RepoPath("README.md"), k_sha1);
  m_cache.link_snapshot(k_model, k_commit, RepoPath("a/b/x.bin"), k_sha1);

  const fs::path top = m_cache.snapshot_path(k_model, k_commit, RepoPath("README.md"));
  const fs::path nested = m_cache.snapshot_path(k_model, k_commit, RepoPath("a/b/x.bin"));
  ASSERT_TRUE(fs::is_symlink(top));
  ASSERT_TRUE(fs::is_symlink(nested));
  EXPECT_EQ(fs::read_symlink(top), "../../blobs/" + k_sha1.str());
  EXPECT_EQ(fs::read_symlink(nested), "../../../../blobs/" + k_sha1.str());
  EXPECT_EQ(fs::canonical(top), fs::canonical(m_cache.blob_path(k_model, k_sha1)));
  EXPECT_EQ(fs::canonical(nested), fs::canonical(m_cache.blob_path(k_model, k_sha1)));
  EXPECT_EQ(read_file(nested), "Hello, World!");

  // Relative links survive moving the whole cache.
  fs::rename(m_root, m_dir / "moved");
  EXPECT_EQ(read_file(m_dir / "moved/models--org--name/snapshots" / k_commit.str() / "a/b/x.bin"),
            "Hello, World!");
}

TEST_F(Cache, RelinkingReplacesAtomicallyAndLeavesNoTemporaries) {
  put_blob(k_model, k_sha1, "Hello, World!");
  put_blob(k_model, k_sha256, "other");
  const fs::path link = m_cache.snapshot_path(k_model, k_commit, RepoPath("sub/file.bin"));

  m_cache.link_snapshot(k_model, k_commit, RepoPath("sub/file.bin"), k_sha1);
  const ino_t first = inode_of_link(link);
  m_cache.link_snapshot(k_model, k_commit, RepoPath("sub/file.bin"), k_sha1);
  EXPECT_EQ(inode_of_link(link), first) << "a correct link is left alone";

  m_cache.link_snapshot(k_model, k_commit, RepoPath("sub/file.bin"), k_sha256);
  EXPECT_EQ(fs::read_symlink(link), "../../../blobs/" + k_sha256.str());
  EXPECT_EQ(read_file(link), "other");
  EXPECT_EQ(entries(link.parent_path()), std::set<std::string>{"file.bin"});
}

TEST_F(Cache, LinkReplacesARegularFile) {
  // What Python leaves in no-symlink mode.
  put_blob(k_model, k_sha1, "Hello, World!");
  const fs::path link = m_cache.snapshot_path(k_model, k_commit, RepoPath("config.json"));
  fs::create_directories(link.parent_path());
  std::ofstream(link) << "stale";
  m_cache.link_snapshot(k_model, k_commit, RepoPath("config.json"), k_sha1);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file(link), "Hello, World!");
}

TEST_F(Cache, HasFileChecksPresenceAndSize) {
  EXPECT_FALSE(m_cache.has_file(k_model, k_commit, RepoPath("README.md"), 13));
  m_cache.link_snapshot(k_model, k_commit, RepoPath("README.md"), k_sha1);
  EXPECT_FALSE(m_cache.has_file(k_model, k_commit, RepoPath("README.md"), 13)) << "dangling link";
  put_blob(k_model, k_sha1, "Hello, World!");
  EXPECT_TRUE(m_cache.has_file(k_model, k_commit, RepoPath("README.md"), 13));
  EXPECT_FALSE(m_cache.has_file(k_model, k_commit, RepoPath("README.md"), 14));
  EXPECT_FALSE(m_cache.has_file(k_model, k_commit2, RepoPath("README.md"), 13));

  // A folder is not a file, whatever its size.
  const fs::path dir = m_cache.snapshot_path(k_model, k_commit, RepoPath("dir"));
  fs::create_directories(dir);
  struct stat info {};
  ASSERT_EQ(::stat(dir.c_str(), &info), 0);
  EXPECT_FALSE(m_cache.has_file(k_model, k_commit, RepoPath("dir"),
                                static_cast<std::uint64_t>(info.st_size)));
}

// --- refs ---------------------------------------------------------------------------------------

TEST_F(Cache, RefsHaveNoNewlineAndCreateTheSnapshotFolder) {
  EXPECT_TRUE(m_cache.create_ref(k_model, "main", k_commit));
  const fs::path ref = m_cache.repo_dir(k_model) / "refs/main";
  EXPECT_EQ(read_file(ref), k_commit.str());
  EXPECT_TRUE(fs::is_directory(m_cache.snapshot_dir(k_model, k_commit)));
  EXPECT_EQ(m_cache.read_ref(k_model, "main"), k_commit);
  EXPECT_EQ(entries(ref.parent_path()), std::set<std::string>{"main"});
}

TEST_F(Cache, ARefThatNamesASnapshotIsNeverMoved) {
  // Another client (offline Python) may have recorded a newer commit of the branch.
  ASSERT_TRUE(m_cache.create_ref(k_model, "main", k_commit2));
  EXPECT_FALSE(m_cache.create_ref(k_model, "main", k_commit));
  EXPECT_EQ(m_cache.read_ref(k_model, "main"), k_commit2);
}

TEST_F(Cache, ADanglingOrBrokenRefIsRewritten) {
  const fs::path refs = m_cache.repo_dir(k_model) / "refs";
  fs::create_directories(refs);
  std::ofstream(refs / "main") << k_commit2.str(); // no snapshots/<k_commit2>
  EXPECT_TRUE(m_cache.create_ref(k_model, "main", k_commit));
  EXPECT_EQ(m_cache.read_ref(k_model, "main"), k_commit);
  std::ofstream(refs / "v1") << "garbage";
  EXPECT_TRUE(m_cache.create_ref(k_model, "v1", k_commit));
  EXPECT_EQ(m_cache.read_ref(k_model, "v1"), k_commit);
}

TEST_F(Cache, NestedRevisionsBecomeFolders) {
  m_cache.create_ref(k_model, "refs/pr/1", k_commit);
  m_cache.create_ref(k_dataset, "feature/x", k_commit2);
  EXPECT_EQ(read_file(m_root / "models--org--name/refs/refs/pr/1"), k_commit.str());
  EXPECT_EQ(read_file(m_root / "datasets--org--data/refs/feature/x"), k_commit2.str());
  EXPECT_EQ(m_cache.read_ref(k_model, "refs/pr/1"), k_commit);
  EXPECT_EQ(m_cache.read_ref(k_model, "refs/pr/2"), std::nullopt);
}

TEST_F(Cache, CommitRevisionsWriteNoRef) {
  m_cache.create_ref(k_model, k_commit.str(), k_commit);
  EXPECT_FALSE(fs::exists(m_cache.repo_dir(k_model) / "refs"));
}

TEST_F(Cache, UnchangedRefIsNotRewritten) {
  m_cache.create_ref(k_model, "main", k_commit);
  const fs::path ref = m_cache.repo_dir(k_model) / "refs/main";
  const ino_t before = inode_of_link(ref);
  m_cache.create_ref(k_model, "main", k_commit);
  EXPECT_EQ(inode_of_link(ref), before);
}

TEST_F(Cache, ReadRefTrimsAndRejectsGarbage) {
  EXPECT_EQ(m_cache.read_ref(k_model, "main"), std::nullopt);
  const fs::path refs = m_cache.repo_dir(k_model) / "refs";
  fs::create_directories(refs);
  std::ofstream(refs / "main") << k_commit.str() << "\n";
  EXPECT_EQ(m_cache.read_ref(k_model, "main"), k_commit);
  std::ofstream(refs / "v1") << "not a commit";
  EXPECT_EQ(m_cache.read_ref(k_model, "v1"), std::nullopt);
  fs::create_directories(refs / "folder");
  EXPECT_EQ(m_cache.read_ref(k_model, "folder"), std::nullopt);
}

// --- planted symlinks ---------------------------------------------------------------------------

class PlantedSymlink : public Cache {
protected:
  void SetUp() override {
    Cache::SetUp();
    m_outside = m_dir / "outside";
    fs::create_directories(m_outside);
  }

  void expect_refused(const std::function<void()>& call) const {
    try {
      call();
      ADD_FAILURE() << "wrote through a planted symlink";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::failure);
      EXPECT_NE(error.summary().find("refusing"), std::string::npos) << error.what();
    }
    EXPECT_TRUE(fs::is_empty(m_outside)) << "something was written outside the cache";
  }

  fs::path m_outside;
};

TEST_F(PlantedSymlink, InASnapshotSubFolder) {
  const fs::path sub = m_cache.snapshot_dir(k_model, k_commit) / "sub";
  fs::create_directories(sub.parent_path());
  fs::create_directory_symlink(m_outside, sub);
  expect_refused(
      [&] { m_cache.link_snapshot(k_model, k_commit, RepoPath("sub/evil.bin"), k_sha1); });
  expect_refused(
      [&] { m_cache.link_snapshot(k_model, k_commit, RepoPath("sub/deeper/evil.bin"), k_sha1); });
}

TEST_F(PlantedSymlink, AsTheSnapshotsFolder) {
  fs::create_directories(m_cache.repo_dir(k_model));
  fs::create_directory_symlink(m_outside, m_cache.repo_dir(k_model) / "snapshots");
  expect_refused([&] { m_cache.link_snapshot(k_model, k_commit, RepoPath("x.bin"), k_sha1); });
  expect_refused([&] { m_cache.create_ref(k_model, "main", k_commit); });
}

TEST_F(PlantedSymlink, AsTheCommitFolder) {
  fs::create_directories(m_cache.repo_dir(k_model) / "snapshots");
  fs::create_directory_symlink(m_outside, m_cache.snapshot_dir(k_model, k_commit));
  expect_refused([&] { m_cache.link_snapshot(k_model, k_commit, RepoPath("x.bin"), k_sha1); });
}

TEST_F(PlantedSymlink, AsTheBlobsFolder) {
  fs::create_directories(m_cache.repo_dir(k_model));
  fs::create_directory_symlink(m_outside, m_cache.repo_dir(k_model) / "blobs");
  expect_refused([&] { m_cache.create_temp_blob(k_model, k_sha1); });
}

TEST_F(PlantedSymlink, InTheRefsFolder) {
  fs::create_directories(m_cache.repo_dir(k_model) / "refs");
  fs::create_directory_symlink(m_outside, m_cache.repo_dir(k_model) / "refs/refs");
  expect_refused([&] { m_cache.create_ref(k_model, "refs/pr/1", k_commit); });
  fs::remove(m_cache.repo_dir(k_model) / "refs/refs");
  fs::remove(m_cache.repo_dir(k_model) / "refs");
  fs::create_directory_symlink(m_outside, m_cache.repo_dir(k_model) / "refs");
  expect_refused([&] { m_cache.create_ref(k_model, "main", k_commit); });
}

TEST_F(Cache, ASymlinkedRepoFolderIsTheUsersChoice) {
  // Users move large repos to another disk with a symlink; that keeps working.
  const fs::path elsewhere = m_dir / "big-disk/models--org--name";
  fs::create_directories(elsewhere);
  fs::create_directories(m_root);
  fs::create_directory_symlink(elsewhere, m_cache.repo_dir(k_model));
  put_blob(k_model, k_sha1, "Hello, World!");
  m_cache.link_snapshot(k_model, k_commit, RepoPath("README.md"), k_sha1);
  EXPECT_TRUE(m_cache.has_file(k_model, k_commit, RepoPath("README.md"), 13));
  EXPECT_TRUE(fs::exists(elsewhere / "blobs" / k_sha1.str()));
}

// --- CACHEDIR.TAG -------------------------------------------------------------------------------

TEST_F(Cache, CachedirTagIsWrittenOnce) {
  m_cache.ensure_cachedir_tag();
  const fs::path tag = m_root / "CACHEDIR.TAG";
  EXPECT_EQ(read_file(tag), "Signature: 8a477f597d28d172789f06886806bc55\n"
                            "# This file is a cache directory tag created by huggingface_hub.\n"
                            "# For information about cache directory tags, see:\n"
                            "#\thttps://bford.info/cachedir/\n");
  std::ofstream(tag) << "Signature: 8a477f597d28d172789f06886806bc55\n# someone else's\n";
  m_cache.ensure_cachedir_tag();
  EXPECT_EQ(read_file(tag), "Signature: 8a477f597d28d172789f06886806bc55\n# someone else's\n");
  EXPECT_EQ(entries(m_root), std::set<std::string>{"CACHEDIR.TAG"});
}

// --- location -----------------------------------------------------------------------------------

namespace {

std::map<std::string, std::string> g_env;

std::optional<std::string> fake_getenv(const char* name) {
  const auto it = g_env.find(name);
  if (it == g_env.end()) {
    return std::nullopt;
  }
  return it->second;
}

using hfmodels::cache::default_cache_dir;
using hfmodels::cache::default_hf_home;

} // namespace

TEST(CacheLocation, ResolutionOrder) {
  g_env = {{"HOME", "/home/u"}};
  EXPECT_EQ(default_hf_home(fake_getenv), "/home/u/.cache/huggingface");
  EXPECT_EQ(default_cache_dir(fake_getenv), "/home/u/.cache/huggingface/hub");

  g_env["XDG_CACHE_HOME"] = "/xdg";
  EXPECT_EQ(default_cache_dir(fake_getenv), "/xdg/huggingface/hub");

  g_env["HF_HOME"] = "/hf";
  EXPECT_EQ(default_hf_home(fake_getenv), "/hf");
  EXPECT_EQ(default_cache_dir(fake_getenv), "/hf/hub");

  g_env["HUGGINGFACE_HUB_CACHE"] = "/legacy";
  EXPECT_EQ(default_cache_dir(fake_getenv), "/legacy");

  g_env["HF_HUB_CACHE"] = "/hub-cache";
  EXPECT_EQ(default_cache_dir(fake_getenv), "/hub-cache");
  EXPECT_EQ(default_hf_home(fake_getenv), "/hf");
}

TEST(CacheLocation, EmptyValuesCountAsUnset) {
  g_env = {{"HOME", "/home/u"}, {"HF_HUB_CACHE", ""}, {"HF_HOME", ""}, {"XDG_CACHE_HOME", ""}};
  EXPECT_EQ(default_cache_dir(fake_getenv), "/home/u/.cache/huggingface/hub");
}

TEST(CacheLocation, ExpandsTildeAndVariables) {
  g_env = {{"HOME", "/home/u/"}, {"HF_HOME", "~/hf"}, {"BASE", "/data"}};
  EXPECT_EQ(default_hf_home(fake_getenv), "/home/u/hf");
  EXPECT_EQ(default_cache_dir(fake_getenv), "/home/u/hf/hub");

  g_env["HF_HUB_CACHE"] = "$BASE/cache/${BASE}x";
  EXPECT_EQ(default_cache_dir(fake_getenv), "/data/cache//datax");

  g_env["HF_HUB_CACHE"] = "$UNSET/a/${ALSO_UNSET}/$";
  EXPECT_EQ(default_cache_dir(fake_getenv), "$UNSET/a/${ALSO_UNSET}/$");

  g_env["HF_HUB_CACHE"] = "~";
  EXPECT_EQ(default_cache_dir(fake_getenv), "/home/u");

  g_env["HF_HUB_CACHE"] = "a~/b";
  EXPECT_EQ(default_cache_dir(fake_getenv), "a~/b");

  g_env = {{"HOME", "/home/u"}, {"XDG_CACHE_HOME", "~/xdg"}};
  EXPECT_EQ(default_cache_dir(fake_getenv), "/home/u/xdg/huggingface/hub");
}

TEST(CacheLocation, TildeUserUsesThePasswordDatabase) {
  g_env = {{"HOME", "/home/u"}, {"HF_HUB_CACHE", "~root/hub"}};
  EXPECT_EQ(default_cache_dir(fake_getenv), "/root/hub");
  g_env["HF_HUB_CACHE"] = "~no-such-user-hfmodels/hub";
  EXPECT_EQ(default_cache_dir(fake_getenv), "~no-such-user-hfmodels/hub");
}
