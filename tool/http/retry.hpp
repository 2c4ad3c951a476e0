// SPDX-License-Identifier: MIT
#pragma once

#include "http/client.hpp"
#include "util/error.hpp"

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>

// When a request that failed is worth another try, and how long to wait before it
// (docs/hub-and-cache.md §7.4, §7.5): the one set of rules for the Hub API client and for every
// connection of the download engine.
namespace hfmodels::http {

// 408, 429, 500, 502, 503, 504: the server may well answer the same request next time. 401, 403
// and 404 never are: asking again cannot change them.
bool is_transient_status(long status);

// The wait a response asks for, if any: `RateLimit: "<bucket>";r=0;t=N` (the Hub's way; Python
// sleeps N + 1 s), else `Retry-After: N` in seconds (HTTP dates are ignored, as Python does).
// A RateLimit with requests remaining asks for nothing: the Hub sends it on every answer.
std::optional<std::chrono::milliseconds> requested_delay(const Headers& headers);

struct RetryPolicy {
  // Tries after a failure, before giving up; they start over whenever a try makes progress.
  int max_retries = 5;
  // Back-off without a server hint: 1, 2, 4, 8, 8 s (Python's _http_backoff_base), each scaled
  // by a random 75-125 % so that parallel CI jobs do not retry in lockstep.
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{8000};
  // A server that asks for a longer wait is not waited for: the error then says how long it
  // asked, and failing now beats a build that hangs for the rest of a 5-minute window.
  std::chrono::milliseconds max_requested{60000};
};

// The back-off before retry number `retry` (0 for the first), `jitter` in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double jitter);

// What an attempt that did not succeed comes to.
enum class NextStep {
  retry,     // ask again (after the wait)
  reresolve, // the CDN refused its signed URL: ask the Hub for a fresh one, then again
  give_up,   // asking again cannot help
};

struct Verdict {
  NextStep step = NextStep::give_up;
  // The wait the server asked for (RateLimit, Retry-After); the back-off when unset.
  std::optional<std::chrono::milliseconds> server_wait;
};

// The attempt: a transfer failure (`transport` is not CURLE_OK: no HTTP answer), or the final
// answer's `status` and `headers`. `from_cdn`: it was sent to the URL a resolve led to, not to
// the Hub. `reachable`: bytes of the same file arrived from this server moments ago.
struct Attempt {
  CURLcode transport = CURLE_OK;
  long status = 0;
  const Headers* headers = nullptr;
  bool from_cdn = false;
  bool reachable = false;
};

// The rules, in one place:
// - a transfer failure: retry if it may pass (a reset, a timeout, a body cut short) or if the
//   server answered moments ago; give up on an unknown host, a refused connection, a bad
//   certificate;
// - 408, 429, 5xx: retry, after the wait the server asks for, unless that is over
//   `max_requested`;
// - 403 from a CDN: its signed URL expired (docs/hub-and-cache.md §3.4 (b)): reresolve;
// - anything else (401, 403 from the Hub, 404, 416): give up.
Verdict classify(const Attempt& attempt, const RetryPolicy& policy);

// Counts the tries of one file (or one API request) and how many retries are left. Retries
// start over only when a try moved the file's high-water mark (the bytes it has) by at least
// k_progress: a server that sends a byte and stalls, or ignores Range and sends the start again,
// cannot keep a run alive for ever.
class RetryBudget {
public:
  static constexpr std::uint64_t k_progress = 1u << 20;

  explicit RetryBudget(RetryPolicy policy = {});

  // After a failed try that left the file with `high_water` bytes: whether another may be
  // made, and if so the back-off before it (`jitter` in [0, 1)).
  std::optional<std::chrono::milliseconds> next(std::uint64_t high_water, double jitter);
  // Tries made so far, the first included.
  int tries() const { return m_tries; }
  const RetryPolicy& policy() const { return m_policy; }

private:
  RetryPolicy m_policy;
  int m_retries = 0;
  int m_tries = 1;
  std::uint64_t m_mark = 0;
};

// A random number in [0, 1), for the back-off's jitter.
double random_jitter();

// Retries of one blocking API request: waits (the server's delay if it asked for one, else the
// back-off) between attempts, and ends at once when `stop` is requested.
class Retrier {
public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  using Jitter = std::function<double()>;

  // `sleep` defaults to util::sleep_for with `stop`, `jitter` to random_jitter; the unit tests
  // give their own.
  explicit Retrier(RetryPolicy policy = {}, std::stop_token stop = {}, Sleep sleep = {},
                   Jitter jitter = {});
  Retrier(const Retrier&) = delete;
  Retrier& operator=(const Retrier&) = delete;

  // After a failed attempt judged worth another: waits and returns true, or returns false
  // without waiting when the retries are spent or the server asks for more than max_requested.
  bool next(const std::optional<std::chrono::milliseconds>& server_wait = std::nullopt);

  // Attempts made so far, the first included.
  int attempts() const { return m_attempts; }

private:
  RetryPolicy m_policy;
  std::stop_token m_stop;
  Sleep m_sleep;
  Jitter m_jitter;
  int m_retries = 0;
  int m_attempts = 1;
};

// `error` with "(tried N times)" added to its reason when N > 1, so the final message says how
// often the failing request was tried.
Error tried(const Error& error, int attempts);

} // namespace hfmodels::http
