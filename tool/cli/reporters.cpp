// SPDX-License-Identifier: MIT
#include "cli/reporters.hpp"

#include "cli/console.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <sys/ioctl.h>
#include <thread>
#include <vector>

namespace hfmodels::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What every reporter tracks per transfer. `bytes` is written by worker threads without a lock.
struct Transfer {
  std::string name;
  std::uint64_t size = 0;
  std::atomic<std::uint64_t> bytes{0};
  Clock::time_point started;
  std::atomic<bool> active{false};
};

class TransferTable {
public:
  void reset(std::size_t count) {
    std::lock_guard lock(m_mutex);
    m_transfers = std::vector<Transfer>(count);
    m_started = Clock::now();
  }
  Transfer* get(std::size_t id) { return id < m_transfers.size() ? &m_transfers[id] : nullptr; }
  // Records a transfer's start; returns it, or null for an id outside the planned batch.
  Transfer* start(std::size_t id, std::string_view model, std::string_view path,
                  std::uint64_t size) {
    auto* transfer = get(id);
    if (transfer) {
      transfer->name = std::string(model) + "/" + std::string(path);
      transfer->size = size;
      transfer->started = Clock::now();
    }
    return transfer;
  }
  std::vector<Transfer>& all() { return m_transfers; }
  Clock::time_point started() const { return m_started; }
  std::uint64_t total_bytes() const {
    std::uint64_t total = 0;
    for (const auto& transfer : m_transfers) {
      total += transfer.bytes.load(std::memory_order_relaxed);
    }
    return total;
  }
  std::mutex& mutex() { return m_mutex; }

private:
  std::mutex m_mutex;
  std::vector<Transfer> m_transfers;
  Clock::time_point m_started = Clock::now();
};

std::string rate(std::uint64_t bytes, double seconds) {
  return util::format_bytes(seconds > 0 ? static_cast<std::uint64_t>(bytes / seconds) : 0) + "/s";
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
    m_planned_bytes = bytes;
    m_last_line = Clock::now();
    m_console.err("hfmodels: fetching " + std::to_string(files) + " file(s), " +
                  util::format_bytes(bytes));
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size) override {
    m_table.start(id, model, path, size);
  }
  void transfer_progress(std::size_t id, std::uint64_t bytes) override {
    if (auto* transfer = m_table.get(id)) {
      transfer->bytes.store(bytes, std::memory_order_relaxed);
    }
    const auto now = Clock::now();
    std::lock_guard lock(m_line_mutex);
    if (now - m_last_line < k_interval) {
      return;
    }
    m_last_line = now;
    const auto done = m_table.total_bytes();
    const auto percent = m_planned_bytes ? done * 100 / m_planned_bytes : 100;
    m_console.err("hfmodels: " + util::format_bytes(done) + " of " +
                  util::format_bytes(m_planned_bytes) + " (" + std::to_string(percent) + "%), " +
                  rate(done, seconds_since(m_table.started())));
  }
  void transfer_finished(std::size_t id, bool ok) override {
    auto* transfer = m_table.get(id);
    if (!transfer || !ok) {
      return;
    }
    std::lock_guard lock(m_line_mutex);
    m_console.err("hfmodels: fetched " + transfer->name + " (" +
                  util::format_bytes(transfer->size) + " in " +
                  util::format_duration(seconds_since(transfer->started)) + ")");
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
  std::uint64_t m_planned_bytes = 0;
  std::mutex m_line_mutex;
  Clock::time_point m_last_line;
};

// Live bars on a terminal: a thread redraws the active transfers and a total ten times a second,
// moving the cursor back over what it drew before.
class TerminalReporter final : public ErrorsToStderr {
public:
  TerminalReporter(Console& console, bool verbose) : ErrorsToStderr(console), m_verbose(verbose) {}
  ~TerminalReporter() override { stop(); }

  void transfers_planned(std::size_t files, std::uint64_t bytes) override {
    stop();
    m_table.reset(files);
    m_planned_bytes = bytes;
    m_running = true;
    m_thread = std::thread([this] { render_loop(); });
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size) override {
    std::lock_guard lock(m_table.mutex());
    if (auto* transfer = m_table.start(id, model, path, size)) {
      transfer->active = true;
    }
  }
  void transfer_progress(std::size_t id, std::uint64_t bytes) override {
    if (auto* transfer = m_table.get(id)) {
      transfer->bytes.store(bytes, std::memory_order_relaxed);
    }
  }
  void transfer_finished(std::size_t id, bool) override {
    if (auto* transfer = m_table.get(id)) {
      transfer->active = false;
      ++m_finished;
    }
  }
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
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) {
      return size.ws_col;
    }
    return 80;
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

  static std::string eta(std::uint64_t done, std::uint64_t total, double seconds) {
    if (done == 0 || done >= total) {
      return "";
    }
    return "ETA " + util::format_duration(seconds * (total - done) / done);
  }

  // One line per active transfer and a total, each cut to the terminal's width: a line that
  // wrapped would take two rows and break the cursor arithmetic of clear().
  std::string status_line(const std::string& name, std::uint64_t done, std::uint64_t total,
                          double elapsed, int bar_width, std::size_t width) const {
    const std::string right = " " + bar(done, total, bar_width) + " " + util::format_bytes(done) +
                              "/" + util::format_bytes(total) + " " + rate(done, elapsed) + " " +
                              eta(done, total, elapsed);
    const std::size_t name_width = width > right.size() + 12 ? width - right.size() - 1 : 12;
    std::string line = fit(m_console.clean_line(name), name_width) + right;
    if (line.size() >= width) {
      line.resize(width - 1);
    }
    return line + "\x1b[K\n";
  }

  void draw_frame() {
    std::string frame;
    const auto width = static_cast<std::size_t>(terminal_width());
    int lines = 0;
    std::lock_guard lock(m_table.mutex());
    for (auto& transfer : m_table.all()) {
      if (!transfer.active || lines >= k_max_bars) {
        continue;
      }
      frame += status_line(transfer.name, transfer.bytes.load(std::memory_order_relaxed),
                           transfer.size, seconds_since(transfer.started), 20, width);
      ++lines;
    }
    frame += status_line("Total: " + std::to_string(m_finished.load()) + "/" +
                             std::to_string(m_table.all().size()) + " files",
                         m_table.total_bytes(), m_planned_bytes, seconds_since(m_table.started()),
                         30, width);
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
  std::uint64_t m_planned_bytes = 0;
  std::atomic<std::size_t> m_finished{0};
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
    m_last_progress = std::vector<std::atomic<std::int64_t>>(files);
    emit({{"event", "plan"}, {"files", files}, {"bytes", bytes}});
  }
  void transfer_started(std::size_t id, std::string_view model, std::string_view path,
                        std::uint64_t size) override {
    m_table.start(id, model, path, size);
    emit({{"event", "start"}, {"id", id}, {"model", model}, {"path", path}, {"size", size}});
  }
  void transfer_progress(std::size_t id, std::uint64_t bytes) override {
    if (id >= m_last_progress.size()) {
      return;
    }
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
            .count();
    auto last = m_last_progress[id].load();
    if (now_ms - last >= 1000 && m_last_progress[id].compare_exchange_strong(last, now_ms)) {
      emit({{"event", "progress"}, {"id", id}, {"bytes", bytes}});
    }
  }
  void transfer_finished(std::size_t id, bool ok) override {
    nlohmann::json event = {{"event", "done"}, {"id", id}, {"ok", ok}};
    if (auto* transfer = m_table.get(id)) {
      event["seconds"] = seconds_since(transfer->started);
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
          {"code", static_cast<int>(error.code())},
          {"subject", error.subject()},
          {"message", error.what()}});
  }

private:
  void emit(const nlohmann::json& event) { m_console.event(event); }

  Console& m_console;
  TransferTable m_table;
  std::vector<std::atomic<std::int64_t>> m_last_progress;
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
