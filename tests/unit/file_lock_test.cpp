// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace fs = std::filesystem;
using hfmodels::cache::FileLock;

namespace {

class FileLockTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("lock");
    m_lock = m_dir / ".locks" / "models--org--name" / "abc.lock";
    ASSERT_EQ(::pipe2(m_pipe, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(m_go, O_CLOEXEC), 0);
  }
  void TearDown() override {
    if (m_child > 0) {
      ::kill(m_child, SIGKILL);
      ::waitpid(m_child, nullptr, 0);
    }
    for (const int fd : {m_pipe[0], m_pipe[1], m_go[0], m_go[1]}) {
      ::close(fd);
    }
    fs::remove_all(m_dir);
  }

  // Forks a child that waits for go(), takes the lock, writes one byte to the pipe, then holds the
  // lock for `hold_ms` (forever if negative) and exits. The child never returns into GoogleTest.
  // Fork before the parent locks: a forked child shares the parent's open file descriptions, and
  // with them any flock the parent holds.
  void fork_locker(int hold_ms) {
    m_child = ::fork();
    ASSERT_GE(m_child, 0);
    if (m_child == 0) {
      int code = 0;
      try {
        char go = 0;
        if (::read(m_go[0], &go, 1) != 1) {
          ::_exit(3);
        }
        const FileLock lock(m_lock);
        const char byte = 'L';
        if (::write(m_pipe[1], &byte, 1) != 1) {
          code = 2;
        }
        if (hold_ms < 0) {
          for (;;) {
            ::pause();
          }
        }
        ::usleep(static_cast<useconds_t>(hold_ms) * 1000);
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
  }

  void go() const {
    const char byte = 'G';
    ASSERT_EQ(::write(m_go[1], &byte, 1), 1);
  }

  // True if the child signalled within `timeout_ms`.
  bool child_signalled(int timeout_ms) const {
    pollfd fd{m_pipe[0], POLLIN, 0};
    if (::poll(&fd, 1, timeout_ms) != 1) {
      return false;
    }
    char byte = 0;
    return ::read(m_pipe[0], &byte, 1) == 1 && byte == 'L';
  }

  // The child's wait status; a child still running after 10 s is killed and fails the test.
  int wait_child() {
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
      const pid_t done = ::waitpid(m_child, &status, WNOHANG);
      if (done == m_child) {
        break;
      }
      if (done < 0 || waited_ms >= 10000) {
        ADD_FAILURE() << "the child did not finish";
        ::kill(m_child, SIGKILL);
        ::waitpid(m_child, &status, 0);
        break;
      }
      ::usleep(10000);
    }
    m_child = -1;
    return status;
  }

  // Probes the lock from an independent open file description without blocking.
  bool is_locked() const {
    const int fd = ::open(m_lock.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return locked;
  }

  fs::path m_dir;
  fs::path m_lock;
  int m_pipe[2] = {-1, -1};
  int m_go[2] = {-1, -1};
  pid_t m_child = -1;
};

} // namespace

TEST_F(FileLockTest, CreatesParentsAndAGroupWritableFile) {
  {
    const FileLock lock(m_lock);
    EXPECT_TRUE(fs::is_regular_file(m_lock));
    EXPECT_TRUE(is_locked());
  }
  struct stat info {};
  ASSERT_EQ(::stat(m_lock.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0664u);
  EXPECT_FALSE(is_locked()) << "released on destruction";
}

TEST_F(FileLockTest, SecondProcessWaitsForTheFirst) {
  fork_locker(0);
  std::optional<FileLock> held(std::in_place, m_lock);
  go();
  EXPECT_FALSE(child_signalled(300)) << "the child got the lock while the parent held it";
  held.reset();
  EXPECT_TRUE(child_signalled(10000)) << "the child never got the released lock";
  const int status = wait_child();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(FileLockTest, ParentWaitsForTheChild) {
  fork_locker(300);
  go();
  ASSERT_TRUE(child_signalled(10000));
  {
    const FileLock lock(m_lock); // blocks until the child exits
    EXPECT_TRUE(is_locked());
  }
  const int status = wait_child();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(FileLockTest, AKilledHolderDoesNotBlock) {
  fork_locker(-1);
  go();
  ASSERT_TRUE(child_signalled(10000));
  EXPECT_TRUE(is_locked());
  ::kill(m_child, SIGKILL);
  const int status = wait_child();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(is_locked()) << "the kernel releases a dead holder's lock";
  const FileLock lock(m_lock);
  EXPECT_TRUE(is_locked());
}

TEST_F(FileLockTest, ThreadsOfOneProcessExcludeEachOtherToo) {
  // flock belongs to the open file description, so two FileLocks conflict even in one process.
  std::optional<FileLock> held(std::in_place, m_lock);
  EXPECT_TRUE(is_locked());
  held.reset();
  const FileLock again(m_lock);
  EXPECT_TRUE(is_locked());
}
