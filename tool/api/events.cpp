// SPDX-License-Identifier: MIT
#include "api/internal.hpp"

namespace hfmodels::api {

void EventReporter::send(const Event& event) const {
  if (m_on_event) {
    m_on_event(event);
  }
}

void EventReporter::transfers_planned(std::size_t, std::uint64_t bytes) {
  m_last_total.all_bytes_done = 0;
  m_last_total.all_bytes_total = bytes;
  m_last_total.all_eta_seconds = -1;
}

// all_bytes_done is the sum of what each file has, counted here as every event passes rather
// than taken from the engine's last progress report, which a file's start (with resumed bytes)
// and end come after: so the totals never go back and end at all_bytes_total.
void EventReporter::advance(File& file, std::uint64_t done) {
  if (done > file.done) {
    m_last_total.all_bytes_done += done - file.done;
    file.done = done;
  }
}

void EventReporter::transfer_started(std::size_t id, std::string_view model, std::string_view path,
                                     std::uint64_t size, std::uint64_t resumed) {
  File& file = m_files[id];
  file = {std::string(model), std::string(path), size, 0};
  advance(file, resumed);
  Event event = m_last_total;
  event.kind = Event::Kind::started;
  event.model = file.model;
  event.path = file.path;
  event.bytes_done = resumed;
  event.bytes_total = size;
  event.bytes_per_second = 0;
  event.eta_seconds = -1;
  send(event);
}

void EventReporter::transfer_progress(const transfer::FileProgress& file,
                                      const transfer::TotalProgress& total) {
  m_last_total.all_bytes_total = total.bytes_total;
  m_last_total.all_eta_seconds = total.eta_seconds.value_or(-1);
  const auto found = m_files.find(file.file);
  if (found == m_files.end()) {
    return;
  }
  advance(found->second, file.bytes_done);
  Event event = m_last_total;
  event.kind = Event::Kind::progress;
  event.model = found->second.model;
  event.path = found->second.path;
  event.bytes_done = file.bytes_done;
  event.bytes_total = file.bytes_total;
  event.bytes_per_second = file.bytes_per_second;
  event.eta_seconds = file.eta_seconds.value_or(-1);
  send(event);
}

void EventReporter::transfer_finished(std::size_t id, bool ok) {
  const auto found = m_files.find(id);
  if (found == m_files.end()) {
    return;
  }
  if (ok) {
    advance(found->second, found->second.size);
  }
  const File file = found->second;
  m_files.erase(found);
  Event event = m_last_total;
  event.kind = ok ? Event::Kind::finished : Event::Kind::failed;
  event.model = file.model;
  event.path = file.path;
  event.bytes_done = ok ? file.size : file.done;
  event.bytes_total = file.size;
  event.eta_seconds = ok ? 0 : -1;
  send(event);
}

void EventReporter::error(const Error& error) {
  const std::lock_guard lock(m_errors_mutex);
  m_errors.push_back(error);
}

Error EventReporter::explained(const Error& error) {
  const std::lock_guard lock(m_errors_mutex);
  if (m_errors.empty() || error.kind() == ErrorKind::cancelled) {
    return error;
  }
  if (m_errors.size() == 1 && m_errors.front().kind() == error.kind()) {
    return m_errors.front(); // one cause: its own message, hint and cause
  }
  std::string why = error.why();
  for (const Error& each : m_errors) {
    why += "\n  " + std::string(each.what());
  }
  return Error(error.kind(), error.summary(), why + "\n", {}, error.subject())
      .with_cause(m_errors.front().cause());
}

} // namespace hfmodels::api
