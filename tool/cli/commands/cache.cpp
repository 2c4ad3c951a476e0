// SPDX-License-Identifier: MIT
// `hfmodels cache ls|rm|gc`: the shared cache as a whole.
//
// --json events:
//   ls:     {"event":"cached","repo","commit","refs":[...],"partial","files","bytes",
//            "last_used" (seconds since the epoch),"projects":[...]}
//   rm, gc: {"event":"deleted"|"would_delete","repo","name","kind":"blob|partial","bytes"},
//           {"event":"pinned","repo","commit","projects":[...]} (rm of a pinned revision),
//           then {"event":"summary","files","bytes","dry_run"}
#include "cli/command.hpp"
#include "cli/console.hpp"
#include "cli/terminal.hpp"
#include "ops/operations.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>

namespace hfmodels::cli {

namespace {

using Clock = std::chrono::system_clock;

std::string age(Clock::time_point when) {
  if (when == Clock::time_point{}) {
    return "-";
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - when).count();
  if (seconds < 3600) {
    return std::to_string(std::max<long long>(seconds / 60, 0)) + " min ago";
  }
  if (seconds < 2 * 86400) {
    return std::to_string(seconds / 3600) + " h ago";
  }
  return std::to_string(seconds / 86400) + " days ago";
}

void print_list(Context& context, const std::vector<ops::CachedRevision>& revisions) {
  if (context.json()) {
    for (const auto& revision : revisions) {
      context.console.event({{"event", "cached"},
                             {"repo", revision.repo},
                             {"commit", revision.commit},
                             {"refs", revision.refs},
                             {"partial", revision.partial},
                             {"files", revision.files},
                             {"bytes", revision.bytes},
                             {"last_used", std::chrono::duration_cast<std::chrono::seconds>(
                                               revision.last_used.time_since_epoch())
                                               .count()},
                             {"projects", revision.projects}});
    }
    return;
  }
  std::size_t width = 4;
  for (const auto& revision : revisions) {
    width = std::max(width, revision.repo.size());
  }
  std::uint64_t total = 0;
  context.console.out(padded("REPO", width + 2) + padded("REVISION", 20) + padded("FILES", 7) +
                      padded("SIZE", 11) + padded("LAST USED", 14) + "PINNED BY");
  for (const auto& revision : revisions) {
    total += revision.bytes;
    std::string name = revision.partial ? "(partial)" : revision.commit.substr(0, 7);
    for (const auto& ref : revision.refs) {
      name += " " + ref;
    }
    std::string projects;
    for (const auto& project : revision.projects) {
      projects += (projects.empty() ? "" : ", ") + project;
    }
    context.console.out(padded(revision.repo, width + 2) + padded(name, 20) +
                        padded(std::to_string(revision.files), 7) +
                        padded(util::format_bytes(revision.bytes), 11) +
                        padded(age(revision.last_used), 14) + (projects.empty() ? "-" : projects));
  }
  context.say(count(revisions.size(), "revision") + ", " + util::format_bytes(total) + " in " +
              context.settings.cache_dir.string());
}

int print_deletions(Context& context, const std::vector<ops::PlannedDeletion>& deletions,
                    bool dry_run) {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  for (const auto& item : deletions) {
    if (!item.projects.empty() && item.bytes == 0) {
      std::string projects;
      for (const auto& project : item.projects) {
        projects += (projects.empty() ? "" : ", ") + project;
      }
      if (context.json()) {
        context.console.event({{"event", "pinned"},
                               {"repo", item.repo},
                               {"commit", item.name},
                               {"projects", item.projects}});
      } else {
        context.console.warning(item.repo + "@" + item.name.substr(0, 7) + " is pinned by " +
                                projects + "; its next fetch downloads it again");
      }
      continue;
    }
    ++files;
    bytes += item.bytes;
    if (context.json()) {
      context.console.event({{"event", dry_run ? "would_delete" : "deleted"},
                             {"repo", item.repo},
                             {"name", item.name},
                             {"kind", item.partial ? "partial" : "blob"},
                             {"bytes", item.bytes}});
    } else {
      context.console.out(std::string(dry_run ? "would delete " : "deleted ") + item.repo + " " +
                          (item.partial ? "partial " : "blob ") + item.name + " " +
                          util::format_bytes(item.bytes));
    }
  }
  if (context.json()) {
    context.console.event(
        {{"event", "summary"}, {"files", files}, {"bytes", bytes}, {"dry_run", dry_run}});
  } else {
    context.say(std::string(dry_run ? "Would delete " : "Deleted ") + count(files, "file") + " (" +
                util::format_bytes(bytes) + ")");
  }
  return 0;
}

// Asked on a terminal; elsewhere (scripts, CI) the command is the decision.
bool confirmed(Context& context, const std::string& question) {
  if (!stdin_is_terminal() || context.json()) {
    return true;
  }
  context.console.err(question + " [y/N] ");
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

} // namespace

void add_cache_commands(CLI::App& app, Commands& commands) {
  auto* cache = app.add_subcommand("cache", "The shared cache: ls, rm, gc");
  cache->require_subcommand(1);

  auto* ls = cache->add_subcommand(
      "ls", "Every repo revision in the cache (any client's), its size, last use and pins");
  commands.push_back({ls, [](Context& context) {
                        print_list(context, ops::cache_list(context.settings, context.stop));
                        return 0;
                      }});

  struct RmArgs {
    std::vector<std::string> targets;
    bool dry_run = false;
    bool yes = false;
  };
  auto rm_args = std::make_shared<RmArgs>();
  auto* rm = cache->add_subcommand(
      "rm", "Delete revisions (REPO or REPO@REV) and the blobs no other revision uses");
  rm->add_option("targets", rm_args->targets, "org/name[@revision]")->required();
  rm->add_flag("--dry-run", rm_args->dry_run, "Show what would be deleted, with sizes");
  rm->add_flag("-y,--yes", rm_args->yes, "Do not ask");
  commands.push_back(
      {rm, [rm_args](Context& context) {
         auto plan = ops::cache_remove(context.settings, rm_args->targets, true, context.stop);
         if (rm_args->dry_run) {
           return print_deletions(context, plan, true);
         }
         if (!rm_args->yes) {
           print_deletions(context, plan, true);
           if (!confirmed(context, "Delete these files?")) {
             context.say("Nothing deleted");
             return 0;
           }
         }
         return print_deletions(
             context, ops::cache_remove(context.settings, rm_args->targets, false, context.stop),
             false);
       }});

  auto gc_args = std::make_shared<ops::GcOptions>();
  auto* gc = cache->add_subcommand(
      "gc", "Delete what hfmodels downloaded that no known project pins, and old partials");
  gc->add_flag("--dry-run", gc_args->dry_run, "Show exactly what a real run deletes, with sizes");
  gc->add_option("--older-than", gc_args->older_than_days,
                 "Only what was not used for this many days");
  gc->add_flag("--all", gc_args->all, "Also what other clients (Python, JS) downloaded");
  commands.push_back({gc, [gc_args](Context& context) {
                        return print_deletions(
                            context, ops::cache_gc(context.settings, *gc_args, context.stop),
                            gc_args->dry_run);
                      }});
}

} // namespace hfmodels::cli
