// SPDX-License-Identifier: MIT
#include "http/proxy.hpp"

#include "http/url.hpp"
#include "util/strings.hpp"

#include <arpa/inet.h>
#include <array>
#include <charconv>
#include <cstring>

namespace hfmodels::http {

namespace {

std::string first_set(const util::GetEnv& getenv, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto value = getenv(name); value && !util::trim(*value).empty()) {
      return std::string(util::trim(*value));
    }
  }
  return {};
}

// An IPv4 or IPv6 address in binary form, with its length in bits.
struct Address {
  std::array<unsigned char, 16> bytes{};
  int bits = 0;
};

std::optional<Address> parse_address(const std::string& text) {
  Address address;
  if (inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) {
    address.bits = 32;
    return address;
  }
  if (inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
    address.bits = 128;
    return address;
  }
  return std::nullopt;
}

bool same_prefix(const Address& a, const Address& b, int bits) {
  for (int bit = 0; bit < bits; ++bit) {
    const int mask = 0x80 >> (bit % 8);
    if ((a.bytes[bit / 8] & mask) != (b.bytes[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

// `entry` (an address, or an address with `/bits`) covers `host`, an address.
bool address_matches(std::string_view entry, const Address& host) {
  const auto slash = entry.find('/');
  const auto network = parse_address(std::string(entry.substr(0, slash)));
  if (!network || network->bits != host.bits) {
    return false;
  }
  int bits = host.bits;
  if (slash != std::string_view::npos) {
    const std::string_view text = entry.substr(slash + 1);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), bits);
    if (error != std::errc() || end != text.data() + text.size() || bits < 0 || bits > host.bits) {
      return false;
    }
  }
  return same_prefix(*network, host, bits);
}

} // namespace

ProxySettings ProxySettings::from_environment(const util::GetEnv& getenv) {
  ProxySettings settings;
  // Upper-case HTTP_PROXY is ignored on purpose, as libcurl does: a CGI program receives the
  // request's `Proxy:` header in it ("httpoxy").
  settings.http = first_set(getenv, {"http_proxy"});
  settings.https = first_set(getenv, {"https_proxy", "HTTPS_PROXY"});
  settings.all = first_set(getenv, {"all_proxy", "ALL_PROXY"});
  settings.no_proxy = first_set(getenv, {"no_proxy", "NO_PROXY"});
  return settings;
}

std::string ProxySettings::proxy_for(std::string_view url) const {
  const std::string origin = origin_of(url);
  const std::string& scheme_proxy = origin.starts_with("https://")  ? https
                                    : origin.starts_with("http://") ? http
                                                                    : all;
  const std::string& proxy = scheme_proxy.empty() ? all : scheme_proxy;
  if (proxy.empty() || no_proxy_matches(no_proxy, host_of(url))) {
    return {};
  }
  return proxy;
}

std::vector<std::string> ProxySettings::credentials() const {
  std::vector<std::string> found;
  for (const std::string* value : {&http, &https, &all}) {
    for (std::string& secret : credentials_of(*value)) {
      found.push_back(std::move(secret));
    }
  }
  return found;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  no_proxy = util::trim(no_proxy);
  if (no_proxy.empty() || host.empty()) {
    return false;
  }
  if (no_proxy == "*") {
    return true;
  }
  std::string name = util::to_lower(host);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  if (name.ends_with('.')) {
    name.pop_back();
  }
  const auto address = parse_address(name);
  std::size_t at = 0;
  while (at < no_proxy.size()) {
    const std::size_t start = no_proxy.find_first_not_of(", \t", at);
    if (start == std::string_view::npos) {
      break;
    }
    std::size_t end = no_proxy.find_first_of(", \t", start);
    end = end == std::string_view::npos ? no_proxy.size() : end;
    std::string entry = util::to_lower(no_proxy.substr(start, end - start));
    at = end;
    if (address) {
      if (address_matches(entry, *address)) {
        return true;
      }
      continue;
    }
    if (entry.starts_with('.')) {
      entry.erase(0, 1);
    }
    if (entry.ends_with('.')) {
      entry.pop_back();
    }
    if (entry.empty()) {
      continue;
    }
    if (name == entry || (name.size() > entry.size() && name.ends_with(entry) &&
                          name[name.size() - entry.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

} // namespace hfmodels::http
