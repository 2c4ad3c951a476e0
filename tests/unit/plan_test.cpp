// SPDX-License-Identifier: MIT
#include "transfer/plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace {

using hfmodels::transfer::ByteRange;
using hfmodels::transfer::SegmentPlan;

constexpr std::uint64_t MiB = 1 << 20;

// Counts how often each byte was asked for, in 64 KiB units (all test ranges are multiples).
class AskCounter {
public:
  explicit AskCounter(std::uint64_t size) : m_counts(size / unit, 0) {}
  void ask(ByteRange range) {
    ASSERT_EQ(range.begin % unit, 0u);
    ASSERT_EQ(range.end % unit, 0u);
    for (auto at = range.begin; at < range.end; at += unit) {
      ++m_counts[at / unit];
    }
  }
  int max() const { return *std::max_element(m_counts.begin(), m_counts.end()); }
  int min() const { return *std::min_element(m_counts.begin(), m_counts.end()); }

  static constexpr std::uint64_t unit = 64 << 10;

private:
  std::vector<int> m_counts;
};

// Runs connections to the end, each request arriving whole.
void run_to_end(SegmentPlan& plan, std::uint32_t connections, std::uint64_t chunk,
                AskCounter& asked) {
  for (bool progressed = true; progressed;) {
    progressed = false;
    for (std::uint32_t c = 0; c < connections; ++c) {
      auto request = plan.next_request(c, chunk);
      if (!request && plan.take(c)) {
        request = plan.next_request(c, chunk);
      }
      if (request) {
        asked.ask(*request);
        plan.written(c, request->size());
        plan.request_ended(c);
        progressed = true;
      }
    }
  }
}

TEST(SegmentPlan, ConnectionsShareAFileWithoutAskingAnyByteTwice) {
  const std::uint64_t size = 256 * MiB;
  SegmentPlan plan(size, {}, 8 * MiB);
  for (std::uint32_t c = 0; c < 16; ++c) {
    ASSERT_TRUE(plan.take(c)) << c;
  }
  // Sixteen segments of 16 MiB: the free bytes, then halves of halves.
  for (std::uint32_t c = 0; c < 16; ++c) {
    const auto end = plan.segment_end(c);
    ASSERT_TRUE(end);
  }
  AskCounter asked(size);
  run_to_end(plan, 16, 4 * MiB, asked);
  EXPECT_TRUE(plan.complete());
  EXPECT_EQ(plan.prefix(), size);
  EXPECT_EQ(asked.min(), 1);
  EXPECT_EQ(asked.max(), 1);
  EXPECT_EQ(plan.done(), (std::vector<ByteRange>{{0, size}}));
}

TEST(SegmentPlan, AFreeConnectionTakesHalfOfTheLargestUnaskedPart) {
  SegmentPlan plan(100 * MiB, {}, 8 * MiB);
  ASSERT_TRUE(plan.take(0));
  const auto first = plan.next_request(0, 10 * MiB);
  ASSERT_EQ(first, (ByteRange{0, 10 * MiB}));
  ASSERT_TRUE(plan.take(1));
  // Unasked: [10, 100) MiB; its middle, 55 MiB, rounded up to a piece: 56 MiB.
  EXPECT_EQ(plan.segment_end(0), 56 * MiB);
  EXPECT_EQ(plan.next_request(1, 100 * MiB), (ByteRange{56 * MiB, 100 * MiB}));
  // The running request is never cut: connection 0 asks for the rest of its half next.
  plan.written(0, 10 * MiB);
  plan.request_ended(0);
  EXPECT_EQ(plan.next_request(0, 100 * MiB), (ByteRange{10 * MiB, 56 * MiB}));
}

TEST(SegmentPlan, ABoundedTakeGivesTheNextBytesFromTheFront) {
  SegmentPlan plan(100 * MiB, {}, 8 * MiB);
  for (std::uint32_t c = 0; c < 4; ++c) {
    ASSERT_TRUE(plan.take(c, 16 * MiB));
    EXPECT_EQ(plan.segment_end(c), (c + 1) * 16 * MiB) << c;
  }
  // The end of the file is left to later takers, not split off by these.
  ASSERT_TRUE(plan.take(4, 64 * MiB));
  EXPECT_EQ(plan.segment_end(4), 100 * MiB);
}

TEST(SegmentPlan, WithBoundedTakesThePrefixMovesAsTheFileArrives) {
  // The file's hash follows its complete prefix: taken in bounded pieces from the front, the
  // prefix trails the bytes that arrived by at most the pieces in flight. Split in halves, it
  // stays at the first connection's position until that segment ends.
  const std::uint64_t size = 256 * MiB;
  const std::uint32_t connections = 8;
  for (const bool bounded : {true, false}) {
    SCOPED_TRACE(bounded ? "bounded" : "halves");
    SegmentPlan plan(size, {}, 8 * MiB);
    std::uint64_t worst_lag = 0;
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (std::uint32_t c = 0; c < connections; ++c) {
        auto request = plan.next_request(c, 4 * MiB);
        if (!request && plan.take(c, bounded ? 8 * MiB : UINT64_MAX)) {
          request = plan.next_request(c, 4 * MiB);
        }
        if (request) {
          plan.written(c, request->size());
          plan.request_ended(c);
          progressed = true;
        }
      }
      worst_lag = std::max(worst_lag, plan.done_bytes() - plan.prefix());
    }
    ASSERT_TRUE(plan.complete());
    if (bounded) {
      EXPECT_LE(worst_lag, connections * 8 * MiB);
    } else {
      EXPECT_GE(worst_lag, size / 2);
    }
  }
}

TEST(SegmentPlan, NothingSmallerThanTwoPiecesIsSplit) {
  SegmentPlan plan(20 * MiB, {}, 8 * MiB);
  ASSERT_TRUE(plan.take(0));
  ASSERT_TRUE(plan.next_request(0, 5 * MiB));
  EXPECT_FALSE(plan.can_take()); // 15 MiB unasked: under 2 pieces
  EXPECT_FALSE(plan.take(1));
}

TEST(SegmentPlan, AResumedFileFetchesOnlyItsHoles) {
  const std::uint64_t size = 64 * MiB;
  SegmentPlan plan(size, {{0, 8 * MiB}, {16 * MiB, 24 * MiB}, {40 * MiB, 64 * MiB}}, 8 * MiB);
  EXPECT_EQ(plan.done_bytes(), 40 * MiB);
  EXPECT_EQ(plan.prefix(), 8 * MiB);
  ASSERT_TRUE(plan.take(0));
  ASSERT_TRUE(plan.take(1));
  EXPECT_EQ(plan.next_request(0, size), (ByteRange{8 * MiB, 16 * MiB}));
  EXPECT_EQ(plan.next_request(1, size), (ByteRange{24 * MiB, 40 * MiB}));
  plan.written(0, 8 * MiB);
  plan.request_ended(0);
  plan.written(1, 16 * MiB);
  plan.request_ended(1);
  EXPECT_TRUE(plan.complete());
}

TEST(SegmentPlan, ARequestThatBreaksOffIsAskedAgainFromWhereItStopped) {
  SegmentPlan plan(32 * MiB, {}, 8 * MiB);
  ASSERT_TRUE(plan.take(0));
  ASSERT_EQ(plan.next_request(0, 32 * MiB), (ByteRange{0, 32 * MiB}));
  plan.written(0, 3 * MiB);
  EXPECT_EQ(plan.position(0), 3 * MiB);
  plan.request_ended(0);
  EXPECT_EQ(plan.prefix(), 3 * MiB);
  EXPECT_EQ(plan.next_request(0, 32 * MiB), (ByteRange{3 * MiB, 32 * MiB}));
}

TEST(SegmentPlan, AReleasedSegmentGoesToTheNextTaker) {
  SegmentPlan plan(32 * MiB, {}, 8 * MiB);
  ASSERT_TRUE(plan.take(0));
  ASSERT_TRUE(plan.next_request(0, 32 * MiB));
  plan.written(0, 4 * MiB);
  plan.release(0);
  EXPECT_FALSE(plan.segment_end(0));
  ASSERT_TRUE(plan.take(7));
  EXPECT_EQ(plan.next_request(7, 32 * MiB), (ByteRange{4 * MiB, 32 * MiB}));
}

TEST(SegmentPlan, AnEmptyFileIsComplete) {
  SegmentPlan plan(0, {}, 8 * MiB);
  EXPECT_TRUE(plan.complete());
  EXPECT_FALSE(plan.take(0));
}

// Random schedules: breaks, releases, steals. Whatever happens, the file ends complete, and a
// byte is asked for a second time only after a request that held it broke off before it.
TEST(SegmentPlan, RandomSchedulesCompleteAndAskAgainOnlyAfterABreak) {
  std::mt19937 random(42);
  const std::uint64_t unit = 64 << 10;
  for (int round = 0; round < 200; ++round) {
    const std::uint64_t units = 1 + random() % 2000;
    SegmentPlan plan(units * unit, {}, 16 * unit);
    std::vector<int> asked(units, 0);
    std::vector<bool> broken(units, false);
    std::map<std::uint32_t, ByteRange> running;
    for (int step = 0; step < 200000 && !plan.complete(); ++step) {
      const std::uint32_t c = random() % 6;
      if (!running.contains(c)) {
        if (!plan.segment_end(c) && !plan.take(c)) {
          continue;
        }
        const auto request = plan.next_request(c, (1 + random() % 64) * unit);
        if (!request) {
          continue;
        }
        for (auto u = request->begin / unit; u < request->end / unit; ++u) {
          ASSERT_TRUE(asked[u] == 0 || broken[u]) << "round " << round << " unit " << u;
          ++asked[u];
        }
        running[c] = *request;
        continue;
      }
      const ByteRange request = running[c];
      const std::uint64_t left = request.end - *plan.position(c);
      plan.written(c, std::min<std::uint64_t>(left, (random() % 8) * unit));
      const auto what = random() % 10;
      if (*plan.position(c) == request.end || what == 0) {
        for (auto u = *plan.position(c) / unit; u < request.end / unit; ++u) {
          broken[u] = true;
        }
        if (what == 0 && random() % 2 == 0) {
          plan.release(c);
        } else {
          plan.request_ended(c);
        }
        running.erase(c);
      }
    }
    ASSERT_TRUE(plan.complete()) << "round " << round;
    EXPECT_EQ(plan.done(), (std::vector<ByteRange>{{0, units * unit}}));
  }
}

} // namespace
