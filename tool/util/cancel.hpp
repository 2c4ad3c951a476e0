// SPDX-License-Identifier: MIT
#pragma once

#include "util/error.hpp"

#include <chrono>
#include <stop_token>

// Stopping an operation: every long operation takes a std::stop_token and polls it (its loops,
// its waits), so a caller (the command line on Ctrl-C, an application's Cancel button) ends it
// within a fraction of a second. No process-wide state: several operations may run at once,
// each with its own token.
namespace hfmodels::util {

// Thrown once a stop was requested. Kind ErrorKind::cancelled; what was done so far is kept
// (partial downloads are resumed by the next run).
class Cancelled : public Error {
public:
  Cancelled();
};

// Throws Cancelled if `stop` has been requested.
void throw_if_stopped(const std::stop_token& stop);

// Sleeps for `duration`, waking at once and throwing Cancelled when `stop` is requested.
void sleep_for(std::chrono::milliseconds duration, const std::stop_token& stop);

} // namespace hfmodels::util
