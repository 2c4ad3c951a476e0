// SPDX-License-Identifier: MIT
// Manifest patterns mean what they mean to `hf download --include` (Python's fnmatch on the whole
// path, huggingface_hub's folder rule). The expectations below were checked against
// fnmatch.fnmatchcase and filter_repo_objects.
#include "util/glob.hpp"

#include <gtest/gtest.h>

#include <string>

using hfmodels::util::glob_match;
using hfmodels::util::glob_syntax_error;
using hfmodels::util::segment_glob_match;

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

TEST(Glob, StarCrossesFolders) {
  // `hf download --include "*.json"` takes every JSON file of the repo, in any folder.
  EXPECT_TRUE(glob_match("*.json", "config.json"));
  EXPECT_TRUE(glob_match("*.json", "onnx/config.json"));
  EXPECT_TRUE(glob_match("*.safetensors", "text_encoder/model.safetensors"));
  EXPECT_TRUE(glob_match("*", "a/b"));
  EXPECT_TRUE(glob_match("*Q4_K_M*", "Q4_K_M/model-00001-of-00003.gguf"));
  EXPECT_TRUE(glob_match("onnx/*", "onnx/a/b/model.onnx"));
  EXPECT_FALSE(glob_match("onnx/*", "onnx2/model.onnx"));
  EXPECT_TRUE(glob_match("model-*-of-*.safetensors", "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(glob_match("a*b*c", "abc"));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyybc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyyb"));
}

TEST(Glob, DoubleStarIsTheSameAsStar) {
  EXPECT_TRUE(glob_match("**.json", "a/config.json"));
  EXPECT_TRUE(glob_match("**/*.gguf", "q/model.gguf"));
  EXPECT_FALSE(glob_match("**/*.gguf", "model.gguf")) << "fnmatch wants the `/`";
  EXPECT_TRUE(glob_match("onnx/**", "onnx/a/b/c"));
  EXPECT_FALSE(glob_match("onnx/**", "onnx"));
}

TEST(Glob, AFolderPatternMeansEverythingBelowIt) {
  EXPECT_TRUE(glob_match("onnx/", "onnx/model.onnx"));
  EXPECT_TRUE(glob_match("onnx/", "onnx/sub/model.onnx"));
  EXPECT_FALSE(glob_match("onnx/", "onnx"));
  EXPECT_FALSE(glob_match("onnx/", "x/onnx/model.onnx"));
}

TEST(Glob, QuestionMarkIsOneCharacter) {
  EXPECT_TRUE(glob_match("model-?.bin", "model-1.bin"));
  EXPECT_FALSE(glob_match("model-?.bin", "model-12.bin"));
  EXPECT_FALSE(glob_match("model-?.bin", "model-.bin"));
  EXPECT_TRUE(glob_match("a?b", "a/b")) << "`/` is a character like any other";
  EXPECT_TRUE(glob_match("caf?.txt", "caf\xC3\xA9.txt")) << "one code point, not one byte";
}

TEST(Glob, CharacterClasses) {
  EXPECT_TRUE(glob_match("[abc].bin", "b.bin"));
  EXPECT_FALSE(glob_match("[abc].bin", "d.bin"));
  EXPECT_TRUE(glob_match("shard-[0-9].bin", "shard-7.bin"));
  EXPECT_FALSE(glob_match("shard-[0-9].bin", "shard-x.bin"));
  EXPECT_TRUE(glob_match("[!a].bin", "b.bin"));
  EXPECT_FALSE(glob_match("[!a].bin", "a.bin"));
  EXPECT_FALSE(glob_match("[!0-9]x", "5x"));
  EXPECT_TRUE(glob_match("[]]x", "]x"));
  EXPECT_TRUE(glob_match("[a-]x", "-x"));
  EXPECT_TRUE(glob_match("[[]1].bin", "[1].bin")) << "brackets in names via a class";
  EXPECT_TRUE(glob_match("[\xC3\xA9]", "\xC3\xA9"));
  EXPECT_TRUE(glob_match("x[ab", "x[ab")) << "an unclosed `[` is literal";
  EXPECT_TRUE(glob_match("a[/]b", "a/b"));
  EXPECT_TRUE(glob_match("[^a].bin", "^.bin")) << "fnmatch negates with `!` only";
  EXPECT_FALSE(glob_match("[^a].bin", "b.bin"));
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

TEST(Glob, OnlySureMistakesAreRefused) {
  EXPECT_FALSE(glob_syntax_error("*.json"));
  EXPECT_FALSE(glob_syntax_error("onnx/"));
  EXPECT_FALSE(glob_syntax_error("a/[bc")) << "literal `[`, as in fnmatch";
  EXPECT_FALSE(glob_syntax_error("[]]x"));
  EXPECT_TRUE(glob_syntax_error(""));
  EXPECT_TRUE(glob_syntax_error("/abs"));
  EXPECT_TRUE(glob_syntax_error("a\tb"));
}

// The rule of lockfiles written before `patterns: fnmatch`, kept to check them as they were made.
TEST(SegmentGlob, StarStaysInsideASegment) {
  EXPECT_TRUE(segment_glob_match("*.json", "config.json"));
  EXPECT_TRUE(segment_glob_match("*.json", ".json"));
  EXPECT_TRUE(segment_glob_match("*", ".gitattributes"));
  EXPECT_FALSE(segment_glob_match("*.json", "sub/config.json"));
  EXPECT_FALSE(segment_glob_match("*", "a/b"));
  EXPECT_TRUE(segment_glob_match("sub/*.json", "sub/config.json"));
  EXPECT_FALSE(segment_glob_match("sub/*.json", "sub/deeper/config.json"));
  EXPECT_TRUE(segment_glob_match("model-*-of-*.safetensors", "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(segment_glob_match("a*b*c", "abc"));
  EXPECT_TRUE(segment_glob_match("a*b*c", "axxbyybc"));
  EXPECT_FALSE(segment_glob_match("a*b*c", "axxbyyb"));
  EXPECT_TRUE(segment_glob_match("**.json", "config.json")) << "`**` inside a segment is two stars";
  EXPECT_FALSE(segment_glob_match("**.json", "a/config.json"));
}

TEST(SegmentGlob, GlobstarMatchesZeroOrMoreFolders) {
  EXPECT_TRUE(segment_glob_match("**/x", "x"));
  EXPECT_TRUE(segment_glob_match("**/x", "a/x"));
  EXPECT_TRUE(segment_glob_match("**/x", "a/b/x"));
  EXPECT_FALSE(segment_glob_match("**/x", "a/bx"));
  EXPECT_TRUE(segment_glob_match("a/**/b", "a/b"));
  EXPECT_TRUE(segment_glob_match("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(segment_glob_match("a/**/b", "a/x/y/c"));
  EXPECT_TRUE(segment_glob_match("**/*.gguf", "q/model.gguf"));
  EXPECT_TRUE(segment_glob_match("**/*.gguf", "model.gguf"));
  EXPECT_TRUE(segment_glob_match("**/**/x", "x"));
  EXPECT_TRUE(segment_glob_match("**/a/**/b/**/c", "z/a/y/b/c"));
}

TEST(SegmentGlob, TrailingGlobstarMatchesEverythingBelow) {
  EXPECT_TRUE(segment_glob_match("onnx/**", "onnx/model.onnx"));
  EXPECT_TRUE(segment_glob_match("onnx/**", "onnx/a/b/c"));
  EXPECT_FALSE(segment_glob_match("onnx/**", "onnx"));
  EXPECT_FALSE(segment_glob_match("onnx/**", "onnx2/model.onnx"));
  EXPECT_TRUE(segment_glob_match("**", "a"));
  EXPECT_TRUE(segment_glob_match("**", "a/b/c"));
}

TEST(SegmentGlob, QuestionMarkIsOneCharacter) {
  EXPECT_TRUE(segment_glob_match("model-?.bin", "model-1.bin"));
  EXPECT_FALSE(segment_glob_match("model-?.bin", "model-12.bin"));
  EXPECT_FALSE(segment_glob_match("model-?.bin", "model-.bin"));
  EXPECT_FALSE(segment_glob_match("a?b", "a/b"));
  EXPECT_TRUE(segment_glob_match("caf?.txt", "caf\xC3\xA9.txt")) << "one code point, not one byte";
}

TEST(SegmentGlob, CharacterClasses) {
  EXPECT_TRUE(segment_glob_match("[abc].bin", "b.bin"));
  EXPECT_FALSE(segment_glob_match("[abc].bin", "d.bin"));
  EXPECT_TRUE(segment_glob_match("shard-[0-9].bin", "shard-7.bin"));
  EXPECT_FALSE(segment_glob_match("shard-[0-9].bin", "shard-x.bin"));
  EXPECT_TRUE(segment_glob_match("[!a].bin", "b.bin"));
  EXPECT_FALSE(segment_glob_match("[!a].bin", "a.bin"));
  EXPECT_TRUE(segment_glob_match("[^a].bin", "b.bin"));
  EXPECT_FALSE(segment_glob_match("[!0-9]x", "5x"));
  EXPECT_TRUE(segment_glob_match("[]]x", "]x"));
  EXPECT_TRUE(segment_glob_match("[a-]x", "-x"));
  EXPECT_TRUE(segment_glob_match("[[]1].bin", "[1].bin")) << "brackets in names via a class";
  EXPECT_TRUE(segment_glob_match("[\xC3\xA9]", "\xC3\xA9"));
  EXPECT_FALSE(segment_glob_match("[!a]", "a/"));
  EXPECT_TRUE(segment_glob_match("x[ab", "x[ab")) << "an unclosed `[` is literal";
}

TEST(SegmentGlob, ManyStarsStayFast) {
  const std::string path(200, 'a');
  EXPECT_FALSE(segment_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
  std::string deep;
  for (int i = 0; i < 200; ++i) {
    deep += "d/";
  }
  deep += "x";
  EXPECT_FALSE(segment_glob_match("**/**/**/**/**/**/**/**/y", deep));
  EXPECT_TRUE(segment_glob_match("**/**/**/**/**/**/**/**/x", deep));
}
