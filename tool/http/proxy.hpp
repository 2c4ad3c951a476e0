// SPDX-License-Identifier: MIT
#pragma once

#include "util/env.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::http {

// The proxies of the environment, decided here rather than left to libcurl. libcurl 7.88 reads
// the same variables itself but cannot say which proxy it chose for a request before sending
// it (CURLINFO_USED_PROXY is from 8.7), and hfmodels must know: the token may go over plain
// http only when the request stays on this machine, which a proxy in between breaks
// (docs/hub-and-cache.md §7.2). So the client asks proxy_for() and tells libcurl exactly that
// (CURLOPT_PROXY, "" for none). The rules are libcurl's, from its CURLOPT_PROXY and
// CURLOPT_NOPROXY documentation: `http_proxy` (lower case only) for http URLs, `https_proxy` or
// `HTTPS_PROXY` for https, `all_proxy` or `ALL_PROXY` for either when those are unset, and
// `no_proxy` or `NO_PROXY` naming the hosts reached directly.
struct ProxySettings {
  std::string http;
  std::string https;
  std::string all;
  std::string no_proxy;

  static ProxySettings from_environment(const util::GetEnv& getenv);

  // The proxy `url` goes through, as the variable gave it, or "" for a direct connection.
  std::string proxy_for(std::string_view url) const;

  // The credentials written into the proxy settings (`user:password` and the password alone,
  // as given and percent-decoded), so that output can hide them wherever they show up.
  std::vector<std::string> credentials() const;
};

// Whether `no_proxy` (libcurl's syntax) sends `host` directly: `*` for every host; otherwise a
// list separated by commas or spaces of host names, each matching itself and its sub-domains
// (a leading dot is ignored), case-insensitively, and of IP addresses, matched exactly or, with
// a `/bits` suffix, as a network.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

} // namespace hfmodels::http
