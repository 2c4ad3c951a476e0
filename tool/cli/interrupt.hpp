// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <memory>
#include <stop_token>

namespace hfmodels::cli {

// Turns Ctrl-C (SIGINT) and SIGTERM into a stop request for the command running: its
// operations poll the token and wind down within a fraction of a second, keeping partial
// downloads. No signal handler runs and no global flag exists: the signals are blocked in every
// thread, and a thread of the watcher's own waits for them. A second signal ends the process at
// once, as a second Ctrl-C should. The POSIX implementation is interrupt_posix.cpp; a Windows
// port would add one built on SetConsoleCtrlHandler.
class InterruptWatcher {
public:
  // Call before any other thread starts: threads inherit the blocked signals from it.
  InterruptWatcher();
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  std::stop_token token() const { return m_source.get_token(); }
  // The signal that requested the stop (SIGINT, SIGTERM), or 0.
  int signal() const { return m_signal.load(); }

private:
  struct Thread;

  std::stop_source m_source;
  std::atomic<int> m_signal{0};
  std::unique_ptr<Thread> m_thread;
};

} // namespace hfmodels::cli
