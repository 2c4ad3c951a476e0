// SPDX-License-Identifier: MIT
#include "manifest/edit.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <string>

using hfmodels::Error;
using hfmodels::manifest::ModelSpec;
using hfmodels::manifest::with_model_added;
using hfmodels::manifest::with_models_removed;

namespace {

const std::string k_commented = R"(# yaml-language-server: $schema=models.schema.json
# Our models.
models:
  # the chat model
  chat:
    repo: org/chat   # pinned by the team
    revision: v2

  embed: {repo: org/embed, include: ['*.json']}
  # the speech model, last
  speech:
    repo: "org/speech"
    files: [a.bin]
# trailing notes stay last
)";

ModelSpec spec(std::string name, std::string repo) {
  ModelSpec model;
  model.name = std::move(name);
  model.repo.id = std::move(repo);
  return model;
}

} // namespace

TEST(ManifestEdit, AddKeepsEverythingElseByteForByte) {
  auto model = spec("tiny", "org/tiny-GGUF");
  model.quant = "Q4_K_M";
  const auto edited = with_model_added(k_commented, model, "models.yaml");
  const std::string entry = "  tiny:\n    repo: org/tiny-GGUF\n    quant: Q4_K_M\n";
  const auto at = k_commented.find("# trailing notes");
  EXPECT_EQ(edited, k_commented.substr(0, at) + entry + k_commented.substr(at));
  // Removing it again gives the file back.
  EXPECT_EQ(with_models_removed(edited, {"tiny"}, "models.yaml"), k_commented);
}

TEST(ManifestEdit, AddWritesOnlyWhatDiffersFromTheDefaults) {
  auto model = spec("squad", "rajpurkar/squad");
  model.repo.type = hfmodels::hub::RepoType::dataset;
  model.revision = "refs/pr/1";
  model.include = {"*.json", "data/"};
  model.exclude = {"*.md"};
  EXPECT_EQ(with_model_added("", model, "models.yaml"),
            "models:\n  squad:\n    repo: rajpurkar/squad\n    revision: refs/pr/1\n"
            "    type: dataset\n    include: [\"*.json\", data/]\n    exclude: [\"*.md\"]\n");
}

TEST(ManifestEdit, AddFollowsTheFilesIndentationAndLineEndings) {
  const std::string four = "models:\n    a:\n        repo: org/a\n";
  EXPECT_EQ(with_model_added(four, spec("b", "org/b"), "models.yaml"),
            four + "    b:\n        repo: org/b\n");
  const std::string crlf = "models:\r\n  a:\r\n    repo: org/a";
  EXPECT_EQ(with_model_added(crlf, spec("b", "org/b"), "models.yaml"),
            crlf + "\r\n  b:\r\n    repo: org/b\r\n");
  EXPECT_EQ(with_model_added("models: {}  # none yet\n", spec("b", "org/b"), "models.yaml"),
            "models: # none yet\n  b:\n    repo: org/b\n");
  EXPECT_EQ(with_model_added("# only a comment\n", spec("b", "org/b"), "models.yaml"),
            "# only a comment\nmodels:\n  b:\n    repo: org/b\n");
}

TEST(ManifestEdit, RemoveTakesTheEntryAndItsOwnComments) {
  const auto edited = with_models_removed(k_commented, {"chat", "speech"}, "models.yaml");
  EXPECT_EQ(edited, R"(# yaml-language-server: $schema=models.schema.json
# Our models.
models:
  embed: {repo: org/embed, include: ['*.json']}
# trailing notes stay last
)");
  EXPECT_EQ(with_models_removed(edited, {"embed"}, "models.yaml"),
            "# yaml-language-server: $schema=models.schema.json\n# Our models.\nmodels: {}\n"
            "# trailing notes stay last\n");
}

TEST(ManifestEdit, MistakesAreRefusedAndNothingIsLost) {
  EXPECT_THROW(with_model_added(k_commented, spec("chat", "org/x"), "models.yaml"), Error);
  try {
    with_models_removed(k_commented, {"chta"}, "models.yaml");
    ADD_FAILURE();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("Did you mean 'chat'?"), std::string::npos);
  }
  EXPECT_THROW(with_model_added("models: {a: {repo: org/a}}\n", spec("b", "org/b"), "m.yaml"),
               Error);
}

TEST(ManifestEdit, AModelsKeyWrittenOtherwiseIsRefusedNotMangled) {
  const std::string quoted = "\"models\":\n  a:\n    repo: org/a\n";
  EXPECT_THROW(with_models_removed(quoted, {"a"}, "models.yaml"), Error);
  EXPECT_THROW(with_model_added(quoted, spec("b", "org/b"), "models.yaml"), Error);
  const std::string bom = "\xEF\xBB\xBFmodels:\n  a:\n    repo: org/a\n";
  EXPECT_EQ(with_model_added(bom, spec("b", "org/b"), "models.yaml"),
            bom + "  b:\n    repo: org/b\n");
  EXPECT_EQ(with_models_removed(bom, {"a"}, "models.yaml"), "\xEF\xBB\xBFmodels: {}\n");
}
