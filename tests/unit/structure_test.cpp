// SPDX-License-Identifier: MIT
#include "formats/structure.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

using hfmodels::formats::is_html_page;
using hfmodels::formats::structure_problem;

namespace {

class StructureTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir =
        std::filesystem::temp_directory_path() /
        ("hfmodels-structure-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    const auto path = m_dir / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::optional<std::string> problem(const std::string& name, const std::string& bytes) {
    const auto path = write(name, bytes);
    return structure_problem(path, name, std::filesystem::file_size(path));
  }

private:
  std::filesystem::path m_dir;
};

std::string le(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  return out;
}

std::string gguf_string(const std::string& text) {
  return le(text.size(), 8) + text;
}

// A GGUF v3 file with one F32 tensor of `elements`, its data `data_bytes` long.
std::string gguf(std::uint64_t elements, std::uint64_t data_bytes) {
  std::string header = "GGUF" + le(3, 4) + le(1, 8) + le(1, 8);
  header += gguf_string("general.name") + le(8, 4) + gguf_string("tiny");
  header += gguf_string("w") + le(1, 4) + le(elements, 8) + le(0, 4) + le(0, 8);
  header.resize((header.size() + 31) / 32 * 32, '\0');
  return header + std::string(data_bytes, '\0');
}

std::string safetensors(const std::string& json, std::uint64_t data_bytes) {
  return le(json.size(), 8) + json + std::string(data_bytes, '\0');
}

} // namespace

TEST_F(StructureTest, AWholeGgufPasses) {
  EXPECT_EQ(problem("m.gguf", gguf(16, 64)), std::nullopt);
}

TEST_F(StructureTest, ACutGgufIsNamed) {
  const auto why = problem("m.gguf", gguf(16, 40));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("cut short: tensor `w`"), std::string::npos) << *why;
  EXPECT_NE(problem("m.gguf", gguf(16, 64).substr(0, 70))->find("cut short in its tensor table"),
            std::string::npos);
  EXPECT_NE(problem("m.gguf", "GGML" + gguf(16, 64).substr(4))->find("does not start"),
            std::string::npos);
  std::string huge_counts = "GGUF" + le(3, 4) + le(UINT64_MAX / 2, 8) + le(0, 8);
  EXPECT_NE(problem("m.gguf", huge_counts)->find("exceed the file"), std::string::npos);
}

TEST_F(StructureTest, ImpossibleSizesAreRefusedNotWrapped) {
  // An F32 tensor of 2^62 elements: 2^64 bytes, which wraps to 0 in 64 bits.
  const auto why = problem("m.gguf", gguf(std::uint64_t{1} << 62, 64));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("impossible size"), std::string::npos) << *why;
  // A safetensors extent near 2^64 must not wrap around to the file's size.
  const std::string header =
      R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551600]}})";
  EXPECT_NE(problem("m.safetensors", safetensors(header, 16))->find("cut short"),
            std::string::npos);
}

TEST_F(StructureTest, SafetensorsDataMustEndWithTheFile) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  EXPECT_EQ(problem("m.safetensors", safetensors(header, 16)), std::nullopt);
  EXPECT_NE(problem("m.safetensors", safetensors(header, 10))->find("cut short"),
            std::string::npos);
  EXPECT_NE(problem("m.safetensors", safetensors(header, 20))->find("left over"),
            std::string::npos);
  EXPECT_NE(problem("m.safetensors", le(1u << 30, 8) + "{}")->find("exceeds the file"),
            std::string::npos);
  EXPECT_NE(problem("m.safetensors", safetensors("[1,2]", 0))->find("not a JSON object"),
            std::string::npos);
}

TEST_F(StructureTest, HtmlPagesAndJson) {
  const std::string page = "\n  <!DOCTYPE html><html><body>Sign in</body></html>";
  const auto path = write("model.gguf", page);
  EXPECT_TRUE(is_html_page(path, "model.gguf", page.size()));
  EXPECT_FALSE(is_html_page(path, "index.html", page.size()));
  const auto ok = write("config.json", R"({"a": 1})");
  EXPECT_FALSE(is_html_page(ok, "config.json", 8));
  EXPECT_EQ(problem("config.json", R"({"a": 1})"), std::nullopt);
  EXPECT_EQ(problem("config.json", R"({"a": )"), "not valid JSON");
  EXPECT_EQ(problem("weights.bin", "anything"), std::nullopt) << "no format to check";
}
