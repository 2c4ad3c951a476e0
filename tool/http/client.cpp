// SPDX-License-Identifier: MIT
#include "http/client.hpp"

#include "http/curl_api.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace hfmodels::http {

namespace {

// hub-protocol.md §3.2 (RS1 `head_with_relative_redirects`): at most 10 hops.
constexpr int max_redirects = 10;
// Error bodies of streamed downloads are kept for the message only.
constexpr std::size_t max_error_body = 64u << 10;
// The most libcurl 7.88 accepts is 512 KiB (CURL_MAX_READ_SIZE).
constexpr long receive_buffer_size = 256L << 10;

// RFC 3986 appendix B split of a URI reference. `has_*` distinguish "absent" from "empty".
struct UrlParts {
  std::string scheme;
  bool has_authority = false;
  std::string authority;
  std::string path;
  bool has_query = false;
  std::string query;
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  if (const auto hash = url.find('#'); hash != std::string_view::npos) {
    url = url.substr(0, hash); // fragments are never sent
  }
  // A scheme is letters/digits/+.- before the first ':' that precedes any of "/?#".
  if (const auto colon = url.find(':'); colon != std::string_view::npos && colon > 0) {
    const std::string_view candidate = url.substr(0, colon);
    bool valid = candidate.find_first_of("/?") == std::string_view::npos;
    for (const char c : candidate) {
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool digit = c >= '0' && c <= '9';
      valid = valid && (alpha || digit || c == '+' || c == '-' || c == '.');
    }
    const char first = candidate.front();
    valid = valid && ((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'));
    if (valid) {
      parts.scheme = util::to_lower(candidate);
      url.remove_prefix(colon + 1);
    }
  }
  if (url.starts_with("//")) {
    url.remove_prefix(2);
    const auto end = url.find_first_of("/?");
    parts.has_authority = true;
    parts.authority = std::string(url.substr(0, end));
    url = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  }
  const auto question = url.find('?');
  parts.path = std::string(url.substr(0, question));
  if (question != std::string_view::npos) {
    parts.has_query = true;
    parts.query = std::string(url.substr(question + 1));
  }
  return parts;
}

std::string join_url(const UrlParts& parts) {
  std::string url;
  if (!parts.scheme.empty()) {
    url += parts.scheme + ":";
  }
  if (parts.has_authority) {
    url += "//" + parts.authority;
  }
  url += parts.path;
  if (parts.has_query) {
    url += "?" + parts.query;
  }
  return url;
}

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view input) {
  std::string output;
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.remove_prefix(3);
    } else if (input.starts_with("./") || input.starts_with("/./")) {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../") || input == "/..") {
      input = input.size() == 3 ? std::string_view("/") : input.substr(3);
      const auto last = output.rfind('/');
      output.erase(last == std::string::npos ? 0 : last);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      const auto next = input.find('/', 1);
      output += input.substr(0, next);
      input = next == std::string_view::npos ? std::string_view{} : input.substr(next);
    }
  }
  return output;
}

std::string strip_userinfo(std::string_view authority) {
  const auto at = authority.rfind('@');
  return std::string(at == std::string_view::npos ? authority : authority.substr(at + 1));
}

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
  void operator()(curl_slist* list) const { curl::slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append_header(Slist& list, const std::string& header) {
  curl_slist* extended = curl::slist_append(list.get(), header.c_str());
  if (extended == nullptr) {
    throw std::bad_alloc();
  }
  static_cast<void>(list.release());
  list.reset(extended);
}

std::string default_user_agent() {
  const curl_version_info_data* info = curl::version_info();
  return std::string("hfmodels/") + HFMODELS_VERSION + "; hf_hub/none; cpp/libcurl-" +
         (info != nullptr && info->version != nullptr ? info->version : "unknown");
}

// Writes curl's header traffic to stderr like `curl -v`, with any Authorization value replaced,
// so `-v` output can be pasted into a bug report (SPEC.md: the token never reaches logs).
int debug_callback(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size,
                   void* /*user*/) {
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
    std::string text;
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
      if (util::to_lower(line.substr(0, 14)) == "authorization:") {
        text += std::string(prefix) + "Authorization: Bearer ***\n";
      } else {
        text += std::string(prefix) + std::string(line) + "\n";
      }
    }
    std::fwrite(text.data(), 1, text.size(), stderr);
  } catch (...) {
    // Tracing is best effort; never let it disturb the transfer.
  }
  return 0;
}

} // namespace

GlobalInit::GlobalInit() {
  if (curl::global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw Error(ExitCode::failure, "cannot initialise libcurl");
  }
}

GlobalInit::~GlobalInit() {
  curl::global_cleanup();
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
    handle = curl::easy_init();
    if (handle == nullptr) {
      throw Error(ExitCode::failure, "cannot initialise libcurl");
    }
    if (options.user_agent.empty()) {
      options.user_agent = default_user_agent();
    }
    // Options that hold for every request; the handle (and its connection cache) is reused.
    curl::easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl::easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl::easy_setopt(handle, CURLOPT_USERAGENT, options.user_agent.c_str());
    // Redirects are followed by `perform` so the token policy applies to every hop (§3.5).
    curl::easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl::easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl::easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    // HF_HUB_DOWNLOAD_TIMEOUT is an idle timeout, not a total one (§7.2): a multi-GB transfer
    // may take hours, but one that stalls for N seconds is dead.
    curl::easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl::easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, options.idle_timeout_seconds);
    curl::easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    // libcurl's default 16 KiB receive buffer costs one recv() per 16 KiB: at a GB/s that is
    // 60,000 system calls a second. 256 KiB cut the CPU of a loopback download by 9%.
    curl::easy_setopt(handle, CURLOPT_BUFFERSIZE, receive_buffer_size);
    // HTTP/2 where TLS offers it (ALPN); plain http stays HTTP/1.1, which needs no upgrade dance.
    curl::easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // CURLOPT_ACCEPT_ENCODING stays unset: no Accept-Encoding is sent, so bodies arrive as
    // identity and Content-Length / Range refer to the real bytes (§3.6, pitfall 3 of §9).
    curl::easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Impl::header_callback);
    curl::easy_setopt(handle, CURLOPT_HEADERDATA, this);
    curl::easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Impl::write_callback);
    curl::easy_setopt(handle, CURLOPT_WRITEDATA, this);
    curl::easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &progress_callback);
    curl::easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    // libcurl reads the proxy variables itself; the CA variables are a curl-tool convention
    // that the library does not read, so they are applied here.
    for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
      const char* value = std::getenv(name);
      if (value != nullptr && *value != '\0') {
        curl::easy_setopt(handle, CURLOPT_CAINFO, value);
        break;
      }
    }
    if (options.verbose) {
      curl::easy_setopt(handle, CURLOPT_DEBUGFUNCTION, &debug_callback);
      curl::easy_setopt(handle, CURLOPT_VERBOSE, 1L);
    }
  }

  ~Impl() { curl::easy_cleanup(handle); }
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
        curl::easy_getinfo(self->handle, CURLINFO_RESPONSE_CODE, &code);
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
                   const ResponseStart* start, std::size_t body_limit) {
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
      Slist headers;
      // The token goes to the endpoint's origin only: never to a CDN on another host or port,
      // even when the Hub itself redirects there (§3.5, pitfall 7 of §9).
      if (!options.token.empty() && !options.token_origin.empty() &&
          origin_of(url) == options.token_origin) {
        check_token_transport(options); // before connecting
        append_header(headers, "Authorization: Bearer " + options.token);
      }
      if (range_last) {
        append_header(headers, "Range: bytes=" + std::to_string(range_from) + "-" +
                                   std::to_string(*range_last));
      } else if (range_from > 0) {
        append_header(headers, "Range: bytes=" + std::to_string(range_from) + "-");
      }
      curl::easy_setopt(handle, CURLOPT_URL, url.c_str());
      curl::easy_setopt(handle, CURLOPT_HTTPGET, 1L);
      curl::easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
      const CURLcode code = curl::easy_perform(handle);
      curl::easy_setopt(handle, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
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
            error_buffer[0] != '\0' ? std::string(error_buffer) : curl::easy_strerror(code);
        throw TransportError(is_retryable(code), "network error",
                             redact_url(url) + ": " + std::string(util::trim(message)),
                             "Check the connection, or the proxy settings (https_proxy, "
                             "no_proxy) and HF_ENDPOINT");
      }
      long code_status = 0;
      curl::easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code_status);
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
  return m_impl->perform(url, 0, nullptr, nullptr, max_body);
}

Response Client::download(const std::string& url, std::uint64_t range_from, const BodySink& sink,
                          const ResponseStart& on_start) {
  return m_impl->perform(url, range_from, &sink, &on_start, max_error_body);
}

Response Client::download_range(const std::string& url, std::uint64_t first, std::uint64_t last,
                                const BodySink& sink, const ResponseStart& on_start) {
  m_impl->range_last = last;
  try {
    Response response = m_impl->perform(url, first, &sink, &on_start, max_error_body);
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

void check_token_transport(const ClientOptions& options) {
  if (!options.token.empty() && options.token_origin.starts_with("http://") &&
      !options.allow_http_token && !is_loopback_origin(options.token_origin)) {
    throw Error(ExitCode::usage, "refusing to send the token over plain http",
                options.token_origin + " is not https and not this machine, so anyone on the "
                                       "way could read the token",
                "Use an https:// endpoint, unset HF_TOKEN for this mirror, or set "
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

std::string origin_of(std::string_view url) {
  const UrlParts parts = split_url(url);
  if (parts.scheme.empty() || !parts.has_authority) {
    return {};
  }
  std::string host = util::to_lower(strip_userinfo(parts.authority));
  // The port separator is the last ':' after any IPv6 "[...]" literal.
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || (parts.scheme == "http" && port == "80") ||
        (parts.scheme == "https" && port == "443")) {
      host.erase(colon);
    }
  }
  return parts.scheme + "://" + host;
}

std::string resolve_location(std::string_view base_url, std::string_view location) {
  // RFC 3986 §5.2.2, strict form; the fragment is dropped since it is never sent.
  const UrlParts base = split_url(base_url);
  const UrlParts ref = split_url(util::trim(location));
  UrlParts target;
  if (!ref.scheme.empty()) {
    target = ref;
    target.path = remove_dot_segments(ref.path);
    return join_url(target);
  }
  target.scheme = base.scheme;
  if (ref.has_authority) {
    target.has_authority = true;
    target.authority = ref.authority;
    target.path = remove_dot_segments(ref.path);
    target.has_query = ref.has_query;
    target.query = ref.query;
    return join_url(target);
  }
  target.has_authority = base.has_authority;
  target.authority = base.authority;
  if (ref.path.empty()) {
    target.path = base.path;
    target.has_query = ref.has_query || base.has_query;
    target.query = ref.has_query ? ref.query : base.query;
    return join_url(target);
  }
  if (ref.path.starts_with('/')) {
    target.path = remove_dot_segments(ref.path);
  } else if (base.has_authority && base.path.empty()) {
    target.path = remove_dot_segments("/" + ref.path);
  } else {
    const auto slash = base.path.rfind('/');
    const std::string directory =
        slash == std::string::npos ? std::string() : base.path.substr(0, slash + 1);
    target.path = remove_dot_segments(directory + ref.path);
  }
  target.has_query = ref.has_query;
  target.query = ref.query;
  return join_url(target);
}

std::string redact_url(std::string_view url) {
  UrlParts parts = split_url(url);
  parts.authority = strip_userinfo(parts.authority);
  parts.has_query = false;
  parts.query.clear();
  return join_url(parts);
}

} // namespace hfmodels::http
