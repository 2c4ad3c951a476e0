// SPDX-License-Identifier: MIT
#pragma once

#include "http/access.hpp"
#include "util/env.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

// Mirrors: content-addressed stores that hold a file's bytes at `<base>/sha256/<hex>`, on
// servers a team already runs (docs/mirrors.md). Every byte from them is checked against the
// lockfile, so none of them has to be trusted.
namespace hfmodels::mirror {

// S3 takes at most 5 GiB in one PUT: larger objects go in parts (mirror/upload.hpp).
inline constexpr std::uint64_t k_multipart_from = 5ULL << 30;

struct Mirror {
  enum class Kind { web, s3, file } kind = Kind::web;
  std::string text; // as given, for messages (credentials in it masked)
  // Where objects are: `<base>/sha256/<hex>`. For S3 the bucket's URL with its prefix
  // (path-style under a custom endpoint, else virtual-hosted on amazonaws.com).
  std::string base;
  http::SourceAccess access;
  // S3: the bucket and the key prefix (no leading or trailing `/`); file: the folder.
  std::string bucket;
  std::string prefix;
  std::filesystem::path folder;

  std::string object_url(std::string_view sha256) const;
  // The object's key in its bucket (S3) or its path under the base: `[prefix/]sha256/<hex>`.
  std::string object_key(std::string_view sha256) const;
};

// Reads one mirror URL: `http(s)://host[:port]/path`, `s3://bucket[/prefix]` or
// `file:///path`. S3 takes its credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, else from the profile AWS_PROFILE (default `default`) of
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), else sends requests unsigned (a
// public bucket); the region from AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in
// AWS_CONFIG_FILE (default ~/.aws/config), else us-east-1; a custom
// endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. A web mirror sends
// HFMODELS_MIRROR_TOKEN as a bearer token, else what ~/.netrc has for its host. Throws
// Error(usage) for anything else, naming what is wrong.
Mirror parse_mirror(std::string_view url, const util::GetEnv& getenv);

// The file:// URL of an absolute path, percent-encoded so that it holds no white space (the
// list separator) and decodes back to the path.
std::string file_url(const std::filesystem::path& path);

// HFMODELS_MIRRORS: URLs separated by white space.
std::vector<std::string> split_mirror_list(std::string_view list);

// The `[profile]` section's `key = value` pairs of an AWS credentials file; empty when the
// file or the profile is not there.
struct AwsProfile {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
};
AwsProfile read_aws_profile(const std::string& text, const std::string& profile);

// The value of `key` in `[section]` of an INI text (the AWS credentials and config files);
// empty when it is not there.
std::string read_ini_value(const std::string& text, const std::string& section,
                           const std::string& key);

} // namespace hfmodels::mirror
