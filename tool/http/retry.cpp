// SPDX-License-Identifier: MIT
#include "http/retry.hpp"

#include "http/handle.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace hfmodels::http {

namespace {

// A non-negative number of seconds ("3", "0.5"); nothing for anything else (an HTTP date, junk).
std::optional<double> parse_seconds(std::string_view text) {
  text = util::trim(text);
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789.") != text.npos ||
      std::count(text.begin(), text.end(), '.') > 1 || text.front() == '.') {
    return std::nullopt;
  }
  return std::stod(std::string(text));
}

// `key=value` of one structured-field item such as `"resolvers";r=0;t=172`.
std::optional<std::string> item_param(std::string_view item, std::string_view key) {
  for (const std::string& part : util::split(item, ';')) {
    const std::string_view trimmed = util::trim(part);
    if (trimmed.size() > key.size() && trimmed.starts_with(key) && trimmed[key.size()] == '=') {
      return std::string(trimmed.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000.0)));
}

bool is_final_transport_failure(CURLcode code) {
  // transport_error() knows which failures asking again cannot fix soon.
  return !transport_error(code, "", "").retryable();
}

} // namespace

bool is_transient_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::optional<std::chrono::milliseconds> requested_delay(const Headers& headers) {
  // RateLimit may list several buckets, comma-separated; the exhausted one decides.
  if (const auto limit = headers.get("ratelimit")) {
    for (const std::string& item : util::split(*limit, ',')) {
      const auto remaining = item_param(item, "r");
      const auto reset = item_param(item, "t");
      if (remaining && reset && util::trim(*remaining) == "0") {
        if (const auto seconds = parse_seconds(*reset)) {
          return to_millis(*seconds + 1.0);
        }
      }
    }
  }
  if (const auto retry_after = headers.get("retry-after")) {
    if (const auto seconds = parse_seconds(*retry_after)) {
      return to_millis(*seconds);
    }
  }
  return std::nullopt;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double jitter) {
  const double doubled = static_cast<double>(policy.base.count()) * std::pow(2.0, retry);
  const double capped = std::min(doubled, static_cast<double>(policy.cap.count()));
  return std::chrono::milliseconds(
      static_cast<long long>(std::llround(capped * (0.75 + 0.5 * std::clamp(jitter, 0.0, 1.0)))));
}

Verdict classify(const Attempt& attempt, const RetryPolicy& policy) {
  if (attempt.transport != CURLE_OK) {
    // A server that sent bytes a moment ago is worth asking again even for a failure that would
    // otherwise be final (connection refused while it restarts).
    const bool worth_it = attempt.reachable || !is_final_transport_failure(attempt.transport);
    return {worth_it ? NextStep::retry : NextStep::give_up, std::nullopt};
  }
  if (attempt.status == 403 && attempt.from_cdn) {
    return {NextStep::reresolve, std::nullopt};
  }
  if (!is_transient_status(attempt.status)) {
    return {NextStep::give_up, std::nullopt};
  }
  const auto wait = attempt.headers != nullptr ? requested_delay(*attempt.headers) : std::nullopt;
  if (wait && *wait > policy.max_requested) {
    return {NextStep::give_up, wait};
  }
  return {NextStep::retry, wait};
}

RetryBudget::RetryBudget(RetryPolicy policy) : m_policy(policy) {}

std::optional<std::chrono::milliseconds> RetryBudget::next(std::uint64_t high_water,
                                                           double jitter) {
  if (high_water >= m_mark + k_progress) {
    m_retries = 0;
  }
  m_mark = std::max(m_mark, high_water);
  if (m_retries >= m_policy.max_retries) {
    return std::nullopt;
  }
  const auto delay = backoff_delay(m_policy, m_retries, jitter);
  ++m_retries;
  ++m_tries;
  return delay;
}

double random_jitter() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

Retrier::Retrier(RetryPolicy policy, std::stop_token stop, Sleep sleep, Jitter jitter)
    : m_policy(policy), m_stop(std::move(stop)), m_sleep(std::move(sleep)),
      m_jitter(jitter ? std::move(jitter) : Jitter(&random_jitter)) {
  if (!m_sleep) {
    m_sleep = [this](std::chrono::milliseconds delay) { util::sleep_for(delay, m_stop); };
  }
}

bool Retrier::next(const std::optional<std::chrono::milliseconds>& server_wait) {
  if (m_retries >= m_policy.max_retries) {
    return false;
  }
  if (server_wait && *server_wait > m_policy.max_requested) {
    return false;
  }
  m_sleep(server_wait.value_or(backoff_delay(m_policy, m_retries, m_jitter())));
  ++m_retries;
  ++m_attempts;
  return true;
}

Error tried(const Error& error, int attempts) {
  if (attempts <= 1) {
    return error;
  }
  const std::string note = "tried " + std::to_string(attempts) + " times";
  return Error(error.kind(), error.summary(),
               error.why().empty() ? note : error.why() + " (" + note + ")", error.hint(),
               error.subject())
      .with_cause(error.cause());
}

} // namespace hfmodels::http
