// SPDX-License-Identifier: MIT
#include "util/cancel.hpp"

#include <condition_variable>
#include <mutex>

namespace hfmodels::util {

Cancelled::Cancelled() : Error(ErrorKind::cancelled, "stopped", "", "") {
  set_cause("cancelled");
}

void throw_if_stopped(const std::stop_token& stop) {
  if (stop.stop_requested()) {
    throw Cancelled();
  }
}

void sleep_for(std::chrono::milliseconds duration, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait_for(lock, stop, duration, [] { return false; });
  throw_if_stopped(stop);
}

} // namespace hfmodels::util
