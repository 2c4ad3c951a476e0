// SPDX-License-Identifier: MIT
#include "http/client.hpp"

#include <gtest/gtest.h>

namespace {

using namespace hfmodels::http;

TEST(HttpUrl, OriginOf) {
  EXPECT_EQ(origin_of("https://huggingface.co/org/model/resolve/main/x"), "https://huggingface.co");
  EXPECT_EQ(origin_of("https://huggingface.co"), "https://huggingface.co");
  EXPECT_EQ(origin_of("HTTPS://HuggingFace.CO:443/x"), "https://huggingface.co");
  EXPECT_EQ(origin_of("http://example.com:80/x"), "http://example.com");
  EXPECT_EQ(origin_of("https://example.com:80/x"), "https://example.com:80");
  EXPECT_EQ(origin_of("http://127.0.0.1:8080/x?y=1"), "http://127.0.0.1:8080");
  EXPECT_EQ(origin_of("http://127.0.0.1:8081"), "http://127.0.0.1:8081");
  EXPECT_EQ(origin_of("http://user:secret@host.example/x"), "http://host.example");
  EXPECT_EQ(origin_of("http://[::1]:8080/x"), "http://[::1]:8080");
  EXPECT_EQ(origin_of("http://[::1]/x"), "http://[::1]");
  EXPECT_EQ(origin_of("https://host.example?q"), "https://host.example");
  // Not absolute: no origin, so never equal to a token origin.
  EXPECT_EQ(origin_of("/api/models"), "");
  EXPECT_EQ(origin_of("//host/x"), "");
  EXPECT_EQ(origin_of(""), "");
}

TEST(HttpUrl, ResolvesAbsoluteLocations) {
  EXPECT_EQ(resolve_location("https://huggingface.co/a/b", "https://cdn.example/x?sig=1&e=2"),
            "https://cdn.example/x?sig=1&e=2");
  EXPECT_EQ(resolve_location("https://huggingface.co/a/b", "http://127.0.0.1:9/y"),
            "http://127.0.0.1:9/y");
  EXPECT_EQ(resolve_location("https://huggingface.co/a/b", "  https://cdn.example/x  "),
            "https://cdn.example/x");
}

TEST(HttpUrl, ResolvesNetworkPathLocations) {
  EXPECT_EQ(resolve_location("https://huggingface.co/a/b?q=1", "//cdn.example/x?y"),
            "https://cdn.example/x?y");
}

TEST(HttpUrl, ResolvesAbsolutePathLocations) {
  EXPECT_EQ(resolve_location("https://huggingface.co/org/m/resolve/main/f.json?x=1",
                             "/api/resolve-cache/models/org/m/abc/f.json?etag=%22e%22"),
            "https://huggingface.co/api/resolve-cache/models/org/m/abc/f.json?etag=%22e%22");
  EXPECT_EQ(resolve_location("http://127.0.0.1:8080/a/b", "/c"), "http://127.0.0.1:8080/c");
  EXPECT_EQ(resolve_location("http://h/a/b", "/c/../d/./e"), "http://h/d/e");
}

TEST(HttpUrl, ResolvesRelativeLocations) {
  EXPECT_EQ(resolve_location("http://h/a/b/c", "d"), "http://h/a/b/d");
  EXPECT_EQ(resolve_location("http://h/a/b/c", "d?x=1"), "http://h/a/b/d?x=1");
  EXPECT_EQ(resolve_location("http://h/a/b/c", "../d"), "http://h/a/d");
  EXPECT_EQ(resolve_location("http://h/a/b/c", "../../../../d"), "http://h/d");
  EXPECT_EQ(resolve_location("http://h/a/b/c", "./"), "http://h/a/b/");
  EXPECT_EQ(resolve_location("http://h", "d"), "http://h/d");
  EXPECT_EQ(resolve_location("http://h/a/b?q=1", "?r=2"), "http://h/a/b?r=2");
  EXPECT_EQ(resolve_location("http://h/a/b?q=1", ""), "http://h/a/b?q=1");
  EXPECT_EQ(resolve_location("http://h/a/b?q=1", "c#frag"), "http://h/a/c");
  // A query in the base is replaced, not kept, by a Location with a path.
  EXPECT_EQ(resolve_location("http://h/a/b?q=1", "c"), "http://h/a/c");
}

TEST(HttpUrl, RedactsUrls) {
  EXPECT_EQ(redact_url("https://cdn.example/x/y?Signature=abc&Expires=1"),
            "https://cdn.example/x/y");
  EXPECT_EQ(redact_url("https://user:secret@host.example:8443/p?q#f"),
            "https://host.example:8443/p");
  EXPECT_EQ(redact_url("https://huggingface.co/org/m/resolve/main/a%20b"),
            "https://huggingface.co/org/m/resolve/main/a%20b");
  EXPECT_EQ(redact_url("/relative?token=x"), "/relative");
}

TEST(HttpHeaders, AreCaseInsensitiveAndJoinRepeats) {
  Headers headers;
  headers.add("Link", "<a>; rel=\"next\"");
  headers.add("link", "<b>; rel=\"prev\"");
  headers.add("X-Repo-Commit", "abc");
  EXPECT_EQ(headers.get("LINK"), "<a>; rel=\"next\", <b>; rel=\"prev\"");
  EXPECT_EQ(headers.get("x-repo-commit"), "abc");
  EXPECT_EQ(headers.get("etag"), std::nullopt);
}

} // namespace
