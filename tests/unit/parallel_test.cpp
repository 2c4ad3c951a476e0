// SPDX-License-Identifier: MIT
#include "util/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

using hfmodels::util::run_parallel;

TEST(RunParallel, EveryIndexRunsExactlyOnce) {
  constexpr std::size_t count = 1000;
  std::vector<std::atomic<int>> runs(count);
  const auto errors =
      run_parallel(4, count, [&](std::size_t, std::size_t index) { runs[index].fetch_add(1); });
  ASSERT_EQ(errors.size(), count);
  for (std::size_t i = 0; i < count; ++i) {
    EXPECT_EQ(runs[i].load(), 1) << "index " << i;
    EXPECT_EQ(errors[i], nullptr);
  }
}

TEST(RunParallel, ExceptionsAreCapturedPerIndex) {
  std::atomic<std::size_t> ran{0};
  const auto errors = run_parallel(3, 50, [&](std::size_t, std::size_t index) {
    ran.fetch_add(1);
    if (index % 7 == 0) {
      throw std::runtime_error("task " + std::to_string(index));
    }
  });
  EXPECT_EQ(ran.load(), 50u); // a failing task does not stop the others
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i % 7 != 0) {
      EXPECT_EQ(errors[i], nullptr) << i;
      continue;
    }
    ASSERT_NE(errors[i], nullptr) << i;
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::runtime_error& error) {
      EXPECT_EQ(std::string(error.what()), "task " + std::to_string(i));
    }
  }
}

TEST(RunParallel, WorkerIdsAreInRangeAndStablePerThread) {
  constexpr std::size_t workers = 4;
  std::mutex mutex;
  std::map<std::size_t, std::thread::id> owner;
  bool consistent = true;
  const auto errors = run_parallel(workers, 400, [&](std::size_t worker, std::size_t) {
    EXPECT_LT(worker, workers);
    const std::lock_guard lock(mutex);
    const auto [it, inserted] = owner.emplace(worker, std::this_thread::get_id());
    if (!inserted && it->second != std::this_thread::get_id()) {
      consistent = false;
    }
  });
  EXPECT_TRUE(consistent);
  // Two workers never share a thread either.
  std::set<std::thread::id> threads;
  for (const auto& [worker, thread] : owner) {
    threads.insert(thread);
  }
  EXPECT_EQ(threads.size(), owner.size());
}

TEST(RunParallel, WorkersRunConcurrently) {
  // Each task waits until both have started; run one after the other they would time out.
  std::atomic<int> started{0};
  std::atomic<int> met{0};
  run_parallel(2, 2, [&](std::size_t, std::size_t) {
    started.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (started.load() == 2) {
      met.fetch_add(1);
    }
  });
  EXPECT_EQ(met.load(), 2);
}

TEST(RunParallel, EdgeCounts) {
  EXPECT_TRUE(run_parallel(4, 0, [](std::size_t, std::size_t) { FAIL(); }).empty());

  // Zero workers means one; more workers than tasks is fine.
  for (const std::size_t workers : {0u, 1u, 16u}) {
    std::atomic<std::size_t> sum{0};
    const auto errors = run_parallel(workers, 5, [&](std::size_t worker, std::size_t index) {
      EXPECT_LT(worker, std::max<std::size_t>(workers, 1));
      sum.fetch_add(index);
    });
    EXPECT_EQ(errors.size(), 5u);
    EXPECT_EQ(sum.load(), 10u);
  }
}
