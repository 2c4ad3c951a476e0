// SPDX-License-Identifier: MIT
#include "cli/interrupt.hpp"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <thread>

namespace hfmodels::cli {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Dies of `signal` as if it had never been blocked: the exit status a shell expects.
[[noreturn]] void die_of(int signal) {
  std::signal(signal, SIG_DFL);
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  std::raise(signal);
  std::_Exit(128 + signal);
}

} // namespace

struct InterruptWatcher::Thread {
  std::atomic<bool> done{false};
  std::thread thread;
};

InterruptWatcher::InterruptWatcher() : m_thread(std::make_unique<Thread>()) {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_thread->thread = std::thread([this] {
    const sigset_t wanted = stop_signals();
    for (;;) {
      const int signal = sigwaitinfo(&wanted, nullptr);
      if (m_thread->done.load()) {
        return; // woken by the destructor
      }
      if (signal < 0) {
        continue; // EINTR
      }
      int none = 0;
      if (!m_signal.compare_exchange_strong(none, signal)) {
        die_of(signal); // a second one: the user does not want to wait
      }
      m_source.request_stop();
    }
  });
}

InterruptWatcher::~InterruptWatcher() {
  // Woken by a signal sent to this thread alone: a timeout to poll `done` would make every
  // command last until the next one (bench/RESULTS.md: a no-op fetch took 120 ms with 100 ms).
  m_thread->done.store(true);
  pthread_kill(m_thread->thread.native_handle(), SIGINT);
  m_thread->thread.join();
}

} // namespace hfmodels::cli
