// SPDX-License-Identifier: MIT
// The commands that edit models.yaml: add and remove.
//
// --json events:
//   add:    {"event":"added","model","repo","quant","budget"}, after lock's events
//   remove: {"event":"removed","model","manifest":bool,"lockfile":bool}
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

void add_add(CLI::App& app, Commands& commands) {
  struct Args {
    std::string model;
    std::string name;
    std::optional<std::string> revision;
    std::string type = "model";
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    std::optional<std::string> quant;
    std::optional<std::uint64_t> vram;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "add", "Add a model to models.yaml and lock it: REPO, REPO:QUANT or REPO:FILE");
  command->add_option("model", args->model, "org/name[@revision][:QUANT|:path/file]")->required();
  command->add_option("--name", args->name, "Name in models.yaml (default: from the repo)");
  command->add_option("--revision", args->revision, "Branch, tag or commit (default: main)");
  command->add_option("--type", args->type, "model or dataset")
      ->check(CLI::IsMember({"model", "dataset"}));
  command->add_option("--include", args->include, "Pattern of files to take (repeatable)");
  command->add_option("--exclude", args->exclude, "Pattern of files to leave (repeatable)");
  command->add_option("--quant", args->quant,
                      "GGUF quantization, or `auto`: the largest that fits the memory budget");
  command->add_option("--vram", args->vram, "Memory to plan for with --quant auto (8G, 24GiB)")
      ->transform(CLI::AsSizeValue(false));
  commands.push_back(
      {command, [args](Context& context) {
         ops::AddRequest request;
         auto& spec = request.spec;
         spec = manifest::parse_model_ref(args->model);
         if (!args->name.empty()) {
           spec.name = args->name;
         }
         if (args->revision) {
           if (spec.revision != "main" && spec.revision != *args->revision) {
             throw Error(ErrorKind::usage, "two revisions",
                         "`" + args->model + "` names " + spec.revision + " and --revision " +
                             *args->revision);
           }
           spec.revision = *args->revision;
         }
         spec.repo.type = *hub::parse_repo_type(args->type);
         spec.include = args->include;
         spec.exclude = args->exclude;
         if (args->quant) {
           if (spec.quant && *spec.quant != *args->quant) {
             throw Error(ErrorKind::usage, "two quantizations",
                         "`" + args->model + "` names " + *spec.quant + " and --quant " +
                             *args->quant);
           }
           spec.quant = args->quant;
         }
         // `org/x:auto` or `--quant auto`: chosen against the memory budget, written explicitly.
         if (spec.quant && *spec.quant == "auto") {
           request.auto_quant = true;
           spec.quant.reset();
         }
         request.vram = args->vram;
         const auto result =
             ops::add_model(context.settings, request, context.reporter, context.stop);
         const std::string budget = util::format_bytes(result.budget.bytes) +
                                    (result.budget.from_vram ? " of VRAM" : " of RAM");
         if (context.json()) {
           context.console.event({{"event", "added"},
                                  {"model", result.name},
                                  {"repo", spec.repo.id},
                                  {"quant", result.chosen_quant.value_or(spec.quant.value_or(""))},
                                  {"budget", result.chosen_quant ? result.budget.bytes : 0}});
         }
         std::string line = "Added " + result.name + " (" + spec.repo.id;
         if (result.chosen_quant) {
           line += ", " + *result.chosen_quant + ": " + util::format_bytes(result.chosen_bytes) +
                   ", the largest that fits " + budget;
         }
         context.say(line + ") to " + context.settings.manifest_path.string() + " and locked it");
         return 0;
       }});
}

void add_remove(CLI::App& app, Commands& commands) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* command = app.add_subcommand(
      "remove", "Remove models from models.yaml and models.lock (the cache is untouched)");
  command->add_option("names", *names, "Models to remove")->required();
  commands.push_back({command, [names](Context& context) {
                        const auto result = ops::remove_models(context.settings, *names);
                        const auto has = [](const auto& list, const std::string& name) {
                          return std::find(list.begin(), list.end(), name) != list.end();
                        };
                        for (const auto& name : *names) {
                          if (context.json()) {
                            context.console.event({{"event", "removed"},
                                                   {"model", name},
                                                   {"manifest", has(result.from_manifest, name)},
                                                   {"lockfile", has(result.from_lockfile, name)}});
                          }
                        }
                        context.say(
                            "Removed " + count(names->size(), "model") +
                            "; the cache keeps their files (`hfmodels cache gc` frees them)");
                        return 0;
                      }});
}

} // namespace

void add_manifest_commands(CLI::App& app, Commands& commands) {
  add_add(app, commands);
  add_remove(app, commands);
}

} // namespace hfmodels::cli
