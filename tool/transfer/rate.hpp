// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace hfmodels::transfer {

// The speed of a transfer over its last few seconds, from the bytes that arrived in this run:
// never bytes a resumed download already had, and never the average since a start long ago, so
// that it follows a link that slows down or speeds up.
class RateMeter {
public:
  using Clock = std::chrono::steady_clock;

  static constexpr std::chrono::milliseconds k_window{5000};

  // `bytes` more arrived at `now`.
  void add(std::uint64_t bytes, Clock::time_point now);
  // Bytes per second over the window (or since the first bytes, when they are more recent):
  // 0 until a tenth of a second has passed since them.
  double rate(Clock::time_point now) const;

private:
  struct Sample {
    Clock::time_point time;
    std::uint64_t total; // bytes up to then
  };
  std::deque<Sample> m_samples;
  std::uint64_t m_total = 0;
};

// Seconds until `missing` bytes are in at `rate` bytes a second; nothing at no speed.
std::optional<double> eta_seconds(std::uint64_t missing, double rate);

} // namespace hfmodels::transfer
