// SPDX-License-Identifier: MIT
// `hfmodels completion bash|zsh|fish`: completion scripts made from the command line's own
// definition (CLI11's tree of commands and options), so they never fall behind it. `cmake
// --install` installs all three (tool/CMakeLists.txt).
#include "cli/command.hpp"
#include "cli/console.hpp"
#include "util/error.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace hfmodels::cli {

namespace {

struct OptionInfo {
  std::vector<std::string> names; // "--update", "-y"
  std::string description;
  bool takes_value = false;
};

struct CommandInfo {
  std::string path; // "lock", "cache gc"
  std::string name;
  std::string description;
  std::vector<OptionInfo> options;
  std::vector<std::string> subcommands;
};

std::vector<OptionInfo> options_of(const CLI::App& app) {
  std::vector<OptionInfo> options;
  for (const CLI::Option* option : app.get_options()) {
    if (!option->nonpositional()) {
      continue;
    }
    OptionInfo info;
    for (const auto& name : option->get_snames()) {
      info.names.push_back("-" + name);
    }
    for (const auto& name : option->get_lnames()) {
      info.names.push_back("--" + name);
    }
    info.description = option->get_description();
    info.takes_value = option->get_expected_max() > 0 && option->get_type_size_max() > 0;
    options.push_back(std::move(info));
  }
  return options;
}

void collect(const CLI::App& app, const std::string& prefix, std::vector<CommandInfo>& out) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    CommandInfo info;
    info.name = sub->get_name();
    info.path = prefix.empty() ? info.name : prefix + " " + info.name;
    info.description = sub->get_description();
    info.options = options_of(*sub);
    for (const CLI::App* child : sub->get_subcommands([](const CLI::App*) { return true; })) {
      info.subcommands.push_back(child->get_name());
    }
    out.push_back(info);
    collect(*sub, info.path, out);
  }
}

std::string single_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// The words to offer: `extra` (sub-commands), then the options' names, each once.
std::string words(const std::vector<std::string>& extra,
                  std::initializer_list<const std::vector<OptionInfo>*> option_lists) {
  std::vector<std::string> seen;
  std::string list;
  const auto add = [&](const std::string& word) {
    if (std::find(seen.begin(), seen.end(), word) == seen.end()) {
      seen.push_back(word);
      list += (list.empty() ? "" : " ") + word;
    }
  };
  for (const auto& word : extra) {
    add(word);
  }
  for (const auto* options : option_lists) {
    for (const auto& option : *options) {
      for (const auto& name : option.names) {
        add(name);
      }
    }
  }
  return list;
}

std::string bash_script(const std::vector<OptionInfo>& global,
                        const std::vector<CommandInfo>& commands) {
  std::vector<std::string> top;
  for (const auto& command : commands) {
    if (command.path == command.name) {
      top.push_back(command.name);
    }
  }
  std::string script = "# bash completion for hfmodels (hfmodels completion bash)\n"
                       "_hfmodels() {\n"
                       "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" word\n"
                       "  for word in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
                       "    case \"$word\" in -*) ;; *) path=\"${path:+$path }$word\" ;; esac\n"
                       "  done\n"
                       "  local candidates\n"
                       "  case \"$path\" in\n";
  script += "    '') candidates=" + single_quoted(words(top, {&global})) + " ;;\n";
  // Deeper commands first: `cache gc` before `cache`.
  std::vector<const CommandInfo*> by_depth;
  for (const auto& command : commands) {
    by_depth.push_back(&command);
  }
  std::stable_sort(by_depth.begin(), by_depth.end(), [](const auto* a, const auto* b) {
    return std::count(a->path.begin(), a->path.end(), ' ') >
           std::count(b->path.begin(), b->path.end(), ' ');
  });
  for (const auto* command : by_depth) {
    script += "    " + single_quoted(command->path) + "|" + single_quoted(command->path + " ") +
              "*) candidates=" +
              single_quoted(words(command->subcommands, {&command->options, &global})) + " ;;\n";
  }
  script += "  esac\n"
            "  COMPREPLY=($(compgen -W \"$candidates\" -- \"$cur\"))\n"
            "  [ ${#COMPREPLY[@]} -eq 0 ] && [[ \"$cur\" != -* ]] && "
            "COMPREPLY=($(compgen -f -- \"$cur\"))\n"
            "  return 0\n"
            "}\n"
            "complete -F _hfmodels hfmodels\n";
  return script;
}

std::string zsh_script(const std::vector<OptionInfo>& global,
                       const std::vector<CommandInfo>& commands) {
  // zsh runs bash completion functions through bashcompinit: one definition for both shells.
  return "#compdef hfmodels\n# zsh completion for hfmodels (hfmodels completion zsh)\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash_script(global, commands);
}

std::string fish_script(const std::vector<OptionInfo>& global,
                        const std::vector<CommandInfo>& commands) {
  std::string script = "# fish completion for hfmodels (hfmodels completion fish)\n"
                       "complete -c hfmodels -f\n";
  const auto option_lines = [&](const std::vector<OptionInfo>& options, const std::string& when) {
    for (const auto& option : options) {
      std::string line = "complete -c hfmodels";
      if (!when.empty()) {
        line += " -n " + single_quoted(when);
      }
      for (const auto& name : option.names) {
        line += name.starts_with("--") ? " -l " + name.substr(2) : " -s " + name.substr(1);
      }
      if (option.takes_value) {
        line += " -r";
      }
      script += line + " -d " + single_quoted(option.description) + "\n";
    }
  };
  option_lines(global, "");
  for (const auto& command : commands) {
    const bool top = command.path == command.name;
    const std::string when =
        top ? "__fish_use_subcommand"
            : "__fish_seen_subcommand_from " + command.path.substr(0, command.path.find(' '));
    script += "complete -c hfmodels -n " + single_quoted(when) + " -a " + command.name + " -d " +
              single_quoted(command.description) + "\n";
    option_lines(command.options, "__fish_seen_subcommand_from " + command.name);
  }
  return script;
}

} // namespace

void add_completion_command(CLI::App& app, Commands& commands) {
  auto shell = std::make_shared<std::string>();
  auto* command = app.add_subcommand("completion", "A shell completion script: bash, zsh or fish");
  command->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  commands.push_back(
      {command, [shell, &app](Context& context) {
         std::vector<CommandInfo> tree;
         collect(app, "", tree);
         const auto global = options_of(app);
         const std::string script = *shell == "bash"  ? bash_script(global, tree)
                                    : *shell == "zsh" ? zsh_script(global, tree)
                                                      : fish_script(global, tree);
         if (context.json()) {
           context.console.event({{"event", "completion"}, {"shell", *shell}, {"script", script}});
         } else {
           context.console.out(script.substr(0, script.size() - 1));
         }
         return 0;
       }});
}

} // namespace hfmodels::cli
