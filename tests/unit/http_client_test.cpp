// SPDX-License-Identifier: MIT
// The libcurl client of the Hub API against real sockets (tests/unit/support).
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "http/client.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::http::Client;
using hfmodels::http::ClientOptions;
using hfmodels::http::Response;
using hfmodels::test::HttpReply;
using hfmodels::test::HttpRequest;
using hfmodels::test::HttpServer;

const std::string token = "hf_secretTOKEN123";

// A body whose bytes differ along its length, so an append or an offset error shows.
std::string make_body(std::size_t size) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  }
  return body;
}

ClientOptions options_for(const HttpServer& token_server) {
  ClientOptions options;
  options.user_agent = "hfmodels-test/1";
  options.token = token;
  options.token_origin = token_server.origin();
  options.connect_timeout_seconds = 5;
  options.idle_timeout_seconds = 5;
  return options;
}

// A port nothing listens on: bound, then released.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), length);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(HttpClient, GetCollectsBodyAndLowercasedHeaders) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{200, {{"X-Repo-Commit", "abc"}, {"ETag", "\"e\""}}, "{\"ok\":1}", {}};
  });
  Client client(options_for(server));
  const Response response = client.get(server.url("/api/x"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"ok\":1}");
  EXPECT_EQ(response.headers.get("x-repo-commit"), "abc");
  EXPECT_EQ(response.headers.get("etag"), "\"e\"");
  EXPECT_EQ(response.url, server.url("/api/x"));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("user-agent"), "hfmodels-test/1");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer " + token);
  // API answers may come compressed: a tree listing shrinks tenfold.
  EXPECT_NE(requests[0].header("accept-encoding").value_or("").find("gzip"), std::string::npos);
  EXPECT_EQ(requests[0].header("range"), std::nullopt);
}

TEST(HttpClient, GetDecodesAGzippedAnswer) {
  static constexpr char gzipped[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xab\x56\x4a\xcb\xcc"
                                    "\x49\x2d\x56\xb2\x8a\x36\xd4\x31\xd2\x31\x8e\xad\x05\x00"
                                    "\x56\x4b\x71\x39\x11\x00\x00\x00";
  HttpServer server([](const HttpRequest&) {
    return HttpReply{
        200, {{"Content-Encoding", "gzip"}}, std::string(gzipped, sizeof gzipped - 1), {}};
  });
  Client client(options_for(server));
  EXPECT_EQ(client.get(server.url("/api/x")).body, "{\"files\":[1,2,3]}");
}

TEST(HttpClient, ReturnsErrorStatusesWithTheirBody) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{404, {{"X-Error-Code", "EntryNotFound"}}, "{\"error\":\"nope\"}", {}};
  });
  Client client(options_for(server));
  const Response response = client.get(server.url("/x"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "{\"error\":\"nope\"}");
  EXPECT_EQ(response.headers.get("x-error-code"), "EntryNotFound");
}

TEST(HttpClient, GetRefusesOversizedBodies) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, make_body(5000), {}}; });
  Client client(options_for(server));
  try {
    client.get(server.url("/big"), {}, 1000);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::network);
    EXPECT_EQ(error.summary(), "the answer is too large");
  }
}

TEST(HttpClient, FollowsRelativeRedirectsKeepingTheToken) {
  HttpServer server([](const HttpRequest& request) {
    if (request.target == "/org/old/resolve/main/f") {
      return HttpReply{
          307, {{"Location", "/api/resolve-cache/org/new/f?etag=%22e%22"}}, "redirect body", {}};
    }
    if (request.target == "/api/resolve-cache/org/new/f?etag=%22e%22") {
      return HttpReply{301, {{"Location", "../../../final?x=1"}}, "", {}};
    }
    return HttpReply{200, {{"X-Final", "yes"}}, "content of " + request.target, {}};
  });
  Client client(options_for(server));
  const Response response = client.get(server.url("/org/old/resolve/main/f"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "content of /api/final?x=1"); // redirect bodies are discarded
  EXPECT_EQ(response.url, server.url("/api/final?x=1"));
  EXPECT_EQ(response.headers.get("x-final"), "yes");
  EXPECT_EQ(response.headers.get("location"), std::nullopt); // only the last hop's headers
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const HttpRequest& request : requests) {
    EXPECT_EQ(request.header("authorization"), "Bearer " + token) << request.target;
  }
}

TEST(HttpClient, DropsTheTokenOnRedirectsToAnotherPort) {
  HttpServer cdn([](const HttpRequest& request) {
    return HttpReply{200, {{"ETag", "\"cdn\""}}, "bytes from " + request.target, {}};
  });
  HttpServer hub([&cdn](const HttpRequest&) {
    return HttpReply{
        302,
        {{"Location", cdn.url("/blob?Signature=s3cr3t")}, {"X-Linked-Etag", "\"sha\""}},
        "hub body",
        {}};
  });
  Client client(options_for(hub));
  const Response response = client.get(hub.url("/org/m/resolve/main/model.bin"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "bytes from /blob?Signature=s3cr3t");
  EXPECT_EQ(response.headers.get("etag"), "\"cdn\"");
  const auto hub_requests = hub.requests();
  const auto cdn_requests = cdn.requests();
  ASSERT_EQ(hub_requests.size(), 1u);
  ASSERT_EQ(cdn_requests.size(), 1u);
  EXPECT_EQ(hub_requests[0].header("authorization"), "Bearer " + token);
  EXPECT_EQ(cdn_requests[0].header("authorization"), std::nullopt);
}

TEST(HttpClient, SendsTheTokenAgainWhenRedirectedBackToTheEndpoint) {
  std::unique_ptr<HttpServer> hub;
  HttpServer other([&hub](const HttpRequest&) {
    return HttpReply{307, {{"Location", hub->url("/back")}}, "", {}};
  });
  hub = std::make_unique<HttpServer>([&other](const HttpRequest& request) {
    if (request.target == "/start") {
      return HttpReply{
          302, {{"Location", "//127.0.0.1:" + std::to_string(other.port()) + "/x"}}, "", {}};
    }
    return HttpReply{200, {}, "done", {}};
  });
  Client client(options_for(*hub));
  const Response response = client.get(hub->url("/start"));
  EXPECT_EQ(response.body, "done");
  ASSERT_EQ(other.requests().size(), 1u);
  EXPECT_EQ(other.requests()[0].header("authorization"), std::nullopt);
  const auto hub_requests = hub->requests();
  ASSERT_EQ(hub_requests.size(), 2u);
  EXPECT_EQ(hub_requests[1].target, "/back");
  EXPECT_EQ(hub_requests[1].header("authorization"), "Bearer " + token);
}

TEST(HttpClient, SendsNoTokenWithoutATokenOrigin) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "x", {}}; });
  ClientOptions options = options_for(server);
  options.token_origin.clear();
  Client client(options);
  client.get(server.url("/x"));
  EXPECT_EQ(server.requests().at(0).header("authorization"), std::nullopt);
}

TEST(HttpClient, StopsAfterTenRedirects) {
  HttpServer server([](const HttpRequest& request) {
    return HttpReply{302, {{"Location", request.target + "x"}}, "", {}};
  });
  Client client(options_for(server));
  try {
    client.get(server.url("/loop"));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::network);
    EXPECT_EQ(error.summary(), "too many redirects");
  }
  EXPECT_EQ(server.requests().size(), 11u);
}

TEST(HttpClient, ReportsTransportFailuresWithoutSecrets) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "x", {}}; });
  ClientOptions options = options_for(server);
  options.token_origin = "http://127.0.0.1:" + std::to_string(closed_port());
  Client client(options);
  const std::string url = options.token_origin + "/f?Signature=secret";
  try {
    client.get(url);
    FAIL() << "no error";
  } catch (const hfmodels::http::TransportError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::network);
    const std::string message = error.what();
    EXPECT_NE(message.find(options.token_origin + "/f"), std::string::npos) << message;
    EXPECT_EQ(message.find("secret"), std::string::npos) << message;
    EXPECT_EQ(message.find(token), std::string::npos) << message;
  }
}

TEST(HttpClient, ReportsCutConnectionsAsTransportErrors) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, make_body(1000), 100}; });
  Client client(options_for(server));
  EXPECT_THROW(client.get(server.url("/f")), hfmodels::http::TransportError);
}

TEST(HttpClient, VerboseTraceRedactsTheToken) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "x", {}}; });
  ClientOptions options = options_for(server);
  std::string trace;
  options.trace = [&trace](std::string_view line) { (trace += line) += "\n"; };
  Client client(options);
  client.get(server.url("/x"));
  EXPECT_NE(trace.find("Authorization: Bearer ***"), std::string::npos) << trace;
  EXPECT_NE(trace.find("> GET /x"), std::string::npos) << trace;
  EXPECT_EQ(trace.find(token), std::string::npos) << trace;
}

} // namespace
