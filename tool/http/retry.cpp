// SPDX-License-Identifier: MIT
#include "http/retry.hpp"

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

double random_jitter() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
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

Retrier::Retrier(RetryPolicy policy, Sleep sleep, Jitter jitter)
    : m_policy(policy), m_sleep(sleep ? std::move(sleep) : Sleep(&util::sleep_for)),
      m_jitter(jitter ? std::move(jitter) : Jitter(&random_jitter)) {}

bool Retrier::next(const Headers* headers) {
  if (m_retries >= m_policy.max_retries) {
    return false;
  }
  std::chrono::milliseconds delay = backoff_delay(m_policy, m_retries, m_jitter());
  if (headers != nullptr) {
    if (const auto requested = requested_delay(*headers)) {
      if (*requested > m_policy.max_requested) {
        return false;
      }
      delay = *requested;
    }
  }
  m_sleep(delay);
  ++m_retries;
  ++m_attempts;
  return true;
}

Error tried(const Error& error, int attempts) {
  if (attempts <= 1) {
    return error;
  }
  const std::string note = "tried " + std::to_string(attempts) + " times";
  return Error(error.code(), error.summary(),
               error.why().empty() ? note : error.why() + " (" + note + ")", error.hint(),
               error.subject())
      .with_cause(error.cause());
}

} // namespace hfmodels::http
