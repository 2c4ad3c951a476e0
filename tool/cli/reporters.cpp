// SPDX-License-Identifier: MIT
#include "cli/reporters.hpp"

#include "cli/advice.hpp"
#include "cli/console.hpp"
#include "cli/terminal.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hfmodels::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the reporters keep of each transfer: the engine's latest numbers. Written by the engine's
// thread, read by a terminal's drawing thread: under the table's mutex.
struct Transfer {
  std::string name;
  std::uint64_t size = 0;
  Clock::time_point started;
  bool active = false;
  transfer::FileProgress progress;
};

class TransferTable {
public:
  void reset(std::size_t count) {
    const std::lock_guard lock(m_mutex);
    m_transfers = std::vector<Transfer>(count);
    m_total = transfer::TotalProgress{};
  }
  // Records a transfer's start; returns it, or null for an id outside the planned batch.
  Transfer* start(std::size_t id, std::string_view model, std::string_view path, std::uint64_t size,
                  std::uint64_t resumed) {
    const std::lock_guard lock(m_mutex);
    if (id >= m_transfers.size()) {
      return nullptr;
    }
    Transfer& transfer = m_transfers[id];
    transfer.name = std::string(model) + "/" + std::string(path);
    transfer.size = size;
    transfer.started = Clock::now();
    transfer.active = true;
    transfer.progress.bytes_done = resumed;
    transfer.progress.bytes_total = size;
    return &transfer;
  }
  void update(const transfer::FileProgress& file, const transfer::TotalProgress& total) {
    const std::lock_guard lock(m_mutex);
    if (file.file < m_transfers.size()) {
      m_transfers[file.file].progress = file;
    }
    m_total = total;
  }
  // The transfer, finished: its name and how long it took; nothing for an unknown id.
  std::optional<std::pair<std::string, double>> finish(std::size_t id) {
    const std::lock_guard lock(m_mutex);
    if (id >= m_transfers.size()) {
      return std::nullopt;
    }
    Transfer& transfer = m_transfers[id];
    transfer.active = false;
    return std::pair(transfer.name, seconds_since(transfer.started));
  }
  std::uint64_t size_of(std::size_t id) {
    const std::lock_guard lock(m_mutex);
    return id < m_transfers.size() ? m_transfers[id].size : 0;
  }
  // A copy of everything, for drawing.
  std::pair<std::vector<Transfer>, transfer::TotalProgress> snapshot() {
    const std::lock_guard lock(m_mutex);
    return {m_transfers, m_total};
  }
  transfer::TotalProgress total() {
    const std::lock_guard lock(m_mutex);
    return m_total;
  }

private:
  std::mutex m_mutex;
  std::vector<Transfer> m_transfers;
  transfer::TotalProgress m_total;
};

std::string speed(double bytes_per_second) {
  return util::format_bytes(static_cast<std::uint64_t>(std::max(0.0, bytes_per_second))) + "/s";
}

std::string eta(const std::optional<double>& seconds) {
  return seconds ? "ETA " + util::format_duration(*seconds) : std::string("ETA ?");
}

class ErrorsToStderr : public ops::Reporter {
public:
  explicit ErrorsToStderr(Console& console) : m_console(console) {}
  void warning(std::string_view message) override { m_console.warning(message); }
  void error(const Error& error) override { m_console.error(error); }
  void trace(std::string_view line) override { m_console.err(line); }

protected:
  Console& m_console;
};

class QuietReporter final : public ops::SilentReporter {
public:
  explicit QuietReporter(Console& console) : m_console(console) {}
  void error(const Error& error) override { m_console.error(error); }
  void trace(std::string_view line) override { m_console.err(line); }

private:
  Console& m_console;
};

// Plain lines for logs that are not a terminal (CI): a total at most every k_interval, and one
// line per finished file.
class PlainReporter final : public ErrorsToStderr {
public:
  PlainReporter(Console& console, bool verbose) : ErrorsToStderr(console), m_verbose(verbose) {}

  void transfers_planned(std::size_t files, std::uint64_t bytes) override {
    m_table.reset(files);
    m_last_line = Clock::now();
    m_console.err("hfmodels: fetching " + std::to_string(files) + " file(s), " +
                  util::format_bytes(bytes));
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size, std::uint64_t resumed) override {
    m_table.start(id, model, path, size, resumed);
  }
  void transfer_progress(const transfer::FileProgress& file,
                         const transfer::TotalProgress& total) override {
    m_table.update(file, total);
    const auto now = Clock::now();
    if (now - m_last_line < k_interval) {
      return;
    }
    m_last_line = now;
    const auto percent = total.bytes_total ? total.bytes_done * 100 / total.bytes_total : 100;
    m_console.err("hfmodels: " + util::format_bytes(total.bytes_done) + " of " +
                  util::format_bytes(total.bytes_total) + " (" + std::to_string(percent) + "%), " +
                  speed(total.bytes_per_second) + ", " + eta(total.eta_seconds));
  }
  void transfer_finished(std::size_t id, bool ok) override {
    const auto finished = m_table.finish(id);
    if (!finished || !ok) {
      return;
    }
    m_console.err("hfmodels: fetched " + finished->first + " (" +
                  util::format_bytes(m_table.size_of(id)) + " in " +
                  util::format_duration(finished->second) + ")");
  }
  void transfers_done() override {}
  void note(std::string_view, std::string_view, std::string_view message) override {
    if (m_verbose) {
      m_console.err("hfmodels: " + std::string(message));
    }
  }

private:
  static constexpr auto k_interval = std::chrono::seconds(5);
  bool m_verbose;
  TransferTable m_table;
  Clock::time_point m_last_line;
};

// Live bars on a terminal: a thread redraws the active transfers and a total ten times a second,
// moving the cursor back over what it drew before.
class TerminalReporter final : public ErrorsToStderr {
public:
  TerminalReporter(Console& console, bool verbose) : ErrorsToStderr(console), m_verbose(verbose) {}
  ~TerminalReporter() override { stop(); }

  void transfers_planned(std::size_t files, std::uint64_t /*bytes*/) override {
    stop();
    m_table.reset(files);
    m_running = true;
    m_thread = std::thread([this] { render_loop(); });
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size, std::uint64_t resumed) override {
    m_table.start(id, model, path, size, resumed);
  }
  void transfer_progress(const transfer::FileProgress& file,
                         const transfer::TotalProgress& total) override {
    m_table.update(file, total);
  }
  void transfer_finished(std::size_t id, bool) override { m_table.finish(id); }
  void transfers_done() override { stop(); }
  void note(std::string_view, std::string_view, std::string_view message) override {
    if (m_verbose) {
      std::lock_guard lock(m_draw_mutex);
      clear();
      m_console.err(message);
    }
  }
  void warning(std::string_view message) override {
    std::lock_guard lock(m_draw_mutex);
    clear();
    m_console.warning(message);
  }
  void error(const Error& error) override {
    std::lock_guard lock(m_draw_mutex);
    clear();
    m_console.error(error);
  }
  void trace(std::string_view line) override {
    std::lock_guard lock(m_draw_mutex);
    clear();
    m_console.err(line);
  }

private:
  void stop() {
    {
      std::lock_guard lock(m_wake_mutex);
      m_running = false;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) {
      m_thread.join();
      std::lock_guard lock(m_draw_mutex);
      clear();
    }
  }

  void render_loop() {
    std::unique_lock lock(m_wake_mutex);
    while (m_running) {
      m_wake.wait_for(lock, std::chrono::milliseconds(100));
      std::lock_guard draw(m_draw_mutex);
      draw_frame();
    }
  }

  static int terminal_width() {
    const int columns = stderr_columns(80);
    return columns > 20 ? columns : 80;
  }

  static std::string bar(std::uint64_t done, std::uint64_t total, int width) {
    const int filled = total ? static_cast<int>(static_cast<double>(done) / total * width) : width;
    return "[" + std::string(std::min(filled, width), '#') +
           std::string(width - std::min(filled, width), '-') + "]";
  }

  static std::string fit(const std::string& text, std::size_t width) {
    if (text.size() <= width) {
      return text + std::string(width - text.size(), ' ');
    }
    // Keep the end of the path (the file name); never start inside a UTF-8 sequence.
    std::size_t start = text.size() - (width - 3);
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
      ++start;
    }
    return "..." + text.substr(start);
  }

  // One line per active transfer and a total, each cut to the terminal's width: a line that
  // wrapped would take two rows and break the cursor arithmetic of clear(). The numbers always
  // show; on a narrow terminal the bar shrinks (then goes) before the name is shortened below
  // `name_wanted` characters.
  std::string status_line(const std::string& name, std::uint64_t done, std::uint64_t total,
                          double bytes_per_second, const std::optional<double>& seconds_left,
                          int bar_width, std::size_t width, std::size_t name_wanted) const {
    const std::string numbers = " " + util::format_bytes(done) + "/" + util::format_bytes(total) +
                                " " + speed(bytes_per_second) +
                                (done < total ? " " + eta(seconds_left) : std::string());
    const std::string clean = m_console.clean_line(name);
    const std::size_t name_min = std::min(clean.size(), name_wanted);
    const std::size_t used = name_min + numbers.size() + 1; // the last column stays free
    const std::size_t room = width > used ? width - used : 0;
    constexpr std::size_t k_smallest_bar = 5; // "[" + 5 + "]" and a space
    const std::size_t bar_cells =
        room >= k_smallest_bar + 3 ? std::min<std::size_t>(bar_width, room - 3) : 0;
    const std::string right =
        (bar_cells > 0 ? " " + bar(done, total, static_cast<int>(bar_cells)) : std::string()) +
        numbers;
    const std::size_t name_width = std::max<std::size_t>(
        width > right.size() + 1 ? width - right.size() - 1 : 0, 4); // fit() needs 4
    std::string line = fit(clean, name_width) + right;
    if (line.size() >= width) {
      line.resize(width - 1);
    }
    return line + "\x1b[K\n";
  }

  void draw_frame() {
    std::string frame;
    const auto width = static_cast<std::size_t>(terminal_width());
    int lines = 0;
    const auto [transfers, total] = m_table.snapshot();
    for (const Transfer& transfer : transfers) {
      if (!transfer.active || lines >= k_max_bars) {
        continue;
      }
      frame += status_line(transfer.name, transfer.progress.bytes_done, transfer.size,
                           transfer.progress.bytes_per_second, transfer.progress.eta_seconds, 20,
                           width, 12);
      ++lines;
    }
    frame += status_line("Total: " + std::to_string(total.files_done) + "/" +
                             std::to_string(transfers.size()) + " files",
                         total.bytes_done, total.bytes_total, total.bytes_per_second,
                         total.eta_seconds, 30, width, 40);
    ++lines;
    clear();
    m_console.raw_err(frame);
    m_drawn_lines = lines;
  }

  // Moves back to the first line drawn and erases to the end of the screen.
  void clear() {
    if (m_drawn_lines > 0) {
      m_console.raw_err("\x1b[" + std::to_string(m_drawn_lines) + "F\x1b[J");
      m_drawn_lines = 0;
    }
  }

  static constexpr int k_max_bars = 8;
  bool m_verbose;
  TransferTable m_table;
  std::mutex m_wake_mutex;
  std::condition_variable m_wake;
  bool m_running = false;
  std::thread m_thread;
  std::mutex m_draw_mutex;
  int m_drawn_lines = 0;
};

// One JSON object per line on stdout. Progress is throttled to one event per file per second.
class JsonReporter final : public ops::Reporter {
public:
  explicit JsonReporter(Console& console) : m_console(console) {}

  void transfers_planned(std::size_t files, std::uint64_t bytes) override {
    m_table.reset(files);
    m_last_progress.assign(files, Clock::time_point{});
    emit({{"event", "plan"}, {"files", files}, {"bytes", bytes}});
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size, std::uint64_t resumed) override {
    m_table.start(id, model, path, size, resumed);
    emit({{"event", "start"},
          {"id", id},
          {"model", model},
          {"path", path},
          {"size", size},
          {"resumed", resumed}});
  }
  // At most one progress event a second per file.
  void transfer_progress(const transfer::FileProgress& file,
                         const transfer::TotalProgress& total) override {
    const auto now = Clock::now();
    if (file.file >= m_last_progress.size() || now - m_last_progress[file.file] < k_interval) {
      return;
    }
    m_last_progress[file.file] = now;
    const auto seconds = [](const std::optional<double>& value) {
      return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
    };
    emit({{"event", "progress"},
          {"id", file.file},
          {"bytes", file.bytes_done},
          {"size", file.bytes_total},
          {"bytes_per_second", file.bytes_per_second},
          {"eta_seconds", seconds(file.eta_seconds)},
          {"total",
           {{"files_done", total.files_done},
            {"files", total.files_total},
            {"bytes", total.bytes_done},
            {"size", total.bytes_total},
            {"bytes_per_second", total.bytes_per_second},
            {"eta_seconds", seconds(total.eta_seconds)}}}});
  }
  void transfer_finished(std::size_t id, bool ok) override {
    nlohmann::json event = {{"event", "done"}, {"id", id}, {"ok", ok}};
    if (const auto finished = m_table.finish(id)) {
      event["seconds"] = finished->second;
    }
    emit(event);
  }
  void transfers_done() override {}
  void note(std::string_view event, std::string_view model, std::string_view message) override {
    emit({{"event", event}, {"model", model}, {"message", message}});
  }
  void warning(std::string_view message) override {
    m_console.warning(message);
    emit({{"event", "warning"}, {"message", message}});
  }
  void trace(std::string_view line) override { m_console.err(line); }
  void error(const Error& error) override {
    m_console.error(error);
    emit({{"event", "error"},
          {"code", static_cast<int>(error.kind())},
          {"subject", error.subject()},
          {"message", advised(error).what()}});
  }

private:
  void emit(const nlohmann::json& event) { m_console.event(event); }

  static constexpr auto k_interval = std::chrono::seconds(1);
  Console& m_console;
  TransferTable m_table;
  std::vector<Clock::time_point> m_last_progress;
};

} // namespace

std::unique_ptr<ops::Reporter> make_reporter(OutputMode mode, bool verbose, Console& console) {
  switch (mode) {
  case OutputMode::terminal:
    return std::make_unique<TerminalReporter>(console, verbose);
  case OutputMode::plain:
    return std::make_unique<PlainReporter>(console, verbose);
  case OutputMode::json:
    return std::make_unique<JsonReporter>(console);
  case OutputMode::quiet:
    return std::make_unique<QuietReporter>(console);
  }
  return std::make_unique<QuietReporter>(console);
}

} // namespace hfmodels::cli
