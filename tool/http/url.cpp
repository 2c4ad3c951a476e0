// SPDX-License-Identifier: MIT
#include "http/url.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <optional>

namespace hfmodels::http {

namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// Schemes libcurl was not built for (s3://, file:// on some builds) still parse.
constexpr unsigned k_parse_flags = CURLU_NON_SUPPORT_SCHEME;

// `url` parsed, or nothing when it is not an absolute URL libcurl accepts.
std::optional<UrlHandle> parse(std::string_view url) {
  UrlHandle handle(curl_url());
  if (!handle) {
    throw std::bad_alloc();
  }
  const std::string text(util::trim(url));
  if (text.empty() ||
      curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), k_parse_flags) != CURLUE_OK) {
    return std::nullopt;
  }
  return handle;
}

// A part of the URL, or "" when it has none.
std::string part(const UrlHandle& handle, CURLUPart which) {
  char* value = nullptr;
  if (curl_url_get(handle.get(), which, &value, 0) != CURLUE_OK || value == nullptr) {
    return {};
  }
  std::string text(value);
  curl_free(value);
  return text;
}

std::string without_query(std::string_view url) {
  return std::string(url.substr(0, url.find_first_of("?#")));
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    const auto hex = [&](std::size_t at) {
      return std::isxdigit(static_cast<unsigned char>(text[at])) != 0;
    };
    if (text[i] == '%' && i + 2 < text.size() && hex(i + 1) && hex(i + 2) &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
            text.data() + i + 3) {
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace

std::string origin_of(std::string_view url) {
  const auto handle = parse(url);
  if (!handle) {
    return {};
  }
  const std::string scheme = util::to_lower(part(*handle, CURLUPART_SCHEME));
  std::string origin = scheme + "://" + util::to_lower(part(*handle, CURLUPART_HOST));
  const std::string port = part(*handle, CURLUPART_PORT);
  if (!port.empty() && !(scheme == "http" && port == "80") &&
      !(scheme == "https" && port == "443")) {
    origin += ":" + port;
  }
  return origin;
}

std::string percent_encoded(std::string_view text) {
  if (text.empty()) {
    return {};
  }
  // The handle is not used (libcurl 7.82 on); the escape needs no global init.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) {
    throw std::bad_alloc();
  }
  std::string result(escaped);
  curl_free(escaped);
  return result;
}

std::optional<std::string> local_path_of(std::string_view url) {
  const auto handle = parse(url);
  if (!handle || util::to_lower(part(*handle, CURLUPART_SCHEME)) != "file") {
    return std::nullopt;
  }
  const std::string host = util::to_lower(part(*handle, CURLUPART_HOST));
  if (!host.empty() && host != "localhost") {
    return std::nullopt;
  }
  return percent_decoded(part(*handle, CURLUPART_PATH));
}

std::string host_of(std::string_view url) {
  const auto handle = parse(url);
  if (!handle) {
    return {};
  }
  std::string host = util::to_lower(part(*handle, CURLUPART_HOST));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

std::string resolve_location(std::string_view base_url, std::string_view location) {
  auto handle = parse(base_url);
  const std::string_view target = util::trim(location);
  // Never a guess: a URL changed on the way (a signed CDN URL without its signature) would ask
  // another server, or for other bytes.
  const auto invalid = [&] {
    return Error(ErrorKind::network, "invalid redirect",
                 "cannot follow Location '" + redact_url(target) + "' from " +
                     redact_url(base_url));
  };
  if (!handle) {
    throw invalid();
  }
  // libcurl resolves a URL set onto a handle that holds one relative to it, as it does for its
  // own redirects.
  if (!target.empty()) {
    const std::string text(target);
    if (curl_url_set(handle->get(), CURLUPART_URL, text.c_str(), k_parse_flags) != CURLUE_OK) {
      throw invalid();
    }
  }
  curl_url_set(handle->get(), CURLUPART_FRAGMENT, nullptr, 0);
  return part(*handle, CURLUPART_URL);
}

std::string redact_url(std::string_view url) {
  const auto handle = parse(url);
  if (!handle) {
    return without_query(url);
  }
  for (const CURLUPart which : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
                                CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    curl_url_set(handle->get(), which, nullptr, 0);
  }
  return part(*handle, CURLUPART_URL);
}

std::vector<std::string> credentials_of(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
  }
  url = url.substr(0, url.find_first_of("/?#"));
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) {
    return {};
  }
  const std::string_view userinfo = url.substr(0, at);
  std::vector<std::string> found = {std::string(userinfo), percent_decoded(userinfo)};
  if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
    found.emplace_back(userinfo.substr(colon + 1));
    found.push_back(percent_decoded(userinfo.substr(colon + 1)));
  }
  return found;
}

} // namespace hfmodels::http
