// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hfmodels::ops {

// Everything an operation needs to know about its environment, resolved once at start-up
// (SPEC.md "The environment"). The token is never printed.
struct Settings {
  std::filesystem::path manifest_path = "models.yaml";
  std::filesystem::path lockfile_path = "models.lock";
  std::filesystem::path cache_dir;
  std::string endpoint = "https://huggingface.co";
  std::string token; // empty: none
  bool offline = false;
  // Files fetched at once. Small files are bound by round trips (two per file: resolve, then
  // its redirect), so more in flight is what makes 200 of them fast; 16 is also the run's
  // connection budget (transfer::k_max_connections), which large files share.
  unsigned jobs = 16;
  long download_timeout_seconds = 10; // HF_HUB_DOWNLOAD_TIMEOUT
  long etag_timeout_seconds = 10;     // HF_HUB_ETAG_TIMEOUT, for API calls
  bool verbose = false;
  // HFMODELS_ALLOW_HTTP_TOKEN: send the token over plain http to a host other than this
  // machine (refused by default: anyone on the path could read it).
  bool allow_http_token = false;
};

// Values given on the command line; they win over the environment.
struct SettingOverrides {
  std::optional<std::filesystem::path> manifest_path;
  std::optional<std::filesystem::path> lockfile_path;
  std::optional<std::filesystem::path> cache_dir;
  std::optional<std::string> endpoint;
  bool offline = false;
  std::optional<unsigned> jobs;
  bool verbose = false;
};

using GetEnv = std::optional<std::string> (*)(const char* name);
std::optional<std::string> process_getenv(const char* name);

// Endpoint: --endpoint, HF_ENDPOINT, https://huggingface.co (trailing `/` removed).
// Token: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file HF_TOKEN_PATH (default $HF_HOME/token),
// whitespace stripped. Offline: --offline, HF_HUB_OFFLINE, HFMODELS_OFFLINE (1/ON/YES/TRUE).
// Throws Error(usage) for malformed values (an endpoint that is not http(s), a bad timeout).
Settings resolve_settings(const SettingOverrides& overrides, GetEnv getenv = process_getenv);

// Python's boolean reading of an environment value: 1, ON, YES, TRUE (any case).
bool env_true(const std::optional<std::string>& value);

} // namespace hfmodels::ops
