// SPDX-License-Identifier: MIT
#include "manifest/manifest.hpp"

#include "hash/sha256.hpp"
#include "manifest/yaml_support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace hfmodels::manifest {

namespace {

namespace ys = yaml_support;
using ys::Node;

// A hand-written manifest is a few kilobytes; the bound only stops a wrong file early.
constexpr std::size_t k_max_manifest_size = 1024 * 1024;
// git allows longer ref names, but nothing real comes close and messages stay readable.
constexpr std::size_t k_max_revision_length = 255;

const std::vector<std::string> k_model_keys = {"repo",  "revision", "include", "exclude",
                                               "files", "quant",    "type"};
const std::string k_what = "invalid manifest";
const std::string k_keys_hint = "Valid keys: repo, revision, include, exclude, files, quant, type";

bool is_ascii_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_ascii_alnum(char c) {
  return is_ascii_alpha(c) || (c >= '0' && c <= '9');
}

std::string backticked(std::string_view text) {
  return "`" + std::string(text) + "`";
}

// "tiny-llama" -> "tiny_llama", "7b" -> "m_7b": a valid name to offer when one is refused.
std::string suggest_model_name(std::string_view name) {
  std::string fixed;
  for (const char c : name) {
    fixed += is_ascii_alnum(c) ? c : '_';
  }
  if (fixed.empty() || !is_ascii_alpha(fixed.front())) {
    fixed = "m_" + fixed;
  }
  return fixed;
}

// The repo id inside a pasted Hub URL ("https://huggingface.co/org/name/tree/main"), for a hint.
std::optional<std::string> repo_id_from_url(std::string_view text, bool& is_dataset) {
  constexpr std::string_view host = "huggingface.co/";
  const auto at = text.find(host);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(at + host.size());
  is_dataset = rest.starts_with("datasets/");
  if (is_dataset) {
    rest.remove_prefix(std::string_view("datasets/").size());
  }
  const auto parts = util::split(rest, '/');
  if (parts.size() >= 2 && !parts[0].empty() && !parts[1].empty()) {
    return parts[0] + "/" + parts[1];
  }
  if (!parts.empty() && !parts[0].empty()) {
    return parts[0];
  }
  return std::nullopt;
}

class ManifestReader {
public:
  explicit ManifestReader(const std::filesystem::path& path) : m_file(path.string()) {}

  Manifest read(std::string_view text, const std::filesystem::path& path) const;

private:
  [[noreturn]] void fail(const Node& at, std::string_view model, std::string why,
                         std::string hint) const {
    fail(at.line, model, std::move(why), std::move(hint));
  }
  [[noreturn]] void fail(int line, std::string_view model, std::string why,
                         std::string hint) const {
    throw Error(ErrorKind::usage, k_what, std::move(why), std::move(hint),
                ys::location(m_file, line, model));
  }

  std::string key_text(const Node& key, std::string_view model) const;
  ModelSpec read_model(const std::string& name, const Node& key, const Node& entry) const;
  std::string read_string(const Node& value, std::string_view model, std::string_view key) const;
  std::vector<std::string> read_string_list(const Node& value, std::string_view model,
                                            std::string_view key) const;
  void check_globs(const std::vector<std::string>& patterns, const Node& value,
                   std::string_view model, std::string_view key) const;

  std::string m_file;
};

// Map keys must be scalars: a complex key such as `? [a, b]` is never a name.
std::string ManifestReader::key_text(const Node& key, std::string_view model) const {
  if (!key.is_scalar()) {
    fail(key, model, "a key is " + ys::describe(key) + ", not a name",
         "Keys are plain names such as `repo`");
  }
  return key.scalar;
}

std::string ManifestReader::read_string(const Node& value, std::string_view model,
                                        std::string_view key) const {
  const auto text = ys::string_value(value);
  if (!text) {
    std::string hint = "Write a single string";
    if (value.is_scalar()) {
      hint = "Quote it if you mean the text: " + std::string(key) + ": \"" + value.scalar + "\"";
    }
    fail(value, model, backticked(key) + " must be a string, not " + ys::describe(value), hint);
  }
  return *text;
}

std::vector<std::string> ManifestReader::read_string_list(const Node& value, std::string_view model,
                                                          std::string_view key) const {
  const std::string expected =
      key == "files" ? "a path or a list of paths" : "a glob or a list of globs";
  if (value.is_map()) {
    fail(value, model, backticked(key) + " must be " + expected + ", not a map",
         "Write " + std::string(key) + ": [\"...\", \"...\"]");
  }
  std::vector<std::string> items;
  if (value.is_scalar()) {
    const auto text = ys::string_value(value);
    if (!text) {
      fail(value, model, backticked(key) + " must be " + expected + ", not " + ys::describe(value),
           "Quote it if you mean the text: " + std::string(key) + ": \"" + value.scalar + "\"");
    }
    items.push_back(*text);
    return items;
  }
  if (value.items.empty()) {
    fail(value, model, backticked(key) + " is an empty list",
         key == "include" ? "Remove it to select every file" : "List something or remove it");
  }
  for (std::size_t i = 0; i < value.items.size(); ++i) {
    const Node& item = value.items[i];
    const auto text = ys::string_value(item);
    if (!text) {
      std::string hint = "Each item is a string";
      if (item.is_scalar()) {
        hint = "Quote it if you mean the text: \"" + item.scalar + "\"";
      }
      fail(item, model,
           backticked(key) + " item " + std::to_string(i + 1) + " must be a string, not " +
               ys::describe(item),
           hint);
    }
    items.push_back(*text);
  }
  return items;
}

void ManifestReader::check_globs(const std::vector<std::string>& patterns, const Node& value,
                                 std::string_view model, std::string_view key) const {
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (const auto problem = util::glob_syntax_error(patterns[i])) {
      const Node& at = value.is_sequence() ? value.items[i] : value;
      fail(at, model,
           std::string(key) + " pattern " + backticked(patterns[i]) + " is invalid: " + *problem,
           "Patterns are those of `hf download --include`: `*`, `?` and `[...]` on the whole "
           "repository path");
    }
  }
}

ModelSpec ManifestReader::read_model(const std::string& name, const Node& key,
                                     const Node& entry) const {
  ModelSpec spec;
  spec.name = name;
  spec.line = key.line;
  if (entry.is_null()) {
    fail(key, name, "model " + backticked(name) + " has no entry",
         "Give it at least `repo: namespace/name` on the next line, indented");
  }
  if (!entry.is_map()) {
    std::string hint = "Write its keys on the following lines, indented, starting with `repo:`";
    if (entry.is_scalar() && entry.scalar.find('/') != std::string::npos) {
      hint = "Write `repo: " + entry.scalar + "` on the next line, indented";
    }
    fail(entry, name,
         "model " + backticked(name) + " must be a map of keys, not " + ys::describe(entry), hint);
  }

  std::map<std::string, const Node*> keys; // key name -> key node, for lines
  const Node* repo_value = nullptr;
  for (const auto& [key_node, value] : entry.entries) {
    const std::string key_name = key_text(key_node, name);
    if (std::find(k_model_keys.begin(), k_model_keys.end(), key_name) == k_model_keys.end()) {
      const auto suggestion = util::closest_match(key_name, k_model_keys);
      fail(key_node, name, "unknown key " + backticked(key_name),
           suggestion ? "Did you mean " + backticked(*suggestion) + "? " + k_keys_hint
                      : k_keys_hint);
    }
    // The parser keeps both entries of a repeated key; most readers keep the last one silently.
    if (const auto seen = keys.find(key_name); seen != keys.end()) {
      fail(key_node, name,
           "key " + backticked(key_name) + " appears twice (first on line " +
               std::to_string(seen->second->line) + ")",
           "Keep one of them");
    }
    keys.emplace(key_name, &key_node);
    // An empty value has no text of its own to point at: its key is what the message names.
    if (value.is_null()) {
      fail(key_node, name, backticked(key_name) + " has no value",
           "Give it a value or remove the key");
    }

    if (key_name == "repo") {
      repo_value = &value;
      spec.repo.id = read_string(value, name, key_name);
    } else if (key_name == "revision") {
      // An all-digit commit is a YAML number but unmistakably meant as text.
      const bool commit_like = value.is_scalar() && hub::is_commit_hash(value.scalar);
      const std::string revision = commit_like ? value.scalar : read_string(value, name, key_name);
      if (const auto problem = revision_error(revision)) {
        fail(value, name, "revision " + backticked(revision) + " " + *problem,
             "Use a branch or tag name, `refs/pr/<number>` or a 40-hex commit");
      }
      spec.revision = revision;
    } else if (key_name == "include") {
      spec.include = read_string_list(value, name, key_name);
      check_globs(spec.include, value, name, key_name);
    } else if (key_name == "exclude") {
      spec.exclude = read_string_list(value, name, key_name);
      check_globs(spec.exclude, value, name, key_name);
    } else if (key_name == "files") {
      spec.files = read_string_list(value, name, key_name);
      std::map<std::string, int> seen;
      for (std::size_t i = 0; i < spec.files.size(); ++i) {
        const Node& at = value.is_sequence() ? value.items[i] : value;
        try {
          hub::validate_repo_path(spec.files[i]);
        } catch (const Error& error) {
          fail(at, name, error.summary() + " " + error.why(), error.hint());
        }
        if (const auto [previous, inserted] = seen.emplace(spec.files[i], at.line); !inserted) {
          fail(at, name,
               "`files` lists " + backticked(spec.files[i]) + " twice (first on line " +
                   std::to_string(previous->second) + ")",
               "Remove one of them");
        }
      }
    } else if (key_name == "quant") {
      const std::string quant = read_string(value, name, key_name);
      const bool valid = !quant.empty() && std::all_of(quant.begin(), quant.end(), [](char c) {
        return is_ascii_alnum(c) || c == '_' || c == '-' || c == '.';
      });
      if (!valid) {
        fail(value, name, "quant " + backticked(quant) + " is not a quantization name",
             "A quant is the quantization part of the .gguf file names, e.g. `Q4_K_M` or `F16`");
      }
      spec.quant = quant;
    } else if (key_name == "type") {
      const std::string type = read_string(value, name, key_name);
      const auto parsed = hub::parse_repo_type(type);
      if (!parsed) {
        const auto suggestion = util::closest_match(type, {"model", "dataset"});
        fail(value, name, "`type` must be `model` or `dataset`, not " + backticked(type),
             suggestion ? "Did you mean " + backticked(*suggestion) + "?"
                        : "Leave it out for a model repository");
      }
      spec.repo.type = *parsed;
    }
  }

  if (!repo_value) {
    fail(key, name, "model " + backticked(name) + " has no `repo`",
         "Add `repo: namespace/name`, the id shown on the model's Hugging Face page");
  }
  try {
    hub::validate_repo_id(spec.repo.id);
  } catch (const Error& error) {
    std::string hint = error.hint();
    bool is_dataset = false;
    if (const auto id = repo_id_from_url(spec.repo.id, is_dataset)) {
      hint = "Use the repo id " + backticked(*id) + ", not the URL" +
             (is_dataset ? ", with `type: dataset`" : "");
    }
    fail(*repo_value, name, error.summary() + " " + error.why(), hint);
  }
  if (keys.contains("files")) {
    for (const std::string other : {"include", "exclude", "quant"}) {
      if (keys.contains(other)) {
        fail(*keys.at("files"), name, "`files` cannot be combined with " + backticked(other),
             "`files` names exact paths; remove " + backticked(other) +
                 ", or move the paths into `include`");
      }
    }
  }
  return spec;
}

Manifest ManifestReader::read(std::string_view text, const std::filesystem::path& path) const {
  Manifest manifest;
  manifest.path = path;
  const Node root = ys::load(text, m_file, k_what, "", k_max_manifest_size);
  const std::string example_hint = "Start with `models:`, then one indented entry per model with "
                                   "at least `repo: namespace/name`";
  if (root.is_null()) {
    fail(0, "", "the file is empty", example_hint);
  }
  if (!root.is_map()) {
    fail(root, "", "the top level must be a map with a `models` key, not " + ys::describe(root),
         example_hint);
  }
  const Node* models_key = nullptr;
  const Node* models_value = nullptr;
  for (const auto& [key_node, value_node] : root.entries) {
    const std::string key = key_text(key_node, "");
    if (key != "models") {
      const auto suggestion = util::closest_match(key, {"models"});
      fail(key_node, "", "unknown top-level key " + backticked(key),
           suggestion ? "Did you mean `models`?"
                      : "The top level has only `models`; model entries go under it");
    }
    if (models_key) {
      fail(key_node, "",
           "`models` appears twice (first on line " + std::to_string(models_key->line) + ")",
           "Merge the two into one `models` map");
    }
    models_key = &key_node;
    models_value = &value_node;
  }
  if (!models_key) {
    fail(0, "", "there is no `models` key", example_hint);
  }
  const Node& models = *models_value;
  if (models.is_null()) {
    return manifest; // `models:` with nothing below yet: a project that locks no model
  }
  if (!models.is_map()) {
    fail(models, "",
         "`models` must be a map from model names to entries, not " + ys::describe(models),
         example_hint);
  }

  std::map<std::string, int> lines_by_folded_name;
  for (const auto& [key_node, value_node] : models.entries) {
    const std::string name = key_text(key_node, "");
    if (!is_valid_model_name(name)) {
      fail(key_node, "",
           "invalid model name " + backticked(name) +
               ": a name starts with a letter and has only letters, digits and `_` (it becomes "
               "the CMake target HFModels::<name>)",
           "Try " + backticked(suggest_model_name(name)));
    }
    const std::string folded = util::to_lower(name);
    if (const auto seen = lines_by_folded_name.find(folded); seen != lines_by_folded_name.end()) {
      const auto& first =
          *std::find_if(manifest.models.begin(), manifest.models.end(),
                        [&](const ModelSpec& m) { return util::to_lower(m.name) == folded; });
      if (first.name == name) {
        fail(key_node, name,
             "model " + backticked(name) + " is defined twice (first on line " +
                 std::to_string(seen->second) + ")",
             "Rename or remove one of them");
      }
      fail(key_node, name,
           "model names " + backticked(first.name) + " (line " + std::to_string(seen->second) +
               ") and " + backticked(name) +
               " differ only in case, so they would share `HFMODELS_<NAME>_DIR` and clash on "
               "case-insensitive file systems",
           "Rename one of them");
    }
    lines_by_folded_name.emplace(folded, key_node.line);
    manifest.models.push_back(read_model(name, key_node, value_node));
  }
  return manifest;
}

} // namespace

bool is_valid_model_name(std::string_view name) {
  return !name.empty() && is_ascii_alpha(name.front()) &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '_'; });
}

std::optional<std::string> revision_error(std::string_view revision) {
  if (revision.empty()) {
    return "is empty";
  }
  if (revision.size() > k_max_revision_length) {
    return "is longer than " + std::to_string(k_max_revision_length) + " characters";
  }
  for (const char c : revision) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return "contains whitespace or a control character";
    }
    // git check-ref-format(1): these cannot appear in any ref name.
    if (std::string_view("~^:?*[\\").find(c) != std::string_view::npos) {
      return "contains " + backticked(std::string(1, c)) +
             ", which git does not allow in a ref name";
    }
  }
  if (hub::has_noncharacter(revision)) {
    return "contains a Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0..U+FDEF)";
  }
  if (revision.starts_with("refs/pr/")) {
    const std::string_view number = revision.substr(std::string_view("refs/pr/").size());
    if (number.empty() ||
        !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "is not `refs/pr/<number>`";
    }
    return std::nullopt;
  }
  if (revision == "@" || revision.find("@{") != std::string_view::npos) {
    return "is not a valid git ref name (`@`, `@{`)";
  }
  if (revision.find("..") != std::string_view::npos) {
    return "contains `..`, which git does not allow in a ref name";
  }
  if (revision.front() == '-') {
    return "starts with `-`";
  }
  if (revision.front() == '/' || revision.back() == '/' ||
      revision.find("//") != std::string_view::npos) {
    return "has an empty `/`-separated part";
  }
  if (revision.back() == '.' || revision.ends_with(".lock")) {
    return "ends with `.` or `.lock`, which git does not allow";
  }
  for (const auto& part : util::split(revision, '/')) {
    if (part.front() == '.') {
      return "has a part starting with `.`, which git does not allow";
    }
  }
  return std::nullopt;
}

std::string ModelSpec::digest() const {
  const auto canonical_set = [](std::vector<std::string> items) {
    // Selection treats these as sets, so order and repeats must not make a lock stale.
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    return items;
  };
  // nlohmann::json objects are std::map-backed: keys come out sorted, so dump() is canonical.
  nlohmann::json canonical = {
      {"type", std::string(hub::type_name(repo.type))},
      {"repo", repo.id},
      {"revision", revision},
      {"include", canonical_set(include)},
      {"exclude", canonical_set(exclude)},
      {"files", canonical_set(files)},
      {"quant", quant ? nlohmann::json(*quant) : nlohmann::json(nullptr)},
  };
  return "sha256:" + hash::sha256_hex(canonical.dump());
}

const ModelSpec* Manifest::find(std::string_view name) const {
  const auto it = std::find_if(models.begin(), models.end(),
                               [&](const ModelSpec& model) { return model.name == name; });
  return it == models.end() ? nullptr : &*it;
}

std::vector<std::string> Manifest::names() const {
  std::vector<std::string> result;
  result.reserve(models.size());
  for (const auto& model : models) {
    result.push_back(model.name);
  }
  return result;
}

Manifest parse_manifest(std::string_view text, const std::filesystem::path& path) {
  return ManifestReader(path).read(text, path);
}

Manifest load_manifest(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    throw Error(ErrorKind::usage, "no manifest", "the file does not exist", {}, path.string())
        .with_cause("manifest:missing");
  }
  return parse_manifest(util::read_file(path), path);
}

} // namespace hfmodels::manifest
