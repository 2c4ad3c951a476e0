// SPDX-License-Identifier: MIT
#include "http/client.hpp"

#include "util/cancel.hpp"
#include "util/display.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace hfmodels::http {

namespace {

// docs/hub-protocol.md §3.2 (RS1 `head_with_relative_redirects`): at most 10 hops.
constexpr int max_redirects = 10;
// Error bodies of streamed downloads are kept for the message only.
constexpr std::size_t max_error_body = 64u << 10;
// The most libcurl 7.88 accepts is 512 KiB (CURL_MAX_READ_SIZE).
constexpr long receive_buffer_size = 256L << 10;

// Failures that another try moments later will not fix: the name does not resolve, nothing
// listens, the URL or the certificate is wrong. Everything else (resets, timeouts, a body cut
// short, a TLS handshake broken off) is worth retrying.
bool is_retryable(CURLcode code) {
  switch (code) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_OUT_OF_MEMORY:
    return false;
  default:
    return true;
  }
}

// 127.0.0.0/8, ::1 and localhost: traffic that never leaves this machine.
bool is_loopback_origin(std::string_view origin) {
  const auto scheme_end = origin.find("://");
  std::string_view host =
      scheme_end == std::string_view::npos ? origin : origin.substr(scheme_end + 3);
  if (host.starts_with('[')) {
    return host.starts_with("[::1]");
  }
  host = host.substr(0, host.find(':'));
  if (host == "localhost") {
    return true;
  }
  // A dotted quad whose first number is 127.
  if (!host.starts_with("127.") || std::count(host.begin(), host.end(), '.') != 3) {
    return false;
  }
  return host.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Polled by libcurl many times a second during a transfer and at least once a second while it
// waits, so Ctrl-C stops a stalled transfer as quickly as a busy one.
int progress_callback(void* /*user*/, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                      curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
  return util::cancelled() ? 1 : 0;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append_header(Slist& list, const std::string& header) {
  curl_slist* extended = curl_slist_append(list.get(), header.c_str());
  if (extended == nullptr) {
    throw std::bad_alloc();
  }
  static_cast<void>(list.release());
  list.reset(extended);
}

std::string default_user_agent() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return std::string("hfmodels/") + HFMODELS_VERSION + "; hf_hub/none; cpp/libcurl-" +
         (info != nullptr && info->version != nullptr ? info->version : "unknown");
}

// What the trace callback needs: where lines go, and what they must not show.
struct TraceTarget {
  TraceSink sink;
  util::Redactor redactor;
};

// Hands curl's header traffic to the trace sink like `curl -v` shows it, redacted here already
// (the token, Authorization values, URL credentials, also in libcurl's own text lines such as
// HTTP/2's "h2h3 [authorization: ...]"): the sink (the command line's output, which redacts
// again, or an application's log) never holds a credential.
int debug_callback(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size, void* user) {
  const auto& target = *static_cast<const TraceTarget*>(user);
  try {
    const char* prefix = nullptr;
    switch (type) {
    case CURLINFO_TEXT:
      prefix = "* ";
      break;
    case CURLINFO_HEADER_IN:
      prefix = "< ";
      break;
    case CURLINFO_HEADER_OUT:
      prefix = "> ";
      break;
    default:
      return 0; // bodies and TLS data are not shown
    }
    for (std::string_view block(data, size); !block.empty();) {
      const auto newline = block.find('\n');
      std::string_view line = block.substr(0, newline);
      block = newline == std::string_view::npos ? std::string_view{} : block.substr(newline + 1);
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (line.empty()) {
        continue;
      }
      target.sink(target.redactor.redact(std::string(prefix) + std::string(line)));
    }
  } catch (...) {
    // Tracing is best effort; never let it disturb the transfer.
  }
  return 0;
}

} // namespace

GlobalInit::GlobalInit() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw Error(ExitCode::failure, "cannot initialise libcurl");
  }
}

GlobalInit::~GlobalInit() {
  curl_global_cleanup();
}

const GlobalInit& global_init() {
  static const GlobalInit init;
  return init;
}

void Headers::add(std::string_view name, std::string_view value) {
  auto [it, inserted] = m_values.try_emplace(util::to_lower(name), value);
  if (!inserted) {
    it->second += ", ";
    it->second += value;
  }
}

std::optional<std::string> Headers::get(std::string_view name) const {
  const auto it = m_values.find(util::to_lower(name));
  if (it == m_values.end()) {
    return std::nullopt;
  }
  return it->second;
}

struct Client::Impl {
  ClientOptions options;
  TraceTarget trace;
  CURL* handle = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  // State of the hop in flight; the callbacks receive `this`.
  Response* response = nullptr;
  const BodySink* sink = nullptr; // null: collect the body in memory
  const ResponseStart* on_start = nullptr;
  std::optional<std::uint64_t> range_last; // download_range: the last byte asked for
  std::size_t max_body = 0;
  long status = 0;            // set when the headers of a response are complete
  std::exception_ptr failure; // thrown by a callback, rethrown after curl_easy_perform
  bool aborted = false;       // a callback asked to stop without throwing

  explicit Impl(ClientOptions opts) : options(std::move(opts)) {
    handle = curl_easy_init();
    if (handle == nullptr) {
      throw Error(ExitCode::failure, "cannot initialise libcurl");
    }
    if (options.user_agent.empty()) {
      options.user_agent = default_user_agent();
    }
    // Options that hold for every request; the handle (and its connection cache) is reused.
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, options.user_agent.c_str());
    // Redirects are followed by `perform` so the token policy applies to every hop (§3.5).
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    // HF_HUB_DOWNLOAD_TIMEOUT is an idle timeout, not a total one (§7.2): a multi-GB transfer
    // may take hours, but one that stalls for N seconds is dead.
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, options.idle_timeout_seconds);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    // libcurl's default 16 KiB receive buffer costs one recv() per 16 KiB: at a GB/s that is
    // 60,000 system calls a second. 256 KiB cut the CPU of a loopback download by 9%.
    curl_easy_setopt(handle, CURLOPT_BUFFERSIZE, receive_buffer_size);
    // HTTP/2 where TLS offers it (ALPN); plain http stays HTTP/1.1, which needs no upgrade dance.
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // CURLOPT_ACCEPT_ENCODING stays unset: no Accept-Encoding is sent, so bodies arrive as
    // identity and Content-Length / Range refer to the real bytes (§3.6, pitfall 3 of §9).
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Impl::header_callback);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Impl::write_callback);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &progress_callback);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    if (!options.ca_bundle.empty()) {
      curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_bundle.c_str());
    }
    if (options.trace) {
      trace.sink = options.trace;
      trace.redactor.add_secret(options.token);
      curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, &debug_callback);
      curl_easy_setopt(handle, CURLOPT_DEBUGDATA, &trace);
      curl_easy_setopt(handle, CURLOPT_VERBOSE, 1L);
    }
  }

  ~Impl() { curl_easy_cleanup(handle); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  static std::size_t header_callback(char* buffer, std::size_t size, std::size_t count,
                                     void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::size_t length = size * count;
    try {
      std::string_view line(buffer, length);
      if (line.starts_with("HTTP/")) {
        // A new status line: a 1xx interim response or the real one. Keep only the last.
        self->response->headers.clear();
        self->status = 0;
        return length;
      }
      line = util::trim(line);
      if (line.empty()) {
        long code = 0;
        curl_easy_getinfo(self->handle, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200) {
          self->status = code;
        }
        if (code >= 200 && code < 300 && self->on_start != nullptr && *self->on_start &&
            !(*self->on_start)(code, self->response->headers)) {
          self->aborted = true;
          return 0;
        }
        return length;
      }
      const auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        self->response->headers.add(util::trim(line.substr(0, colon)),
                                    util::trim(line.substr(colon + 1)));
      }
      return length;
    } catch (...) {
      self->failure = std::current_exception();
      return 0;
    }
  }

  static std::size_t write_callback(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::size_t length = size * count;
    try {
      if (self->status >= 300 && self->status < 400) {
        return length; // a redirect's body is never used (pitfall 4 of §9)
      }
      const bool success = self->status >= 200 && self->status < 300;
      if (success && self->sink != nullptr) {
        if (!(*self->sink)(data, length)) {
          self->aborted = true;
          return 0;
        }
        return length;
      }
      std::string& body = self->response->body;
      const std::size_t limit = success ? self->max_body : std::min(self->max_body, max_error_body);
      if (body.size() + length > limit) {
        if (success) {
          throw Error(ExitCode::network, "the answer is too large",
                      "more than " + util::format_bytes(limit) + " from " +
                          redact_url(self->response->url));
        }
        // An error body is only used for the message: keep its beginning, drain the rest.
        body.append(data, limit - std::min(limit, body.size()));
        return length;
      }
      body.append(data, length);
      return length;
    } catch (...) {
      self->failure = std::current_exception();
      return 0;
    }
  }

  Response perform(std::string url, std::uint64_t range_from, const BodySink* body_sink,
                   const ResponseStart* start, std::size_t body_limit, bool compressed) {
    Response result;
    for (int hop = 0;; ++hop) {
      result = Response{};
      result.url = url;
      response = &result;
      sink = body_sink;
      on_start = start;
      max_body = body_limit;
      status = 0;
      failure = nullptr;
      aborted = false;
      error_buffer[0] = '\0';

      util::throw_if_cancelled();
      // Decided here, not by libcurl from the environment, so that the token check below
      // knows whether the request leaves this machine (http/proxy.hpp). "" means none.
      const std::string proxy = options.proxies.proxy_for(url);
      curl_easy_setopt(handle, CURLOPT_PROXY, proxy.c_str());
      Slist headers;
      // The token goes to the endpoint's origin only: never to a CDN on another host or port,
      // even when the Hub itself redirects there (§3.5, pitfall 7 of §9).
      if (!options.token.empty() && !options.token_origin.empty() &&
          origin_of(url) == options.token_origin) {
        check_token_transport(options, url); // before connecting
        append_header(headers, "Authorization: Bearer " + options.token);
      }
      if (range_last) {
        append_header(headers, "Range: bytes=" + std::to_string(range_from) + "-" +
                                   std::to_string(*range_last));
      } else if (range_from > 0) {
        append_header(headers, "Range: bytes=" + std::to_string(range_from) + "-");
      }
      curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
      // "": every encoding this libcurl decodes. Null: no Accept-Encoding header at all.
      curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, compressed ? "" : nullptr);
      curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
      const CURLcode code = curl_easy_perform(handle);
      curl_easy_setopt(handle, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
      response = nullptr;

      if (failure) {
        std::rethrow_exception(failure);
      }
      if (aborted) {
        throw Error(ExitCode::failure, "transfer aborted", redact_url(url));
      }
      if (code == CURLE_ABORTED_BY_CALLBACK && util::cancelled()) {
        throw util::Cancelled();
      }
      if (code != CURLE_OK) {
        const std::string message =
            error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
        throw TransportError(is_retryable(code), "network error",
                             redact_url(url) + ": " + std::string(util::trim(message)),
                             "Check the connection, or the proxy settings (https_proxy, "
                             "no_proxy) and HF_ENDPOINT",
                             "transport:" + std::to_string(static_cast<int>(code)));
      }
      long code_status = 0;
      curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code_status);
      result.status = code_status;
      const std::optional<std::string> location = result.headers.get("location");
      if (!is_redirect(result.status) || !location || location->empty()) {
        return result;
      }
      if (hop == max_redirects) {
        throw Error(ExitCode::network, "too many redirects",
                    "more than " + std::to_string(max_redirects) + " starting at " +
                        redact_url(result.url),
                    "Check HF_ENDPOINT and any proxy in between");
      }
      url = resolve_location(url, *location);
    }
  }
};

Client::Client(ClientOptions options)
    : m_impl((static_cast<void>(global_init()), new Impl(std::move(options)))) {}

Client::~Client() {
  delete m_impl;
}

Response Client::get(const std::string& url, std::size_t max_body) {
  return m_impl->perform(url, 0, nullptr, nullptr, max_body, true);
}

Response Client::download(const std::string& url, std::uint64_t range_from, const BodySink& sink,
                          const ResponseStart& on_start) {
  return m_impl->perform(url, range_from, &sink, &on_start, max_error_body, false);
}

Response Client::download_range(const std::string& url, std::uint64_t first, std::uint64_t last,
                                const BodySink& sink, const ResponseStart& on_start) {
  m_impl->range_last = last;
  try {
    Response response = m_impl->perform(url, first, &sink, &on_start, max_error_body, false);
    m_impl->range_last.reset();
    return response;
  } catch (...) {
    m_impl->range_last.reset();
    throw;
  }
}

const std::string& Client::in_flight_url() const {
  static const std::string none;
  return m_impl->response != nullptr ? m_impl->response->url : none;
}

void check_token_transport(const ClientOptions& options, std::string_view url) {
  if (options.token.empty() || !options.token_origin.starts_with("http://") ||
      options.allow_http_token) {
    return;
  }
  if (!is_loopback_origin(options.token_origin)) {
    throw Error(ExitCode::usage, "refusing to send the token over plain http",
                options.token_origin + " is not https and not this machine, so anyone on the "
                                       "way could read the token",
                "Use an https:// endpoint, unset HF_TOKEN for this mirror, or set "
                "HFMODELS_ALLOW_HTTP_TOKEN=1 if the network is trusted");
  }
  // On this machine, but through a proxy: the token would travel in clear text to another one.
  if (const std::string proxy = options.proxies.proxy_for(url); !proxy.empty()) {
    throw Error(ExitCode::usage, "refusing to send the token over plain http through a proxy",
                options.token_origin +
                    " is this machine, but requests to it go through the "
                    "proxy " +
                    redact_url(proxy) + ", which would read the token",
                "Add the endpoint's host to no_proxy, use an https:// endpoint, or set "
                "HFMODELS_ALLOW_HTTP_TOKEN=1 if the network is trusted");
  }
}

namespace {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

} // namespace

// `Content-Range: bytes first-last/total`; nothing for any other form (`*` included).
std::optional<ContentRange> parse_content_range(const std::optional<std::string>& header) {
  if (!header) {
    return std::nullopt;
  }
  std::string_view value = util::trim(*header);
  if (!value.starts_with("bytes ")) {
    return std::nullopt;
  }
  value = util::trim(value.substr(6));
  const auto dash = value.find('-');
  const auto slash = value.find('/');
  if (dash == value.npos || slash == value.npos || slash < dash) {
    return std::nullopt;
  }
  const auto first = parse_decimal(value.substr(0, dash));
  const auto last = parse_decimal(value.substr(dash + 1, slash - dash - 1));
  const auto total = parse_decimal(value.substr(slash + 1));
  if (!first || !last || !total || *last < *first || *last >= *total) {
    return std::nullopt;
  }
  return ContentRange{*first, *last, *total};
}

} // namespace hfmodels::http
