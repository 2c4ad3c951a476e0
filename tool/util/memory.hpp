// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

// How much memory this process may use, as the system reports it. The Linux implementation
// (/proc/meminfo and the cgroup of /proc/self/cgroup) is memory_linux.cpp; a macOS port adds
// one on sysctl(hw.memsize), a Windows port one on GlobalMemoryStatusEx and job objects.
namespace hfmodels::util {

struct MemoryLimits {
  std::uint64_t physical = 0;                // installed RAM (0 when unknown)
  std::optional<std::uint64_t> cgroup_limit; // a container's or a service's limit, if any
  // What a process here can have: the smaller of the two.
  std::uint64_t usable() const {
    if (!cgroup_limit) {
      return physical;
    }
    return physical == 0 ? *cgroup_limit : std::min(*cgroup_limit, physical);
  }
};

// `root` is where /proc and /sys are: "/" but in tests.
MemoryLimits memory_limits(const std::filesystem::path& root = "/");

// The parsers behind it, for tests.
// MemTotal of /proc/meminfo, in bytes.
std::optional<std::uint64_t> parse_meminfo_total(std::string_view meminfo);
// A cgroup memory limit file: v2 memory.max ("max" or bytes), v1 memory.limit_in_bytes (bytes;
// "no limit" is a number near 2^63). Nothing when there is no limit.
std::optional<std::uint64_t> parse_cgroup_limit(std::string_view text);

} // namespace hfmodels::util
