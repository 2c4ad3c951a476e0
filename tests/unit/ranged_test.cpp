// SPDX-License-Identifier: MIT
// Parallel ranged downloads (transfer/ranged.hpp) against a fake Hub and CDN on real sockets: a
// Hub origin that redirects `/resolve/` to a CDN origin, as huggingface.co does.
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "http/client.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "transfer/ranged.hpp"
#include "util/cancel.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ExitCode;
using hfmodels::http::Client;
using hfmodels::http::ClientOptions;
using hfmodels::test::HttpReply;
using hfmodels::test::HttpRequest;
using hfmodels::test::HttpServer;
using hfmodels::transfer::Connections;
using hfmodels::transfer::RangedTuning;

const std::string token = "hf_secretTOKEN123";
constexpr std::uint64_t piece = 64u << 10;

// Bytes that differ along the file, so a segment written at the wrong offset shows.
std::string make_body(std::size_t size) {
  std::string body(size, '\0');
  std::uint32_t state = 2463534242u;
  for (auto& c : body) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<char>(state & 0xff);
  }
  return body;
}

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// `bytes=a-b` or `bytes=a-`, clamped to `size`.
std::optional<ByteRange> parse_range(const HttpRequest& request, std::uint64_t size) {
  const auto header = request.header("range");
  if (!header || !header->starts_with("bytes=")) {
    return std::nullopt;
  }
  const std::string spec = header->substr(6);
  const auto dash = spec.find('-');
  ByteRange range;
  range.first = std::stoull(spec.substr(0, dash));
  range.last = dash + 1 < spec.size() ? std::stoull(spec.substr(dash + 1)) : size - 1;
  range.last = std::min<std::uint64_t>(range.last, size - 1);
  return range;
}

// What a CDN answers: 206 with Content-Range for a Range, 200 with everything without one.
HttpReply serve(const HttpRequest& request, const std::string& body,
                std::optional<std::size_t> cut = std::nullopt) {
  const auto range = parse_range(request, body.size());
  if (!range) {
    return HttpReply{200, {}, body, cut};
  }
  if (range->first >= body.size()) {
    return HttpReply{416, {{"Content-Range", "bytes */" + std::to_string(body.size())}}, "", {}};
  }
  return HttpReply{
      206,
      {{"Content-Range", "bytes " + std::to_string(range->first) + "-" +
                             std::to_string(range->last) + "/" + std::to_string(body.size())}},
      body.substr(range->first, range->last - range->first + 1),
      cut};
}

bool from_extra(const HttpRequest& request) {
  return request.header("user-agent") == "extra";
}

// The test server answers one connection at a time, and a small file is quick: slowed down, the
// caller's connection cannot fetch every segment before the extra ones have asked for theirs.
void slow_down_keeper(const HttpRequest& request) {
  if (!from_extra(request)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

class Ranged : public testing::Test {
protected:
  void SetUp() override {
    m_dir = hfmodels::test::make_temp_dir("ranged");
    m_tuning.threshold = 4 * piece;
    m_tuning.piece_size = piece;
    m_tuning.parts = 4;
    m_tuning.retry.base = std::chrono::milliseconds(2);
    m_tuning.retry.cap = std::chrono::milliseconds(10);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // Private temporaries are opened read-write, as HubCache opens them: the hasher reads back.
  hfmodels::cache::TempBlob make_temp(const std::string& prefix = {}) {
    const fs::path path = m_dir / "blob.incomplete";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    if (!prefix.empty()) {
      EXPECT_EQ(::write(fd, prefix.data(), prefix.size()), static_cast<ssize_t>(prefix.size()));
    }
    return hfmodels::cache::TempBlob(path, fd);
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static hfmodels::transfer::Expected expect(const std::string& body) {
    hfmodels::transfer::Expected expected;
    expected.size = body.size();
    expected.sha256 = hfmodels::hash::sha256_hex(body);
    return expected;
  }

  // The caller's client ("keeper") carries the token for the Hub; the extra connections
  // identify themselves as "extra" so the fake CDN can turn just them away.
  static ClientOptions options(const HttpServer& hub, const std::string& agent) {
    ClientOptions options;
    options.user_agent = agent;
    options.token = token;
    options.token_origin = hub.origin();
    options.connect_timeout_seconds = 5;
    options.idle_timeout_seconds = 5;
    return options;
  }

  // A Hub whose `/resolve/` answers a 302 to `cdn` (a new signature per request).
  static HttpServer::Handler hub_redirecting_to(const HttpServer& cdn) {
    auto signature = std::make_shared<std::atomic<int>>(0);
    return [&cdn, signature](const HttpRequest&) {
      return HttpReply{
          302,
          {{"Location", cdn.url("/cdn/model.bin?sig=" + std::to_string(++*signature))}},
          "",
          {}};
    };
  }

  hfmodels::transfer::Downloaded fetch(const HttpServer& hub, Connections& connections,
                                       hfmodels::cache::TempBlob& temp,
                                       const hfmodels::transfer::Expected& expected,
                                       const hfmodels::transfer::ProgressFn& progress = {}) {
    Client keeper(options(hub, "keeper"));
    return hfmodels::transfer::download_ranged(keeper, connections, hub.url("/resolve/model.bin"),
                                               temp, expected, "org/model/model.bin", progress);
  }

  fs::path m_dir;
  RangedTuning m_tuning;
};

std::size_t count_if(const std::vector<HttpRequest>& requests, auto predicate) {
  return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), predicate));
}

TEST_F(Ranged, FetchesSegmentsOverSeveralConnectionsWithIdenticalBytes) {
  const std::string body = make_body(17 * piece + 4321);
  HttpServer cdn([&](const HttpRequest& request) {
    slow_down_keeper(request);
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  std::vector<std::uint64_t> reported;
  std::mutex reported_mutex;

  const auto result = fetch(hub, connections, temp, expect(body), [&](std::uint64_t bytes) {
    const std::lock_guard lock(reported_mutex);
    reported.push_back(bytes);
  });

  EXPECT_EQ(result.size, body.size());
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // Four connections, four segments of about a quarter each, starting at multiples of the
  // piece size. The Hub saw one request, for the first segment, with the token; the CDN never
  // saw the token.
  const auto hub_requests = hub.requests();
  ASSERT_EQ(hub_requests.size(), 1u);
  EXPECT_EQ(hub_requests[0].header("range"), "bytes=0-327679");
  EXPECT_EQ(hub_requests[0].header("authorization"), "Bearer " + token);
  const auto cdn_requests = cdn.requests();
  EXPECT_EQ(count_if(cdn_requests, [](const HttpRequest& r) { return r.header("authorization"); }),
            0u);
  EXPECT_GT(count_if(cdn_requests, from_extra), 0u);
  std::set<std::string> ranges;
  for (const auto& request : cdn_requests) {
    ranges.insert(request.header("range").value_or(""));
  }
  EXPECT_EQ(ranges, (std::set<std::string>{"bytes=0-327679", "bytes=327680-655359",
                                           "bytes=655360-983039", "bytes=983040-1118432"}));
  EXPECT_EQ(connections.parts(), 4u);
  // Progress never goes back and ends at the size.
  ASSERT_FALSE(reported.empty());
  EXPECT_TRUE(std::is_sorted(reported.begin(), reported.end()));
  EXPECT_EQ(reported.back(), body.size());
}

TEST_F(Ranged, ConnectionsAreReusedAcrossFilesAndBudgeted) {
  const std::string body = make_body(8 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 1, m_tuning); // one extra for everything
  for (int file = 0; file < 2; ++file) {
    auto temp = make_temp();
    EXPECT_EQ(fetch(hub, connections, temp, expect(body)).sha256, hfmodels::hash::sha256_hex(body));
    EXPECT_TRUE(read(temp.path()) == body);
  }
  EXPECT_EQ(connections.acquire(5).size(), 1u); // the budget came back, and only it
}

TEST_F(Ranged, WritersFarAheadOfTheHashWaitForIt) {
  // A backlog limit below what the connections hold in flight: writers wait for the hasher
  // again and again, and must never wait for each other.
  m_tuning.max_unhashed = piece / 2;
  const std::string body = make_body(24 * piece + 99);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto start = std::chrono::steady_clock::now();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // A wait that no hashed byte ended would run into its 1 s deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

TEST_F(Ranged, SmallFileIsOneStream) {
  const std::string body = make_body(3 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  EXPECT_EQ(fetch(hub, connections, temp, expect(body)).sha256, hfmodels::hash::sha256_hex(body));
  ASSERT_EQ(cdn.requests().size(), 1u);
  EXPECT_FALSE(cdn.requests()[0].header("range"));
}

TEST_F(Ranged, ServerThatIgnoresRangeIsFetchedAsOneStream) {
  const std::string body = make_body(6 * piece + 7);
  HttpServer cdn([&](const HttpRequest&) { return HttpReply{200, {}, body, {}}; });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // The first (ranged) answer was a 200: the extras never asked; the plain stream did.
  EXPECT_EQ(count_if(cdn.requests(), from_extra), 0u);
  EXPECT_EQ(cdn.requests().size(), 2u);
}

TEST_F(Ranged, ExtraConnectionsTurnedAwayWith429RetireAndTheFileCompletes) {
  const std::string body = make_body(12 * piece);
  HttpServer cdn([&](const HttpRequest& request) {
    if (from_extra(request)) {
      return HttpReply{429, {{"Retry-After", "1"}}, "slow down", {}};
    }
    slow_down_keeper(request);
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // Each extra asked once and left; the next file opens no more than the server accepted.
  const auto turned_away = count_if(cdn.requests(), from_extra);
  EXPECT_GE(turned_away, 1u);
  EXPECT_LE(turned_away, 3u);
  EXPECT_EQ(connections.parts(), 4 - turned_away);
}

TEST_F(Ranged, ExtraConnectionsTurnedAwayWith403ResolveOnceThenRetire) {
  const std::string body = make_body(12 * piece);
  HttpServer cdn([&](const HttpRequest& request) {
    if (from_extra(request)) {
      return HttpReply{403, {}, "forbidden", {}};
    }
    slow_down_keeper(request);
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // An extra's 403 might be an expired URL: a fresh one is asked of the Hub, and an extra that
  // gets 403 with it too leaves. Each of the 3 extras asks the CDN at most twice.
  const auto extra_cdn = count_if(cdn.requests(), from_extra);
  const auto extra_hub = count_if(hub.requests(), from_extra);
  EXPECT_GE(extra_hub, 1u);
  EXPECT_LE(extra_hub, 3u);
  EXPECT_GE(extra_cdn, extra_hub);
  EXPECT_LE(extra_cdn, 6u);
  EXPECT_LT(connections.parts(), 4u);
}

TEST_F(Ranged, PassingServerErrorOnAnExtraConnectionIsRetried) {
  const std::string body = make_body(12 * piece);
  std::atomic<int> errors{0};
  HttpServer cdn([&](const HttpRequest& request) {
    if (from_extra(request) && ++errors <= 2) {
      return HttpReply{502, {}, "bad gateway", {}};
    }
    slow_down_keeper(request);
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // A 502 is not a refusal: the connection waits, asks again, and stays.
  EXPECT_GE(errors.load(), 2);
  EXPECT_EQ(connections.parts(), 4u);
}

TEST_F(Ranged, ExpiredSignedUrlIsResolvedAgain) {
  const std::string body = make_body(12 * piece);
  std::atomic<int> served{0};
  HttpServer cdn([&](const HttpRequest& request) {
    // The first signature expires after three answers.
    if (request.target.ends_with("sig=1") && ++served > 3) {
      return HttpReply{403, {}, "Request has expired", {}};
    }
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  EXPECT_GE(hub.requests().size(), 2u);
  // A fresh URL worked: no connection was retired.
  EXPECT_EQ(connections.parts(), 4u);
}

TEST_F(Ranged, CutConnectionResumesTheSegmentWhereItStopped) {
  // Four segments: [0, 3p), [3p, 6p), [6p, 9p), [9p, 10p). The second is cut after 1000 bytes.
  const std::string body = make_body(10 * piece);
  const std::string cut_range =
      "bytes=" + std::to_string(3 * piece) + "-" + std::to_string(6 * piece - 1);
  std::atomic<bool> cut{false};
  HttpServer cdn([&](const HttpRequest& request) {
    if (request.header("range") == cut_range && !cut.exchange(true)) {
      return serve(request, body, 1000);
    }
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  EXPECT_TRUE(cut.load());
  const std::string resumed =
      "bytes=" + std::to_string(3 * piece + 1000) + "-" + std::to_string(6 * piece - 1);
  EXPECT_EQ(
      count_if(cdn.requests(), [&](const HttpRequest& r) { return r.header("range") == resumed; }),
      1u);
  EXPECT_EQ(connections.parts(), 4u);
}

TEST_F(Ranged, ConnectionThatFreesUpTakesHalfOfTheRunningSegment) {
  // No extra connection at the start: the file is one segment, one request for all of it. A
  // connection given back while it runs (another file finished) takes over its second half.
  const std::string body = make_body(64 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 0, m_tuning);
  auto temp = make_temp();
  std::atomic<bool> lent{false};
  const auto result = fetch(hub, connections, temp, expect(body), [&](std::uint64_t bytes) {
    if (bytes > 0 && !lent.exchange(true)) {
      connections.release(std::make_unique<Client>(options(hub, "extra")));
    }
    // The file's next block picks the connection up, and its thread splits at once. Slowed
    // down here, the first request cannot reach the end before that.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  ASSERT_EQ(hub.requests().size(), 1u);
  EXPECT_EQ(hub.requests()[0].header("range"), "bytes=0-" + std::to_string(body.size() - 1));
  // The extra asked for a tail of the file from a multiple of the piece size; the first request
  // stopped there (or the extra took the rest of the tail in more splits).
  const auto requests = cdn.requests();
  ASSERT_GE(count_if(requests, from_extra), 1u);
  for (const auto& request : requests) {
    if (from_extra(request)) {
      const auto range = parse_range(request, body.size());
      ASSERT_TRUE(range);
      EXPECT_EQ(range->first % piece, 0u);
      EXPECT_GT(range->first, 0u);
    }
  }
  // It went back to the budget when the file was done.
  EXPECT_EQ(connections.available(), 1u);
}

TEST_F(Ranged, FailureLeavesOnlyTheCompletePrefix) {
  const std::string body = make_body(16 * piece);
  // Four segments of 4 pieces; the second one is gone.
  const std::string missing = "bytes=" + std::to_string(4 * piece) + "-";
  HttpServer cdn([&](const HttpRequest& request) {
    if (request.header("range").value_or("").starts_with(missing)) {
      return HttpReply{404, {}, "gone", {}};
    }
    return serve(request, body);
  });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  try {
    fetch(hub, connections, temp, expect(body));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::network);
  }
  // No holes: what is left is a prefix of the file, at most up to the missing segment, which
  // the next run (or Python resuming blobs/<etag>.incomplete by length) can continue.
  const std::string left = read(temp.path());
  EXPECT_LE(left.size(), 4 * piece);
  EXPECT_TRUE(body.starts_with(left));
}

TEST_F(Ranged, ResumesFromAnExistingPrefix) {
  const std::string body = make_body(8 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp(body.substr(0, 100000));
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // The missing 424,288 bytes in segments of about a quarter, ends rounded up to a multiple of
  // the piece size: three are enough. The first request goes through the Hub to the CDN.
  EXPECT_EQ(hub.requests()[0].header("range"), "bytes=100000-262143");
  EXPECT_EQ(cdn.requests().size(), 3u);
}

TEST_F(Ranged, LeftoverOfAKilledDownloadResumesAtItsFirstHole) {
  // A ranged download killed with SIGKILL cannot cut its file back: segments past the complete
  // prefix are there, with a hole where a segment was still missing.
  const std::string body = make_body(8 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp(body.substr(0, piece));
  const std::string third = body.substr(2 * piece, piece);
  ASSERT_EQ(::pwrite(temp.fd(), third.data(), third.size(), 2 * piece),
            static_cast<ssize_t>(third.size()));
  if (::lseek(temp.fd(), 0, SEEK_HOLE) != static_cast<off_t>(piece)) {
    GTEST_SKIP() << "the temporary directory's file system does not report holes";
  }
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
  // Cut at the hole, less the block before it (where a segment may have stopped mid-block), and
  // continued from there: no second download of the whole file.
  EXPECT_EQ(hub.requests()[0].header("range"), "bytes=61440-196607");
  EXPECT_EQ(cdn.requests().size(), 4u);
}

TEST_F(Ranged, BadLeftoverIsCaughtByTheHashAndFetchedAgain) {
  // What a SIGKILLed ranged download may leave: segments past the prefix, zeros between them.
  const std::string body = make_body(8 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  std::string leftover = body.substr(0, 3 * piece);
  std::fill(leftover.begin() + piece, leftover.begin() + 2 * piece, '\0');
  auto temp = make_temp(leftover);
  const auto result = fetch(hub, connections, temp, expect(body));
  EXPECT_EQ(result.sha256, hfmodels::hash::sha256_hex(body));
  EXPECT_TRUE(read(temp.path()) == body);
}

TEST_F(Ranged, HashMismatchIsAnIntegrityErrorAfterOneMoreTry) {
  const std::string body = make_body(8 * piece);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  auto expected = expect(body);
  expected.sha256 = std::string(64, '0');
  try {
    fetch(hub, connections, temp, expected);
    FAIL() << "expected an integrity error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::integrity);
    EXPECT_NE(error.why().find(hfmodels::hash::sha256_hex(body)), std::string::npos);
    EXPECT_NE(error.why().find("tried 2 times"), std::string::npos);
  }
  // Four segments, twice.
  EXPECT_EQ(cdn.requests().size(), 8u);
}

TEST_F(Ranged, OtherSizeOnTheServerIsAnIntegrityError) {
  const std::string body = make_body(8 * piece + 1);
  HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
  HttpServer hub(hub_redirecting_to(cdn));
  Connections connections(options(hub, "extra"), 8, m_tuning);
  auto temp = make_temp();
  auto expected = expect(body);
  expected.size = body.size() - 1;
  try {
    fetch(hub, connections, temp, expected);
    FAIL() << "expected an integrity error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::integrity);
    EXPECT_NE(error.why().find(std::to_string(body.size())), std::string::npos);
  }
}

TEST_F(Ranged, CancellationLeavesAValidPrefix) {
  // Ctrl-C sets a process-wide flag that nothing resets: run in a child process.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto child = [this] {
    const std::string body = make_body(32 * piece);
    HttpServer cdn([&](const HttpRequest& request) { return serve(request, body); });
    HttpServer hub(hub_redirecting_to(cdn));
    Connections connections(options(hub, "extra"), 8, m_tuning);
    auto temp = make_temp();
    try {
      fetch(hub, connections, temp, expect(body), [](std::uint64_t bytes) {
        if (bytes > 10 * piece) {
          hfmodels::util::request_cancel(SIGINT);
        }
      });
    } catch (const hfmodels::util::Cancelled&) {
      // Segments past the complete prefix were in the file; they are cut off. (The prefix may
      // be empty on a busy machine, where the first segment's connection may be the slowest, or
      // the whole file, where the last bytes came in before the cancel was seen.)
      const std::string left = read(temp.path());
      if (body.starts_with(left)) {
        std::exit(0);
      }
      std::fprintf(stderr, "left %zu bytes, not a prefix\n", left.size());
      std::exit(2);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "%s\n", error.what());
      std::exit(3);
    }
    std::exit(4); // finished despite the cancel
  };
  EXPECT_EXIT(child(), testing::ExitedWithCode(0), "");
}

} // namespace
