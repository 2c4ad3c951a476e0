// SPDX-License-Identifier: MIT
#include "transfer/rate.hpp"

namespace hfmodels::transfer {

namespace {

// One sample per this much time keeps the window's memory small.
constexpr std::chrono::milliseconds k_sample_every{100};

} // namespace

void RateMeter::add(std::uint64_t bytes, Clock::time_point now) {
  if (m_samples.empty()) {
    m_samples.push_back({now, 0}); // the start: rates are measured from here
  }
  m_total += bytes;
  // The start stays as it is; a recent sample takes the new total.
  const bool recent = m_samples.size() > 1 && now - m_samples.back().time < k_sample_every;
  if (recent) {
    m_samples.back().total = m_total;
  } else {
    m_samples.push_back({now, m_total});
  }
  while (m_samples.size() > 2 && now - m_samples[1].time >= k_window) {
    m_samples.pop_front();
  }
}

double RateMeter::rate(Clock::time_point now) const {
  if (m_samples.empty()) {
    return 0.0;
  }
  // From the newest sample at least a window old (the oldest kept when none is): after a
  // stall of a whole window the rate is 0, not an average that fades slowly.
  const Sample* base = &m_samples.front();
  for (const Sample& sample : m_samples) {
    if (now - sample.time < k_window) {
      break;
    }
    base = &sample;
  }
  const double seconds = std::chrono::duration<double>(now - base->time).count();
  if (seconds < 0.1) {
    return 0.0;
  }
  return static_cast<double>(m_total - base->total) / seconds;
}

std::optional<double> eta_seconds(std::uint64_t missing, double rate) {
  if (missing == 0) {
    return 0.0;
  }
  if (rate <= 0.0) {
    return std::nullopt;
  }
  return static_cast<double>(missing) / rate;
}

} // namespace hfmodels::transfer
