// SPDX-License-Identifier: MIT
#include "util/cancel.hpp"

#include <atomic>
#include <csignal>
#include <thread>

namespace hfmodels::util {

namespace {

// Lock-free, so the signal handler may store into it (a plain sig_atomic_t would not be visible
// to other threads without a data race).
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

// Long enough to cost nothing, short enough that a sleeping retry notices Ctrl-C at once.
constexpr std::chrono::milliseconds k_poll_interval{20};

extern "C" void on_interrupt(int signal) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, signal);
  // A second Ctrl-C should not have to wait for the clean shutdown.
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, nullptr);
}

} // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = &on_interrupt;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: nothing relies on EINTR; every wait polls the flag instead.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool cancelled() {
  return g_signal.load(std::memory_order_relaxed) != 0;
}

int cancel_signal() {
  return g_signal.load(std::memory_order_relaxed);
}

void request_cancel(int signal) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, signal);
}

Cancelled::Cancelled()
    : Error(ExitCode::failure, "interrupted",
            std::string(cancel_signal() == SIGTERM ? "SIGTERM" : "SIGINT") + " received",
            "Partial downloads were kept; run the command again to resume"),
      m_exit_status(128 + (cancel_signal() != 0 ? cancel_signal() : SIGINT)) {}

void throw_if_cancelled() {
  if (cancelled()) {
    throw Cancelled();
  }
}

void sleep_for(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    throw_if_cancelled();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return;
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, k_poll_interval));
  }
}

} // namespace hfmodels::util
