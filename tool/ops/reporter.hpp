// SPDX-License-Identifier: MIT
#pragma once

#include "transfer/engine.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hfmodels::ops {

// How operations tell the user what happens, without knowing how it is shown (a terminal bar,
// plain CI lines or JSON events: see cli/reporters). Transfer methods are called from the
// download engine's thread, progress at most every 100 ms per file; note, warning, error and
// trace may come from other threads and must be thread-safe.
class Reporter {
public:
  virtual ~Reporter() = default;

  // A batch of transfers starts: `files` files, `bytes` bytes in all.
  virtual void transfers_planned(std::size_t files, std::uint64_t bytes) = 0;
  // `resumed`: bytes a partial download already had.
  virtual void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                                std::uint64_t size, std::uint64_t resumed) = 0;
  // Speed and ETA as the engine measures them (over the last seconds of this run).
  virtual void transfer_progress(const transfer::FileProgress& file,
                                 const transfer::TotalProgress& total) = 0;
  virtual void transfer_finished(std::size_t id, bool ok) = 0;
  virtual void transfers_done() = 0;

  // A step finished that the user may want to know of ("locked tinyllama at 1a2b3c4"): shown
  // with -v on a terminal, always as a JSON event. `event` is a short machine name.
  virtual void note(std::string_view event, std::string_view model, std::string_view message) = 0;

  // Something the user must know even without -v (shown as `hfmodels: warning: ...`).
  virtual void warning(std::string_view message) = 0;

  // One item failed (a file of many); the operation goes on and throws a summary at the end.
  virtual void error(const Error& error) = 0;

  // A line of the HTTP trace (-v), credentials already masked. Called from worker threads.
  virtual void trace(std::string_view line) = 0;
};

// Says nothing; for tests and library use.
class SilentReporter : public Reporter {
public:
  void transfers_planned(std::size_t, std::uint64_t) override {}
  void transfer_started(std::size_t, std::string_view, std::string_view, std::uint64_t,
                        std::uint64_t) override {}
  void transfer_progress(const transfer::FileProgress&, const transfer::TotalProgress&) override {}
  void transfer_finished(std::size_t, bool) override {}
  void transfers_done() override {}
  void note(std::string_view, std::string_view, std::string_view) override {}
  void warning(std::string_view) override {}
  void error(const Error&) override {}
  void trace(std::string_view) override {}
};

} // namespace hfmodels::ops
