// SPDX-License-Identifier: MIT
#include "util/memory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using hfmodels::util::memory_limits;
using hfmodels::util::MemoryLimits;
using hfmodels::util::parse_cgroup_limit;
using hfmodels::util::parse_meminfo_total;

TEST(Memory, MeminfoTotalInBytes) {
  EXPECT_EQ(parse_meminfo_total("MemTotal:       24564124 kB\nMemFree:  100 kB\n"),
            24564124ull * 1024);
  EXPECT_EQ(parse_meminfo_total("SwapTotal: 5 kB\nMemTotal: 8 kB\n"), 8192u);
  EXPECT_FALSE(parse_meminfo_total("XMemTotal: 8 kB\n"));
  EXPECT_FALSE(parse_meminfo_total("MemTotal: 8 MB\n"));
  EXPECT_FALSE(parse_meminfo_total("MemTotal: lots kB\n"));
}

TEST(Memory, CgroupLimits) {
  EXPECT_FALSE(parse_cgroup_limit("max\n")) << "v2: no limit";
  EXPECT_EQ(parse_cgroup_limit("4294967296\n"), 4294967296u);
  EXPECT_FALSE(parse_cgroup_limit("9223372036854771712\n")) << "v1: no limit";
  EXPECT_FALSE(parse_cgroup_limit(""));
}

TEST(Memory, TheSmallerLimitIsWhatAProcessCanHave) {
  constexpr std::uint64_t gib = std::uint64_t{1} << 30;
  EXPECT_EQ((MemoryLimits{16 * gib, 4 * gib}.usable()), 4 * gib);
  EXPECT_EQ((MemoryLimits{16 * gib, 32 * gib}.usable()), 16 * gib);
  EXPECT_EQ((MemoryLimits{16 * gib, std::nullopt}.usable()), 16 * gib);
  EXPECT_EQ((MemoryLimits{0, 4 * gib}.usable()), 4 * gib) << "RAM unknown, the limit known";
  EXPECT_GT(memory_limits().usable(), 0u) << "this machine reports its memory";
}

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

} // namespace

TEST(Memory, ACgroupLimitCapsTheMachinesMemory) {
  const auto root = std::filesystem::temp_directory_path() / "hfmodels-memory-test";
  std::filesystem::remove_all(root);
  write(root / "proc/meminfo", "MemTotal:       16777216 kB\n");
  // cgroup v2, a container two levels down whose parent has the tighter limit.
  write(root / "proc/self/cgroup", "0::/kubepods/pod1\n");
  write(root / "sys/fs/cgroup/kubepods/pod1/memory.max", "max\n");
  write(root / "sys/fs/cgroup/kubepods/memory.max", "4294967296\n");
  auto limits = memory_limits(root);
  EXPECT_EQ(limits.physical, std::uint64_t{16} << 30);
  EXPECT_EQ(limits.usable(), std::uint64_t{4} << 30);
  // cgroup v1, as this machine has it: the memory controller's limit file.
  write(root / "proc/self/cgroup", "4:memory:/job\n1:cpu:/\n0::/\n");
  write(root / "sys/fs/cgroup/memory/job/memory.limit_in_bytes", "2147483648\n");
  write(root / "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  limits = memory_limits(root);
  EXPECT_EQ(limits.usable(), std::uint64_t{2} << 30);
  // No limit anywhere: the machine's memory.
  write(root / "sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(memory_limits(root).usable(), std::uint64_t{16} << 30);
  std::filesystem::remove_all(root);
}
