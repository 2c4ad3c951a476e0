// SPDX-License-Identifier: MIT
#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace util = hfmodels::util;

TEST(Strings, EditDistance) {
  EXPECT_EQ(util::edit_distance("", ""), 0U);
  EXPECT_EQ(util::edit_distance("abc", ""), 3U);
  EXPECT_EQ(util::edit_distance("", "abc"), 3U);
  EXPECT_EQ(util::edit_distance("kitten", "sitting"), 3U);
  EXPECT_EQ(util::edit_distance("include", "inclde"), 1U);
  EXPECT_EQ(util::edit_distance("flaw", "lawn"), 2U);
  EXPECT_EQ(util::edit_distance("modle", "model"), 1U) << "a transposition is one edit";
  EXPECT_EQ(util::edit_distance("ab", "ba"), 1U);
  EXPECT_EQ(util::edit_distance("ca", "abc"), 3U) << "optimal string alignment, not Damerau";
}

TEST(Strings, ClosestMatch) {
  const std::vector<std::string> keys = {"repo", "revision", "include", "exclude", "files"};
  EXPECT_EQ(util::closest_match("inclde", keys), "include");
  EXPECT_EQ(util::closest_match("revison", keys), "revision");
  EXPECT_EQ(util::closest_match("rep", keys), "repo") << "short words allow one edit";
  EXPECT_EQ(util::closest_match("licence", keys), std::nullopt);
  EXPECT_EQ(util::closest_match("xyz", keys), std::nullopt);
  EXPECT_EQ(util::closest_match("anything", {}), std::nullopt);
  EXPECT_EQ(util::closest_match("abcd", {"abce", "abcf"}), "abce") << "first of equals wins";
}

TEST(Strings, IsLowerHex) {
  EXPECT_TRUE(util::is_lower_hex("0123456789abcdef", 16));
  EXPECT_FALSE(util::is_lower_hex("0123456789ABCDEF", 16));
  EXPECT_FALSE(util::is_lower_hex("abc", 4));
  EXPECT_FALSE(util::is_lower_hex("abcg", 4));
  EXPECT_TRUE(util::is_lower_hex("", 0));
}

TEST(Strings, ToLowerTrimSplit) {
  EXPECT_EQ(util::to_lower("Q4_K_M.GGUF"), "q4_k_m.gguf");
  EXPECT_EQ(util::to_lower("\xC3\x89"), "\xC3\x89") << "ASCII only";
  EXPECT_EQ(util::trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(util::trim(" \t "), "");
  EXPECT_EQ(util::trim(""), "");
  EXPECT_EQ(util::split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(util::split("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(util::split("a,", ','), (std::vector<std::string>{"a", ""}));
}

TEST(Strings, FindInvalidUtf8) {
  EXPECT_EQ(util::find_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(util::find_invalid_utf8("caf\xC3\xA9 \xE6\xA8\xA1 \xF0\x9F\x98\x80"), std::nullopt);
  EXPECT_EQ(util::find_invalid_utf8("ab\xFF"), 2U);
  EXPECT_EQ(util::find_invalid_utf8("a\xC3"), 1U) << "truncated";
  EXPECT_EQ(util::find_invalid_utf8("\xC0\xAF"), 0U) << "overlong";
  EXPECT_EQ(util::find_invalid_utf8("\xE0\x80\xAF"), 0U) << "overlong";
  EXPECT_EQ(util::find_invalid_utf8("\xED\xA0\x80"), 0U) << "surrogate";
  EXPECT_EQ(util::find_invalid_utf8("\xF4\x90\x80\x80"), 0U) << "above U+10FFFF";
  EXPECT_EQ(util::find_invalid_utf8("x\x80"), 1U) << "stray continuation";
}

TEST(Strings, FormatBytes) {
  EXPECT_EQ(util::format_bytes(0), "0 B");
  EXPECT_EQ(util::format_bytes(512), "512 B");
  EXPECT_EQ(util::format_bytes(1023), "1023 B");
  EXPECT_EQ(util::format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(util::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(util::format_bytes(1024 * 1024 - 1), "1.0 MiB");
  EXPECT_EQ(util::format_bytes(1610612736), "1.5 GiB");
  EXPECT_EQ(util::format_bytes(std::numeric_limits<std::uint64_t>::max()), "16.0 EiB");
}

TEST(Strings, FormatDuration) {
  EXPECT_EQ(util::format_duration(0.045), "45ms");
  EXPECT_EQ(util::format_duration(0), "0ms");
  EXPECT_EQ(util::format_duration(0.9996), "1.0s");
  EXPECT_EQ(util::format_duration(3.2), "3.2s");
  EXPECT_EQ(util::format_duration(59.96), "1m00s");
  EXPECT_EQ(util::format_duration(65), "1m05s");
  EXPECT_EQ(util::format_duration(3599.4), "59m59s");
  EXPECT_EQ(util::format_duration(3725), "1h02m");
  EXPECT_EQ(util::format_duration(-1), "0ms");
  EXPECT_EQ(util::format_duration(std::numeric_limits<double>::quiet_NaN()), "0ms");
  EXPECT_EQ(util::format_duration(std::numeric_limits<double>::infinity()),
            util::format_duration(1e300))
      << "an infinite estimate saturates";
  EXPECT_FALSE(util::format_duration(1e300).empty());
}
