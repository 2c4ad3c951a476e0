// SPDX-License-Identifier: MIT
#pragma once

#include "util/error.hpp"

#include <chrono>

// Ctrl-C and `kill`: SIGINT/SIGTERM set a process-wide flag that every long wait polls (the
// transfer callbacks, retry back-offs, lock waits), so the process winds down within a second,
// parks its partial downloads for the next run and exits 128 + the signal number.
namespace hfmodels::util {

// Installs the SIGINT/SIGTERM handlers. The first signal requests cancellation; the handler then
// restores the default action, so a second Ctrl-C ends the process at once.
void install_interrupt_handlers();

// True once cancellation was requested.
bool cancelled();

// The signal that requested it (SIGINT, SIGTERM), or 0.
int cancel_signal();

// What the signal handler does; for tests.
void request_cancel(int signal);

// Thrown wherever a wait notices the request. Its exit code is 128 + signal (130, 143).
class Cancelled : public Error {
public:
  Cancelled();
  int exit_status() const { return m_exit_status; }

private:
  int m_exit_status;
};

// Throws Cancelled if cancellation was requested.
void throw_if_cancelled();

// Sleeps for `duration`, waking early and throwing Cancelled when cancellation is requested.
void sleep_for(std::chrono::milliseconds duration);

} // namespace hfmodels::util
