// SPDX-License-Identifier: MIT
#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

namespace hfmodels::util {

std::vector<std::exception_ptr>
run_parallel(std::size_t workers, std::size_t count,
             const std::function<void(std::size_t worker, std::size_t index)>& task) {
  std::vector<std::exception_ptr> errors(count);
  const std::size_t threads = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(count, 1));

  // Work stealing by index: each worker takes the next unclaimed index, so a slow task (a large
  // file) never leaves other workers idle behind a static partition. Every slot of `errors` is
  // written by exactly one worker; joining the threads publishes the writes to this thread.
  std::atomic<std::size_t> next{0};
  const auto work = [&](std::size_t worker) {
    for (;;) {
      const std::size_t index = next.fetch_add(1, std::memory_order_relaxed);
      if (index >= count) {
        return;
      }
      try {
        task(worker, index);
      } catch (...) {
        errors[index] = std::current_exception();
      }
    }
  };

  {
    std::vector<std::jthread> pool;
    pool.reserve(threads - 1);
    for (std::size_t worker = 1; worker < threads; ++worker) {
      try {
        pool.emplace_back(work, worker);
      } catch (const std::system_error&) {
        // Out of threads (ulimit, container limits): the workers already running, this thread
        // included, still finish every index.
        break;
      }
    }
    // The calling thread is worker 0 rather than idling in join().
    work(0);
  } // jthread joins here
  return errors;
}

} // namespace hfmodels::util
