// SPDX-License-Identifier: MIT
#pragma once

#include "http/client.hpp"
#include "mirror/mirror.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hfmodels::ops {

// Everything an operation needs to know about its environment, resolved once at start-up
// (README.md, "Environment and cache"). The token is never printed.
struct Settings {
  std::filesystem::path manifest_path = "models.yaml";
  std::filesystem::path lockfile_path = "models.lock";
  std::filesystem::path cache_dir;
  std::string endpoint = "https://huggingface.co";
  std::string token; // empty: none
  // Why the token found cannot be sent (it holds a line break or another control character,
  // which could add HTTP headers), instead of `token`. Thrown by the first step that would
  // connect, so commands that never do still work.
  std::optional<Error> token_error;
  bool offline = false;
  // Tried in order before the Hub for every locked file (--mirror, HFMODELS_MIRRORS).
  std::vector<mirror::Mirror> mirrors;
  // --no-origin, HFMODELS_NO_ORIGIN: files come from the mirrors only; the Hub is never asked.
  bool no_origin = false;
  // S3 objects from this size on are pushed in parts (HFMODELS_S3_MULTIPART_FROM, bytes).
  std::uint64_t multipart_from = mirror::k_multipart_from;
  // Files fetched at once. Small files are bound by round trips (two per file: resolve, then
  // its redirect), so more in flight is what makes 200 of them fast; 16 is also the run's
  // connection budget (transfer::k_max_connections), which large files share.
  unsigned jobs = 16;
  // HFMODELS_MAX_FILES: the most files a repo listing may hold (hub::ListingLimits).
  std::size_t max_listed_files = 100'000;
  long download_timeout_seconds = 10; // HF_HUB_DOWNLOAD_TIMEOUT
  long etag_timeout_seconds = 10;     // HF_HUB_ETAG_TIMEOUT, for API calls
  bool verbose = false;
  // HFMODELS_ALLOW_HTTP_TOKEN: send the token over plain http to a host other than this
  // machine (refused by default: anyone on the path could read it).
  bool allow_http_token = false;
  http::ProxySettings proxies; // http_proxy, https_proxy, all_proxy, no_proxy
  std::string ca_bundle;       // CURL_CA_BUNDLE, else SSL_CERT_FILE
  // Where the HTTP trace goes with -v; none when empty. Set by the command line.
  http::TraceSink http_trace;

  // The sources a fetch may ask. Offline, nothing that opens a connection: folder mirrors only
  // (a bundle on an air-gapped machine), never the Hub; with no origin, never the Hub.
  bool asks_hub() const { return !offline && !no_origin; }
  bool reads(const mirror::Mirror& mirror) const {
    return !offline || mirror.kind == mirror::Mirror::Kind::file;
  }
};

// Values given on the command line; they win over the environment.
struct SettingOverrides {
  std::optional<std::filesystem::path> manifest_path;
  std::optional<std::filesystem::path> lockfile_path;
  std::optional<std::filesystem::path> cache_dir;
  std::optional<std::string> endpoint;
  bool offline = false;
  std::vector<std::string> mirrors; // --mirror, in order; replaces HFMODELS_MIRRORS
  bool no_origin = false;
  std::optional<unsigned> jobs;
  bool verbose = false;
};

// Endpoint: --endpoint, HF_ENDPOINT, https://huggingface.co (trailing `/` removed).
// Token: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file HF_TOKEN_PATH (default $HF_HOME/token),
// whitespace stripped; one holding a control character sets token_error instead. Offline:
// --offline, HF_HUB_OFFLINE, HFMODELS_OFFLINE (1/ON/YES/TRUE). Throws Error(usage) for malformed
// values (an endpoint that is not http(s), a bad timeout).
Settings resolve_settings(const SettingOverrides& overrides,
                          const util::GetEnv& getenv = util::process_getenv);

// The endpoint without trailing `/`; Error(usage) unless it is an http(s) URL.
std::string checked_endpoint(std::string endpoint);

// Every secret `settings` holds (the token, proxy and endpoint credentials, the mirrors'
// bearer token and AWS keys): what must never leave the program, whoever shows its text.
std::vector<std::string> secrets_of(const Settings& settings);

// Why `token` (found in `source`, for the message) cannot be sent, or nothing when it can.
std::optional<Error> token_error(std::string_view token, const std::string& source);

} // namespace hfmodels::ops
