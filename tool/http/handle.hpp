// SPDX-License-Identifier: MIT
#pragma once

#include "http/access.hpp"
#include "http/client.hpp"

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

// One libcurl easy handle, set up the one way hfmodels sets up all of them: the API client's and
// every connection of the download engine. What differs per request (URL, proxy, headers) is set
// by prepare(), which is where the token policy is applied to each hop.
namespace hfmodels::http {

// `Range: bytes=first-last`, or `bytes=first-` without a last byte.
struct ByteRangeRequest {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;
};

class Handle {
public:
  // `options` must outlive the handle. Sets every option that holds for all requests:
  // timeouts (HF_HUB_DOWNLOAD_TIMEOUT is an idle timeout), user agent, CA bundle, the trace
  // (redacted), a 256 KiB receive buffer, HTTP/2 over TLS, TCP keep-alive, no signals, and no
  // redirects followed by libcurl (the caller follows them, so the token policy applies to
  // every hop).
  explicit Handle(const ClientOptions& options);
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  CURL* get() const { return m_handle; }

  // Sets up a GET of `url`: its proxy (ProxySettings::proxy_for), the token only when `url` is
  // on the endpoint's origin (throwing Error(usage) before any connection when it would travel
  // in clear text to another machine), a Range header for `range`, and Accept-Encoding only
  // when `compressed` (API answers; a file's bytes are hashed as they arrive and must come as
  // they are).
  // With `source` (a mirror), the Hub's token is never sent: the source's own credentials go
  // to its origin only (a bearer token, ~/.netrc, or an AWS SigV4 signature declaring
  // `payload_sha256` as the body's hash), and only the source's protocols are allowed.
  void prepare(const std::string& url, const std::optional<ByteRangeRequest>& range,
               bool compressed, const SourceAccess* source = nullptr,
               const std::string& payload_sha256 = k_empty_payload_sha256);

  // libcurl's words for a failed transfer: its error buffer, else curl_easy_strerror.
  std::string error_text(CURLcode code) const;
  // The status of the last response (CURLINFO_RESPONSE_CODE).
  long status() const;

private:
  struct Trace;

  void add_source_credentials(const SourceAccess& source, const std::string& url,
                              const std::string& payload_sha256,
                              std::unique_ptr<curl_slist, void (*)(curl_slist*)>& headers);

  const ClientOptions& m_options;
  CURL* m_handle = nullptr;
  char m_error[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> m_headers;
  std::unique_ptr<Trace> m_trace;
  std::string m_proxy;
};

// 301, 302, 303, 307 and 308.
bool is_redirect(long status);

// The TransportError for a transfer that failed with `code` (no HTTP answer to decide on):
// retryable unless asking again soon cannot help (unknown host, refused, a bad certificate).
TransportError transport_error(CURLcode code, const std::string& url, const std::string& text);

} // namespace hfmodels::http
