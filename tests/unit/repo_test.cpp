// SPDX-License-Identifier: MIT
#include "hub/repo.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using hfmodels::Error;
using hfmodels::ErrorKind;
using namespace hfmodels::hub;

const RepoRef model{RepoType::model, "org/model"};
const RepoRef dataset{RepoType::dataset, "allenai/c4"};
const std::string endpoint = "https://huggingface.co";

TEST(RepoUrl, EncodesRevisionsAsOneSegment) {
  // docs/hub-and-cache.md §1.3, including the RS1 client's test vectors.
  EXPECT_EQ(encode_revision("main"), "main");
  EXPECT_EQ(encode_revision("refs/pr/1"), "refs%2Fpr%2F1");
  EXPECT_EQ(encode_revision("refs/convert/parquet"), "refs%2Fconvert%2Fparquet");
  EXPECT_EQ(encode_revision("feature/x"), "feature%2Fx");
  EXPECT_EQ(encode_revision("v1.0+beta"), "v1.0%2Bbeta");
  EXPECT_EQ(encode_revision("100%done"), "100%25done");
  EXPECT_EQ(encode_revision("a b~c_d-e.f"), "a%20b~c_d-e.f");
  EXPECT_EQ(encode_revision("é"), "%C3%A9");
}

TEST(RepoUrl, EncodesPathsPerSegment) {
  EXPECT_EQ(encode_path("config.json"), "config.json");
  EXPECT_EQ(encode_path("sub dir/file#1.bin"), "sub%20dir/file%231.bin");
  EXPECT_EQ(encode_path("what?.txt"), "what%3F.txt");
  EXPECT_EQ(encode_path("100%/a+b.txt"), "100%25/a%2Bb.txt");
  EXPECT_EQ(encode_path("données/ü.bin"), "donn%C3%A9es/%C3%BC.bin");
  EXPECT_EQ(encode_path("日本.txt"), "%E6%97%A5%E6%9C%AC.txt");
}

TEST(RepoUrl, BuildsResolveUrls) {
  EXPECT_EQ(
      resolve_url(endpoint, {RepoType::model, "openai-community/gpt2"}, "main", "config.json"),
      "https://huggingface.co/openai-community/gpt2/resolve/main/config.json");
  EXPECT_EQ(resolve_url(endpoint, dataset, "main", "en/c4-train.00000-of-01024.json.gz"),
            "https://huggingface.co/datasets/allenai/c4/resolve/main/en/"
            "c4-train.00000-of-01024.json.gz");
  EXPECT_EQ(resolve_url(endpoint, model, "refs/pr/1", "sub dir/file#1.bin"),
            "https://huggingface.co/org/model/resolve/refs%2Fpr%2F1/sub%20dir/file%231.bin");
  EXPECT_EQ(resolve_url("http://127.0.0.1:8080", {RepoType::model, "gpt2"}, "main", "a?b"),
            "http://127.0.0.1:8080/gpt2/resolve/main/a%3Fb");
}

TEST(RepoUrl, BuildsApiUrls) {
  EXPECT_EQ(revision_info_url(endpoint, model, "refs/pr/1"),
            "https://huggingface.co/api/models/org/model/revision/refs%2Fpr%2F1");
  EXPECT_EQ(revision_info_url(endpoint, dataset, "main"),
            "https://huggingface.co/api/datasets/allenai/c4/revision/main");
  EXPECT_EQ(tree_url(endpoint, model, "v1.0+beta"),
            "https://huggingface.co/api/models/org/model/tree/v1.0%2Bbeta"
            "?recursive=true&expand=false");
  EXPECT_EQ(tree_url(endpoint, dataset, "main"),
            "https://huggingface.co/api/datasets/allenai/c4/tree/main?recursive=true&expand=false");
  EXPECT_EQ(refs_url(endpoint, model), "https://huggingface.co/api/models/org/model/refs");
  EXPECT_EQ(refs_url(endpoint, dataset), "https://huggingface.co/api/datasets/allenai/c4/refs");
  EXPECT_EQ(repo_page_url(endpoint, dataset), "https://huggingface.co/datasets/allenai/c4");
  EXPECT_EQ(repo_page_url(endpoint, model), "https://huggingface.co/org/model");
}

TEST(RepoId, AcceptsValidIds) {
  for (const char* id :
       {"gpt2", "openai-community/gpt2", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "a", "a/b",
        "_private/x_", "org/model.v2", "Org_1/Name-2.3", "microsoft/Phi-3-mini-4k-instruct-gguf"}) {
    EXPECT_NO_THROW(validate_repo_id(id)) << id;
  }
  EXPECT_NO_THROW(validate_repo_id(std::string(96, 'a')));
}

TEST(RepoId, RejectsInvalidIds) {
  for (const char* id : {"",       "/",
                         "a/",     "/a",
                         "a/b/c",  "a//b",
                         "a--b",   "org/a--b",
                         "a..b",   "org/..",
                         "-a",     "a-",
                         ".a",     "a.",
                         "org/-x", "org./x",
                         "a b",    "a\\b",
                         "a?b",    "a#b",
                         "é",      "org/model.git",
                         "a:b"}) {
    try {
      validate_repo_id(id);
      ADD_FAILURE() << "accepted '" << id << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage) << id;
      EXPECT_EQ(error.summary(), "invalid repo id");
    }
  }
  EXPECT_THROW(validate_repo_id(std::string(97, 'a')), Error);
}

TEST(RepoPath, AcceptsSafePaths) {
  for (const char* path :
       {"config.json", "onnx/model.onnx", "a/b/c/d.bin", "sub dir/file#1.bin", "what?.txt",
        ".gitattributes", "..hidden", "a/...", "a/.b", "données/ü.bin", "a:b"}) {
    EXPECT_NO_THROW(validate_repo_path(path)) << path;
  }
  EXPECT_NO_THROW(validate_repo_path(std::string(1024, 'a')));
}

TEST(RepoPath, RejectsUnsafePaths) {
  for (const std::string& path :
       {std::string(), std::string("/etc/passwd"), std::string(".."), std::string("."),
        std::string("../x"), std::string("a/../x"), std::string("a/.."), std::string("./a"),
        std::string("a/./b"), std::string("a//b"), std::string("a/"), std::string("a\\b"),
        std::string("..\\x"), std::string("a\nb"), std::string("a\tb"), std::string("a\x7f"),
        std::string("a\0b", 3), std::string(1025, 'a'),
        // Noncharacters: yaml-cpp would write U+FFFD in the lockfile, naming another file.
        std::string("non\uFFFEchar"), std::string("a\uFDD0"), std::string("b\U0010FFFF")}) {
    try {
      validate_repo_path(path);
      ADD_FAILURE() << "accepted '" << path << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage) << path;
      // Control characters are never echoed back.
      EXPECT_EQ(std::string(error.what()).find_first_of(std::string("\n\t\x7f\0", 4)),
                std::string::npos);
    }
  }
}

TEST(RepoId, RecognisesCommitHashes) {
  EXPECT_TRUE(is_commit_hash("607a30d783dfa663caf39e06633721c8d4cfcd7e"));
  EXPECT_FALSE(is_commit_hash("607A30D783DFA663CAF39E06633721C8D4CFCD7E"));
  EXPECT_FALSE(is_commit_hash("607a30d"));
  EXPECT_FALSE(is_commit_hash("607a30d783dfa663caf39e06633721c8d4cfcd7e0"));
  EXPECT_FALSE(is_commit_hash("607a30d783dfa663caf39e06633721c8d4cfcd7g"));
  EXPECT_FALSE(is_commit_hash("main"));
}

TEST(RepoId, ParsesTypes) {
  EXPECT_EQ(parse_repo_type("model"), RepoType::model);
  EXPECT_EQ(parse_repo_type("dataset"), RepoType::dataset);
  EXPECT_EQ(parse_repo_type("space"), std::nullopt);
  EXPECT_EQ(parse_repo_type("Model"), std::nullopt);
  EXPECT_EQ(type_name(RepoType::model), "model");
  EXPECT_EQ(type_name(RepoType::dataset), "dataset");
}

TEST(RepoCache, NamesFolders) {
  EXPECT_EQ(cache_folder_name({RepoType::model, "julien-c/EsperBERTo-small"}),
            "models--julien-c--EsperBERTo-small");
  EXPECT_EQ(cache_folder_name({RepoType::model, "gpt2"}), "models--gpt2");
  EXPECT_EQ(cache_folder_name(dataset), "datasets--allenai--c4");
}

TEST(RepoCache, NormalizesEtags) {
  EXPECT_EQ(normalize_etag("W/\"abc\""), "abc");
  EXPECT_EQ(normalize_etag("\"2f9618c3a19b9a61add74f70bfb121335aeef666\""),
            "2f9618c3a19b9a61add74f70bfb121335aeef666");
  EXPECT_EQ(normalize_etag("abc"), "abc");
  EXPECT_EQ(normalize_etag(" \"abc\" "), "abc");
  EXPECT_EQ(normalize_etag(""), "");
}

} // namespace
