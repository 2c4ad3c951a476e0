// SPDX-License-Identifier: MIT
#pragma once

#include "http/proxy.hpp"
#include "http/url.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hfmodels::http {

// Calls curl_global_init for the process lifetime. The first Client creates it (a function-local
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
  std::string body; // empty for streamed downloads
  std::string url;  // the final URL, after redirects
};

// Receives the -v trace, a line at a time (without its newline), Authorization values already
// masked.
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

// Called with each block of body bytes of a successful (2xx) final response. Return false to
// abort the transfer. An exception thrown here aborts the transfer and is rethrown by the
// request that called it (it never crosses libcurl).
using BodySink = std::function<bool(const char* data, std::size_t size)>;

// Called once the headers of a 2xx final response are in, before its first body byte, so a
// caller can check 200-vs-206 and Content-Range before any byte reaches the sink. Return false
// (or throw) to abort, as for BodySink.
using ResponseStart = std::function<bool(long status, const Headers& headers)>;

// The transfer itself failed (DNS, connect, TLS, reset, timeout, truncated body), unlike an
// HTTP status. Always ExitCode::network. `retryable()` is false for failures that asking again
// cannot fix soon (unknown host, connection refused, a bad certificate): those are reported at
// once instead of after a minute of back-off.
class TransportError : public Error {
public:
  // `cause` names libcurl's result code ("transport:7").
  TransportError(bool retryable, std::string what, std::string why, std::string hint,
                 std::string cause)
      : Error(ExitCode::network, std::move(what), std::move(why), std::move(hint)),
        m_retryable(retryable) {
    set_cause(std::move(cause));
  }
  bool retryable() const { return m_retryable; }

private:
  bool m_retryable;
};

// One libcurl easy handle, reused across requests so connections are kept alive. Not
// thread-safe: use one Client per thread. Redirects are followed here, not by libcurl, so the
// token policy is enforced on every hop (at most 10 hops).
class Client {
public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET with the body collected in memory (API calls). The answer may come compressed (gzip,
  // deflate, whatever libcurl decodes): tree listings of large repos shrink tenfold. Bodies over
  // `max_body` bytes (decoded) abort with Error(network). Non-2xx statuses are returned, not
  // thrown; transport failures throw TransportError (an Error(network)). Every request polls
  // util::cancelled() and throws util::Cancelled when Ctrl-C was pressed; a token that would go
  // over plain http to another machine throws Error(usage) before any connection is made.
  Response get(const std::string& url, std::size_t max_body = 64u << 20);

  // GET with the 2xx body streamed to `sink`; `range_from` > 0 sends `Range: bytes=N-`. No
  // Accept-Encoding is sent: the bytes are hashed as they arrive, and a compressed answer would
  // make Content-Length and Range count other bytes (docs/hub-protocol.md §3.6).
  // The body of an error status is collected into Response::body (capped) instead.
  // Transport failures throw TransportError, even after part of the body was delivered.
  Response download(const std::string& url, std::uint64_t range_from, const BodySink& sink,
                    const ResponseStart& on_start = {});

  // As download(), for bytes [first, last] only: sends `Range: bytes=first-last`. Checking that
  // the answer is a 206 with that Content-Range is the caller's (in `on_start`).
  Response download_range(const std::string& url, std::uint64_t first, std::uint64_t last,
                          const BodySink& sink, const ResponseStart& on_start = {});

  // The URL of the request in flight, after the redirects followed so far. Valid inside a
  // BodySink or ResponseStart (where Response::url is not yet available): a ranged download
  // learns the CDN URL there and starts its other parts before the first part has arrived.
  const std::string& in_flight_url() const;

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

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};

// `Content-Range: bytes first-last/total`; nothing for any other form (`*` included).
std::optional<ContentRange> parse_content_range(const std::optional<std::string>& header);

} // namespace hfmodels::http
