// SPDX-License-Identifier: MIT
#include "util/memory.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hfmodels::util {

namespace {

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// The tightest limit on the way from the process's cgroup up to the root: a parent's limit
// binds its children too.
std::optional<std::uint64_t> tightest_limit(const std::filesystem::path& root,
                                            const std::string& group, const char* file) {
  std::optional<std::uint64_t> tightest;
  const auto relative = std::filesystem::path(group).relative_path();
  std::filesystem::path dir = relative.empty() ? root : root / relative;
  for (;;) {
    if (const auto text = read_small_file(dir / file)) {
      if (const auto limit = parse_cgroup_limit(*text);
          limit && (!tightest || *limit < *tightest)) {
        tightest = limit;
      }
    }
    if (dir == root || !dir.has_parent_path() || dir.parent_path() == dir) {
      return tightest;
    }
    dir = dir.parent_path();
    if (dir.string().size() < root.string().size()) {
      return tightest;
    }
  }
}

std::optional<std::uint64_t> smaller(std::optional<std::uint64_t> a,
                                     std::optional<std::uint64_t> b) {
  if (a && b) {
    return std::min(*a, *b);
  }
  return a ? a : b;
}

// From /proc/self/cgroup: "0::/path" (v2), and "N:memory:/path" among others (v1). A hybrid
// system lists both; the tighter limit binds.
std::optional<std::uint64_t> cgroup_limit(const std::filesystem::path& root) {
  const auto groups = read_small_file(root / "proc/self/cgroup");
  if (!groups) {
    return std::nullopt;
  }
  std::optional<std::uint64_t> limit;
  std::istringstream lines(*groups);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string group = line.substr(second + 1);
    if (line.starts_with("0::")) {
      limit = smaller(limit, tightest_limit(root / "sys/fs/cgroup", group, "memory.max"));
    } else if (controllers == "memory" || controllers.find("memory,") != std::string::npos ||
               controllers.ends_with(",memory")) {
      limit = smaller(
          limit, tightest_limit(root / "sys/fs/cgroup/memory", group, "memory.limit_in_bytes"));
    }
  }
  return limit;
}

} // namespace

std::optional<std::uint64_t> parse_meminfo_total(std::string_view meminfo) {
  constexpr std::string_view key = "MemTotal:";
  const auto at = meminfo.find(key);
  if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) {
    return std::nullopt;
  }
  std::string_view rest = meminfo.substr(at + key.size());
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  if (!rest.ends_with(" kB")) {
    return std::nullopt;
  }
  const auto kib = parse_number(rest.substr(0, rest.size() - 3));
  if (!kib || *kib > (UINT64_MAX >> 10)) {
    return std::nullopt;
  }
  return *kib << 10;
}

std::optional<std::uint64_t> parse_cgroup_limit(std::string_view text) {
  const auto value = parse_number(text);
  // v1 writes "no limit" as the largest page-aligned 63-bit number.
  if (!value || *value >= (std::uint64_t{1} << 62)) {
    return std::nullopt;
  }
  return value;
}

MemoryLimits memory_limits(const std::filesystem::path& root) {
  MemoryLimits limits;
  if (const auto meminfo = read_small_file(root / "proc/meminfo")) {
    limits.physical = parse_meminfo_total(*meminfo).value_or(0);
  }
  limits.cgroup_limit = cgroup_limit(root);
  return limits;
}

} // namespace hfmodels::util
