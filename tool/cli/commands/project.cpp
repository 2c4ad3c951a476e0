// SPDX-License-Identifier: MIT
// The commands over one project's models.yaml and models.lock: lock, fetch, verify, path,
// status, export, cmake-info.
//
// --json events (one object per line on stdout):
//   lock:    {"event":"locked","model","commit","state":"resolved|kept|removed"}, then
//            {"event":"lock","lockfile","changed"}
//   fetch:   the reporter's transfer events, then {"event":"fetch","files","downloaded","bytes",
//            "sources":[{"source","kind":"mirror|hub","files","bytes","missing","wrong",
//            "failed"}]}: per mirror in order, then the Hub (empty when nothing was downloaded)
//   fetch --dry-run: {"event":"download","model","path","size","bytes"} per file to download,
//            then {"event":"plan","files","downloads","bytes","available","disk","fits"}
//   verify:  {"event":"verify","model","path","state":"ok|missing|mismatch","expected_sha256",
//            "actual_sha256","problem","stored_at"} (stored_at: the blob holding a mismatch)
//   path:    {"event":"path","model","file","path"}
//   status:  {"event":"status","model","commit","files","missing","bytes","state"}
//   export:  {"event":"export","files","bytes","to"}
//   cmake-info: {"event":"cmake-info","output","changed"}
//   outdated: {"event":"outdated","model","revision","locked","current",
//             "state":"current|outdated|pinned","changes":[{"path","change","old_size",
//             "new_size"}],"problem"}
#include "cli/cmake_script.hpp"
#include "cli/command.hpp"
#include "cli/console.hpp"
#include "ops/operations.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <memory>

namespace hfmodels::cli {

namespace {

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
  case ops::ModelState::wrong_size:
    return "wrong size";
  }
  return "unknown";
}

void print_status(Context& context, const std::vector<ops::ModelStatus>& models) {
  if (context.json()) {
    for (const auto& model : models) {
      context.console.event({{"event", "status"},
                             {"model", model.name},
                             {"commit", model.commit},
                             {"files", model.files},
                             {"missing", model.files_missing},
                             {"wrong_size", model.files_wrong_size},
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
    context.console.out(name + std::string(name_width - std::min(name_width, name.size()), ' ') +
                        fixed.data() + state);
  };
  row("MODEL", "COMMIT", "FILES", "SIZE", "STATE");
  for (const auto& model : models) {
    std::string state = state_name(model.state);
    if (model.state == ops::ModelState::missing) {
      state += " (" + std::to_string(model.files_missing) + " of " + std::to_string(model.files) +
               " files)";
    } else if (model.state == ops::ModelState::wrong_size) {
      state += " (" + std::to_string(model.files_wrong_size) + " of " +
               std::to_string(model.files) + " files)";
    }
    row(model.name, model.commit.substr(0, 7), std::to_string(model.files),
        model.state == ops::ModelState::unlocked ? "-" : util::format_bytes(model.bytes), state);
  }
}

// `status --check`, a CI gate: the worst state decides, in the order a fix needs (a stale
// lockfile first, then a wrong file, then a missing one).
int status_exit_code(const std::vector<ops::ModelStatus>& models) {
  const auto any = [&](auto predicate) {
    return std::any_of(models.begin(), models.end(), predicate);
  };
  if (any([](const auto& m) {
        return m.state == ops::ModelState::stale || m.state == ops::ModelState::unlocked;
      })) {
    return static_cast<int>(ErrorKind::stale);
  }
  if (any([](const auto& m) { return m.state == ops::ModelState::wrong_size; })) {
    return static_cast<int>(ErrorKind::integrity);
  }
  if (any([](const auto& m) { return m.state == ops::ModelState::missing; })) {
    return static_cast<int>(ErrorKind::offline_missing);
  }
  return 0;
}

// Verify's report: one error per bad file, a summary, and the exit code.
int report_verify(Context& context, const std::vector<ops::FileCheck>& checks, bool quick) {
  std::size_t mismatched = 0;
  std::size_t missing = 0;
  std::string missing_list;
  std::uint64_t bytes = 0;
  for (const auto& check : checks) {
    const auto subject = check.model + "/" + check.path;
    bytes += check.actual_size;
    if (context.json()) {
      context.console.event({{"event", "verify"},
                             {"model", check.model},
                             {"path", check.path},
                             {"state", check.state == ops::FileState::ok        ? "ok"
                                       : check.state == ops::FileState::missing ? "missing"
                                                                                : "mismatch"},
                             {"expected_sha256", check.expected_sha256},
                             {"actual_sha256", check.actual_sha256},
                             {"problem", check.problem},
                             {"stored_at", check.stored_at.string()}});
    }
    // A fetch takes a file of the right size for cached: the bad bytes must go first.
    const std::string repair =
        check.stored_at.empty()
            ? "Delete the file and its blob, then run `hfmodels fetch`"
            : "Delete " + check.stored_at.string() + ", then run `hfmodels fetch`";
    if (check.state == ops::FileState::mismatch && !check.problem.empty()) {
      ++mismatched;
      context.reporter.error(
          Error(ErrorKind::integrity, "cached file is damaged", check.problem, repair, subject));
    } else if (check.state == ops::FileState::mismatch) {
      ++mismatched;
      context.reporter.error(Error(ErrorKind::integrity, "cached file does not match the lockfile",
                                   "expected sha256 " + check.expected_sha256 + " (" +
                                       std::to_string(check.expected_size) + " bytes), got " +
                                       check.actual_sha256 + " (" +
                                       std::to_string(check.actual_size) + " bytes)",
                                   repair, subject));
    } else if (check.state == ops::FileState::missing) {
      ++missing;
      missing_list += "\n  " + subject;
    }
  }
  context.say(std::string(quick ? "Checked the structure of " : "Verified ") +
              count(checks.size(), "file") + " (" + util::format_bytes(bytes) +
              "): " + std::to_string(checks.size() - mismatched - missing) + " ok, " +
              std::to_string(mismatched) + " mismatched, " + std::to_string(missing) + " missing");
  if (mismatched > 0) {
    return static_cast<int>(ErrorKind::integrity);
  }
  if (missing > 0) {
    context.console.error(
        Error(ErrorKind::failure, std::to_string(missing) + " locked file(s) not cached",
              "missing from the cache:" + missing_list + "\n", "Run `hfmodels fetch`"));
    return static_cast<int>(ErrorKind::failure);
  }
  return 0;
}

// `fetch --dry-run`: a line per file to download (stdout, data), then whether it fits. Exit 1
// when it does not fit, as the fetch would fail.
int report_fetch_plan(Context& context, const ops::FetchPlan& plan) {
  for (const auto& file : plan.downloads) {
    if (context.json()) {
      context.console.event({{"event", "download"},
                             {"model", file.model},
                             {"path", file.path},
                             {"size", file.size},
                             {"bytes", file.bytes}});
    } else {
      context.console.out(
          file.model + "/" + file.path + "  " + util::format_bytes(file.bytes) +
          (file.bytes < file.size ? " (of " + util::format_bytes(file.size) + ")" : ""));
    }
  }
  if (context.json()) {
    context.console.event({{"event", "plan"},
                           {"files", plan.files},
                           {"downloads", plan.downloads.size()},
                           {"bytes", plan.bytes_needed},
                           {"available", plan.bytes_available},
                           {"disk", plan.disk.string()},
                           {"fits", plan.fits()}});
  } else {
    context.console.out("Would download " + count(plan.downloads.size(), "file") + " of " +
                        std::to_string(plan.files) + " locked (" +
                        util::format_bytes(plan.bytes_needed) + "); " +
                        util::format_bytes(plan.bytes_available) + " free on " +
                        plan.disk.string() + ": " + (plan.fits() ? "fits" : "does not fit"));
  }
  if (plan.blocked) {
    context.reporter.error(*plan.blocked);
    return static_cast<int>(plan.blocked->kind());
  }
  return plan.fits() ? 0 : static_cast<int>(ErrorKind::failure);
}

void add_lock(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    bool update = false;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand("lock", "Resolve models.yaml into models.lock");
  command->add_option("names", args->names, "Models to lock (default: all)");
  command->add_flag("--update", args->update, "Re-resolve branches to their current commit");
  commands.push_back(
      {command, [args](Context& context) {
         const auto result = ops::lock(context.settings, {args->names, args->update},
                                       context.reporter, context.stop);
         const std::string lockfile = context.settings.lockfile_path.string();
         if (context.json()) {
           const auto emit = [&](const auto& names, const char* state) {
             for (const auto& name : names) {
               context.console.event({{"event", "locked"}, {"model", name}, {"state", state}});
             }
           };
           emit(result.resolved, "resolved");
           emit(result.kept, "kept");
           emit(result.removed, "removed");
           context.console.event(
               {{"event", "lock"}, {"lockfile", lockfile}, {"changed", result.lockfile_changed}});
         }
         context.say("Locked " + count(result.resolved.size() + result.kept.size(), "model") +
                     " (" + std::to_string(result.resolved.size()) + " resolved, " +
                     std::to_string(result.kept.size()) + " unchanged" +
                     (result.removed.empty()
                          ? ""
                          : ", " + std::to_string(result.removed.size()) + " removed") +
                     "): " + lockfile + (result.lockfile_changed ? " updated" : " unchanged"));
         return 0;
       }});
}

void add_fetch(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    bool dry_run = false;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand("fetch", "Make the cache hold every locked file, verified");
  command->add_option("names", args->names, "Models to fetch (default: all)");
  command->add_flag("--dry-run", args->dry_run,
                    "Show what would be downloaded and whether it fits; download nothing");
  commands.push_back(
      {command, [args](Context& context) {
         if (args->dry_run) {
           return report_fetch_plan(context,
                                    ops::plan_fetch(context.settings, args->names, context.stop));
         }
         const auto result =
             ops::fetch(context.settings, args->names, context.reporter, context.stop);
         if (context.json()) {
           auto sources = nlohmann::json::array();
           for (const auto& source : result.sources) {
             sources.push_back({{"source", source.source},
                                {"kind", source.hub ? "hub" : "mirror"},
                                {"files", source.files},
                                {"bytes", source.bytes},
                                {"missing", source.missing},
                                {"wrong", source.wrong},
                                {"failed", source.failed}});
           }
           context.console.event({{"event", "fetch"},
                                  {"files", result.files},
                                  {"downloaded", result.downloaded},
                                  {"bytes", result.bytes_downloaded},
                                  {"sources", sources}});
         }
         if (result.downloaded > 0 || context.settings.verbose) {
           context.say("Fetched " + count(result.downloaded, "file") + " (" +
                       util::format_bytes(result.bytes_downloaded) + "); " +
                       count(result.files, "locked file") + " cached");
         }
         // With mirrors, where the bytes came from: a team sees that its mirror works.
         const bool mirrored = std::any_of(result.sources.begin(), result.sources.end(),
                                           [](const auto& source) { return !source.hub; });
         if (mirrored && result.downloaded > 0) {
           for (const auto& source : result.sources) {
             std::string line = "  from " + (source.hub ? std::string("the Hub") : source.source) +
                                ": " + count(source.files, "file") + ", " +
                                util::format_bytes(source.bytes);
             if (source.missing > 0) {
               line += "; " + std::to_string(source.missing) + " not there";
             }
             if (source.wrong > 0) {
               line += "; " + std::to_string(source.wrong) + " wrong";
             }
             if (source.failed > 0) {
               line += "; " + std::to_string(source.failed) + " failed";
             }
             context.say(line);
           }
         }
         return 0;
       }});
}

void add_verify(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    bool quick = false;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand("verify", "Re-hash cached files against the lockfile");
  command->add_option("names", args->names, "Models to verify (default: all)");
  command->add_flag("--quick", args->quick,
                    "Sizes and headers only (GGUF, safetensors, JSON, HTML pages): no hashing");
  commands.push_back({command, [args](Context& context) {
                        return report_verify(context,
                                             ops::verify(context.settings, args->names,
                                                         context.reporter, context.stop,
                                                         args->quick ? ops::VerifyDepth::quick
                                                                     : ops::VerifyDepth::full),
                                             args->quick);
                      }});
}

void add_path(CLI::App& app, Commands& commands) {
  struct Args {
    std::string model;
    std::optional<std::string> file;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand("path", "Print a model's snapshot folder, or one file's path");
  command->add_option("name", args->model, "Model name")->required();
  command->add_option("file", args->file, "A locked file of the model");
  commands.push_back({command, [args](Context& context) {
                        const auto path =
                            ops::model_path(context.settings, args->model, args->file).string();
                        if (context.json()) {
                          context.console.event({{"event", "path"},
                                                 {"model", args->model},
                                                 {"file", args->file.value_or("")},
                                                 {"path", path}});
                        } else {
                          context.console.out(path);
                        }
                        return 0;
                      }});
}

void add_status(CLI::App& app, Commands& commands) {
  auto check = std::make_shared<bool>(false);
  auto* command = app.add_subcommand("status", "Table of models: commit, files, size, state");
  command->add_flag("--check", *check,
                    "Exit 6 if the lockfile is stale, 4 if a cached file has the wrong size, 5 if "
                    "a file is missing (a CI gate)");
  commands.push_back({command, [check](Context& context) {
                        const auto models = ops::status(context.settings, context.stop);
                        print_status(context, models);
                        return *check ? status_exit_code(models) : 0;
                      }});
}

void add_export(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    std::string dir;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand("export", "Copy real files (no symlinks) into DIR/<name>/...");
  command->add_option("names", args->names, "Models to export")->required();
  command->add_option("--to", args->dir, "Destination folder")->required();
  commands.push_back({command, [args](Context& context) {
                        const auto result =
                            ops::export_models(context.settings, args->names, args->dir,
                                               context.reporter, context.stop);
                        if (context.json()) {
                          context.console.event({{"event", "export"},
                                                 {"files", result.files},
                                                 {"bytes", result.bytes},
                                                 {"to", args->dir}});
                        }
                        context.say("Exported " + count(result.files, "file") + " (" +
                                    util::format_bytes(result.bytes) + ") to " + args->dir);
                        return 0;
                      }});
}

void add_cmake_info(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    std::string output;
    bool fetch = false;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "cmake-info", "For the CMake package: write the models' locations as a CMake script");
  command->add_option("names", args->names, "Models (default: all)");
  command->add_option("--output", args->output, "Script to write")->required();
  command->add_flag("--fetch", args->fetch, "Fetch the models first");
  commands.push_back(
      {command, [args](Context& context) {
         if (args->fetch) {
           ops::fetch(context.settings, args->names, context.reporter, context.stop);
         }
         const auto script = cmake_script(ops::locate_models(context.settings, args->names));
         // Unchanged content keeps its timestamp, so nothing downstream reruns.
         std::error_code error;
         const bool changed = !std::filesystem::exists(args->output, error) ||
                              util::read_file(args->output) != script;
         if (changed) {
           util::write_file_atomic(args->output, script);
         }
         if (context.json()) {
           context.console.event(
               {{"event", "cmake-info"}, {"output", args->output}, {"changed", changed}});
         }
         return 0;
       }});
}

const char* change_name(ops::FileChange::Kind kind) {
  switch (kind) {
  case ops::FileChange::Kind::added:
    return "added";
  case ops::FileChange::Kind::removed:
    return "removed";
  case ops::FileChange::Kind::changed:
    return "changed";
  }
  return "changed";
}

const char* outdated_state_name(ops::OutdatedModel::State state) {
  switch (state) {
  case ops::OutdatedModel::State::current:
    return "current";
  case ops::OutdatedModel::State::outdated:
    return "outdated";
  case ops::OutdatedModel::State::pinned:
    return "pinned";
  }
  return "current";
}

// `outdated`: a line per model, the changed files of each outdated one below it; exit 1 when
// any is outdated (a CI check).
int report_outdated(Context& context, const std::vector<ops::OutdatedModel>& models) {
  bool any_outdated = false;
  for (const auto& model : models) {
    any_outdated = any_outdated || model.state == ops::OutdatedModel::State::outdated;
    if (context.json()) {
      auto changes = nlohmann::json::array();
      for (const auto& change : model.changes) {
        changes.push_back({{"path", change.path},
                           {"change", change_name(change.kind)},
                           {"old_size", change.old_size},
                           {"new_size", change.new_size}});
      }
      context.console.event({{"event", "outdated"},
                             {"model", model.name},
                             {"revision", model.revision},
                             {"locked", model.locked_commit},
                             {"current", model.current_commit},
                             {"state", outdated_state_name(model.state)},
                             {"changes", changes},
                             {"problem", model.problem}});
      continue;
    }
    std::string line = model.name + ": " + model.revision + " " + model.locked_commit.substr(0, 7);
    if (model.state == ops::OutdatedModel::State::outdated) {
      line += " -> " + model.current_commit.substr(0, 7) + ", " +
              count(model.changes.size(), "file") + " would change";
    } else {
      line += model.state == ops::OutdatedModel::State::pinned ? " (pinned)" : " (current)";
    }
    context.console.out(line);
    for (const auto& change : model.changes) {
      std::string sizes =
          change.kind == ops::FileChange::Kind::added ? util::format_bytes(change.new_size)
          : change.kind == ops::FileChange::Kind::removed
              ? util::format_bytes(change.old_size)
              : util::format_bytes(change.old_size) + " -> " + util::format_bytes(change.new_size);
      context.console.out("  " + std::string(change_name(change.kind)) + "  " + change.path + "  " +
                          sizes);
    }
    if (!model.problem.empty()) {
      context.console.out("  " + model.problem);
    }
  }
  if (any_outdated) {
    context.say("Run `hfmodels lock --update` to move the outdated models to their new commit");
  }
  return any_outdated ? 1 : 0;
}

void add_outdated(CLI::App& app, Commands& commands) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* command = app.add_subcommand(
      "outdated", "Which models' branches moved since they were locked (exit 1 if any did)");
  command->add_option("names", *names, "Models to check (default: all)");
  commands.push_back({command, [names](Context& context) {
                        return report_outdated(
                            context, ops::outdated(context.settings, *names, context.stop));
                      }});
}

void add_sbom(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  auto* command =
      app.add_subcommand("sbom", "The locked models as a CycloneDX 1.6 JSON bill of materials");
  command->add_option("names", args->names, "Models (default: all)");
  command->add_option("-o,--output", args->output, "File to write (default: stdout)");
  commands.push_back({command, [args](Context& context) {
                        const auto document =
                            ops::sbom(context.settings, args->names, context.stop);
                        if (context.json() && args->output.empty()) {
                          // One object per line, as every --json output.
                          context.console.out(nlohmann::json::parse(document).dump());
                        } else if (args->output.empty()) {
                          context.console.out(document.substr(0, document.size() - 1));
                        } else {
                          util::write_file_atomic(args->output, document);
                          context.say("Wrote " + args->output);
                        }
                        return 0;
                      }});
}

} // namespace

void add_project_commands(CLI::App& app, Commands& commands) {
  add_lock(app, commands);
  add_fetch(app, commands);
  add_verify(app, commands);
  add_path(app, commands);
  add_status(app, commands);
  add_export(app, commands);
  add_cmake_info(app, commands);
  add_outdated(app, commands);
  add_sbom(app, commands);
}

} // namespace hfmodels::cli
