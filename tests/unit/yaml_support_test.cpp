// SPDX-License-Identifier: MIT
#include "manifest/yaml_support.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using hfmodels::manifest::yaml_support::plain_scalar_kind;

std::string kind(const char* text) {
  const auto found = plain_scalar_kind(text);
  return found ? std::string(*found) : std::string("a string");
}

// What YAML 1.2's core schema and PyYAML's YAML 1.1 resolver read a plain scalar as: hfmodels
// quotes these when it writes them, and refuses them where it needs text.
TEST(YamlPlainScalars, NumbersOfEitherYamlVersion) {
  for (const char* number : {"0",     "123",   "-7",   "+7",   "1_000",     "0x1F",   "0o17",
                             "017",   "0b101", "1.5",  ".5",   "5.",        "1e5",    "1.0e+3",
                             "-.inf", "+.Inf", ".NaN", "1:20", "190:20:30", "1:20.5", "0:20.5"}) {
    EXPECT_EQ(kind(number), "a number") << number;
  }
}

TEST(YamlPlainScalars, SexagesimalIntegersStartWithANonZeroDigit) {
  // PyYAML: [1-9][0-9_]*(:[0-5]?[0-9])+ for integers; `00:30` stays a string.
  for (const char* text : {"00:30", "0:20", "-01:15", "1:60", "1:2:"}) {
    EXPECT_EQ(kind(text), "a string") << text;
  }
}

TEST(YamlPlainScalars, DatesBooleansNullsAndStrings) {
  for (const char* date : {"2001-12-14", "2001-12-14t21:59:43.10-05:00",
                           "2001-12-14 21:59:43.10 -5", "2002-12-14T21:59:43Z"}) {
    EXPECT_EQ(kind(date), "a date") << date;
  }
  for (const char* boolean : {"yes", "No", "TRUE", "off", "On"}) {
    EXPECT_EQ(kind(boolean), "a boolean") << boolean;
  }
  for (const char* null : {"", "~", "null", "Null", "NULL"}) {
    EXPECT_EQ(kind(null), "null") << null;
  }
  for (const char* text : {"0x", "0b", "1.2.3", "e5", "v1", "-", ".", "1e", "2001-12-14x", "Q4_K_M",
                           "model.safetensors", "nan", "inf", "yes please"}) {
    EXPECT_EQ(kind(text), "a string") << text;
  }
}

} // namespace
