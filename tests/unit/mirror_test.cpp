// SPDX-License-Identifier: MIT
#include "mirror/mirror.hpp"
#include "mirror/upload.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using hfmodels::Error;
using hfmodels::ErrorKind;
using namespace hfmodels::mirror;

namespace {

hfmodels::util::GetEnv env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> std::optional<std::string> {
    const auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

const std::string k_sha = std::string(64, 'a');

} // namespace

TEST(Mirror, WebMirrorObjectsAreUnderSha256) {
  const Mirror mirror = parse_mirror("https://cache.example.com/hf/", env_of({}));
  EXPECT_EQ(mirror.kind, Mirror::Kind::web);
  EXPECT_EQ(mirror.object_url(k_sha), "https://cache.example.com/hf/sha256/" + k_sha);
  EXPECT_EQ(mirror.access.origin, "https://cache.example.com");
  EXPECT_TRUE(mirror.access.netrc);
  EXPECT_FALSE(mirror.access.aws);
}

TEST(Mirror, WebMirrorTokenComesFromItsOwnVariableNeverTheHubs) {
  const Mirror mirror = parse_mirror(
      "http://127.0.0.1:8080", env_of({{"HF_TOKEN", "hf_x"}, {"HFMODELS_MIRROR_TOKEN", "m-1"}}));
  EXPECT_EQ(mirror.access.bearer, "m-1");
  EXPECT_FALSE(mirror.access.netrc);
}

TEST(Mirror, S3WithACustomEndpointIsPathStyle) {
  const Mirror mirror =
      parse_mirror("s3://models/team/hf/", env_of({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"},
                                                   {"AWS_ACCESS_KEY_ID", "AK"},
                                                   {"AWS_SECRET_ACCESS_KEY", "SK"},
                                                   {"AWS_SESSION_TOKEN", "ST"},
                                                   {"AWS_REGION", "eu-west-3"}}));
  EXPECT_EQ(mirror.kind, Mirror::Kind::s3);
  EXPECT_EQ(mirror.object_url(k_sha), "http://127.0.0.1:9000/models/team/hf/sha256/" + k_sha);
  EXPECT_EQ(mirror.object_key(k_sha), "team/hf/sha256/" + k_sha);
  ASSERT_TRUE(mirror.access.aws);
  EXPECT_EQ(mirror.access.aws->region, "eu-west-3");
  EXPECT_EQ(mirror.access.aws->session_token, "ST");
  // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL.
  const Mirror s3_only = parse_mirror("s3://b", env_of({{"AWS_ENDPOINT_URL", "http://a:1"},
                                                        {"AWS_ENDPOINT_URL_S3", "http://b:2"}}));
  EXPECT_EQ(s3_only.object_url(k_sha), "http://b:2/b/sha256/" + k_sha);
}

TEST(Mirror, S3OnAmazonIsVirtualHostedInItsRegion) {
  const Mirror mirror =
      parse_mirror("s3://my-bucket", env_of({{"AWS_DEFAULT_REGION", "ap-south-1"}}));
  EXPECT_EQ(mirror.object_url(k_sha),
            "https://my-bucket.s3.ap-south-1.amazonaws.com/sha256/" + k_sha);
  EXPECT_FALSE(mirror.access.aws) << "no credentials: unsigned, as for a public bucket";
  EXPECT_EQ(parse_mirror("s3://b", env_of({})).object_url(k_sha),
            "https://b.s3.us-east-1.amazonaws.com/sha256/" + k_sha);
}

TEST(Mirror, S3CredentialsComeFromTheProfileWhenTheVariablesAreUnset) {
  const std::string text = "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
                           "# a comment\n[ci]\n aws_access_key_id=C \naws_secret_access_key=CS\n"
                           "aws_session_token = CT\n";
  const AwsProfile ci = read_aws_profile(text, "ci");
  EXPECT_EQ(ci.access_key, "C");
  EXPECT_EQ(ci.secret_key, "CS");
  EXPECT_EQ(ci.session_token, "CT");
  EXPECT_EQ(read_aws_profile(text, "default").access_key, "D");
  EXPECT_TRUE(read_aws_profile(text, "other").access_key.empty());
}

TEST(Mirror, FileMirrorIsALocalFolder) {
  const Mirror mirror = parse_mirror("file:///media/usb/bundle/", env_of({}));
  EXPECT_EQ(mirror.kind, Mirror::Kind::file);
  EXPECT_EQ(mirror.folder, "/media/usb/bundle");
  EXPECT_EQ(mirror.object_url(k_sha), "file:///media/usb/bundle/sha256/" + k_sha);
  EXPECT_EQ(mirror.access.scheme, hfmodels::http::SourceAccess::Scheme::file);
  EXPECT_EQ(parse_mirror("file:///a%20b", env_of({})).folder, "/a b");
}

TEST(Mirror, BadMirrorsAreUsageErrors) {
  for (const char* url : {"ftp://x/y", "file://host/path", "file:relative", "s3://", "s3://b/a b",
                          "s3://B_ad!/x", "http://x/y?q=1", "mirror"}) {
    try {
      parse_mirror(url, env_of({}));
      ADD_FAILURE() << url << " was accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage) << url;
      EXPECT_EQ(error.cause(), "mirror:invalid") << url;
    }
  }
}

TEST(Mirror, TheListIsSplitOnWhiteSpace) {
  EXPECT_EQ(split_mirror_list("  http://a \n s3://b\tfile:///c "),
            (std::vector<std::string>{"http://a", "s3://b", "file:///c"}));
  EXPECT_TRUE(split_mirror_list("   ").empty());
}

TEST(Upload, PartsAreLargeEnoughForTenThousandOfThemToHoldTheFile) {
  EXPECT_EQ(part_size_for(6ULL << 30), k_min_part);
  const std::uint64_t big = 500'000'000'000ULL;
  const std::uint64_t part = part_size_for(big);
  EXPECT_EQ(part % (1U << 20), 0u);
  EXPECT_LE((big + part - 1) / part, k_max_parts);
  EXPECT_EQ(part, k_min_part);
  EXPECT_EQ(part_size_for(1'000'000'000'000ULL), 96ULL << 20); // 95.4 MiB, rounded up
  const std::uint64_t largest = 5ULL << 40;                    // S3's largest object, 5 TiB
  EXPECT_LE((largest + part_size_for(largest) - 1) / part_size_for(largest), k_max_parts);
}

TEST(Mirror, S3RegionComesFromTheProfileInTheConfigFileWhenNoVariableSetsIt) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("mirror-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "config")
        << "[default]\nregion = eu-north-1\n[profile ci]\nregion=ap-east-1\n";
  }
  const std::string config = (dir / "config").string();
  EXPECT_EQ(parse_mirror("s3://b", env_of({{"AWS_CONFIG_FILE", config}})).object_url(k_sha),
            "https://b.s3.eu-north-1.amazonaws.com/sha256/" + k_sha);
  EXPECT_EQ(parse_mirror("s3://b", env_of({{"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "ci"}}))
                .object_url(k_sha),
            "https://b.s3.ap-east-1.amazonaws.com/sha256/" + k_sha);
  // The variable wins over the file.
  EXPECT_EQ(
      parse_mirror("s3://b", env_of({{"AWS_CONFIG_FILE", config}, {"AWS_REGION", "us-west-2"}}))
          .object_url(k_sha),
      "https://b.s3.us-west-2.amazonaws.com/sha256/" + k_sha);
  std::filesystem::remove_all(dir);
}

TEST(Mirror, ADottedBucketOnAmazonIsPathStyleSoTheCertificateMatches) {
  EXPECT_EQ(parse_mirror("s3://models.acme.com/hf", env_of({{"AWS_REGION", "eu-west-1"}}))
                .object_url(k_sha),
            "https://s3.eu-west-1.amazonaws.com/models.acme.com/hf/sha256/" + k_sha);
}

TEST(Mirror, AFolderBecomesAFileUrlThatReadsBackToIt) {
  const std::string url = file_url("/media/usb stick/bündle%");
  EXPECT_EQ(url, "file:///media/usb%20stick/b%C3%BCndle%25");
  EXPECT_EQ(split_mirror_list(url).size(), 1u);
  EXPECT_EQ(parse_mirror(url, env_of({})).folder, "/media/usb stick/bündle%");
}
