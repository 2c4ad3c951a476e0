// SPDX-License-Identifier: MIT
#pragma once

#include "http/client.hpp"
#include "util/error.hpp"

#include <chrono>
#include <functional>
#include <optional>

// When and how long to wait before trying a request again (docs/hub-protocol.md §7.4, §7.5). Shared
// by the API calls and the downloads, so both answer a flaky network, a 503 or a rate limit alike.
namespace hfmodels::http {

// 408, 429, 500, 502, 503, 504: the server may well answer the same request next time. 401, 403
// and 404 never are: asking again cannot change them.
bool is_transient_status(long status);

// The wait a response asks for, if any: `RateLimit: "<bucket>";r=0;t=N` (the Hub's way; Python
// sleeps N + 1 s), else `Retry-After: N` in seconds (HTTP dates are ignored, as Python does).
// A RateLimit with requests remaining asks for nothing: the Hub sends it on every answer.
std::optional<std::chrono::milliseconds> requested_delay(const Headers& headers);

struct RetryPolicy {
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

// Counts the attempts of one request and waits between them. Typical use:
//   Retrier retrier;
//   for (;;) { try { ...; if (ok) break; if (!retrier.next(&headers)) throw ...; }
//              catch (const TransportError& e) { if (!retrier.next()) throw tried(e, ...); } }
class Retrier {
public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  using Jitter = std::function<double()>;

  // `sleep` defaults to util::sleep_for, which throws util::Cancelled on Ctrl-C; `jitter` to a
  // random number in [0, 1). Both are injected by the unit tests.
  explicit Retrier(RetryPolicy policy = {}, Sleep sleep = {}, Jitter jitter = {});

  // After a failed attempt: waits (the server's delay from `headers` if it gave one, else the
  // back-off) and returns true, or returns false without waiting when the retries are spent or
  // the server asks for more than max_requested.
  bool next(const Headers* headers = nullptr);

  // Bytes arrived since the last failure: the retries start over, as Python's http_get does for
  // a download that keeps making progress.
  void reset() { m_retries = 0; }

  // Attempts made so far, the first included.
  int attempts() const { return m_attempts; }

private:
  RetryPolicy m_policy;
  Sleep m_sleep;
  Jitter m_jitter;
  int m_retries = 0;
  int m_attempts = 1;
};

// `error` with "(tried N times)" added to its reason when N > 1, so the final message says how
// often the failing request was tried.
Error tried(const Error& error, int attempts);

} // namespace hfmodels::http
