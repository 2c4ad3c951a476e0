// SPDX-License-Identifier: MIT
#include "manifest/edit.hpp"

#include "manifest/yaml_support.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>

namespace hfmodels::manifest {

namespace {

// The text as lines, each keeping its own line break, so that joining them gives the text back.
std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto length = end == std::string_view::npos ? text.size() : end + 1;
    lines.emplace_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) {
    text += line;
  }
  return text;
}

std::string_view content(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  return line;
}

std::size_t indentation(std::string_view line) {
  const auto first = line.find_first_not_of(' ');
  return first == std::string_view::npos ? line.size() : first;
}

bool is_blank(std::string_view line) {
  return content(line).find_first_not_of(" \t") == std::string_view::npos;
}

bool is_comment(std::string_view line) {
  const auto text = content(line);
  const auto first = text.find_first_not_of(" \t");
  return first != std::string_view::npos && text[first] == '#';
}

// A line that holds YAML content at column 0: a top-level key, or a document marker.
bool is_top_level(std::string_view line) {
  return !is_blank(line) && !is_comment(line) && indentation(line) == 0;
}

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

[[noreturn]] void cannot_edit(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorKind::usage, "cannot edit " + path.filename().string(), why,
              "Edit it by hand, then run `hfmodels lock`");
}

// Where the `models:` mapping is: the index of its key line (or none), and whether it holds its
// entries as an indented block.
struct ModelsBlock {
  std::optional<std::size_t> key_line;
  bool empty_value = false; // `models:`, `models: {}`, `models: ~` with no entry
  std::size_t end = 0;      // one past the last line of the block
};

ModelsBlock find_models(const std::vector<std::string>& lines, const std::filesystem::path& path) {
  ModelsBlock block;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = content(lines[i]);
    if (i == 0 && line.starts_with(k_bom)) {
      line.remove_prefix(k_bom.size());
    }
    if (!line.starts_with("models:")) {
      continue;
    }
    block.key_line = i;
    std::string_view value = line.substr(7);
    if (const auto hash = value.find(" #"); hash != std::string_view::npos) {
      value = value.substr(0, hash);
    }
    value = value.substr(std::min(value.size(), value.find_first_not_of(" \t")));
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (!value.empty() && value != "{}" && value != "~" && value != "null") {
      cannot_edit(path, "its `models` are written in flow style (`models: {...}`) on one line");
    }
    block.empty_value = !value.empty();
    block.end = i + 1;
    for (std::size_t j = i + 1; j < lines.size() && !is_top_level(lines[j]); ++j) {
      if (!is_blank(lines[j]) && indentation(lines[j]) > 0) {
        block.end = j + 1; // the last indented line, comments included; blank lines stay after
      }
    }
    return block;
  }
  return block;
}

std::string scalar(std::string_view value) {
  YAML::Emitter out;
  yaml_support::emit_scalar(out, value);
  return out.c_str();
}

std::string flow_list(const std::vector<std::string>& items) {
  std::string text = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    text += (i == 0 ? "" : ", ") + scalar(items[i]);
  }
  return text + "]";
}

std::vector<std::string> entry_lines(const ModelSpec& spec, std::size_t indent,
                                     std::size_t field_indent, std::string_view newline) {
  const std::string pad(indent, ' ');
  const std::string field_pad(field_indent, ' ');
  std::vector<std::string> lines;
  const auto field = [&](std::string_view key, const std::string& value) {
    lines.push_back(field_pad + std::string(key) + ": " + value + std::string(newline));
  };
  lines.push_back(pad + scalar(spec.name) + ":" + std::string(newline));
  field("repo", scalar(spec.repo.id));
  if (spec.revision != "main") {
    field("revision", scalar(spec.revision));
  }
  if (spec.repo.type != hub::RepoType::model) {
    field("type", scalar(hub::type_name(spec.repo.type)));
  }
  if (spec.quant) {
    field("quant", scalar(*spec.quant));
  }
  if (!spec.files.empty()) {
    field("files", flow_list(spec.files));
  }
  if (!spec.include.empty()) {
    field("include", flow_list(spec.include));
  }
  if (!spec.exclude.empty()) {
    field("exclude", flow_list(spec.exclude));
  }
  return lines;
}

std::map<std::string, std::string> digests(const Manifest& manifest) {
  std::map<std::string, std::string> result;
  for (const auto& model : manifest.models) {
    result.emplace(model.name, model.digest());
  }
  return result;
}

// The edit did what was meant and nothing else: the entries are those expected, each as before.
void check_result(std::string_view edited, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& expected) {
  Manifest result;
  try {
    result = parse_manifest(edited, path);
  } catch (const Error& error) {
    cannot_edit(path, std::string("the edited file would not read back: ") + error.what());
  }
  if (digests(result) != expected) {
    cannot_edit(path, "the edit would change other entries than the one asked for");
  }
}

} // namespace

std::string with_model_added(std::string_view text, const ModelSpec& spec,
                             const std::filesystem::path& path) {
  const auto all_lines = split_lines(text);
  const bool empty_file = std::all_of(all_lines.begin(), all_lines.end(), [](const auto& line) {
    return is_blank(line) || is_comment(line);
  });
  Manifest before;
  if (!empty_file) {
    before = parse_manifest(text, path);
    if (before.find(spec.name)) {
      throw Error(ErrorKind::usage, "model already in " + path.filename().string(),
                  "`" + spec.name + "` is taken (line " +
                      std::to_string(before.find(spec.name)->line) + ")",
                  "Choose another name with --name");
    }
  }
  const std::string newline = text.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
  std::vector<std::string> lines = split_lines(text);
  if (!lines.empty() && !lines.back().ends_with('\n')) {
    lines.back() += newline; // the new entry starts on a line of its own
  }
  auto block = find_models(lines, path);
  if (!block.key_line && !before.models.empty()) {
    cannot_edit(path, "its `models` key is not written `models:` at the start of a line");
  }
  if (!block.key_line) {
    // An empty file, or one of comments only: the mapping goes at the end.
    lines.push_back("models:" + newline);
    block.key_line = lines.size() - 1;
    block.end = lines.size();
  } else if (block.empty_value) {
    std::string& key = lines[*block.key_line];
    const auto hash = key.find(" #");
    const std::string bom = key.starts_with(k_bom) ? std::string(k_bom) : "";
    key = bom + "models:" + (hash == std::string::npos ? newline : key.substr(hash));
  }
  // Indent as the existing entries are: the first entry's key, and its first field.
  std::size_t indent = 2;
  std::size_t field_indent = 4;
  if (!before.models.empty()) {
    const std::size_t first = static_cast<std::size_t>(before.models.front().line) - 1;
    indent = indentation(lines[first]);
    field_indent = indent + 2;
    for (std::size_t j = first + 1; j < block.end; ++j) {
      if (!is_blank(lines[j]) && !is_comment(lines[j])) {
        if (indentation(lines[j]) > indent) {
          field_indent = indentation(lines[j]);
        }
        break;
      }
    }
  }
  const auto entry = entry_lines(spec, indent, field_indent, newline);
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(block.end), entry.begin(), entry.end());
  std::string edited = join_lines(lines);

  auto expected = digests(before);
  expected.emplace(spec.name, spec.digest());
  check_result(edited, path, expected);
  return edited;
}

std::string with_models_removed(std::string_view text, const std::vector<std::string>& names,
                                const std::filesystem::path& path) {
  const Manifest before = parse_manifest(text, path);
  std::vector<std::string> lines = split_lines(text);
  const auto block = find_models(lines, path);
  if (!block.key_line) {
    cannot_edit(path, "its `models` key is not written `models:` at the start of a line");
  }
  // Entry key lines (0-based) in file order, to bound each entry by the next one.
  std::vector<std::size_t> starts;
  for (const auto& model : before.models) {
    starts.push_back(static_cast<std::size_t>(model.line) - 1);
  }
  std::sort(starts.begin(), starts.end());
  std::vector<bool> removed(lines.size(), false);
  auto expected = digests(before);
  for (const auto& name : names) {
    const auto* model = before.find(name);
    if (!model) {
      const auto suggestion = util::closest_match(name, before.names());
      throw Error(ErrorKind::usage, "unknown model",
                  "'" + name + "' is not in " + path.filename().string(),
                  suggestion ? "Did you mean '" + *suggestion + "'?" : "");
    }
    expected.erase(name);
    const std::size_t first = static_cast<std::size_t>(model->line) - 1;
    const auto next = std::upper_bound(starts.begin(), starts.end(), first);
    std::size_t end = next == starts.end() ? block.end : *next;
    // The comments right above the next entry are its own; the blank lines that separate this
    // entry from them go with it.
    std::size_t tail = end;
    while (tail > first + 1 && (is_blank(lines[tail - 1]) ||
                                (is_comment(lines[tail - 1]) &&
                                 indentation(lines[tail - 1]) <= indentation(lines[first])))) {
      --tail;
    }
    while (tail < end && is_blank(lines[tail])) {
      ++tail;
    }
    end = tail;
    if (end <= first || end > lines.size()) {
      cannot_edit(path, "the entry `" + name + "` could not be told apart from its neighbours");
    }
    std::size_t begin = first;
    // This entry's own comments, right above its key at its indentation.
    while (begin > 0 && is_comment(lines[begin - 1]) &&
           indentation(lines[begin - 1]) == indentation(lines[first]) &&
           begin - 1 > *block.key_line) {
      --begin;
    }
    std::fill(removed.begin() + static_cast<std::ptrdiff_t>(begin),
              removed.begin() + static_cast<std::ptrdiff_t>(end), true);
  }
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!removed[i]) {
      kept.push_back(lines[i]);
    }
  }
  std::string_view key_text = content(lines[*block.key_line]);
  if (key_text.starts_with(k_bom)) {
    key_text.remove_prefix(k_bom.size());
  }
  if (expected.empty() && key_text == "models:") {
    // No entry left: say so as an empty mapping rather than leave `models:` to read as null.
    std::string& key = kept[*block.key_line]; // nothing above the key was removed
    key.insert(key.find("models:") + 7, " {}");
  }
  std::string edited = join_lines(kept);
  check_result(edited, path, expected);
  return edited;
}

} // namespace hfmodels::manifest
