// SPDX-License-Identifier: MIT
#include "cli/app.hpp"

#include "cli/command.hpp"
#include "cli/console.hpp"
#include "cli/interrupt.hpp"
#include "cli/reporters.hpp"
#include "cli/terminal.hpp"
#include "util/cancel.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <map>
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
  for (const std::string& secret : ops::secrets_of(settings)) {
    console.add_secret(secret);
  }
  return settings;
}

// Whether --json was asked for, read from the arguments themselves: errors found before the
// command line is fully parsed (a typo, a bad option) go to stdout as JSON too.
bool json_requested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      return false;
    }
    if (arg == "--json") {
      return true;
    }
  }
  return false;
}

// CLI11 reports an unknown command as an unexpected argument; say what was meant instead.
std::optional<std::string>
mistyped_command(int argc, char** argv, const std::vector<std::string>& commands,
                 const std::map<std::string, std::vector<std::string>>& subcommands) {
  static const std::vector<std::string> takes_value = {"-m",         "--manifest",  "-l",
                                                       "--lockfile", "--cache-dir", "--endpoint",
                                                       "-j",         "--jobs",      "--mirror"};
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
    if (std::find(commands.begin(), commands.end(), arg) != commands.end()) {
      // `cache lss`: the command's own commands, the same way.
      const auto group = subcommands.find(arg);
      if (group == subcommands.end() || group->second.empty()) {
        return std::nullopt;
      }
      for (int j = i + 1; j < argc; ++j) {
        const std::string sub = argv[j];
        if (sub.empty() || sub[0] == '-') {
          continue;
        }
        if (std::find(group->second.begin(), group->second.end(), sub) != group->second.end()) {
          return std::nullopt;
        }
        const auto suggestion = util::closest_match(sub, group->second);
        return "unknown command '" + arg + " " + sub + "'" +
               (suggestion ? ". Did you mean '" + arg + " " + *suggestion + "'?" : "");
      }
      std::string list;
      for (const auto& name : group->second) {
        list += (list.empty() ? "" : ", ") + name;
      }
      return "'" + arg + "' needs one of its commands: " + list;
    }
    const auto suggestion = util::closest_match(arg, commands);
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
  app.add_option("--mirror", options.overrides.mirrors,
                 "Mirror to try before the Hub, repeatable: http(s)://, s3://bucket/prefix, "
                 "file:///path (default: HFMODELS_MIRRORS)");
  app.add_flag("--no-origin", options.overrides.no_origin,
               "Take files from the mirrors only; never contact the Hub");
  app.add_flag("--json", options.json, "Machine-readable output: one JSON object per line");
  app.add_flag("-q,--quiet", options.quiet, "Print errors only");
  app.add_flag("-v,--verbose", options.overrides.verbose, "Say more (HTTP trace, token redacted)");
  app.add_flag("--no-progress", options.no_progress, "Plain lines instead of progress bars");

  Commands commands;
  add_project_commands(app, commands);
  add_manifest_commands(app, commands);
  add_hub_commands(app, commands);
  add_cache_commands(app, commands);
  add_mirror_commands(app, commands);
  add_completion_command(app, commands);
  std::vector<std::string> command_names;
  std::map<std::string, std::vector<std::string>> subcommand_names;
  for (auto* command : app.get_subcommands({})) {
    command->fallthrough();
    for (auto* sub : command->get_subcommands({})) {
      sub->fallthrough(); // `cache ls --json`
      subcommand_names[command->get_name()].push_back(sub->get_name());
    }
    command_names.push_back(command->get_name());
  }

  // Until the settings are known: errors only (as JSON too with --json).
  auto reporter = make_reporter(json_requested(argc, argv) ? OutputMode::json : OutputMode::quiet,
                                false, console);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << "hfmodels " HFMODELS_VERSION "\n";
    return 0;
  } catch (const CLI::ParseError& error) {
    const auto typo = mistyped_command(argc, argv, command_names, subcommand_names);
    reporter->error(Error(ErrorKind::usage, typo.value_or(error.what()), "",
                          "Run `hfmodels --help` for usage"));
    return static_cast<int>(ErrorKind::usage);
  }

  try {
    auto settings = settings_from(options, console);
    reporter = make_reporter(output_mode(options), settings.verbose, console);
    if (settings.verbose) {
      // Through the reporter, which clears its progress bars before a line of trace.
      settings.http_trace = [&reporter](std::string_view line) { reporter->trace(line); };
    }
    Context context{options, console, settings, *reporter, interrupt.token()};
    for (const auto& command : commands) {
      if (command.parsed->parsed()) {
        return command.run(context);
      }
    }
    return 0;
  } catch (const Error& error) {
    if (interrupt.signal() != 0) {
      // Whatever the error on the way out (the stop itself, or a failure it caused), the signal
      // decides: one line, and the exit status a shell expects (130, 143).
      const int signal = interrupt.signal();
      reporter->error(
          Error(ErrorKind::cancelled, "interrupted",
                signal == SIGTERM ? "SIGTERM received" : "SIGINT received",
                "What was done is kept (partial downloads too); run the command again to go on"));
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

namespace hfmodels::cli {

void Context::say(const std::string& line) const {
  if (!options.quiet && !options.json) {
    console.err(line);
  }
}

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width) {
    text.append(width - text.size(), ' ');
  }
  return text;
}

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace hfmodels::cli
