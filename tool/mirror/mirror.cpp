// SPDX-License-Identifier: MIT
#include "mirror/mirror.hpp"

#include "http/url.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>

namespace hfmodels::mirror {

namespace {

std::string non_empty(const util::GetEnv& getenv, const char* name) {
  return getenv(name).value_or("");
}

Error bad_mirror(std::string_view url, const std::string& why) {
  return Error(ErrorKind::usage, "invalid mirror", "'" + http::redact_url(url) + "': " + why,
               "A mirror is http(s)://host/path, s3://bucket/prefix or file:///path")
      .with_cause("mirror:invalid");
}

// Bucket names and key prefixes are kept to characters that need no percent-encoding: libcurl
// 7.88 signs the path as it is sent, while S3 signs the decoded key encoded once, and the two
// agree only for such names (docs/mirrors.md).
bool plain_key(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == '~' || c == '/';
  });
}

std::string without_trailing_slashes(std::string text) {
  while (!text.empty() && text.back() == '/') {
    text.pop_back();
  }
  return text;
}

// ~/.aws/<name>, or the file the variable names; "" without a home.
std::string aws_file(const util::GetEnv& getenv, const char* variable, const char* name) {
  if (const auto file = getenv(variable); file && !file->empty()) {
    return *file;
  }
  const auto home = getenv("HOME").value_or(util::home_of_user("").value_or(""));
  return home.empty() ? std::string() : home + "/.aws/" + name;
}

std::string read_if_there(const std::string& file) {
  try {
    return file.empty() ? std::string() : util::read_file(file);
  } catch (const Error&) {
    return {}; // no such file: nothing configured there
  }
}

std::string aws_profile_name(const util::GetEnv& getenv) {
  const std::string profile = getenv("AWS_PROFILE").value_or("default");
  return profile.empty() ? "default" : profile;
}

std::optional<http::AwsSigning> aws_signing(const util::GetEnv& getenv, const std::string& region) {
  http::AwsSigning signing;
  signing.region = region;
  signing.access_key = non_empty(getenv, "AWS_ACCESS_KEY_ID");
  signing.secret_key = non_empty(getenv, "AWS_SECRET_ACCESS_KEY");
  signing.session_token = non_empty(getenv, "AWS_SESSION_TOKEN");
  if (signing.access_key.empty() || signing.secret_key.empty()) {
    // No credentials file either: requests go unsigned, as to a public bucket.
    const AwsProfile found = read_aws_profile(
        read_if_there(aws_file(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials")),
        aws_profile_name(getenv));
    signing.access_key = found.access_key;
    signing.secret_key = found.secret_key;
    signing.session_token = found.session_token;
  }
  if (signing.access_key.empty() || signing.secret_key.empty()) {
    return std::nullopt;
  }
  return signing;
}

Mirror parse_s3(std::string_view url, const util::GetEnv& getenv) {
  Mirror mirror;
  mirror.kind = Mirror::Kind::s3;
  const std::string rest = without_trailing_slashes(std::string(url.substr(5)));
  const auto slash = rest.find('/');
  mirror.bucket = rest.substr(0, slash);
  mirror.prefix = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
  while (mirror.prefix.starts_with('/')) {
    mirror.prefix.erase(0, 1);
  }
  if (mirror.bucket.empty() || !plain_key(mirror.bucket) ||
      mirror.bucket.find('/') != std::string::npos) {
    throw bad_mirror(url, "no bucket name, or one with characters S3 does not allow");
  }
  if (!plain_key(mirror.prefix) || mirror.prefix.find("//") != std::string::npos) {
    throw bad_mirror(url, "the key prefix may hold letters, digits and - _ . ~ / only");
  }
  std::string region = non_empty(getenv, "AWS_REGION");
  if (region.empty()) {
    region = non_empty(getenv, "AWS_DEFAULT_REGION");
  }
  if (region.empty()) {
    // As the AWS CLI: the profile's region in ~/.aws/config (`[default]`, `[profile NAME]`).
    const std::string profile = aws_profile_name(getenv);
    region = read_ini_value(read_if_there(aws_file(getenv, "AWS_CONFIG_FILE", "config")),
                            profile == "default" ? profile : "profile " + profile, "region");
  }
  if (region.empty()) {
    region = "us-east-1";
  }
  if (!plain_key(region) || region.find('/') != std::string::npos) {
    throw bad_mirror(url, "AWS_REGION '" + region + "' is not a region name");
  }
  std::string endpoint = non_empty(getenv, "AWS_ENDPOINT_URL_S3");
  if (endpoint.empty()) {
    endpoint = non_empty(getenv, "AWS_ENDPOINT_URL");
  }
  endpoint = without_trailing_slashes(endpoint);
  if (!endpoint.empty()) {
    // MinIO, Ceph, Garage and test servers: path-style, the bucket in the path.
    if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
      throw bad_mirror(url, "AWS_ENDPOINT_URL '" + endpoint + "' is not an http(s) URL");
    }
    mirror.base = endpoint + "/" + mirror.bucket;
  } else if (mirror.bucket.find('.') != std::string::npos) {
    // A dotted name as a host would not match the certificate (*.s3.<region>.amazonaws.com).
    mirror.base = "https://s3." + region + ".amazonaws.com/" + mirror.bucket;
  } else {
    mirror.base = "https://" + mirror.bucket + ".s3." + region + ".amazonaws.com";
  }
  if (!mirror.prefix.empty()) {
    mirror.base += "/" + mirror.prefix;
  }
  mirror.access.origin = http::origin_of(mirror.base);
  mirror.access.aws = aws_signing(getenv, region);
  return mirror;
}

} // namespace

std::string Mirror::object_key(std::string_view sha256) const {
  return (prefix.empty() ? std::string() : prefix + "/") + "sha256/" + std::string(sha256);
}

std::string Mirror::object_url(std::string_view sha256) const {
  return base + "/sha256/" + std::string(sha256);
}

Mirror parse_mirror(std::string_view url, const util::GetEnv& getenv) {
  const std::string text(util::trim(url));
  const std::string lower = util::to_lower(text);
  if (lower.starts_with("s3://")) {
    Mirror mirror = parse_s3(text, getenv);
    mirror.text = http::redact_url(text);
    return mirror;
  }
  Mirror mirror;
  mirror.text = http::redact_url(text);
  if (lower.starts_with("file:")) {
    const auto path = http::local_path_of(text);
    if (!path || path->empty() || path->front() != '/') {
      throw bad_mirror(url, "a file mirror is file:///absolute/path (on this machine)");
    }
    mirror.kind = Mirror::Kind::file;
    mirror.folder = without_trailing_slashes(*path);
    mirror.base = without_trailing_slashes(text);
    mirror.access.scheme = http::SourceAccess::Scheme::file;
    return mirror;
  }
  if (!lower.starts_with("http://") && !lower.starts_with("https://")) {
    throw bad_mirror(url, "unknown scheme");
  }
  if (text.find_first_of("?#") != std::string::npos) {
    throw bad_mirror(url, "a mirror's URL has no query or fragment");
  }
  mirror.kind = Mirror::Kind::web;
  mirror.base = without_trailing_slashes(text);
  mirror.access.origin = http::origin_of(mirror.base);
  if (mirror.access.origin.empty() || http::host_of(mirror.base).empty()) {
    throw bad_mirror(url, "not a URL with a host");
  }
  mirror.access.bearer = non_empty(getenv, "HFMODELS_MIRROR_TOKEN");
  mirror.access.netrc = mirror.access.bearer.empty();
  return mirror;
}

std::string file_url(const std::filesystem::path& path) {
  std::string url = "file://";
  const auto segments = util::split(path.string(), '/');
  for (std::size_t i = 0; i < segments.size(); ++i) {
    url += (i == 0 ? "" : "/") + http::percent_encoded(segments[i]);
  }
  return url;
}

std::vector<std::string> split_mirror_list(std::string_view list) {
  std::vector<std::string> urls;
  std::string current;
  for (const char c : list) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      if (!current.empty()) {
        urls.push_back(std::move(current));
        current.clear();
      }
    } else {
      current += c;
    }
  }
  if (!current.empty()) {
    urls.push_back(std::move(current));
  }
  return urls;
}

AwsProfile read_aws_profile(const std::string& text, const std::string& profile) {
  return {read_ini_value(text, profile, "aws_access_key_id"),
          read_ini_value(text, profile, "aws_secret_access_key"),
          read_ini_value(text, profile, "aws_session_token")};
}

// The AWS credentials and config files are INI (`[section]`, `key = value`, `#` and `;`
// comments), read for four keys. libinih (Debian's libinih-dev) reads INI, but would add a shared
// library to every start of the tool for files read only when an s3:// mirror is set.
std::string read_ini_value(const std::string& text, const std::string& section,
                           const std::string& key) {
  std::string found;
  bool inside = false;
  for (const std::string& raw : util::split(text, '\n')) {
    const std::string_view line = util::trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      continue;
    }
    if (line.front() == '[') {
      const auto end = line.find(']');
      inside = end != std::string_view::npos && util::trim(line.substr(1, end - 1)) == section;
      continue;
    }
    const auto equals = line.find('=');
    if (inside && equals != std::string_view::npos &&
        util::to_lower(util::trim(line.substr(0, equals))) == key) {
      found = std::string(util::trim(line.substr(equals + 1)));
    }
  }
  return found;
}

} // namespace hfmodels::mirror
