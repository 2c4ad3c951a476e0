// SPDX-License-Identifier: MIT
#include "util/glob.hpp"

#include <gtest/gtest.h>

using hfmodels::util::glob_match;
using hfmodels::util::glob_syntax_error;

TEST(Glob, LiteralsMatchWholePaths) {
  EXPECT_TRUE(glob_match("config.json", "config.json"));
  EXPECT_FALSE(glob_match("config.json", "sub/config.json"));
  EXPECT_FALSE(glob_match("config", "config.json"));
  EXPECT_FALSE(glob_match("Config.json", "config.json")) << "case matters";
}

TEST(Glob, DotsAreLiteral) {
  EXPECT_TRUE(glob_match("a.b", "a.b"));
  EXPECT_FALSE(glob_match("a.b", "axb"));
  EXPECT_FALSE(glob_match("*.json", "configxjson"));
}

TEST(Glob, StarStaysInsideASegment) {
  EXPECT_TRUE(glob_match("*.json", "config.json"));
  EXPECT_TRUE(glob_match("*.json", ".json"));
  EXPECT_TRUE(glob_match("*", ".gitattributes"));
  EXPECT_FALSE(glob_match("*.json", "sub/config.json"));
  EXPECT_FALSE(glob_match("*", "a/b"));
  EXPECT_TRUE(glob_match("sub/*.json", "sub/config.json"));
  EXPECT_FALSE(glob_match("sub/*.json", "sub/deeper/config.json"));
  EXPECT_TRUE(glob_match("model-*-of-*.safetensors", "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(glob_match("a*b*c", "abc"));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyybc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyyb"));
  EXPECT_TRUE(glob_match("**.json", "config.json")) << "`**` inside a segment is two stars";
  EXPECT_FALSE(glob_match("**.json", "a/config.json"));
}

TEST(Glob, GlobstarMatchesZeroOrMoreFolders) {
  EXPECT_TRUE(glob_match("**/x", "x"));
  EXPECT_TRUE(glob_match("**/x", "a/x"));
  EXPECT_TRUE(glob_match("**/x", "a/b/x"));
  EXPECT_FALSE(glob_match("**/x", "a/bx"));
  EXPECT_TRUE(glob_match("a/**/b", "a/b"));
  EXPECT_TRUE(glob_match("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(glob_match("a/**/b", "a/x/y/c"));
  EXPECT_TRUE(glob_match("**/*.gguf", "q/model.gguf"));
  EXPECT_TRUE(glob_match("**/*.gguf", "model.gguf"));
  EXPECT_TRUE(glob_match("**/**/x", "x"));
  EXPECT_TRUE(glob_match("**/a/**/b/**/c", "z/a/y/b/c"));
}

TEST(Glob, TrailingGlobstarMatchesEverythingBelow) {
  EXPECT_TRUE(glob_match("onnx/**", "onnx/model.onnx"));
  EXPECT_TRUE(glob_match("onnx/**", "onnx/a/b/c"));
  EXPECT_FALSE(glob_match("onnx/**", "onnx"));
  EXPECT_FALSE(glob_match("onnx/**", "onnx2/model.onnx"));
  EXPECT_TRUE(glob_match("**", "a"));
  EXPECT_TRUE(glob_match("**", "a/b/c"));
}

TEST(Glob, QuestionMarkIsOneCharacter) {
  EXPECT_TRUE(glob_match("model-?.bin", "model-1.bin"));
  EXPECT_FALSE(glob_match("model-?.bin", "model-12.bin"));
  EXPECT_FALSE(glob_match("model-?.bin", "model-.bin"));
  EXPECT_FALSE(glob_match("a?b", "a/b"));
  EXPECT_TRUE(glob_match("caf?.txt", "caf\xC3\xA9.txt")) << "one code point, not one byte";
}

TEST(Glob, CharacterClasses) {
  EXPECT_TRUE(glob_match("[abc].bin", "b.bin"));
  EXPECT_FALSE(glob_match("[abc].bin", "d.bin"));
  EXPECT_TRUE(glob_match("shard-[0-9].bin", "shard-7.bin"));
  EXPECT_FALSE(glob_match("shard-[0-9].bin", "shard-x.bin"));
  EXPECT_TRUE(glob_match("[!a].bin", "b.bin"));
  EXPECT_FALSE(glob_match("[!a].bin", "a.bin"));
  EXPECT_TRUE(glob_match("[^a].bin", "b.bin"));
  EXPECT_FALSE(glob_match("[!0-9]x", "5x"));
  EXPECT_TRUE(glob_match("[]]x", "]x"));
  EXPECT_TRUE(glob_match("[a-]x", "-x"));
  EXPECT_TRUE(glob_match("[[]1].bin", "[1].bin")) << "brackets in names via a class";
  EXPECT_TRUE(glob_match("[\xC3\xA9]", "\xC3\xA9"));
  EXPECT_FALSE(glob_match("[!a]", "a/"));
  EXPECT_TRUE(glob_match("x[ab", "x[ab")) << "an unclosed `[` is literal";
}

TEST(Glob, ManyStarsStayFast) {
  const std::string path(200, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
  std::string deep;
  for (int i = 0; i < 200; ++i) {
    deep += "d/";
  }
  deep += "x";
  EXPECT_FALSE(glob_match("**/**/**/**/**/**/**/**/y", deep));
  EXPECT_TRUE(glob_match("**/**/**/**/**/**/**/**/x", deep));
}

TEST(Glob, SyntaxErrors) {
  EXPECT_FALSE(glob_syntax_error("*.json"));
  EXPECT_FALSE(glob_syntax_error("onnx/**"));
  EXPECT_FALSE(glob_syntax_error("[]]x"));
  EXPECT_TRUE(glob_syntax_error(""));
  EXPECT_NE(glob_syntax_error("a/[bc")->find("`[` without"), std::string::npos);
  EXPECT_TRUE(glob_syntax_error("[a/b]"));
  EXPECT_NE(glob_syntax_error("onnx/")->find("`onnx/**`"), std::string::npos);
  EXPECT_TRUE(glob_syntax_error("/abs"));
  EXPECT_TRUE(glob_syntax_error("a//b"));
  EXPECT_TRUE(glob_syntax_error("a/../b"));
  EXPECT_TRUE(glob_syntax_error("a\\b"));
  EXPECT_TRUE(glob_syntax_error("a\tb"));
}
