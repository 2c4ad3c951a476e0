// SPDX-License-Identifier: MIT
#pragma once

#include "ops/reporter.hpp"
#include "ops/settings.hpp"

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace hfmodels::cli {

class Console;

// The options every command takes (README.md, "Commands": global options).
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

// What a command runs with, once the arguments are parsed and the settings resolved.
struct Context {
  const GlobalOptions& options;
  Console& console;
  ops::Settings& settings;
  ops::Reporter& reporter;
  std::stop_token stop;

  // A status line for people, on stderr; nothing with --json or -q (stdout carries data).
  void say(const std::string& line) const;
  // With --json, one JSON object per line on stdout (documented per command in its file).
  bool json() const { return options.json; }
};

// One command (or sub-command, as `cache ls`): the CLI11 app its options were added to, and
// what runs when it was chosen. Returns the exit code.
struct Command {
  CLI::App* parsed = nullptr;
  std::function<int(Context&)> run;
};
using Commands = std::vector<Command>;

// Each file of cli/commands/ adds its commands to `app`. Options are stored in objects the
// commands' closures own.
void add_project_commands(CLI::App& app, Commands& commands);  // commands/project.cpp
void add_manifest_commands(CLI::App& app, Commands& commands); // commands/manifest.cpp
void add_hub_commands(CLI::App& app, Commands& commands);      // commands/hub.cpp
void add_cache_commands(CLI::App& app, Commands& commands);    // commands/cache.cpp
void add_mirror_commands(CLI::App& app, Commands& commands);   // commands/mirror.cpp
// Last: its scripts list the commands added before it.
void add_completion_command(CLI::App& app, Commands& commands); // commands/completion.cpp

// "3 files", "1 file".
std::string count(std::size_t n, const char* noun);

// `text` followed by spaces up to `width` characters: a column of a table.
std::string padded(std::string text, std::size_t width);

} // namespace hfmodels::cli
