// SPDX-License-Identifier: MIT
#include "util/memory.hpp"

#include <gtest/gtest.h>

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
  EXPECT_GT(memory_limits().usable(), 0u) << "this machine reports its memory";
}
