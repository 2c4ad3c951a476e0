// SPDX-License-Identifier: MIT
// The commands that fill mirrors: push and bundle (README, "Teams and CI fleets").
//
// --json events:
//   push:   {"event":"push","to","objects","uploaded","skipped","bytes"}
//   bundle: {"event":"bundle","to","objects","uploaded","skipped","bytes"}
#include "mirror/mirror.hpp"

#include "cli/command.hpp"
#include "cli/console.hpp"
#include "ops/operations.hpp"
#include "util/env.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>

namespace hfmodels::cli {

namespace {

void report(Context& context, const char* event, const std::string& to,
            const ops::PushResult& result) {
  if (context.json()) {
    context.console.event({{"event", event},
                           {"to", to},
                           {"objects", result.objects},
                           {"uploaded", result.uploaded},
                           {"skipped", result.skipped},
                           {"bytes", result.bytes_uploaded}});
    return;
  }
  context.say(std::string(event == std::string("push") ? "Pushed " : "Bundled ") +
              count(result.uploaded, "object") + " (" + util::format_bytes(result.bytes_uploaded) +
              ") to " + to + "; " + std::to_string(result.skipped) + " already there");
}

void add_push(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    std::string to;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "push", "Upload the locked files of the cache to a mirror (HTTP PUT, S3, folder)");
  command->add_option("names", args->names, "Models to push (default: all)");
  command
      ->add_option("--to", args->to, "The mirror: http(s)://..., s3://bucket/prefix, file:///path")
      ->required();
  commands.push_back({command, [args](Context& context) {
                        // Read as a fetch reads HFMODELS_MIRRORS: the same URL, the same
                        // credentials.
                        const mirror::Mirror to =
                            mirror::parse_mirror(args->to, util::process_getenv);
                        context.console.add_secret(to.access.bearer);
                        if (to.access.aws) {
                          context.console.add_secret(to.access.aws->secret_key);
                          context.console.add_secret(to.access.aws->session_token);
                        }
                        const auto result = ops::push(context.settings, args->names, to,
                                                      context.reporter, context.stop);
                        report(context, "push", to.text, result);
                        return 0;
                      }});
}

void add_bundle(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> names;
    std::string to;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "bundle", "Write a folder to install the models from without a network (a file:// mirror)");
  command->add_option("names", args->names, "Models to bundle (default: all)");
  command->add_option("--to", args->to, "The folder")->required();
  commands.push_back(
      {command, [args](Context& context) {
         const auto result =
             ops::bundle(context.settings, args->names, args->to, context.reporter, context.stop);
         report(context, "bundle", args->to, result);
         context.say("Install on another machine with: HFMODELS_MIRRORS=" +
                     mirror::file_url(std::filesystem::absolute(args->to).lexically_normal()) +
                     " hfmodels fetch --no-origin");
         return 0;
       }});
}

} // namespace

void add_mirror_commands(CLI::App& app, Commands& commands) {
  add_push(app, commands);
  add_bundle(app, commands);
}

} // namespace hfmodels::cli
