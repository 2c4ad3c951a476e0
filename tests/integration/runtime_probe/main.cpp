// SPDX-License-Identifier: MIT
// Drives the public API for test_runtime_library.py; prints one JSON-ish line per fact.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <hfmodels/hfmodels.hpp>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const char* kind_name(hfmodels::Event::Kind kind) {
  switch (kind) {
  case hfmodels::Event::Kind::started:
    return "started";
  case hfmodels::Event::Kind::progress:
    return "progress";
  case hfmodels::Event::Kind::finished:
    return "finished";
  case hfmodels::Event::Kind::failed:
    return "failed";
  }
  return "?";
}

void print_event(const hfmodels::Event& e) {
  std::printf("event %s %s %s %llu %llu %.0f %.1f %llu %llu\n", kind_name(e.kind), e.model.c_str(),
              e.path.c_str(), static_cast<unsigned long long>(e.bytes_done),
              static_cast<unsigned long long>(e.bytes_total), e.bytes_per_second, e.eta_seconds,
              static_cast<unsigned long long>(e.all_bytes_done),
              static_cast<unsigned long long>(e.all_bytes_total));
}

// The README's example, as a consumer writes it ("Using hfmodels from a program").
int spec_example() {
  hfmodels::Options options;
  auto project = hfmodels::Project::embedded(options);
  std::stop_source stop;
  project.fetch(
      {"chat"}, [](const hfmodels::Event& e) { print_event(e); }, stop.get_token());
  std::filesystem::path dir = project.path("chat");
  std::filesystem::path gguf = project.path("chat", "tiny-llama-Q4_K_M.gguf");
  std::printf("dir %s\ngguf %s\n", dir.c_str(), gguf.c_str());
  return 0;
}

// Fetches `model` and requests a stop at its first progress event; prints how long the library
// took to return after the request, and the error's kind.
int cancel(const std::string& model) {
  hfmodels::Options options;
  auto project = hfmodels::Project::embedded(options);
  std::stop_source stop;
  Clock::time_point requested{};
  try {
    project.fetch(
        {model},
        [&](const hfmodels::Event& e) {
          if (e.kind == hfmodels::Event::Kind::progress && e.bytes_done > 0 &&
              !stop.stop_requested()) {
            requested = Clock::now();
            stop.request_stop();
          }
        },
        stop.get_token());
  } catch (const hfmodels::Error& error) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - requested).count();
    std::printf("error %d %lld\n", static_cast<int>(error.kind()), static_cast<long long>(ms));
    return 0;
  }
  std::printf("finished\n");
  return 0;
}

// Two fetches of different models at once, on two threads; the first is cancelled at its first
// progress event, the second runs to the end.
int two() {
  hfmodels::Options options;
  auto project_a = hfmodels::Project::embedded(options);
  auto project_b = hfmodels::Project::embedded(options);
  std::stop_source stop_a;
  std::stop_source stop_b;
  std::string result_a = "finished";
  std::string result_b = "finished";
  std::atomic<int> overlap{0};
  std::atomic<bool> a_running{false};
  std::atomic<bool> b_running{false};
  std::thread a([&] {
    a_running = true;
    try {
      project_a.fetch(
          {"chat"},
          [&](const hfmodels::Event& e) {
            if (b_running) {
              ++overlap;
            }
            if (e.kind == hfmodels::Event::Kind::progress && e.bytes_done > 0) {
              stop_a.request_stop();
            }
          },
          stop_a.get_token());
    } catch (const hfmodels::Error& error) {
      result_a = "error " + std::to_string(static_cast<int>(error.kind()));
    }
    a_running = false;
  });
  std::thread b([&] {
    b_running = true;
    try {
      project_b.fetch(
          {"encoder"},
          [&](const hfmodels::Event&) {
            if (a_running) {
              ++overlap;
            }
          },
          stop_b.get_token());
    } catch (const hfmodels::Error& error) {
      result_b = "error " + std::to_string(static_cast<int>(error.kind()));
    }
    b_running = false;
  });
  a.join();
  b.join();
  std::printf("a %s\nb %s\noverlap %d\n", result_a.c_str(), result_b.c_str(), overlap.load());
  return 0;
}

int resolve(const std::string& spec) {
  hfmodels::Options options;
  hfmodels::Hub hub(options);
  hfmodels::LockedModel m = hub.resolve(spec);
  std::printf("resolved %s %s %s\n", m.name.c_str(), m.repo.c_str(), m.commit.c_str());
  std::printf("total %llu\n", static_cast<unsigned long long>(m.total_size()));
  for (const auto& file : m.files) {
    std::printf("file %s %llu %s\n", file.path.c_str(), static_cast<unsigned long long>(file.size),
                file.sha256.c_str());
  }
  std::stop_source stop;
  hfmodels::fetch(m, options, print_event, stop.get_token());
  std::printf("dir %s\n", hfmodels::path(m, options).c_str());
  return 0;
}

int path(const std::string& model) {
  auto project = hfmodels::Project::embedded(hfmodels::Options());
  std::printf("dir %s\n", project.path(model).c_str());
  return 0;
}

// Fetches "chat" from the mirror `url` only (never the Hub), then prints its path.
int from_mirror(const std::string& url) {
  hfmodels::Options options;
  options.mirrors({url}).no_origin(true);
  auto project = hfmodels::Project::embedded(options);
  project.fetch(
      {"chat"}, [](const hfmodels::Event&) {}, std::stop_token());
  std::printf("mirrors %zu %s\npath %s\n", options.mirrors().size(), options.mirrors()[0].c_str(),
              project.path("chat").c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "example") {
      return spec_example();
    }
    if (args[0] == "cancel" && args.size() == 2) {
      return cancel(args[1]);
    }
    if (args[0] == "two") {
      return two();
    }
    if (args[0] == "resolve" && args.size() == 2) {
      return resolve(args[1]);
    }
    if (args[0] == "path" && args.size() == 2) {
      return path(args[1]);
    }
    if (args[0] == "mirror" && args.size() == 2) {
      return from_mirror(args[1]);
    }
    if (args[0] == "version") {
      std::printf("version %s\n", hfmodels::version());
      return 0;
    }
  } catch (const hfmodels::Error& error) {
    std::printf("error %d %s\n", static_cast<int>(error.kind()), error.what());
    return static_cast<int>(error.kind());
  }
  std::fprintf(
      stderr,
      "usage: probe [example | cancel MODEL | two | resolve SPEC | path MODEL | mirror URL]\n");
  return 2;
}
