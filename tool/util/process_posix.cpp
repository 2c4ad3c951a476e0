// SPDX-License-Identifier: MIT
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <sys/stat.h>
#include <vector>

namespace hfmodels::util {

long current_process_id() {
  return static_cast<long>(::getpid());
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return {};
  }
  return name;
}

bool process_alive(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    return false;
  }
  try {
    // "pid (comm) S ...": the state follows the last ')', as comm may contain anything.
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return close == std::string::npos || stat.compare(close, 3, ") Z") != 0;
  } catch (const Error&) {
    return true; // no /proc: kill(2) said it exists
  }
}

unsigned file_mode_mask() {
  // umask(2) can only be read by setting it, which would race with other threads creating
  // files. Linux >= 4.7 reports it in /proc/self/status; the racy way is only a fallback for
  // systems without /proc.
  try {
    const std::string status = read_file("/proc/self/status");
    const std::size_t at = status.find("\nUmask:");
    if (at != std::string::npos) {
      return static_cast<unsigned>(std::stoul(status.substr(at + 7, 16), nullptr, 8)) & 0777U;
    }
  } catch (...) {
    // No /proc (some containers): fall back to setting and restoring it.
  }
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask & 0777U;
}

std::optional<std::string> home_of_user(const std::string& user) {
  struct passwd entry {};
  struct passwd* result = nullptr;
  std::vector<char> buffer(16 * 1024);
  const int error = user.empty()
                        ? ::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &result)
                        : ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &result);
  if (error != 0 || result == nullptr || entry.pw_dir == nullptr || *entry.pw_dir == '\0') {
    return std::nullopt;
  }
  return std::string(entry.pw_dir);
}

} // namespace hfmodels::util
