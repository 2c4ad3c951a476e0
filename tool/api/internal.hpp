// SPDX-License-Identifier: MIT
#pragma once

// What the public API's sources share: the conversions between the public value types and the
// internal ones. Nothing here is exported.

#include "manifest/lockfile.hpp"
#include "ops/reporter.hpp"
#include "ops/settings.hpp"

#include <hfmodels/hfmodels.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hfmodels {

struct Options::Settings {
  ops::Settings value;
};

namespace api {

LockedModel to_public(const manifest::LockedModel& model);
// Every value checked, as when a lockfile is read (Error(usage) naming the model and value).
manifest::LockedModel to_internal(const LockedModel& model);

// `error` with every secret of `settings` masked (`***`): a server may echo what it was sent
// (the Authorization header) into the message an Error quotes, and a program shows what() as it
// is. The command line masks its output itself (cli/console).
Error without_secrets(const Error& error, const ops::Settings& settings);

// Turns what the operations report into Events for the caller's callback. Transfer reports come
// on the fetching thread; error() may come from a worker thread, so it takes a lock.
class EventReporter final : public ops::Reporter {
public:
  explicit EventReporter(const EventCallback& on_event) : m_on_event(on_event) {}

  void transfers_planned(std::size_t files, std::uint64_t bytes) override;
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size, std::uint64_t resumed) override;
  void transfer_progress(const transfer::FileProgress& file,
                         const transfer::TotalProgress& total) override;
  void transfer_finished(std::size_t id, bool ok) override;
  void transfers_done() override {}
  void note(std::string_view, std::string_view, std::string_view) override {}
  void warning(std::string_view) override {}
  void error(const Error& error) override;
  void trace(std::string_view) override {}

  // `error`, thrown by a fetch whose files failed, with the reasons: the operations report them
  // (grouped by cause) after the transfers, and the command line prints them above its
  // summary; a program gets them in the one Error it catches.
  Error explained(const Error& error);

private:
  struct File {
    std::string model;
    std::string path;
    std::uint64_t size = 0;
    std::uint64_t done = 0;
  };
  void send(const Event& event) const;
  void advance(File& file, std::uint64_t done);

  const EventCallback& m_on_event;
  std::map<std::size_t, File> m_files;
  Event m_last_total; // all_* fields of the latest progress
  std::mutex m_errors_mutex;
  std::vector<Error> m_errors; // in the order reported
};

} // namespace api
} // namespace hfmodels
