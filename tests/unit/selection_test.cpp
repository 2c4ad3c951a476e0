// SPDX-License-Identifier: MIT
#include "manifest/selection.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::hub::BlobId;
using hfmodels::hub::RepoFile;
using hfmodels::hub::RepoPath;
using hfmodels::manifest::matches_quant;
using hfmodels::manifest::ModelSpec;
using hfmodels::manifest::PatternRule;
using hfmodels::manifest::select_files;
using hfmodels::manifest::select_paths;

namespace {

std::vector<RepoFile> repo(std::initializer_list<const char*> paths) {
  std::vector<RepoFile> files;
  for (const char* path : paths) {
    files.push_back({RepoPath(path), 1, BlobId(std::string(40, 'a')), std::nullopt});
  }
  return files;
}

ModelSpec spec() {
  ModelSpec model;
  model.name = "m";
  model.repo.id = "org/m";
  return model;
}

std::vector<std::string> paths(const std::vector<RepoFile>& files) {
  std::vector<std::string> result;
  for (const auto& file : files) {
    result.push_back(file.path.str());
  }
  return result;
}

void expect_error(const ModelSpec& model, const std::vector<RepoFile>& files,
                  std::initializer_list<std::string> fragments) {
  try {
    select_files(model, files);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage) << error.what();
    const std::string message = error.what();
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "missing \"" << fragment << "\" in: " << message;
    }
  }
}

const auto k_gguf_repo =
    repo({"README.md", "phi-3-Q4_K_M.gguf", "phi-3-Q4_K_S.gguf", "phi-3-Q8_0.gguf",
          "phi-3-IQ2_XXS.gguf", "phi-3-f16.gguf", "q4_k_m/model-q4_k_m-00001-of-00002.gguf",
          "q4_k_m/model-q4_k_m-00002-of-00002.gguf"});

} // namespace

TEST(Selection, EveryFileByDefault) {
  const auto files = repo({"b.json", "a/c.bin", ".gitattributes"});
  EXPECT_EQ(paths(select_files(spec(), files)),
            (std::vector<std::string>{".gitattributes", "a/c.bin", "b.json"}));
}

TEST(Selection, IncludeThenExcludeAsHfDownload) {
  // `hf download --include "*.json" --include "*.safetensors" --exclude "onnx/"`.
  auto model = spec();
  model.include = {"*.json", "*.safetensors"};
  model.exclude = {"onnx/", "never-there/*"};
  const auto files =
      repo({"config.json", "sub/config.json", "model.safetensors", "onnx/model.safetensors",
            "text_encoder/model.safetensors", "README.md"});
  EXPECT_EQ(paths(select_files(model, files)),
            (std::vector<std::string>{"config.json", "model.safetensors", "sub/config.json",
                                      "text_encoder/model.safetensors"}));
}

TEST(Selection, LockfilesOfTheSegmentRuleAreCheckedByIt) {
  auto model = spec();
  model.include = {"*.json", "**/*.safetensors"};
  model.exclude = {"onnx/**"};
  const std::vector<std::string_view> listed = {"config.json", "deep/er/x.safetensors",
                                                "model.safetensors", "onnx/model.safetensors",
                                                "sub/config.json"};
  const auto old_rule = select_paths(model, listed, PatternRule::segments);
  EXPECT_EQ(old_rule, (std::vector<std::size_t>{0, 1, 2})) << "`*` within a folder, `**/` any";
  const auto new_rule = select_paths(model, listed, PatternRule::fnmatch);
  EXPECT_EQ(new_rule, (std::vector<std::size_t>{0, 1, 4})) << "`*` crosses `/`, `**/` needs one";
}

TEST(Selection, ExcludeAloneKeepsTheRest) {
  auto model = spec();
  model.exclude = {"*.md"};
  EXPECT_EQ(paths(select_files(model, repo({"a.md", "b.bin"}))),
            (std::vector<std::string>{"b.bin"}));
}

TEST(Selection, IncludeMatchingNothingIsNamed) {
  auto model = spec();
  model.include = {"*.json", "*.onnx"};
  expect_error(model, repo({"config.json"}),
               {"(m)", "include pattern `*.onnx` matched no file in org/m at main"});
}

TEST(Selection, ExcludingEverythingIsAnError) {
  auto model = spec();
  model.include = {"*.json"};
  model.exclude = {"**"};
  expect_error(model, repo({"config.json"}), {"`exclude` removes every selected file"});
  expect_error(spec(), {}, {"org/m has no file at main"});
}

TEST(Selection, QuantSelectsShardsAndOnlyThatQuant) {
  auto model = spec();
  model.quant = "Q4_K_M";
  EXPECT_EQ(
      paths(select_files(model, k_gguf_repo)),
      (std::vector<std::string>{"phi-3-Q4_K_M.gguf", "q4_k_m/model-q4_k_m-00001-of-00002.gguf",
                                "q4_k_m/model-q4_k_m-00002-of-00002.gguf"}));
}

TEST(Selection, QuantCombinesWithIncludeAndExclude) {
  auto model = spec();
  model.quant = "q4_k_m";
  model.include = {"README.md"};
  model.exclude = {"q4_k_m/**"};
  EXPECT_EQ(paths(select_files(model, k_gguf_repo)),
            (std::vector<std::string>{"README.md", "phi-3-Q4_K_M.gguf"}));
}

TEST(Selection, UnknownQuantListsTheAvailableOnes) {
  auto model = spec();
  model.quant = "Q9";
  expect_error(
      model, k_gguf_repo,
      {"quant `Q9` matched no .gguf file", "Available quants: F16, IQ2_XXS, Q4_K_M, Q4_K_S, Q8_0"});
  expect_error(model, repo({"model.safetensors"}), {"this repository has none"});
}

TEST(Selection, ExactFiles) {
  auto model = spec();
  model.files = {"sub/b.bin", "a.bin"};
  EXPECT_EQ(paths(select_files(model, repo({"a.bin", "c.bin", "sub/b.bin"}))),
            (std::vector<std::string>{"a.bin", "sub/b.bin"}));
}

TEST(Selection, MissingExactFileSuggestsTheClosest) {
  auto model = spec();
  model.files = {"ggml-base.en.bn"};
  expect_error(model, repo({"ggml-base.en.bin", "ggml-tiny.bin"}),
               {"m/ggml-base.en.bn", "`ggml-base.en.bn` is not in org/m at main",
                "Did you mean `ggml-base.en.bin`?"});
  model.files = {"model.gguf"};
  expect_error(model, repo({"quantized/very-long-folder/model.gguf"}),
               {"Did you mean `quantized/very-long-folder/model.gguf`?"});
  model.files = {"zzzzzzzz"};
  expect_error(model, repo({"a.bin"}), {"\"Files\" page"});
}

TEST(Selection, MatchesQuantAsAWholeToken) {
  EXPECT_TRUE(matches_quant("phi-3-Q4_K_M.gguf", "Q4_K_M"));
  EXPECT_TRUE(matches_quant("phi-3-q4_k_m.gguf", "Q4_K_M"));
  EXPECT_TRUE(matches_quant("phi-3-Q4_K_M.GGUF", "q4_k_m"));
  EXPECT_TRUE(matches_quant("q4_k_m/model-q4_k_m-00001-of-00002.gguf", "Q4_K_M"));
  EXPECT_TRUE(matches_quant("Q4_K_M.gguf", "Q4_K_M"));
  EXPECT_TRUE(matches_quant("model.Q8_0.gguf", "Q8_0"));
  EXPECT_TRUE(matches_quant("Q4_K_M/model.gguf", "Q4_K_M"));
  EXPECT_FALSE(matches_quant("model-Q4_K_M_L.gguf", "Q4_K_M"));
  EXPECT_FALSE(matches_quant("model-Q4_K_M.gguf", "Q4_K"));
  EXPECT_FALSE(matches_quant("model-IQ4_XS.gguf", "Q4_XS"));
  EXPECT_FALSE(matches_quant("model-Q4_K_Mx.gguf", "Q4_K_M"));
  EXPECT_FALSE(matches_quant("model-Q4_K_M.bin", "Q4_K_M"));
  EXPECT_FALSE(matches_quant("model-Q4_K_M.gguf.part", "Q4_K_M"));
  EXPECT_FALSE(matches_quant("model-Q4_K_M.gguf", ""));
  EXPECT_TRUE(matches_quant("model-Q4_K_M_L.Q4_K_M.gguf", "Q4_K_M")) << "any occurrence counts";
}
