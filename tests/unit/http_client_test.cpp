// SPDX-License-Identifier: MIT
// The libcurl client and the download loop against real sockets (tests/unit/support).
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "http/client.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "transfer/download.hpp"
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
using hfmodels::ExitCode;
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

Response collect(Client& client, const std::string& url, std::string& body,
                 std::uint64_t range_from = 0) {
  return client.download(url, range_from, [&body](const char* data, std::size_t size) {
    body.append(data, size);
    return true;
  });
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

TEST(HttpClient, DownloadsAskForTheBytesAsTheyAre) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "bytes", {}}; });
  Client client(options_for(server));
  std::string body;
  collect(client, server.url("/f"), body);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  // Identity bodies only: Content-Length and Range must mean real bytes (§3.6).
  EXPECT_EQ(requests[0].header("accept-encoding"), std::nullopt);
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
    client.get(server.url("/big"), 1000);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
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
  std::string body;
  const Response response = collect(client, server.url("/org/old/resolve/main/f"), body);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body, "content of /api/final?x=1"); // redirect bodies are discarded
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
  std::string body;
  const Response response = collect(client, hub.url("/org/m/resolve/main/model.bin"), body, 10);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body, "bytes from /blob?Signature=s3cr3t");
  EXPECT_EQ(response.headers.get("etag"), "\"cdn\"");
  const auto hub_requests = hub.requests();
  const auto cdn_requests = cdn.requests();
  ASSERT_EQ(hub_requests.size(), 1u);
  ASSERT_EQ(cdn_requests.size(), 1u);
  EXPECT_EQ(hub_requests[0].header("authorization"), "Bearer " + token);
  EXPECT_EQ(cdn_requests[0].header("authorization"), std::nullopt);
  // The Range goes to every hop: the CDN is the one that serves the bytes.
  EXPECT_EQ(hub_requests[0].header("range"), "bytes=10-");
  EXPECT_EQ(cdn_requests[0].header("range"), "bytes=10-");
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
    EXPECT_EQ(error.code(), ExitCode::network);
    EXPECT_EQ(error.summary(), "too many redirects");
  }
  EXPECT_EQ(server.requests().size(), 11u);
}

TEST(HttpClient, StreamsLargeBodiesToTheSink) {
  const std::string content = make_body(3u << 20);
  HttpServer server([&content](const HttpRequest&) { return HttpReply{200, {}, content, {}}; });
  Client client(options_for(server));
  std::string body;
  std::size_t calls = 0;
  const Response response =
      client.download(server.url("/f"), 0, [&](const char* data, std::size_t size) {
        body.append(data, size);
        ++calls;
        return true;
      });
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(body, content);
  EXPECT_GT(calls, 1u);
}

TEST(HttpClient, KeepsErrorBodiesOfDownloadsOutOfTheSink) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{403, {}, "{\"error\":\"forbidden\"}", {}};
  });
  Client client(options_for(server));
  bool sink_called = false;
  bool start_called = false;
  const Response response = client.download(
      server.url("/f"), 0,
      [&](const char*, std::size_t) {
        sink_called = true;
        return true;
      },
      [&](long, const hfmodels::http::Headers&) {
        start_called = true;
        return true;
      });
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.body, "{\"error\":\"forbidden\"}");
  EXPECT_FALSE(sink_called);
  EXPECT_FALSE(start_called);
}

TEST(HttpClient, SinkReturningFalseAborts) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, make_body(1 << 20), {}}; });
  Client client(options_for(server));
  EXPECT_THROW(client.download(server.url("/f"), 0, [](const char*, std::size_t) { return false; }),
               Error);
}

TEST(HttpClient, RethrowsExceptionsFromCallbacks) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "abc", {}}; });
  Client client(options_for(server));
  try {
    client.download(server.url("/f"), 0, [](const char*, std::size_t) -> bool {
      throw Error(ExitCode::failure, "disk full");
    });
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.summary(), "disk full");
  }
  // The handle is still usable afterwards.
  EXPECT_EQ(client.get(server.url("/g")).body, "abc");
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
    EXPECT_EQ(error.code(), ExitCode::network);
    const std::string message = error.what();
    EXPECT_NE(message.find(options.token_origin + "/f"), std::string::npos) << message;
    EXPECT_EQ(message.find("secret"), std::string::npos) << message;
    EXPECT_EQ(message.find(token), std::string::npos) << message;
  }
}

TEST(HttpClient, ReportsCutConnectionsAsTransportErrors) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, make_body(1000), 100}; });
  Client client(options_for(server));
  std::string body;
  EXPECT_THROW(collect(client, server.url("/f"), body), hfmodels::http::TransportError);
  EXPECT_EQ(body.size(), 100u);
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

// --- transfer::download ---------------------------------------------------------------------

class Download : public testing::Test {
protected:
  void SetUp() override { m_dir = hfmodels::test::make_temp_dir("download"); }
  void TearDown() override { fs::remove_all(m_dir); }

  hfmodels::cache::TempBlob make_temp() {
    const fs::path path = m_dir / "blob.incomplete";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    return hfmodels::cache::TempBlob(path, fd);
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static hfmodels::transfer::Expected expect(const std::string& content) {
    hfmodels::transfer::Expected expected;
    expected.size = content.size();
    expected.sha256 = hfmodels::hash::sha256_hex(content);
    return expected;
  }

  // Serves `content` with Range support; the answer to request number i (from 0) is cut after
  // cuts[i] body bytes when given. `ignore_range` makes ranged requests get a full 200.
  static HttpReply serve_range(const HttpRequest& request, const std::string& content,
                               std::optional<std::size_t> cut, bool ignore_range = false) {
    const auto range = request.header("range");
    if (!range || ignore_range) {
      return HttpReply{200, {}, content, cut};
    }
    const std::size_t from = std::stoul(range->substr(std::string("bytes=").size()));
    if (from >= content.size()) {
      return HttpReply{
          416, {{"Content-Range", "bytes */" + std::to_string(content.size())}}, "", {}};
    }
    return HttpReply{206,
                     {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                            std::to_string(content.size() - 1) + "/" +
                                            std::to_string(content.size())}},
                     content.substr(from),
                     cut};
  }

  fs::path m_dir;
};

TEST_F(Download, StreamsIntoTheTempBlobAndHashes) {
  const std::string content = "Hello, World!";
  HttpServer server([&](const HttpRequest&) { return HttpReply{200, {}, content, {}}; });
  Client client(options_for(server));
  auto temp = make_temp();
  auto expected = expect(content);
  expected.git_sha1 = "b45ef6fec89518d314f546fd6c3025367b721684"; // docs/hub-protocol.md §4
  std::vector<std::uint64_t> progress;
  const auto result =
      hfmodels::transfer::download(client, server.url("/f"), temp, expected, "m/f",
                                   [&progress](std::uint64_t bytes) { progress.push_back(bytes); });
  EXPECT_EQ(result.size, content.size());
  EXPECT_EQ(result.sha256, *expected.sha256);
  EXPECT_EQ(read(temp.path()), content);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), content.size());
}

TEST_F(Download, ResumesFromTheResolveUrlAfterACutConnection) {
  const std::string content = make_body(200000);
  std::atomic<int> cdn_calls{0};
  HttpServer cdn([&](const HttpRequest& request) {
    const int call = cdn_calls++;
    return serve_range(request, content,
                       call == 0 ? std::optional<std::size_t>(70000) : std::nullopt);
  });
  std::atomic<int> signature{0};
  HttpServer hub([&](const HttpRequest&) {
    // A fresh signed URL per resolve, as the Hub does.
    return HttpReply{
        302, {{"Location", cdn.url("/blob?sig=" + std::to_string(signature++))}}, "", {}};
  });
  Client client(options_for(hub));
  auto temp = make_temp();
  const auto result = hfmodels::transfer::download(client, hub.url("/m/resolve/main/f"), temp,
                                                   expect(content), "m/f", {});
  EXPECT_EQ(result.size, content.size());
  EXPECT_EQ(read(temp.path()), content);
  const auto cdn_requests = cdn.requests();
  ASSERT_EQ(cdn_requests.size(), 2u);
  EXPECT_EQ(cdn_requests[0].header("range"), std::nullopt);
  EXPECT_EQ(cdn_requests[1].header("range"), "bytes=70000-");
  EXPECT_EQ(cdn_requests[1].target, "/blob?sig=1"); // re-resolved, not the expired URL
  EXPECT_EQ(hub.requests().size(), 2u);
  EXPECT_EQ(cdn_requests[1].header("authorization"), std::nullopt);
}

TEST_F(Download, RestartsFromZeroWhenARangeIsAnsweredWith200) {
  const std::string content = make_body(100000);
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpRequest& request) {
    const int call = calls++;
    return serve_range(request, content,
                       call == 0 ? std::optional<std::size_t>(30000) : std::nullopt,
                       /*ignore_range=*/true);
  });
  Client client(options_for(server));
  auto temp = make_temp();
  std::vector<std::uint64_t> progress;
  const auto result =
      hfmodels::transfer::download(client, server.url("/f"), temp, expect(content), "m/f",
                                   [&progress](std::uint64_t bytes) { progress.push_back(bytes); });
  EXPECT_EQ(result.size, content.size());
  EXPECT_EQ(read(temp.path()), content); // replaced, never appended
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].header("range"), "bytes=30000-");
  EXPECT_NE(std::find(progress.begin(), progress.end(), 0u), progress.end());
}

TEST_F(Download, RefusesA206ForTheWrongRange) {
  const std::string content = make_body(1000);
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpRequest&) {
    if (calls++ == 0) {
      return HttpReply{200, {}, content, 100};
    }
    return HttpReply{206, {{"Content-Range", "bytes 0-999/1000"}}, content, {}};
  });
  Client client(options_for(server));
  auto temp = make_temp();
  try {
    hfmodels::transfer::download(client, server.url("/f"), temp, expect(content), "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
    EXPECT_NE(std::string(error.what()).find("bytes 0-999/1000"), std::string::npos);
    EXPECT_EQ(error.subject(), "m/f");
  }
}

TEST_F(Download, Reports416Clearly) {
  const std::string content = make_body(1000);
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpRequest&) {
    if (calls++ == 0) {
      return HttpReply{200, {}, content, 500};
    }
    return HttpReply{416, {{"Content-Range", "bytes */400"}}, "", {}};
  });
  Client client(options_for(server));
  auto temp = make_temp();
  try {
    hfmodels::transfer::download(client, server.url("/f"), temp, expect(content), "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
    const std::string message = error.what();
    EXPECT_NE(message.find("bytes 500-"), std::string::npos) << message;
    EXPECT_NE(message.find("416"), std::string::npos) << message;
    EXPECT_NE(message.find("bytes */400"), std::string::npos) << message;
  }
}

TEST_F(Download, HashMismatchIsAnIntegrityError) {
  const std::string content = make_body(5000);
  HttpServer server([&](const HttpRequest&) { return HttpReply{200, {}, content, {}}; });
  Client client(options_for(server));
  auto temp = make_temp();
  const auto expected = expect(make_body(4999) + "!");
  try {
    hfmodels::transfer::download(client, server.url("/f"), temp, expected, "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::integrity);
    EXPECT_EQ(error.summary(), "downloaded file does not match the lockfile");
    EXPECT_EQ(error.subject(), "m/f");
    // Downloaded once more from zero before giving up (a flipped byte may be transient).
    EXPECT_EQ(error.why(), "expected sha256 " + *expected.sha256 + " (5000 bytes), got " +
                               hfmodels::hash::sha256_hex(content) +
                               " (5000 bytes) (tried 2 times)");
  }
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(Download, GitBlobMismatchIsAnIntegrityError) {
  HttpServer server([&](const HttpRequest&) { return HttpReply{200, {}, "Hello, World?", {}}; });
  Client client(options_for(server));
  auto temp = make_temp();
  hfmodels::transfer::Expected expected;
  expected.size = 13;
  expected.git_sha1 = "b45ef6fec89518d314f546fd6c3025367b721684";
  try {
    hfmodels::transfer::download(client, server.url("/f"), temp, expected, "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::integrity);
    EXPECT_NE(error.why().find("expected git blob id b45ef6f"), std::string::npos) << error.why();
  }
}

TEST_F(Download, TooManyBytesStopEarly) {
  const std::string content = make_body(100000);
  HttpServer server([&](const HttpRequest&) { return HttpReply{200, {}, content, {}}; });
  Client client(options_for(server));
  auto temp = make_temp();
  hfmodels::transfer::Expected expected;
  expected.size = 10;
  try {
    hfmodels::transfer::download(client, server.url("/f"), temp, expected, "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::integrity);
  }
  EXPECT_LE(fs::file_size(temp.path()), 10u);
}

TEST_F(Download, HubErrorsNameTheSubject) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{404,
                     {{"X-Error-Code", "EntryNotFound"},
                      {"X-Error-Message", "Entry not found"},
                      {"X-Request-Id", "Root=1-abc"}},
                     "",
                     {}};
  });
  Client client(options_for(server));
  auto temp = make_temp();
  try {
    hfmodels::transfer::download(client, server.url("/m/resolve/main/f"), temp, {}, "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
    EXPECT_EQ(error.summary(), "file not found in the repository");
    EXPECT_EQ(error.subject(), "m/f");
    EXPECT_NE(error.why().find("Entry not found"), std::string::npos);
    EXPECT_NE(error.why().find("Root=1-abc"), std::string::npos);
  }
}

TEST_F(Download, ConnectionFailuresAreNotRetried) {
  HttpServer unused([](const HttpRequest&) { return HttpReply{}; });
  Client client(options_for(unused));
  auto temp = make_temp();
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/f";
  try {
    hfmodels::transfer::download(client, url, temp, {}, "m/f", {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
    EXPECT_EQ(error.subject(), "m/f");
  }
}

} // namespace
