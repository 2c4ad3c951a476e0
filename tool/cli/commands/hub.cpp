// SPDX-License-Identifier: MIT
// The commands on a repo without a project: info and download.
//
// --json events:
//   info: {"event":"info","repo","revision","commit","license","gated","budget",
//          "files":[{"path","size","lfs"}],
//          "quants":[{"name","files","bytes","fits"}],"projectors":[...paths]}
//   download: the reporter's transfer events, then
//          {"event":"download","repo","commit","files","downloaded","bytes","path"}
#include "cli/command.hpp"
#include "cli/console.hpp"
#include "manifest/model_ref.hpp"
#include "ops/operations.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>

namespace hfmodels::cli {

namespace {

// At most this many files are listed on a terminal, so that the quantizations stay on screen;
// --json lists them all.
constexpr std::size_t k_files_shown = 20;

void print_info(Context& context, const ops::RepoInfo& info) {
  const auto& budget = info.budget;
  if (context.json()) {
    auto files = nlohmann::json::array();
    for (const auto& file : info.files) {
      files.push_back({{"path", file.path.str()}, {"size", file.size}, {"lfs", file.is_lfs()}});
    }
    auto quants = nlohmann::json::array();
    for (const auto& quant : info.gguf.quants) {
      quants.push_back({{"name", quant.name},
                        {"files", quant.files.size()},
                        {"bytes", quant.bytes},
                        {"fits", quant.bytes <= budget.bytes}});
    }
    auto projectors = nlohmann::json::array();
    for (const auto index : info.gguf.projectors) {
      projectors.push_back(info.files[index].path.str());
    }
    context.console.event({{"event", "info"},
                           {"repo", info.repo},
                           {"revision", info.revision},
                           {"commit", info.commit},
                           {"license", info.license},
                           {"gated", info.gated},
                           {"budget", budget.bytes},
                           {"files", files},
                           {"quants", quants},
                           {"projectors", projectors}});
    return;
  }
  auto& out = context.console;
  std::uint64_t total = 0;
  for (const auto& file : info.files) {
    total += file.size;
  }
  out.out(info.repo + " @ " + info.revision + " (" + info.commit.substr(0, 7) +
          "): " + count(info.files.size(), "file") + ", " + util::format_bytes(total) +
          "; licence " + (info.license.empty() ? "not stated" : info.license) + "; " +
          (info.gated.empty() ? "not gated" : "gated (" + info.gated + " approval)"));
  if (!info.gguf.quants.empty()) {
    const std::string budget_text =
        util::format_bytes(budget.bytes) +
        (budget.from_vram ? " of VRAM"
                          : " of " + util::format_bytes(budget.memory) +
                                (budget.cgroup_limited ? " (cgroup limit)" : " RAM"));
    out.out("");
    out.out(padded("QUANT", 10) + padded("FILES", 7) + padded("SIZE", 11) + "FITS " + budget_text);
    // Smallest first: the list reads as a ladder up to what no longer fits.
    std::vector<const manifest::Quantization*> by_size;
    for (const auto& quant : info.gguf.quants) {
      by_size.push_back(&quant);
    }
    std::stable_sort(by_size.begin(), by_size.end(),
                     [](const auto* a, const auto* b) { return a->bytes < b->bytes; });
    for (const auto* quant_ptr : by_size) {
      const auto& quant = *quant_ptr;
      out.out(padded(quant.name, 10) + padded(std::to_string(quant.files.size()), 7) +
              padded(util::format_bytes(quant.bytes), 11) +
              (quant.bytes <= budget.bytes ? "yes" : "no"));
    }
    if (!info.gguf.projectors.empty()) {
      out.out(padded("mmproj", 10) + padded(std::to_string(info.gguf.projectors.size()), 7) +
              padded(util::format_bytes(info.gguf.projector_bytes), 11) +
              "(projector, for images; goes with any)");
    }
  }
  // The files the table above does not already stand for.
  std::vector<bool> in_table(info.files.size(), false);
  for (const auto& quant : info.gguf.quants) {
    for (const auto index : quant.files) {
      in_table[index] = true;
    }
  }
  for (const auto index : info.gguf.projectors) {
    in_table[index] = true;
  }
  std::vector<const hub::RepoFile*> shown;
  for (std::size_t i = 0; i < info.files.size(); ++i) {
    if (!in_table[i]) {
      shown.push_back(&info.files[i]);
    }
  }
  const std::size_t tabled = info.files.size() - shown.size();
  const std::size_t hidden = shown.size() > k_files_shown ? shown.size() - k_files_shown : 0;
  shown.resize(shown.size() - hidden);
  out.out("");
  std::size_t width = 4;
  for (const auto* file : shown) {
    width = std::max(width, file->path.str().size());
  }
  for (const auto* file : shown) {
    out.out(padded(file->path.str(), width + 2) +
            (file->is_lfs() ? padded(util::format_bytes(file->size), 11) + "LFS"
                            : util::format_bytes(file->size)));
  }
  if (tabled > 0 || hidden > 0) {
    out.out("(" + (tabled > 0 ? count(tabled, ".gguf file") + " in the table above" : "") +
            (tabled > 0 && hidden > 0 ? ", " : "") +
            (hidden > 0 ? count(hidden, "more file") : "") + "; --json lists every file)");
  }
}

void add_info(CLI::App& app, Commands& commands) {
  struct Args {
    std::string repo;
    std::optional<std::uint64_t> vram;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "info", "A repo's files, its GGUF quantizations and whether each fits this machine");
  command->add_option("repo", args->repo, "org/name[@revision]")->required();
  command->add_option("--vram", args->vram, "Memory to plan for instead of RAM (8G, 24GiB)")
      ->transform(CLI::AsSizeValue(false));
  commands.push_back({command, [args](Context& context) {
                        print_info(context, ops::repo_info(context.settings, args->repo, args->vram,
                                                           context.stop));
                        return 0;
                      }});
}

void add_download(CLI::App& app, Commands& commands) {
  struct Args {
    std::string repo;
    std::vector<std::string> files;
    std::optional<std::string> revision;
    std::string type = "model";
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    std::optional<std::string> local_dir;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "download", "One repo into the cache, verified, without a manifest (as `hf download`)");
  command->add_option("repo", args->repo, "org/name[@revision]")->required();
  command->add_option("files", args->files, "Exact paths (default: every file)");
  command->add_option("--revision", args->revision, "Branch, tag or commit (default: main)");
  command->add_option("--type", args->type, "model or dataset")
      ->check(CLI::IsMember({"model", "dataset"}));
  command->add_option("--include", args->include, "Pattern of files to take (repeatable)");
  command->add_option("--exclude", args->exclude, "Pattern of files to leave (repeatable)");
  command->add_option("--local-dir", args->local_dir,
                      "Also copy the files here (real files, no symlinks)");
  commands.push_back(
      {command, [args](Context& context) {
         ops::DownloadRequest request;
         auto& spec = request.spec;
         spec = manifest::parse_model_ref(args->repo);
         if (!spec.files.empty() || spec.quant) {
           throw Error(ErrorKind::usage, "invalid repository",
                       "`" + args->repo + "`: give files as arguments after the repo",
                       "hfmodels download org/name path/to/file ...");
         }
         if (args->revision) {
           if (args->repo.find('@') != std::string::npos && spec.revision != *args->revision) {
             throw Error(ErrorKind::usage, "two revisions",
                         "`" + args->repo + "` names " + spec.revision + ", --revision names " +
                             *args->revision,
                         "Give the revision once");
           }
           spec.revision = *args->revision;
         }
         spec.repo.type = *hub::parse_repo_type(args->type);
         spec.files = args->files;
         spec.include = args->include;
         spec.exclude = args->exclude;
         if (!spec.files.empty() && (!spec.include.empty() || !spec.exclude.empty())) {
           throw Error(ErrorKind::usage, "conflicting selectors",
                       "exact files cannot be combined with --include or --exclude");
         }
         if (args->local_dir) {
           request.local_dir = *args->local_dir;
         }
         const auto result =
             ops::download(context.settings, request, context.reporter, context.stop);
         const std::string where =
             result.local_dir ? result.local_dir->string() : result.snapshot.string();
         if (context.json()) {
           context.console.event({{"event", "download"},
                                  {"repo", spec.repo.id},
                                  {"commit", result.commit},
                                  {"files", result.files},
                                  {"downloaded", result.downloaded},
                                  {"bytes", result.bytes_downloaded},
                                  {"path", where}});
         } else {
           context.console.out(where);
         }
         context.say("Downloaded " + count(result.downloaded, "file") + " (" +
                     util::format_bytes(result.bytes_downloaded) + ") of " +
                     std::to_string(result.files) + ", verified");
         return 0;
       }});
}

} // namespace

void add_hub_commands(CLI::App& app, Commands& commands) {
  add_info(app, commands);
  add_download(app, commands);
}

} // namespace hfmodels::cli
