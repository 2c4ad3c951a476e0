// SPDX-License-Identifier: MIT
#include "ops/settings.hpp"

#include "cache/cache.hpp"
#include "http/url.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace hfmodels::ops {

namespace {

std::optional<std::string> non_empty(const std::optional<std::string>& value) {
  if (value && !util::trim(*value).empty()) {
    return std::string(util::trim(*value));
  }
  return std::nullopt;
}

long read_timeout(const util::GetEnv& getenv, const char* name, long fallback) {
  const auto value = non_empty(getenv(name));
  if (!value) {
    return fallback;
  }
  char* end = nullptr;
  const double seconds = std::strtod(value->c_str(), &end);
  if (end == value->c_str() || *end != '\0' || seconds <= 0 || seconds > 86400) {
    throw Error(ErrorKind::usage, std::string("invalid ") + name,
                "'" + *value + "' is not a number of seconds above 0 and at most 86400");
  }
  return std::max(1L, std::lround(seconds));
}

// Where the token was found, for messages that must not show the token itself.
struct FoundToken {
  std::string token;
  std::string source;
};

FoundToken find_token(const util::GetEnv& getenv) {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    if (auto token = non_empty(getenv(name))) {
      return {*token, name};
    }
  }
  const std::filesystem::path token_path =
      non_empty(getenv("HF_TOKEN_PATH")).value_or(cache::default_hf_home(getenv) / "token");
  std::ifstream file(token_path);
  if (!file) {
    return {};
  }
  std::stringstream content;
  content << file.rdbuf();
  return {std::string(util::trim(content.str())), "the token file " + token_path.string()};
}

// A bearer token is RFC 6750's b64token: letters, digits and `-._~+/`, then `=` padding. Any
// other byte could do harm on its way: a line break ends the Authorization header and starts one
// of the token's choosing, and quotes, spaces or non-ASCII bytes come back from an echoing
// server in forms the output's redaction cannot know. Such a token is refused, never sent.
bool is_b64token(std::string_view token) {
  const auto padding = token.find_last_not_of('=');
  if (padding == std::string_view::npos) {
    return false;
  }
  return std::all_of(
      token.begin(), token.begin() + static_cast<std::ptrdiff_t>(padding) + 1, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
      });
}

} // namespace

std::optional<Error> token_error(std::string_view token, const std::string& source) {
  if (token.empty() || is_b64token(token)) {
    return std::nullopt;
  }
  return Error(ErrorKind::usage, "the token cannot be used",
               "the token from " + source +
                   " holds a character no token has (a line break, a space, a quote, a "
                   "control character or a non-ASCII byte)",
               "A token is one line of letters, digits and -._~+/: fix " + source +
                   " (a token file holds the token alone, without comment lines)");
}

std::string checked_endpoint(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') {
    endpoint.pop_back();
  }
  // libcurl's parser decides, as it will when connecting (a space or a bad port is no URL).
  if ((endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) ||
      http::origin_of(endpoint).empty()) {
    throw Error(ErrorKind::usage, "invalid endpoint", "'" + endpoint + "' is not an http(s) URL",
                "Use a URL such as https://huggingface.co");
  }
  return endpoint;
}

Settings resolve_settings(const SettingOverrides& overrides, const util::GetEnv& getenv) {
  Settings settings;
  if (overrides.manifest_path) {
    settings.manifest_path = *overrides.manifest_path;
  }
  if (overrides.lockfile_path) {
    settings.lockfile_path = *overrides.lockfile_path;
  } else if (overrides.manifest_path) {
    // A manifest elsewhere implies its lockfile beside it, as cargo does with Cargo.lock.
    settings.lockfile_path = overrides.manifest_path->parent_path() / "models.lock";
  }
  settings.cache_dir = overrides.cache_dir.value_or(cache::default_cache_dir(getenv));
  // Absolute once, here: the paths printed, recorded (`cache gc`) or compiled into a program by
  // the CMake package must not depend on the directory they are used from later.
  if (!settings.cache_dir.empty()) {
    settings.cache_dir = std::filesystem::absolute(settings.cache_dir).lexically_normal();
  }
  try {
    settings.endpoint = checked_endpoint(
        overrides.endpoint.value_or(non_empty(getenv("HF_ENDPOINT")).value_or(settings.endpoint)));
  } catch (const Error& error) {
    throw error.with_hint("Set HF_ENDPOINT or --endpoint to a URL such as https://huggingface.co");
  }
  const FoundToken found = find_token(getenv);
  settings.token_error = token_error(found.token, found.source);
  if (!settings.token_error) {
    settings.token = found.token;
  }
  settings.offline = overrides.offline || util::env_true(getenv("HF_HUB_OFFLINE")) ||
                     util::env_true(getenv("HFMODELS_OFFLINE"));
  const std::vector<std::string> mirrors =
      !overrides.mirrors.empty()
          ? overrides.mirrors
          : mirror::split_mirror_list(getenv("HFMODELS_MIRRORS").value_or(""));
  for (const std::string& url : mirrors) {
    settings.mirrors.push_back(mirror::parse_mirror(url, getenv));
  }
  // One token for one server: sent to several, it would reach hosts it was not made for.
  std::set<std::string> token_origins;
  for (const auto& mirror : settings.mirrors) {
    if (!mirror.access.bearer.empty()) {
      token_origins.insert(mirror.access.origin);
    }
  }
  if (token_origins.size() > 1) {
    throw Error(ErrorKind::usage, "HFMODELS_MIRROR_TOKEN would go to several servers",
                std::to_string(token_origins.size()) + " web mirrors are listed",
                "List one web mirror with the token, or give each its credentials in ~/.netrc "
                "and unset HFMODELS_MIRROR_TOKEN");
  }
  settings.no_origin = overrides.no_origin || util::env_true(getenv("HFMODELS_NO_ORIGIN"));
  if (const auto value = non_empty(getenv("HFMODELS_S3_MULTIPART_FROM"))) {
    std::uint64_t bytes = 0;
    const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), bytes);
    // S3 refuses parts below 5 MiB (the last excepted) and single PUTs above 5 GiB.
    if (error != std::errc() || end != value->data() + value->size() || bytes < (5U << 20) ||
        bytes > mirror::k_multipart_from) {
      throw Error(ErrorKind::usage, "invalid HFMODELS_S3_MULTIPART_FROM",
                  "'" + *value + "' is not a size in bytes between 5 MiB and 5 GiB");
    }
    settings.multipart_from = bytes;
  }
  if (overrides.jobs) {
    if (*overrides.jobs == 0 || *overrides.jobs > 64) {
      throw Error(ErrorKind::usage, "invalid --jobs", "it must be between 1 and 64");
    }
    settings.jobs = *overrides.jobs;
  }
  settings.download_timeout_seconds =
      read_timeout(getenv, "HF_HUB_DOWNLOAD_TIMEOUT", settings.download_timeout_seconds);
  settings.etag_timeout_seconds =
      read_timeout(getenv, "HF_HUB_ETAG_TIMEOUT", settings.etag_timeout_seconds);
  settings.verbose = overrides.verbose;
  if (const auto value = non_empty(getenv("HFMODELS_MAX_FILES"))) {
    std::size_t limit = 0;
    const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), limit);
    if (error != std::errc() || end != value->data() + value->size() || limit == 0) {
      throw Error(ErrorKind::usage, "invalid HFMODELS_MAX_FILES",
                  "'" + *value + "' is not a positive whole number");
    }
    settings.max_listed_files = limit;
  }
  settings.allow_http_token = util::env_true(getenv("HFMODELS_ALLOW_HTTP_TOKEN"));
  settings.proxies = http::ProxySettings::from_environment(getenv);
  for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    if (auto value = non_empty(getenv(name))) {
      settings.ca_bundle = *value;
      break;
    }
  }
  return settings;
}

std::vector<std::string> secrets_of(const Settings& settings) {
  std::vector<std::string> secrets{settings.token};
  for (const std::string& secret : settings.proxies.credentials()) {
    secrets.push_back(secret);
  }
  for (const std::string& secret : http::credentials_of(settings.endpoint)) {
    secrets.push_back(secret);
  }
  for (const auto& mirror : settings.mirrors) {
    secrets.push_back(mirror.access.bearer);
    if (mirror.access.aws) {
      secrets.push_back(mirror.access.aws->secret_key);
      secrets.push_back(mirror.access.aws->session_token);
    }
  }
  return secrets;
}

} // namespace hfmodels::ops
