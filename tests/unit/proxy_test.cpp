// SPDX-License-Identifier: MIT
#include "http/client.hpp"
#include "http/proxy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace {

using hfmodels::http::no_proxy_matches;
using hfmodels::http::ProxySettings;

ProxySettings from(const std::map<std::string, std::string>& variables) {
  return ProxySettings::from_environment([&](const char* name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    return it == variables.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

TEST(NoProxy, MatchesHostsAndTheirSubdomains) {
  EXPECT_TRUE(no_proxy_matches("*", "anything.example"));
  EXPECT_TRUE(no_proxy_matches("example.com", "example.com"));
  EXPECT_TRUE(no_proxy_matches("example.com", "cdn.example.com"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "cdn.example.com"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "example.com"));
  EXPECT_TRUE(no_proxy_matches("a.test, Example.COM", "EXAMPLE.com."));
  EXPECT_TRUE(no_proxy_matches("a.test localhost", "localhost"));
  EXPECT_FALSE(no_proxy_matches("example.com", "badexample.com"));
  EXPECT_FALSE(no_proxy_matches("", "example.com"));
  EXPECT_FALSE(no_proxy_matches("a.test,*", "example.com")) << "`*` counts only alone";
}

TEST(NoProxy, MatchesAddressesExactlyOrByNetwork) {
  EXPECT_TRUE(no_proxy_matches("127.0.0.1", "127.0.0.1"));
  EXPECT_TRUE(no_proxy_matches("127.0.0.0/8", "127.1.2.3"));
  EXPECT_TRUE(no_proxy_matches("::1", "[::1]"));
  EXPECT_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.2"));
  EXPECT_FALSE(no_proxy_matches("localhost", "127.0.0.1")) << "names never match addresses";
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "127.0.0.1"));
}

TEST(ProxySettings, PicksTheVariableOfTheScheme) {
  const ProxySettings proxies = from({{"http_proxy", "http://p1:3128"},
                                      {"HTTP_PROXY", "http://ignored:1"},
                                      {"HTTPS_PROXY", "http://p2:3128"},
                                      {"ALL_PROXY", "socks5://p3:1080"},
                                      {"no_proxy", "internal.example,127.0.0.1"}});
  EXPECT_EQ(proxies.proxy_for("http://hub.example/x"), "http://p1:3128");
  EXPECT_EQ(proxies.proxy_for("https://hub.example/x"), "http://p2:3128");
  EXPECT_EQ(proxies.proxy_for("https://cdn.internal.example/x"), "");
  EXPECT_EQ(proxies.proxy_for("http://127.0.0.1:8080/x"), "");
  EXPECT_EQ(from({{"ALL_PROXY", "socks5://p3:1080"}}).proxy_for("http://h/x"), "socks5://p3:1080");
  EXPECT_EQ(from({{"HTTP_PROXY", "http://p:1"}}).proxy_for("http://h/x"), "")
      << "upper-case HTTP_PROXY is ignored, as libcurl does (httpoxy)";
  EXPECT_EQ(from({}).proxy_for("https://h/x"), "");
}

TEST(ProxySettings, NamesTheCredentialsItHolds) {
  const ProxySettings proxies =
      from({{"http_proxy", "http://alice:s%40cret@p:3128"}, {"https_proxy", "bob:pw2345@q:1"}});
  const auto secrets = proxies.credentials();
  for (const char* expected : {"alice:s%40cret", "s%40cret", "s@cret", "pw2345"}) {
    EXPECT_NE(std::find(secrets.begin(), secrets.end(), expected), secrets.end()) << expected;
  }
  EXPECT_TRUE(from({{"http_proxy", "http://p:3128"}}).credentials().empty());
}

TEST(TokenTransport, RefusesPlainHttpThroughAProxyEvenToThisMachine) {
  hfmodels::http::ClientOptions options;
  options.token = "hf_token_value";
  options.token_origin = "http://127.0.0.1:8080";
  const std::string url = "http://127.0.0.1:8080/api/models/x";
  EXPECT_NO_THROW(hfmodels::http::check_token_transport(options, url));
  options.proxies = from({{"http_proxy", "http://proxy.example:3128"}});
  EXPECT_THROW(hfmodels::http::check_token_transport(options, url), hfmodels::Error);
  options.proxies.no_proxy = "127.0.0.1";
  EXPECT_NO_THROW(hfmodels::http::check_token_transport(options, url));
  options.proxies.no_proxy.clear();
  options.allow_http_token = true;
  EXPECT_NO_THROW(hfmodels::http::check_token_transport(options, url));
}

} // namespace
