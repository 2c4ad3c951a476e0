// SPDX-License-Identifier: MIT
#include "transfer/rate.hpp"

#include <gtest/gtest.h>

namespace {

using hfmodels::transfer::eta_seconds;
using hfmodels::transfer::RateMeter;
using namespace std::chrono_literals;

TEST(RateMeter, MeasuresTheLastSecondsNotTheWholeRun) {
  RateMeter meter;
  auto now = RateMeter::Clock::time_point{} + 1h;
  EXPECT_EQ(meter.rate(now), 0.0);
  // 20 s at 1 MB/s, then 10 s at 4 MB/s, in 10 ms steps as libcurl hands bytes over.
  for (int step = 0; step < 2000; ++step) {
    now += 10ms;
    meter.add(10000, now);
  }
  EXPECT_NEAR(meter.rate(now), 1e6, 0.03e6);
  for (int step = 0; step < 1000; ++step) {
    now += 10ms;
    meter.add(40000, now);
  }
  EXPECT_NEAR(meter.rate(now), 4e6, 0.1e6) << "the window forgot the slow start";
}

TEST(RateMeter, FallsWhenBytesStopComing) {
  RateMeter meter;
  auto now = RateMeter::Clock::time_point{} + 1h;
  for (int step = 0; step < 1000; ++step) {
    now += 10ms;
    meter.add(10000, now);
  }
  EXPECT_NEAR(meter.rate(now + 2500ms), 0.5e6, 0.05e6) << "half the window without bytes";
  EXPECT_EQ(meter.rate(now + 6s), 0.0) << "a whole window without bytes";
}

TEST(RateMeter, NoRateBeforeATenthOfASecond) {
  RateMeter meter;
  const auto start = RateMeter::Clock::time_point{} + 1h;
  meter.add(1 << 20, start);
  EXPECT_EQ(meter.rate(start + 50ms), 0.0) << "one burst is no speed yet";
  EXPECT_NEAR(meter.rate(start + 1s), 1 << 20, 1);
}

TEST(RateMeter, EtaIsUnknownAtNoSpeed) {
  EXPECT_EQ(eta_seconds(0, 0.0), 0.0);
  EXPECT_FALSE(eta_seconds(100, 0.0));
  EXPECT_EQ(eta_seconds(100, 50.0), 2.0);
}

} // namespace
