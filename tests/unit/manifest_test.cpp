// SPDX-License-Identifier: MIT
#include "manifest/manifest.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <set>
#include <string>

using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::hub::RepoType;
using hfmodels::manifest::Manifest;
using hfmodels::manifest::ModelSpec;
using hfmodels::manifest::parse_manifest;

namespace {

Manifest parse(const std::string& text) {
  return parse_manifest(text, "models.yaml");
}

// Parses `text`, expects Error(usage), and checks that its full message holds every fragment.
void expect_error(const std::string& text, std::initializer_list<std::string> fragments) {
  try {
    parse(text);
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage) << error.what();
    EXPECT_EQ(error.summary(), "invalid manifest") << error.what();
    const std::string message = error.what();
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "missing \"" << fragment << "\" in: " << message;
    }
  }
}

const std::string k_spec_example = R"(models:
  tinyllama:                                  # name: [A-Za-z][A-Za-z0-9_]* ; target HFModels::tinyllama
    repo: TinyLlama/TinyLlama-1.1B-Chat-v1.0  # required: namespace/name or name
    revision: main                            # branch, tag, refs/pr/N or 40-hex commit; default: default branch
    include: ["*.json", "*.safetensors"]      # globs on repo paths; `**` crosses folders; default: every file
    exclude: ["onnx/**"]
  phi3:
    repo: microsoft/Phi-3-mini-4k-instruct-gguf
    quant: Q4_K_M                             # GGUF selector: the .gguf file(s) of that quantization,
                                              # split shards (-00001-of-0000N) included
  whisper:
    repo: ggerganov/whisper.cpp
    files: [ggml-base.en.bin]                 # exact paths; each must exist
  squad:
    repo: rajpurkar/squad
    type: dataset                             # model (default) | dataset
)";

} // namespace

TEST(Manifest, ParsesTheSpecExample) {
  const Manifest manifest = parse(k_spec_example);
  ASSERT_EQ(manifest.models.size(), 4U);
  EXPECT_EQ(manifest.names(), (std::vector<std::string>{"tinyllama", "phi3", "whisper", "squad"}));

  const ModelSpec& tinyllama = manifest.models[0];
  EXPECT_EQ(tinyllama.repo.id, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
  EXPECT_EQ(tinyllama.repo.type, RepoType::model);
  EXPECT_EQ(tinyllama.revision, "main");
  EXPECT_EQ(tinyllama.include, (std::vector<std::string>{"*.json", "*.safetensors"}));
  EXPECT_EQ(tinyllama.exclude, (std::vector<std::string>{"onnx/**"}));
  EXPECT_EQ(tinyllama.line, 2);

  const ModelSpec* phi3 = manifest.find("phi3");
  ASSERT_NE(phi3, nullptr);
  EXPECT_EQ(phi3->quant, "Q4_K_M");
  EXPECT_EQ(phi3->revision, "main");
  EXPECT_EQ(phi3->line, 7);

  EXPECT_EQ(manifest.find("whisper")->files, (std::vector<std::string>{"ggml-base.en.bin"}));
  EXPECT_EQ(manifest.find("squad")->repo.type, RepoType::dataset);
  EXPECT_EQ(manifest.find("nope"), nullptr);
  EXPECT_EQ(manifest.path, "models.yaml");
}

TEST(Manifest, AcceptsStringOrListAndEveryRevisionForm) {
  const Manifest manifest = parse(R"(models:
  a: {repo: org/a, include: "*.json", exclude: [x/**, "y/*"]}
  b: {repo: b, revision: v1.0}
  c: {repo: org/c, revision: refs/pr/12}
  d: {repo: org/d, revision: 0123456789abcdef0123456789abcdef01234567}
  e: {repo: org/e, revision: feature/new-thing, files: "dir/file name.bin"}
  f: {repo: org/f, revision: "1.0"}
  g: {repo: org/g, revision: 1234567890123456789012345678901234567890}
  h_2: {repo: org/h, type: model}
)");
  ASSERT_EQ(manifest.models.size(), 8U);
  EXPECT_EQ(manifest.models[0].include, (std::vector<std::string>{"*.json"}));
  EXPECT_EQ(manifest.models[0].exclude, (std::vector<std::string>{"x/**", "y/*"}));
  EXPECT_EQ(manifest.models[1].revision, "v1.0");
  EXPECT_EQ(manifest.models[2].revision, "refs/pr/12");
  EXPECT_EQ(manifest.models[3].revision, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(manifest.models[4].files, (std::vector<std::string>{"dir/file name.bin"}));
  EXPECT_EQ(manifest.models[5].revision, "1.0");
  EXPECT_EQ(manifest.models[6].revision, "1234567890123456789012345678901234567890");
}

TEST(Manifest, EmptyModelsIsAValidManifest) {
  EXPECT_TRUE(parse("models:\n").models.empty());
  EXPECT_TRUE(parse("models: {}\n").models.empty());
}

TEST(Manifest, AcceptsCrlfAndByteOrderMark) {
  const Manifest manifest = parse("\xEF\xBB\xBFmodels:\r\n  a:\r\n    repo: org/a\r\n");
  ASSERT_EQ(manifest.models.size(), 1U);
  EXPECT_EQ(manifest.models[0].repo.id, "org/a");
}

TEST(Manifest, UnknownKeyNamesKeyModelLineAndSuggestion) {
  expect_error(
      "models:\n  tinyllama:\n    repo: org/a\n    inclde: ['*.json']\n",
      {"models.yaml:4 model tinyllama", "unknown key `inclde`", "Did you mean `include`?"});
  expect_error("models:\n  a:\n    repo: org/a\n    revison: main\n",
               {"models.yaml:4", "`revison`", "Did you mean `revision`?"});
  expect_error("models:\n  a:\n    repo: org/a\n    licence: mit\n",
               {"unknown key `licence`", "Valid keys: repo, revision"});
}

TEST(Manifest, UnknownTopLevelKey) {
  expect_error("model:\n  a: {repo: org/a}\n",
               {"models.yaml:1", "unknown top-level key `model`", "Did you mean `models`?"});
  expect_error("models:\n  a: {repo: org/a}\nversion: 2\n", {"models.yaml:3", "`version`"});
}

TEST(Manifest, DuplicateModelNames) {
  expect_error("models:\n  a:\n    repo: org/a\n  b:\n    repo: org/b\n  a:\n    repo: org/c\n",
               {"models.yaml:6 model a", "defined twice", "first on line 2"});
  expect_error("models:\n  TinyLlama: {repo: org/a}\n  tinyllama: {repo: org/b}\n",
               {"models.yaml:3", "`TinyLlama` (line 2) and `tinyllama` differ only in case"});
}

TEST(Manifest, DuplicateKeysInAnEntryAndAtTheTop) {
  expect_error("models:\n  a:\n    repo: org/a\n    repo: org/b\n",
               {"models.yaml:4 model a", "key `repo` appears twice", "first on line 3"});
  expect_error("models:\n  a: {repo: org/a}\nmodels:\n  b: {repo: org/b}\n",
               {"models.yaml:3", "`models` appears twice"});
}

TEST(Manifest, InvalidModelNames) {
  expect_error("models:\n  tiny-llama: {repo: org/a}\n",
               {"models.yaml:2", "invalid model name `tiny-llama`", "Try `tiny_llama`"});
  expect_error("models:\n  7b: {repo: org/a}\n", {"invalid model name `7b`", "Try `m_7b`"});
  expect_error("models:\n  _x: {repo: org/a}\n", {"invalid model name `_x`"});
  expect_error("models:\n  ? [a, b]\n  : {repo: org/a}\n", {"models.yaml:2", "a key is a list"});
}

TEST(Manifest, RepoIsRequiredAndValidated) {
  expect_error("models:\n  a:\n    revision: main\n",
               {"models.yaml:2 model a", "has no `repo`", "repo: namespace/name"});
  expect_error("models:\n  a:\n    repo: org/a/b\n", {"models.yaml:3 model a", "invalid repo id"});
  expect_error("models:\n  a:\n    repo: \"org/has space\"\n",
               {"models.yaml:3", "invalid repo id"});
  expect_error(
      "models:\n  a:\n    repo: https://huggingface.co/TinyLlama/TinyLlama-1.1B/tree/main\n",
      {"Use the repo id `TinyLlama/TinyLlama-1.1B`, not the URL"});
  expect_error("models:\n  a:\n    repo: https://huggingface.co/datasets/rajpurkar/squad\n",
               {"`rajpurkar/squad`", "`type: dataset`"});
}

TEST(Manifest, RevisionRules) {
  expect_error("models:\n  a:\n    repo: org/a\n    revision: \"\"\n",
               {"models.yaml:4 model a", "revision `` is empty"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: \"my branch\"\n",
               {"whitespace or a control character"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: \"main\\t\"\n",
               {"whitespace or a control character"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: \"a\\x01b\"\n",
               {"whitespace or a control character"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: refs/pr/x\n", {"`refs/pr/<number>`"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: a..b\n", {"contains `..`"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: \"v1:2\"\n", {"contains `:`"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: main.lock\n", {"`.lock`"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: -x\n", {"starts with `-`"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision:\n",
               {"models.yaml:4", "`revision` has no value"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: 1.0\n",
               {"`revision` must be a string, not a number", "revision: \"1.0\""});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: 2024-01-31\n",
               {"not a date", "revision: \"2024-01-31\""});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: yes\n", {"not a boolean"});
  expect_error("models:\n  a:\n    repo: org/a\n    revision: [main]\n",
               {"`revision` must be a string, not a list"});
}

TEST(Manifest, SelectorTypes) {
  expect_error(
      "models:\n  a:\n    repo: org/a\n    include: 5\n",
      {"models.yaml:4 model a", "`include` must be a glob or a list of globs, not a number"});
  expect_error("models:\n  a:\n    repo: org/a\n    include: {x: 1}\n",
               {"`include` must be a glob or a list of globs, not a map"});
  expect_error("models:\n  a:\n    repo: org/a\n    exclude:\n      - '*.bin'\n      - {a: b}\n",
               {"models.yaml:6 model a", "`exclude` item 2 must be a string, not a map"});
  expect_error("models:\n  a:\n    repo: org/a\n    include: [true]\n",
               {"`include` item 1 must be a string, not a boolean"});
  expect_error("models:\n  a:\n    repo: org/a\n    include: []\n",
               {"`include` is an empty list", "Remove it"});
  expect_error("models:\n  a:\n    repo: org/a\n    files: 3\n",
               {"`files` must be a path or a list of paths, not a number"});
  expect_error("models:\n  a:\n    repo: org/a\n    quant: {q: 4}\n",
               {"`quant` must be a string, not a map"});
  expect_error("models:\n  a:\n    repo: {id: org/a}\n",
               {"models.yaml:3", "`repo` must be a string, not a map"});
}

TEST(Manifest, GlobSyntaxIsCheckedEarly) {
  expect_error("models:\n  a:\n    repo: org/a\n    include: ['*.json', \"x/\\ta\"]\n",
               {"models.yaml:4 model a", "include pattern", "control character"});
  expect_error("models:\n  a:\n    repo: org/a\n    include: '/abs/*.bin'\n", {"starts with `/`"});
  // What `hf download --include` takes is taken: a folder, and an unclosed `[` as a literal.
  const auto manifest = parse(
      "models:\n  a:\n    repo: org/a\n    include: ['onnx/', 'x/[ab']\n    exclude: '*.md'\n");
  EXPECT_EQ(manifest.models.at(0).include, (std::vector<std::string>{"onnx/", "x/[ab"}));
}

TEST(Manifest, FilesAreSafePathsWithoutDuplicates) {
  expect_error("models:\n  a:\n    repo: org/a\n    files: [ok.bin, ../escape]\n",
               {"models.yaml:4 model a", "invalid file path"});
  expect_error("models:\n  a:\n    repo: org/a\n    files:\n      - /etc/passwd\n",
               {"models.yaml:5", "invalid file path"});
  expect_error("models:\n  a:\n    repo: org/a\n    files:\n      - x.bin\n      - x.bin\n",
               {"models.yaml:6", "lists `x.bin` twice", "first on line 5"});
}

TEST(Manifest, FilesCannotBeCombined) {
  for (const std::string other : {"include: '*.json'", "exclude: '*.md'", "quant: Q4_K_M"}) {
    const std::string key = other.substr(0, other.find(':'));
    expect_error("models:\n  a:\n    repo: org/a\n    files: [x.bin]\n    " + other + "\n",
                 {"models.yaml:4 model a", "`files` cannot be combined with `" + key + "`"});
  }
}

TEST(Manifest, QuantAndType) {
  expect_error("models:\n  a:\n    repo: org/a\n    quant: \"Q4 K\"\n",
               {"models.yaml:4", "quant `Q4 K` is not a quantization name"});
  expect_error("models:\n  a:\n    repo: org/a\n    type: modle\n",
               {"models.yaml:4 model a", "`type` must be `model` or `dataset`, not `modle`",
                "Did you mean `model`?"});
  expect_error("models:\n  a:\n    repo: org/a\n    type: space\n", {"not `space`"});
}

TEST(Manifest, EntryShapes) {
  expect_error("models:\n  a:\n", {"models.yaml:2 model a", "has no entry"});
  expect_error("models:\n  a: TinyLlama/TinyLlama-1.1B-Chat-v1.0\n",
               {"models.yaml:2 model a", "must be a map of keys, not a string",
                "repo: TinyLlama/TinyLlama-1.1B-Chat-v1.0"});
  expect_error("models:\n  a: [1, 2]\n", {"must be a map of keys, not a list"});
}

TEST(Manifest, DocumentShapes) {
  expect_error("", {"models.yaml", "the file is empty"});
  expect_error("# nothing but a comment\n", {"the file is empty"});
  expect_error("- a\n- b\n", {"models.yaml:1", "top level must be a map", "not a list"});
  expect_error("hello\n", {"top level must be a map", "not a string"});
  expect_error("other: 1\n", {"unknown top-level key `other`"});
  expect_error("{}\n", {"there is no `models` key"});
  expect_error("models: [a, b]\n", {"models.yaml:1", "`models` must be a map", "not a list"});
  expect_error("models: 3\n", {"`models` must be a map", "not a number"});
  expect_error("models:\n  a: {repo: org/a}\n---\nmodels:\n  b: {repo: org/b}\n",
               {"more than one YAML document"});
}

TEST(Manifest, SyntaxErrorsCarryTheirLine) {
  expect_error("models:\n  a:\n    repo: [org/a\n    revision: main\n",
               {"models.yaml:", "YAML syntax error"});
  expect_error("models:\n  a: {repo: org/a\n  b: x\n", {"YAML syntax error", "column"});
  expect_error("models:\n\ta:\n", {"models.yaml:2", "YAML syntax error"});
  expect_error("models:\n  a:\n    repo: org/a\n   include: x\n", {"models.yaml:4", "YAML syntax"});
  // Left open until the end of the file: yaml-cpp takes the rest of the file as the value, which
  // the checks then refuse where it starts.
  expect_error("models:\n  a:\n    repo: org/a # \xC3\xA9\n    quant: 'Q4\n\n\n",
               {"models.yaml:4", "quant"});
}

TEST(Manifest, InvalidUtf8IsRejectedWithItsLine) {
  expect_error("models:\n  a:\n    repo: org/\xC3\x28\n", {"models.yaml:3", "not valid UTF-8"});
  expect_error("models:\n  a:\n    repo: \xED\xA0\x80x\n", {"not valid UTF-8"});
}

TEST(Manifest, AnchorsAndAliasesAreRefused) {
  expect_error("models:\n  a: &base\n    repo: org/a\n  b: *base\n",
               {"models.yaml:2", "anchors and aliases"});
  expect_error("models:\n  a:\n    repo: org/a\n    include: *nothing\n", {"models.yaml:"});
}

TEST(Manifest, BillionLaughsFailsFast) {
  std::string bomb =
      "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
  for (int i = 1; i < 30; ++i) {
    const std::string previous = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + previous;
    for (int k = 1; k < 9; ++k) {
      bomb += ", " + previous;
    }
    bomb += "]\n";
  }
  bomb += "models:\n  x:\n    repo: org/x\n    include: *a29\n";
  const auto start = std::chrono::steady_clock::now();
  expect_error(bomb, {"models.yaml:1", "anchors and aliases"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Manifest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "models: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  expect_error(deep, {"models.yaml:1", "YAML syntax error"});
}

TEST(Manifest, OversizedFileIsRefused) {
  std::string big = "models: {}\n";
  big += std::string(1024 * 1024, '#');
  expect_error(big, {"models.yaml", "more than the 1.0 MiB"});
}

TEST(Manifest, DigestIgnoresFormattingAndKeyOrder) {
  const Manifest block = parse(R"(models:
  m:
    repo: org/m
    revision: v2
    include:
      - "*.json"
      - "*.safetensors"
    exclude: onnx/**
)");
  const Manifest flow = parse(R"(# comments and layout do not matter
models: {m: {exclude: ["onnx/**"], include: ['*.safetensors', '*.json', "*.json"],
             revision: "v2", repo: 'org/m'}}
)");
  const std::string digest = block.models[0].digest();
  EXPECT_EQ(digest, flow.models[0].digest());
  EXPECT_EQ(digest.rfind("sha256:", 0), 0U);
  EXPECT_EQ(digest.size(), 7U + 64U);
  EXPECT_EQ(digest, block.models[0].digest()) << "stable across calls";
}

TEST(Manifest, DigestIgnoresNameAndLine) {
  const Manifest manifest = parse("models:\n  a: {repo: org/m}\n\n\n  b: {repo: org/m}\n");
  EXPECT_EQ(manifest.models[0].digest(), manifest.models[1].digest());
}

TEST(Manifest, DefaultsDigestLikeTheirExplicitForm) {
  const Manifest manifest =
      parse("models:\n  a: {repo: org/m}\n  b: {repo: org/m, revision: main, type: model}\n");
  EXPECT_EQ(manifest.models[0].digest(), manifest.models[1].digest());
}

TEST(Manifest, DigestChangesWithEveryField) {
  ModelSpec base;
  base.repo.id = "org/m";
  base.include = {"*.json"};
  base.exclude = {"x/**"};
  const std::string digest = base.digest();

  std::vector<ModelSpec> variants(7, base);
  variants[0].repo.id = "org/n";
  variants[1].repo.type = RepoType::dataset;
  variants[2].revision = "v1";
  variants[3].include = {"*.bin"};
  variants[4].exclude = {"y/**"};
  variants[5].quant = "Q4_K_M";
  variants[6].include.clear();
  variants[6].exclude.clear();
  variants[6].files = {"*.json"};
  std::set<std::string> digests = {digest};
  for (const auto& variant : variants) {
    EXPECT_NE(variant.digest(), digest);
    digests.insert(variant.digest());
  }
  EXPECT_EQ(digests.size(), variants.size() + 1) << "every variant has its own digest";

  ModelSpec moved_line = base;
  moved_line.line = 99;
  moved_line.name = "other";
  EXPECT_EQ(moved_line.digest(), digest);
}

TEST(Manifest, ModelNameAndRevisionHelpers) {
  using hfmodels::manifest::is_valid_model_name;
  using hfmodels::manifest::revision_error;
  EXPECT_TRUE(is_valid_model_name("a"));
  EXPECT_TRUE(is_valid_model_name("Tiny_Llama2"));
  EXPECT_FALSE(is_valid_model_name(""));
  EXPECT_FALSE(is_valid_model_name("2a"));
  EXPECT_FALSE(is_valid_model_name("a-b"));
  EXPECT_FALSE(is_valid_model_name("a.b"));
  EXPECT_FALSE(is_valid_model_name("\xC3\xA9"));

  EXPECT_FALSE(revision_error("main"));
  EXPECT_FALSE(revision_error("release/v1.2"));
  EXPECT_FALSE(revision_error("refs/pr/1"));
  EXPECT_FALSE(revision_error("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_TRUE(revision_error(""));
  EXPECT_TRUE(revision_error("a b"));
  EXPECT_TRUE(revision_error("/main"));
  EXPECT_TRUE(revision_error("main/"));
  EXPECT_TRUE(revision_error("a//b"));
  EXPECT_TRUE(revision_error("a/.hidden"));
  EXPECT_TRUE(revision_error("a@{1}"));
  EXPECT_TRUE(revision_error("refs/pr/"));
  EXPECT_TRUE(revision_error(std::string(300, 'a')));
  // yaml-cpp would write U+FFFD for a noncharacter: the lockfile would name another ref.
  EXPECT_TRUE(revision_error("v1\uFDD0"));
  EXPECT_TRUE(revision_error("b\uFFFE"));
}

TEST(Manifest, LoadNamesAMissingFile) {
  try {
    hfmodels::manifest::load_manifest("/nonexistent/dir/models.yaml");
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage);
    EXPECT_EQ(error.subject(), "/nonexistent/dir/models.yaml");
  }
}
