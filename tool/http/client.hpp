// SPDX-License-Identifier: MIT
#pragma once

#include "http/proxy.hpp"
#include "http/url.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace hfmodels::http {

// Calls curl_global_init for the process lifetime. The first handle creates it (a function-local
// static, so thread-safe), so commands that never connect, like a no-op fetch, skip libcurl's
// and OpenSSL's start-up.
class GlobalInit {
public:
  GlobalInit();
  ~GlobalInit();
  GlobalInit(const GlobalInit&) = delete;
  GlobalInit& operator=(const GlobalInit&) = delete;
};

// The process's GlobalInit, created on first use.
const GlobalInit& global_init();

// Response headers of the last hop, names lower-cased. Repeated headers are joined with ", ".
class Headers {
public:
  void add(std::string_view name, std::string_view value);
  std::optional<std::string> get(std::string_view name) const;
  void clear() { m_values.clear(); }

private:
  std::map<std::string, std::string, std::less<>> m_values;
};

struct Response {
  long status = 0;
  Headers headers;  // of the final hop
  std::string body; // decoded
  std::string url;  // the final URL, after redirects
};

// Receives the -v trace, a line at a time (without its newline), credentials already masked.
using TraceSink = std::function<void(std::string_view line)>;

struct ClientOptions {
  std::string user_agent;
  // Sent as `Authorization: Bearer` only to URLs whose origin (scheme, host, port) equals
  // `token_origin`, never to a redirect target elsewhere. Empty: no token.
  std::string token;
  std::string token_origin;
  long connect_timeout_seconds = 10;
  // A transfer that receives no byte for this long is aborted (HF_HUB_DOWNLOAD_TIMEOUT).
  long idle_timeout_seconds = 10;
  // CA certificates (CURL_CA_BUNDLE or SSL_CERT_FILE, which libcurl itself does not read);
  // libcurl's default when empty.
  std::string ca_bundle;
  // Where libcurl's trace of each request goes (headers, connections); none when empty.
  TraceSink trace;
  // Plain http:// carries the token readable by anyone on the path, so it is only sent over
  // https, or to this machine (loopback) with no proxy in between, unless the user opted in
  // (HFMODELS_ALLOW_HTTP_TOKEN).
  bool allow_http_token = false;
  ProxySettings proxies;
};

// The transfer itself failed (DNS, connect, TLS, reset, timeout, truncated body), unlike an
// HTTP status. Always ErrorKind::network. `retryable()` is false for failures that asking again
// cannot fix soon (unknown host, connection refused, a bad certificate): those are reported at
// once instead of after a minute of back-off.
class TransportError : public Error {
public:
  // `curl_code` is libcurl's CURLcode; the cause names it ("transport:7").
  // No hint: what to check is the command line's to say, from the cause (cli/advice).
  TransportError(int curl_code, bool retryable, std::string what, std::string why)
      : Error(ErrorKind::network, std::move(what), std::move(why)), m_curl_code(curl_code),
        m_retryable(retryable) {
    set_cause("transport:" + std::to_string(curl_code));
  }
  int curl_code() const { return m_curl_code; }
  bool retryable() const { return m_retryable; }

private:
  int m_curl_code;
  bool m_retryable;
};

// GETs of the Hub's JSON API over one reused connection (files go through the download engine,
// transfer/engine.hpp). Not thread-safe: one Client per thread. Redirects are followed here, not
// by libcurl, so the token policy is enforced on every hop (at most 10 hops).
class Client {
public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET with the body collected in memory, decoded when the server compressed it. Bodies over
  // `max_body` bytes abort with Error(network). Non-2xx statuses are returned, not thrown;
  // transport failures throw TransportError. A stop request ends the transfer within a fraction
  // of a second with Error kind cancelled; a token that would go over plain http to another
  // machine throws Error(usage) before any connection is made.
  Response get(const std::string& url, std::stop_token stop = {}, std::size_t max_body = 64u << 20);

private:
  struct Impl;
  Impl* m_impl;
};

// Throws Error(usage) if a request to `url` would carry the token over plain http to another
// machine without allow_http_token: anyone on the path could read it there. Loopback
// (127.0.0.0/8, ::1, localhost) is fine while no proxy applies to the request (a proxy is
// another machine). Called before every request that carries the token, and by callers that
// want to fail before starting any work.
void check_token_transport(const ClientOptions& options, std::string_view url);
// Whose secret a request carries: the cause of a refusal says which (`token:plain-http`, or
// `token:plain-http:mirror`), so the advice names the variable that holds it.
enum class SecretOwner { hub, mirror };
// The same rule for any secret bound to `origin` (a mirror's token).
void check_secret_transport(const std::string& origin, const ClientOptions& options,
                            std::string_view url, SecretOwner owner = SecretOwner::hub);

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};

// The text of the first <tag> element of a small XML answer: an S3 upload's id, the code of an
// S3-style error (`<Error><Code>AccessDenied</Code>…`, also sent by MinIO and Artifactory).
// Only that one element of a known document is needed, so no XML parser is brought in.
std::optional<std::string> xml_element(std::string_view body, std::string_view tag);

// ": <Code>" of an S3-style error body, or "" when it has none: what follows "HTTP 403" in a
// message.
std::string error_code_suffix(std::string_view body);

// The Content-Length of an answer, when it is a number; nothing otherwise.
std::optional<std::uint64_t> content_length(const Headers& headers);

// `Content-Range: bytes first-last/total`; nothing for any other form (`*` included).
std::optional<ContentRange> parse_content_range(const std::optional<std::string>& header);

// Adds one raw header line (as libcurl's header callback hands it over) to `headers`: a status
// line starts a new response (a 1xx interim or a redirect's), so what was gathered is dropped.
void add_header_line(Headers& headers, std::string_view line);

} // namespace hfmodels::http
