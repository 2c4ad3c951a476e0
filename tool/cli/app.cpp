// SPDX-License-Identifier: MIT
#include "cli/app.hpp"

#include "cli/cmake_script.hpp"
#include "cli/console.hpp"
#include "cli/interrupt.hpp"
#include "cli/reporters.hpp"
#include "cli/terminal.hpp"
#include "http/client.hpp"
#include "ops/operations.hpp"
#include "util/cancel.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

namespace hfmodels::cli {

namespace {

constexpr const char* k_exit_codes = R"(Exit codes:
  0  success
  1  failure (I/O, disk space, anything else)
  2  bad usage, bad models.yaml or models.lock
  3  network or Hub error (not found, gated, rate limited, ...)
  4  integrity: a file's hash or size does not match the lockfile
  5  offline and something is missing from the cache
  6  the lockfile is stale against models.yaml (run `hfmodels lock`)
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM; partial downloads are resumed next time

Environment: HF_ENDPOINT, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH, HF_HOME,
HF_HUB_CACHE, HF_HUB_OFFLINE, HFMODELS_OFFLINE, HF_HUB_DISABLE_PROGRESS_BARS,
HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT, NO_COLOR, and libcurl's proxy and CA variables.
A token is never accepted on the command line, and never sent over plain http to another
machine unless HFMODELS_ALLOW_HTTP_TOKEN=1.)";

const std::vector<std::string> k_commands = {"lock",   "fetch",  "verify",    "path",
                                             "status", "export", "cmake-info"};

struct GlobalOptions {
  ops::SettingOverrides overrides;
  std::string manifest;
  std::string lockfile;
  std::string cache_dir;
  std::string endpoint;
  std::optional<unsigned> jobs;
  bool json = false;
  bool quiet = false;
  bool no_progress = false;
};

OutputMode output_mode(const GlobalOptions& options) {
  if (options.json) {
    return OutputMode::json;
  }
  if (options.quiet) {
    return OutputMode::quiet;
  }
  if (options.no_progress || util::env_true(util::process_getenv("HF_HUB_DISABLE_PROGRESS_BARS")) ||
      !stderr_is_terminal()) {
    return OutputMode::plain;
  }
  return OutputMode::terminal;
}

// The settings of this run. Their secrets are registered with `console` before anything else
// is printed.
ops::Settings settings_from(GlobalOptions& options, Console& console) {
  auto& overrides = options.overrides;
  if (!options.manifest.empty()) {
    overrides.manifest_path = options.manifest;
  }
  if (!options.lockfile.empty()) {
    overrides.lockfile_path = options.lockfile;
  }
  if (!options.cache_dir.empty()) {
    overrides.cache_dir = options.cache_dir;
  }
  if (!options.endpoint.empty()) {
    overrides.endpoint = options.endpoint;
  }
  if (options.jobs) {
    overrides.jobs = *options.jobs;
  }
  ops::Settings settings = ops::resolve_settings(overrides);
  console.add_secret(settings.token);
  for (const std::string& secret : settings.proxies.credentials()) {
    console.add_secret(secret);
  }
  for (const std::string& secret : http::credentials_of(settings.endpoint)) {
    console.add_secret(secret);
  }
  return settings;
}

// Status lines for people go to stderr; stdout carries data (paths, tables, JSON).
void say(Console& console, const GlobalOptions& options, const std::string& line) {
  if (!options.quiet && !options.json) {
    console.err(line);
  }
}

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string state_name(ops::ModelState state) {
  switch (state) {
  case ops::ModelState::cached:
    return "cached";
  case ops::ModelState::missing:
    return "missing";
  case ops::ModelState::stale:
    return "stale";
  case ops::ModelState::unlocked:
    return "unlocked";
  }
  return "unknown";
}

void print_status(Console& console, const GlobalOptions& options,
                  const std::vector<ops::ModelStatus>& models) {
  if (options.json) {
    for (const auto& model : models) {
      console.event({{"event", "status"},
                     {"model", model.name},
                     {"commit", model.commit},
                     {"files", model.files},
                     {"missing", model.files_missing},
                     {"bytes", model.bytes},
                     {"state", state_name(model.state)}});
    }
    return;
  }
  std::size_t name_width = 5;
  for (const auto& model : models) {
    name_width = std::max(name_width, model.name.size());
  }
  const auto row = [&](const std::string& name, const std::string& commit, const std::string& files,
                       const std::string& size, const std::string& state) {
    std::array<char, 256> fixed{};
    std::snprintf(fixed.data(), fixed.size(), "  %-7s  %5s  %10s  ", commit.c_str(), files.c_str(),
                  size.c_str());
    console.out(name + std::string(name_width - std::min(name_width, name.size()), ' ') +
                fixed.data() + state);
  };
  row("MODEL", "COMMIT", "FILES", "SIZE", "STATE");
  for (const auto& model : models) {
    std::string state = state_name(model.state);
    if (model.state == ops::ModelState::missing) {
      state += " (" + std::to_string(model.files_missing) + " of " + std::to_string(model.files) +
               " files)";
    }
    row(model.name, model.commit.substr(0, 7), std::to_string(model.files),
        model.state == ops::ModelState::unlocked ? "-" : util::format_bytes(model.bytes), state);
  }
}

// Verify's report: one error per bad file, a summary, and the exit code.
int report_verify(Console& console, const GlobalOptions& options,
                  const std::vector<ops::FileCheck>& checks, ops::Reporter& reporter) {
  std::size_t mismatched = 0;
  std::size_t missing = 0;
  std::string missing_list;
  std::uint64_t bytes = 0;
  for (const auto& check : checks) {
    const auto subject = check.model + "/" + check.path;
    bytes += check.actual_size;
    if (options.json) {
      console.event({{"event", "verify"},
                     {"model", check.model},
                     {"path", check.path},
                     {"state", check.state == ops::FileState::ok        ? "ok"
                               : check.state == ops::FileState::missing ? "missing"
                                                                        : "mismatch"},
                     {"expected_sha256", check.expected_sha256},
                     {"actual_sha256", check.actual_sha256}});
    }
    if (check.state == ops::FileState::mismatch) {
      ++mismatched;
      reporter.error(Error(ErrorKind::integrity, "cached file does not match the lockfile",
                           "expected sha256 " + check.expected_sha256 + " (" +
                               std::to_string(check.expected_size) + " bytes), got " +
                               check.actual_sha256 + " (" + std::to_string(check.actual_size) +
                               " bytes)",
                           "Delete the file and its blob, then run `hfmodels fetch`", subject));
    } else if (check.state == ops::FileState::missing) {
      ++missing;
      missing_list += "\n  " + subject;
    }
  }
  say(console, options,
      "Verified " + count(checks.size(), "file") + " (" + util::format_bytes(bytes) +
          "): " + std::to_string(checks.size() - mismatched - missing) + " ok, " +
          std::to_string(mismatched) + " mismatched, " + std::to_string(missing) + " missing");
  if (mismatched > 0) {
    return static_cast<int>(ErrorKind::integrity);
  }
  if (missing > 0) {
    console.error(Error(ErrorKind::failure, std::to_string(missing) + " locked file(s) not cached",
                        "missing from the cache:" + missing_list + "\n", "Run `hfmodels fetch`"));
    return static_cast<int>(ErrorKind::failure);
  }
  return 0;
}

// CLI11 reports an unknown command as an unexpected argument; say what was meant instead.
std::optional<std::string> mistyped_command(int argc, char** argv) {
  static const std::vector<std::string> takes_value = {
      "-m", "--manifest", "-l", "--lockfile", "--cache-dir", "--endpoint", "-j", "--jobs"};
  // `--token VALUE` would otherwise be echoed back as an unknown command or argument.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--token" || arg.rfind("--token=", 0) == 0) {
      return std::string("a token is never accepted on the command line (it would show in `ps`); "
                         "set HF_TOKEN or write it to $HF_HOME/token");
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (std::find(takes_value.begin(), takes_value.end(), arg) != takes_value.end()) {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') {
      continue;
    }
    if (std::find(k_commands.begin(), k_commands.end(), arg) != k_commands.end()) {
      return std::nullopt;
    }
    const auto suggestion = util::closest_match(arg, k_commands);
    return "unknown command '" + arg + "'" +
           (suggestion ? ". Did you mean '" + *suggestion + "'?" : "");
  }
  return std::nullopt;
}

} // namespace

int run(int argc, char** argv) {
  // First, before any thread starts: Ctrl-C and SIGTERM become a stop request.
  const InterruptWatcher interrupt;
  Console console;
  CLI::App app("hfmodels " HFMODELS_VERSION
               ": Hugging Face models as pinned, verified, cached build dependencies",
               "hfmodels");
  app.footer(k_exit_codes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "hfmodels " HFMODELS_VERSION);

  GlobalOptions options;
  app.option_defaults()->always_capture_default(false);
  app.add_option("-m,--manifest", options.manifest, "Manifest file (default: models.yaml)");
  app.add_option("-l,--lockfile", options.lockfile,
                 "Lockfile (default: models.lock beside the manifest)");
  app.add_option("--cache-dir", options.cache_dir, "Hub cache folder (default: HF_HUB_CACHE)");
  app.add_option("--endpoint", options.endpoint,
                 "Hub URL (default: HF_ENDPOINT or huggingface.co)");
  app.add_flag("--offline", options.overrides.offline, "Never touch the network");
  app.add_option("-j,--jobs", options.jobs, "Parallel downloads (default: 16)");
  app.add_flag("--json", options.json, "Machine-readable output: one JSON object per line");
  app.add_flag("-q,--quiet", options.quiet, "Print errors only");
  app.add_flag("-v,--verbose", options.overrides.verbose, "Say more (HTTP trace, token redacted)");
  app.add_flag("--no-progress", options.no_progress, "Plain lines instead of progress bars");

  std::vector<std::string> names;
  bool update = false;
  auto* lock = app.add_subcommand("lock", "Resolve models.yaml into models.lock");
  lock->add_option("names", names, "Models to lock (default: all)");
  lock->add_flag("--update", update, "Re-resolve branches to their current commit");
  auto* fetch = app.add_subcommand("fetch", "Make the cache hold every locked file, verified");
  fetch->add_option("names", names, "Models to fetch (default: all)");
  auto* verify = app.add_subcommand("verify", "Re-hash cached files against the lockfile");
  verify->add_option("names", names, "Models to verify (default: all)");
  std::string path_model;
  std::optional<std::string> path_file;
  auto* path = app.add_subcommand("path", "Print a model's snapshot folder, or one file's path");
  path->add_option("name", path_model, "Model name")->required();
  path->add_option("file", path_file, "A locked file of the model");
  auto* status = app.add_subcommand("status", "Table of models: commit, files, size, state");
  std::string export_dir;
  auto* export_command =
      app.add_subcommand("export", "Copy real files (no symlinks) into DIR/<name>/...");
  export_command->add_option("names", names, "Models to export")->required();
  export_command->add_option("--to", export_dir, "Destination folder")->required();
  std::string cmake_output;
  bool cmake_fetch = false;
  auto* cmake_info = app.add_subcommand(
      "cmake-info", "For the CMake package: write the models' locations as a CMake script");
  cmake_info->add_option("names", names, "Models (default: all)");
  cmake_info->add_option("--output", cmake_output, "Script to write")->required();
  cmake_info->add_flag("--fetch", cmake_fetch, "Fetch the models first");
  for (auto* command : app.get_subcommands({})) {
    command->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << "hfmodels " HFMODELS_VERSION "\n";
    return 0;
  } catch (const CLI::ParseError& error) {
    const auto typo = mistyped_command(argc, argv);
    console.error(Error(ErrorKind::usage, typo.value_or(error.what()), "",
                        "Run `hfmodels --help` for usage"));
    return static_cast<int>(ErrorKind::usage);
  }

  auto reporter = make_reporter(OutputMode::quiet, false, console);
  try {
    auto settings = settings_from(options, console);
    reporter = make_reporter(output_mode(options), settings.verbose, console);
    if (settings.verbose) {
      // Through the reporter, which clears its progress bars before a line of trace.
      settings.http_trace = [&reporter](std::string_view line) { reporter->trace(line); };
    }
    const std::stop_token stop = interrupt.token();
    if (*lock) {
      const auto result = ops::lock(settings, {names, update}, *reporter, stop);
      say(console, options,
          "Locked " + count(result.resolved.size() + result.kept.size(), "model") + " (" +
              std::to_string(result.resolved.size()) + " resolved, " +
              std::to_string(result.kept.size()) + " unchanged" +
              (result.removed.empty() ? ""
                                      : ", " + std::to_string(result.removed.size()) + " removed") +
              "): " + settings.lockfile_path.string() +
              (result.lockfile_changed ? " updated" : " unchanged"));
    } else if (*fetch) {
      const auto result = ops::fetch(settings, names, *reporter, stop);
      if (result.downloaded > 0 || settings.verbose) {
        say(console, options,
            "Fetched " + count(result.downloaded, "file") + " (" +
                util::format_bytes(result.bytes_downloaded) + "); " +
                count(result.files, "locked file") + " cached");
      }
    } else if (*verify) {
      return report_verify(console, options, ops::verify(settings, names, *reporter, stop),
                           *reporter);
    } else if (*path) {
      console.out(ops::model_path(settings, path_model, path_file).string());
    } else if (*status) {
      print_status(console, options, ops::status(settings, stop));
    } else if (*export_command) {
      const auto result = ops::export_models(settings, names, export_dir, *reporter, stop);
      say(console, options,
          "Exported " + count(result.files, "file") + " (" + util::format_bytes(result.bytes) +
              ") to " + export_dir);
    } else if (*cmake_info) {
      if (cmake_fetch) {
        ops::fetch(settings, names, *reporter, stop);
      }
      const auto script = cmake_script(ops::locate_models(settings, names));
      // Unchanged content keeps its timestamp, so nothing downstream reruns.
      std::error_code error;
      if (!std::filesystem::exists(cmake_output, error) ||
          util::read_file(cmake_output) != script) {
        util::write_file_atomic(cmake_output, script);
      }
    }
    return 0;
  } catch (const Error& error) {
    if (interrupt.signal() != 0) {
      // Whatever the error on the way out (the stop itself, or a failure it caused), the signal
      // decides: one line, and the exit status a shell expects (130, 143).
      const int signal = interrupt.signal();
      reporter->error(Error(ErrorKind::cancelled, "interrupted",
                            signal == SIGTERM ? "SIGTERM received" : "SIGINT received",
                            "Partial downloads were kept; run the command again to resume"));
      return 128 + signal;
    }
    reporter->error(error);
    return static_cast<int>(error.kind());
  } catch (const std::exception& error) {
    reporter->error(Error(ErrorKind::failure, "unexpected failure", error.what()));
    return static_cast<int>(ErrorKind::failure);
  }
}

} // namespace hfmodels::cli
