// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <vector>

namespace hfmodels::util {

// Runs `task(worker, index)` once for every index in [0, count) on at most `workers` threads
// (at least one). `worker` is in [0, workers) and stable for one thread, so callers can keep one
// reusable resource (a connection, a buffer) per worker. An exception thrown by a task is
// captured in the result at that index (null where the task succeeded); the other tasks go on.
std::vector<std::exception_ptr>
run_parallel(std::size_t workers, std::size_t count,
             const std::function<void(std::size_t worker, std::size_t index)>& task);

} // namespace hfmodels::util
