// SPDX-License-Identifier: MIT
#include "http/client.hpp"

#include "http/handle.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <string>
#include <utility>

namespace hfmodels::http {

namespace {

// docs/hub-and-cache.md §3.2: at most 10 hops.
constexpr int k_max_redirects = 10;
// Error bodies are kept for the message only.
constexpr std::size_t k_max_error_body = 64u << 10;

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

GlobalInit::GlobalInit() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw Error(ErrorKind::failure, "cannot initialise libcurl");
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

void add_header_line(Headers& headers, std::string_view line) {
  if (line.starts_with("HTTP/")) {
    headers.clear(); // a new response: keep only the last one's headers
    return;
  }
  line = util::trim(line);
  const auto colon = line.find(':');
  if (!line.empty() && colon != std::string_view::npos) {
    headers.add(util::trim(line.substr(0, colon)), util::trim(line.substr(colon + 1)));
  }
}

struct Client::Impl {
  ClientOptions options;
  Handle handle;

  // The hop in flight; the callbacks receive `this`.
  Response* response = nullptr;
  std::size_t max_body = 0;
  std::stop_token stop;
  std::exception_ptr failure; // thrown by a callback, rethrown after curl_easy_perform

  explicit Impl(ClientOptions opts) : options(std::move(opts)), handle(options) {
    curl_easy_setopt(handle.get(), CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(handle.get(), CURLOPT_HEADERDATA, this);
    curl_easy_setopt(handle.get(), CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(handle.get(), CURLOPT_WRITEDATA, this);
    curl_easy_setopt(handle.get(), CURLOPT_XFERINFOFUNCTION, &Impl::on_progress);
    curl_easy_setopt(handle.get(), CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(handle.get(), CURLOPT_NOPROGRESS, 0L);
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    try {
      add_header_line(self->response->headers, std::string_view(data, size * count));
      return size * count;
    } catch (...) {
      self->failure = std::current_exception();
      return 0;
    }
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::size_t length = size * count;
    try {
      const long status = self->handle.status();
      if (is_redirect(status)) {
        return length; // a redirect's body is never used (pitfall 4 of §9)
      }
      const bool success = status >= 200 && status < 300;
      std::string& body = self->response->body;
      const std::size_t limit = success ? self->max_body : k_max_error_body;
      if (body.size() + length > limit) {
        if (success) {
          throw Error(ErrorKind::network, "the answer is too large",
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

  // Polled by libcurl many times a second during a transfer and at least once a second while it
  // waits, so a stop request ends a stalled transfer as quickly as a busy one.
  static int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                         curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
    return static_cast<Impl*>(user)->stop.stop_requested() ? 1 : 0;
  }

  Response get(std::string url, std::stop_token stop_token, std::size_t body_limit) {
    stop = std::move(stop_token);
    Response result;
    for (int hop = 0;; ++hop) {
      result = Response{};
      result.url = url;
      response = &result;
      max_body = body_limit;
      failure = nullptr;
      util::throw_if_stopped(stop);
      handle.prepare(url, std::nullopt, /*compressed=*/true);
      const CURLcode code = curl_easy_perform(handle.get());
      response = nullptr;
      if (failure) {
        std::rethrow_exception(failure);
      }
      if (code == CURLE_ABORTED_BY_CALLBACK) {
        util::throw_if_stopped(stop);
      }
      if (code != CURLE_OK) {
        throw transport_error(code, url, handle.error_text(code));
      }
      result.status = handle.status();
      const std::optional<std::string> location = result.headers.get("location");
      if (!is_redirect(result.status) || !location || location->empty()) {
        return result;
      }
      if (hop == k_max_redirects) {
        throw Error(ErrorKind::network, "too many redirects",
                    "more than " + std::to_string(k_max_redirects) + " starting at " +
                        redact_url(result.url));
      }
      url = resolve_location(url, *location);
    }
  }
};

Client::Client(ClientOptions options) : m_impl(new Impl(std::move(options))) {}

Client::~Client() {
  delete m_impl;
}

Response Client::get(const std::string& url, std::stop_token stop, std::size_t max_body) {
  return m_impl->get(url, std::move(stop), max_body);
}

void check_token_transport(const ClientOptions& options, std::string_view url) {
  if (!options.token.empty()) {
    check_secret_transport(options.token_origin, options, url);
  }
}

void check_secret_transport(const std::string& origin, const ClientOptions& options,
                            std::string_view url, SecretOwner owner) {
  if (!origin.starts_with("http://") || options.allow_http_token) {
    return;
  }
  const std::string whose = owner == SecretOwner::mirror ? ":mirror" : "";
  if (!is_loopback_origin(origin)) {
    throw Error(ErrorKind::usage, "refusing to send the token over plain http",
                origin + " is not https and not this machine, so anyone on the "
                         "way could read the token")
        .with_cause("token:plain-http" + whose);
  }
  // On this machine, but through a proxy: the token would travel in clear text to another one.
  if (const std::string proxy = options.proxies.proxy_for(url); !proxy.empty()) {
    throw Error(ErrorKind::usage, "refusing to send the token over plain http through a proxy",
                origin +
                    " is this machine, but requests to it go through the "
                    "proxy " +
                    redact_url(proxy) + ", which would read the token")
        .with_cause("token:plain-http-proxy" + whose);
  }
}

std::optional<std::string> xml_element(std::string_view body, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const auto begin = body.find(open);
  const auto end = body.find("</" + std::string(tag) + ">");
  if (begin == std::string_view::npos || end == std::string_view::npos ||
      end < begin + open.size()) {
    return std::nullopt;
  }
  return std::string(body.substr(begin + open.size(), end - begin - open.size()));
}

std::string error_code_suffix(std::string_view body) {
  const auto code = xml_element(body, "Code");
  // A code is one short word; anything longer is not an S3 error.
  return code && !code->empty() && code->size() < 64 ? ": " + *code : std::string();
}

std::optional<std::uint64_t> content_length(const Headers& headers) {
  const auto length = headers.get("content-length");
  const std::string_view text = length ? util::trim(*length) : std::string_view();
  std::uint64_t size = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return size;
}

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
