// SPDX-License-Identifier: MIT
// model-manager: the answer to "how do I add a download button to my inference app", on the
// public API of hfmodels only.
//
//   model-manager                  list the models, then download what is missing
//   model-manager list             list the models with their size and state
//   model-manager fetch [NAME...]  download (all when no name is given)
//   model-manager path NAME        where the model is; no network
//   model-manager --pick org/x-GGUF:Q4_K_M
//                                  resolve a model chosen at run time, download it
//
// Ctrl-C cancels a download cleanly: the signal only requests a stop on a std::stop_source, the
// library returns within a second with Error::kind() == cancelled, and the next run resumes.
// The lockfile is compiled into the program (hfmodels_embed_lockfile), so a second run needs
// neither the source tree nor the network.

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <hfmodels/hfmodels.hpp>
#include <iostream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string duration(double seconds) {
  if (seconds < 0) {
    return "--:--";
  }
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

// One line, redrawn: the file, a bar, speed and ETA of the whole download.
void draw(const hfmodels::Event& event) {
  using Kind = hfmodels::Event::Kind;
  if (event.kind == Kind::failed) {
    return; // the fetch's hfmodels::Error says why, for every file
  }
  const double total = static_cast<double>(event.all_bytes_total);
  const double fraction = total > 0 ? static_cast<double>(event.all_bytes_done) / total : 1.0;
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  std::cerr << "\r\033[K[" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(width - filled), ' ') << "] "
            << static_cast<int>(fraction * 100) << "%  " << human(event.bytes_per_second)
            << "/s  ETA " << duration(event.all_eta_seconds) << "  " << event.path << std::flush;
}

void list(const hfmodels::Project& project) {
  for (const auto& name : project.models()) {
    const auto& model = project.model(name);
    const auto state = project.state(name);
    std::cout << name << "  " << model.repo << "@" << model.commit.substr(0, 7) << "  "
              << human(static_cast<double>(state.bytes)) << "  "
              << (state.cached()           ? "ready"
                  : state.files_cached > 0 ? "partial (" + std::to_string(state.files_cached) +
                                                 "/" + std::to_string(state.files) + " files)"
                                           : "not downloaded")
              << "\n";
  }
}

// Turns SIGINT and SIGTERM into a stop request. The signals are blocked in every thread and
// taken by sigwait on this one, so nothing runs in a signal handler.
class StopOnSignal {
public:
  StopOnSignal() {
    sigemptyset(&m_signals);
    sigaddset(&m_signals, SIGINT);
    sigaddset(&m_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m_signals, nullptr);
    m_thread = std::jthread([this](std::stop_token done) {
      int signal = 0;
      while (sigwait(&m_signals, &signal) == 0 && !done.stop_requested()) {
        m_source.request_stop();
        std::cerr << "\ncancelling...\n";
      }
    });
  }
  ~StopOnSignal() {
    m_thread.request_stop();
    pthread_kill(m_thread.native_handle(), SIGTERM); // wakes sigwait
  }
  std::stop_token token() const { return m_source.get_token(); }

private:
  sigset_t m_signals{};
  std::stop_source m_source;
  std::jthread m_thread;
};

int run(const std::vector<std::string>& args) {
  hfmodels::Options options; // the cache, endpoint and token of the environment
  StopOnSignal stop;
  if (args.size() == 2 && args[0] == "--pick") {
    hfmodels::Hub hub(options);
    const hfmodels::LockedModel model = hub.resolve(args[1], stop.token());
    std::cout << args[1] << " -> " << model.repo << "@" << model.commit.substr(0, 7) << ", "
              << model.files.size() << " file(s), "
              << human(static_cast<double>(model.total_size())) << "\n";
    hfmodels::fetch(model, options, draw, stop.token());
    std::cerr << "\n";
    std::cout << hfmodels::path(model, options).string() << "\n";
    return 0;
  }
  auto project = hfmodels::Project::embedded(options);
  if (args.empty() || args[0] == "list") {
    list(project);
    if (!args.empty()) {
      return 0;
    }
  }
  if (args.empty() || args[0] == "fetch") {
    const std::vector<std::string> names(args.empty() ? args.begin() : args.begin() + 1,
                                         args.end());
    const auto summary = project.fetch(names, draw, stop.token());
    std::cerr << "\n";
    std::cout << summary.downloaded << " of " << summary.files << " file(s) downloaded ("
              << human(static_cast<double>(summary.bytes_downloaded)) << ")\n";
    return 0;
  }
  if (args.size() == 2 && args[0] == "path") {
    std::cout << project.path(args[1]).string() << "\n";
    return 0;
  }
  std::cerr << "usage: model-manager [list | fetch [NAME...] | path NAME | --pick REPO[:QUANT]]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const hfmodels::Error& error) {
    std::cerr << "\nmodel-manager: " << error.what() << "\n";
    // The library's kinds are the hfmodels tool's exit codes.
    return static_cast<int>(error.kind());
  }
}
