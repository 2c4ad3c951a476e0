// SPDX-License-Identifier: MIT
// The retry policy (docs/hub-and-cache.md §7.4, §7.5), and the API calls and downloads that use it,
// against scripted servers (tests/unit/support). Sleeps are injected or shortened, so the
// back-off is checked without waiting for it.
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "http/client.hpp"
#include "http/retry.hpp"
#include "hub/client.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::http::backoff_delay;
using hfmodels::http::Client;
using hfmodels::http::ClientOptions;
using hfmodels::http::Headers;
using hfmodels::http::is_transient_status;
using hfmodels::http::requested_delay;
using hfmodels::http::Retrier;
using hfmodels::http::RetryPolicy;
using hfmodels::test::HttpReply;
using hfmodels::test::HttpRequest;
using hfmodels::test::HttpServer;
using std::chrono::milliseconds;

const std::string commit = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
const hfmodels::hub::RepoRef repo{hfmodels::hub::RepoType::model, "org/model"};

Headers headers(std::vector<std::pair<std::string, std::string>> values) {
  Headers result;
  for (const auto& [name, value] : values) {
    result.add(name, value);
  }
  return result;
}

// A Retrier that records its waits instead of sleeping, with the jitter fixed at the middle
// (exactly the nominal back-off).
struct Recorder {
  std::vector<milliseconds> waits;
  Retrier make(RetryPolicy policy = {}) {
    return Retrier(
        policy, {}, [this](milliseconds wait) { waits.push_back(wait); }, [] { return 0.5; });
  }
};

// Real sleeps, but short: for the tests that go through a client over sockets.
RetryPolicy fast_policy() {
  RetryPolicy policy;
  policy.base = milliseconds(1);
  policy.cap = milliseconds(4);
  return policy;
}

TEST(Retry, TransientStatuses) {
  for (const long status : {408L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_TRUE(is_transient_status(status)) << status;
  }
  // Asking again cannot change these.
  for (const long status : {200L, 206L, 400L, 401L, 403L, 404L, 416L, 501L}) {
    EXPECT_FALSE(is_transient_status(status)) << status;
  }
}

TEST(Retry, BackoffDoublesUpToTheCapWithJitter) {
  const RetryPolicy policy;
  const std::vector<long> nominal = {1000, 2000, 4000, 8000, 8000, 8000};
  for (std::size_t retry = 0; retry < nominal.size(); ++retry) {
    const int n = static_cast<int>(retry);
    EXPECT_EQ(backoff_delay(policy, n, 0.5).count(), nominal[retry]) << retry;
    EXPECT_EQ(backoff_delay(policy, n, 0.0).count(), nominal[retry] * 3 / 4) << retry;
    EXPECT_EQ(backoff_delay(policy, n, 1.0).count(), nominal[retry] * 5 / 4) << retry;
  }
}

TEST(Retry, ServerDelays) {
  EXPECT_EQ(requested_delay(headers({})), std::nullopt);
  EXPECT_EQ(requested_delay(headers({{"Retry-After", "3"}})), milliseconds(3000));
  EXPECT_EQ(requested_delay(headers({{"Retry-After", "0"}})), milliseconds(0));
  EXPECT_EQ(requested_delay(headers({{"Retry-After", " 1.5 "}})), milliseconds(1500));
  // HTTP dates and junk are ignored, as Python does.
  EXPECT_EQ(requested_delay(headers({{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}})),
            std::nullopt);
  EXPECT_EQ(requested_delay(headers({{"Retry-After", "-1"}})), std::nullopt);
  EXPECT_EQ(requested_delay(headers({{"Retry-After", "1e9"}})), std::nullopt);
  // The Hub's RateLimit header: t + 1 s when nothing remains, and it wins over Retry-After.
  EXPECT_EQ(requested_delay(headers({{"RateLimit", "\"resolvers\";r=0;t=4"}})), milliseconds(5000));
  EXPECT_EQ(requested_delay(headers({{"RateLimit", "\"api\";r=0;t=2"}, {"Retry-After", "30"}})),
            milliseconds(3000));
  // Sent on every answer: with requests remaining it asks for nothing.
  EXPECT_EQ(requested_delay(headers({{"RateLimit", "\"resolvers\";r=2998;t=172"}})), std::nullopt);
  EXPECT_EQ(requested_delay(headers({{"RateLimit", "\"resolvers\";r=12;t=100, \"api\";r=0;t=7"}})),
            milliseconds(8000));
}

TEST(Retry, RetrierWaitsFiveTimesThenGivesUp) {
  Recorder recorder;
  Retrier retrier = recorder.make();
  EXPECT_EQ(retrier.attempts(), 1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(retrier.next());
  }
  EXPECT_FALSE(retrier.next());
  EXPECT_EQ(retrier.attempts(), 6);
  EXPECT_EQ(recorder.waits,
            (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                       milliseconds(8000), milliseconds(8000)}));
}

TEST(Retry, RetrierHonoursTheServerAndItsLimit) {
  Recorder recorder;
  Retrier retrier = recorder.make();
  EXPECT_TRUE(retrier.next(requested_delay(headers({{"Retry-After", "2"}}))));
  EXPECT_TRUE(retrier.next(requested_delay(headers({{"RateLimit", "\"resolvers\";r=0;t=0"}}))));
  // Longer than max_requested: not waited for, the error says how long the Hub asked.
  EXPECT_FALSE(retrier.next(requested_delay(headers({{"RateLimit", "\"resolvers\";r=0;t=172"}}))));
  EXPECT_EQ(recorder.waits, (std::vector<milliseconds>{milliseconds(2000), milliseconds(1000)}));
  EXPECT_EQ(retrier.attempts(), 3);
}

TEST(Retry, ABudgetStartsOverOnlyWhenTheFileGrew) {
  using hfmodels::http::RetryBudget;
  RetryBudget budget;
  std::uint64_t bytes = 0;
  // A server that sends a byte each time and breaks off never earns more retries.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(budget.next(++bytes, 0.5)) << i;
  }
  EXPECT_FALSE(budget.next(++bytes, 0.5));
  EXPECT_EQ(budget.tries(), 6);
  // A megabyte more does.
  RetryBudget growing;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(growing.next(static_cast<std::uint64_t>(i + 1) * RetryBudget::k_progress, 0.5));
  }
  EXPECT_EQ(growing.tries(), 21);
  // Bytes the file loses (a server ignoring Range starts it over) are no progress either.
  RetryBudget restarting;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(restarting.next(3 * RetryBudget::k_progress, 0.5));
  }
  EXPECT_FALSE(restarting.next(0, 0.5));
}

TEST(Retry, ClassifiesOutcomesInOnePlace) {
  using hfmodels::http::Attempt;
  using hfmodels::http::classify;
  using hfmodels::http::NextStep;
  const RetryPolicy policy;
  const Headers none;
  const auto step = [&](Attempt attempt) { return classify(attempt, policy).step; };
  EXPECT_EQ(step({CURLE_RECV_ERROR}), NextStep::retry);
  EXPECT_EQ(step({CURLE_OPERATION_TIMEDOUT}), NextStep::retry);
  EXPECT_EQ(step({CURLE_COULDNT_RESOLVE_HOST}), NextStep::give_up);
  EXPECT_EQ(step({CURLE_COULDNT_CONNECT}), NextStep::give_up);
  EXPECT_EQ(step({CURLE_COULDNT_CONNECT, 0, nullptr, false, true}), NextStep::retry)
      << "a server that sent bytes a moment ago is restarting";
  EXPECT_EQ(step({CURLE_OK, 503, &none}), NextStep::retry);
  EXPECT_EQ(step({CURLE_OK, 429, &none}), NextStep::retry);
  EXPECT_EQ(step({CURLE_OK, 404, &none}), NextStep::give_up);
  EXPECT_EQ(step({CURLE_OK, 401, &none}), NextStep::give_up);
  EXPECT_EQ(step({CURLE_OK, 403, &none}), NextStep::give_up);
  EXPECT_EQ(step({CURLE_OK, 403, &none, true}), NextStep::reresolve) << "an expired CDN URL";
  const Headers wait = headers({{"Retry-After", "3"}});
  EXPECT_EQ(classify({CURLE_OK, 503, &wait}, policy).server_wait, milliseconds(3000));
  const Headers too_long = headers({{"Retry-After", "900"}});
  EXPECT_EQ(step({CURLE_OK, 429, &too_long}), NextStep::give_up);
}

TEST(Retry, TriedSaysHowOften) {
  const Error error(ErrorKind::network, "network error", "reset", "hint", "m/f");
  EXPECT_EQ(hfmodels::http::tried(error, 1).why(), "reset");
  const Error six = hfmodels::http::tried(error, 6);
  EXPECT_EQ(six.why(), "reset (tried 6 times)");
  EXPECT_EQ(six.kind(), ErrorKind::network);
  EXPECT_EQ(six.subject(), "m/f");
  EXPECT_EQ(six.hint(), "hint");
}

// --- API calls ----------------------------------------------------------------------------------

HttpReply revision_info() {
  return HttpReply{200, {{"Content-Type", "application/json"}}, R"({"sha":")" + commit + "\"}", {}};
}

TEST(RetryHubClient, RetriesTransientStatusesThenSucceeds) {
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpRequest&) {
    const int call = calls++;
    if (call == 0) {
      return HttpReply{503, {}, R"({"error":"overloaded"})", {}};
    }
    if (call == 1) {
      return HttpReply{429, {{"Retry-After", "0"}}, "", {}};
    }
    return revision_info();
  });
  Client client(ClientOptions{});
  hfmodels::hub::HubClient hub(client, server.origin(), {}, fast_policy());
  EXPECT_EQ(hub.resolve_commit(repo, "main").str(), commit);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(RetryHubClient, RetriesDroppedConnections) {
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpRequest&) {
    if (calls++ < 2) {
      return HttpReply{200, {}, "{\"sha\":", 0}; // headers, then the connection closes
    }
    return revision_info();
  });
  Client client(ClientOptions{});
  hfmodels::hub::HubClient hub(client, server.origin(), {}, fast_policy());
  EXPECT_EQ(hub.resolve_commit(repo, "main").str(), commit);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(RetryHubClient, GivesUpAfterSixAttemptsSayingSo) {
  HttpServer server([](const HttpRequest&) { return HttpReply{500, {}, "", {}}; });
  Client client(ClientOptions{});
  hfmodels::hub::HubClient hub(client, server.origin(), {}, fast_policy());
  try {
    hub.resolve_commit(repo, "main");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::network);
    EXPECT_NE(std::string(error.what()).find("HTTP 500"), std::string::npos) << error.what();
    EXPECT_NE(error.why().find("tried 6 times"), std::string::npos) << error.why();
  }
  EXPECT_EQ(server.requests().size(), 6u);
}

TEST(RetryHubClient, NeverRetriesNotFoundOrForbidden) {
  for (const int status : {401, 403, 404}) {
    HttpServer server([status](const HttpRequest&) {
      return HttpReply{status, {{"X-Error-Code", "RepoNotFound"}}, "", {}};
    });
    Client client(ClientOptions{});
    hfmodels::hub::HubClient hub(client, server.origin(), {}, fast_policy());
    try {
      hub.resolve_commit(repo, "main");
      FAIL() << "no error for " << status;
    } catch (const Error& error) {
      EXPECT_EQ(error.why().find("tried"), std::string::npos) << error.why();
    }
    EXPECT_EQ(server.requests().size(), 1u) << status;
  }
}

// --- Tokens over plain http ---------------------------------------------------------------------

TEST(HttpToken, RefusedOverPlainHttpToAnotherMachineBeforeConnecting) {
  for (const std::string origin : {"http://example.invalid", "http://10.1.2.3:8080",
                                   "http://127.0.0.1.example.com", "http://[::2]:80"}) {
    ClientOptions options;
    options.token = "hf_secretTOKEN123";
    options.token_origin = hfmodels::http::origin_of(origin);
    Client client(options);
    const auto started = std::chrono::steady_clock::now();
    try {
      client.get(origin + "/api/models/org/model");
      FAIL() << "no error for " << origin;
    } catch (const hfmodels::http::TransportError& error) {
      FAIL() << "tried to connect to " << origin << ": " << error.what();
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage);
      const std::string message = error.what();
      EXPECT_NE(message.find("plain http"), std::string::npos) << message;
      EXPECT_EQ(error.cause(), "token:plain-http") << message; // cli/advice names the variable
      EXPECT_EQ(message.find("hf_secretTOKEN123"), std::string::npos) << message;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  }
}

TEST(HttpToken, SentOverHttpToThisMachineOrWhenAllowed) {
  HttpServer server([](const HttpRequest&) { return HttpReply{200, {}, "ok", {}}; });
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    ClientOptions options;
    options.token = "hf_secretTOKEN123";
    const std::string origin = server.origin();
    const std::string url =
        "http://" + host + origin.substr(origin.rfind(':')) + "/api/models/org/model";
    options.token_origin = hfmodels::http::origin_of(url);
    Client client(options);
    EXPECT_EQ(client.get(url).body, "ok");
  }
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].header("authorization"), "Bearer hf_secretTOKEN123");
}

} // namespace
