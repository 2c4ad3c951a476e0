// SPDX-License-Identifier: MIT
// `add` and `remove`: models.yaml edited in place (manifest/edit.hpp), models.lock kept in step.
#include "manifest/edit.hpp"

#include "manifest/lockfile.hpp"
#include "ops/operations.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <filesystem>

namespace hfmodels::ops {

namespace {

std::optional<std::string> read_if_exists(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return std::nullopt;
  }
  return util::read_file(path);
}

// `--quant auto`: the largest quantization that fits the budget, named explicitly so that the
// manifest stays reproducible on another machine.
std::string choose_quant(const Settings& settings, const manifest::ModelSpec& spec,
                         std::optional<std::uint64_t> vram, AddResult& result,
                         const std::stop_token& stop) {
  const std::string ref =
      spec.repo.id + (spec.revision == "main" ? std::string() : "@" + spec.revision);
  const auto info = repo_info(settings, ref, vram, stop);
  result.budget = info.budget;
  if (info.gguf.quants.empty()) {
    throw Error(ErrorKind::usage, "no quantization to choose from",
                spec.repo.id + " has no .gguf file named by a quantization",
                "Select files with --include, or name them: " + spec.repo.id + ":<path>");
  }
  const auto* chosen = largest_fitting(info.gguf, info.budget.bytes);
  if (!chosen) {
    const auto smallest =
        std::min_element(info.gguf.quants.begin(), info.gguf.quants.end(),
                         [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
    throw Error(ErrorKind::usage, "no quantization fits",
                "the memory budget is " + util::format_bytes(info.budget.bytes) +
                    " and the smallest quantization of " + spec.repo.id + ", " + smallest->name +
                    ", takes " + util::format_bytes(smallest->bytes),
                "Give the memory to plan for with --vram BYTES, or choose one: `hfmodels add " +
                    spec.repo.id + ":" + smallest->name + "`");
  }
  result.chosen_bytes = chosen->bytes;
  return chosen->name;
}

} // namespace

AddResult add_model(const Settings& settings, const AddRequest& request, Reporter& reporter,
                    const std::stop_token& stop) {
  manifest::ModelSpec spec = request.spec;
  if (!spec.files.empty() &&
      (spec.quant || request.auto_quant || !spec.include.empty() || !spec.exclude.empty())) {
    throw Error(ErrorKind::usage, "conflicting selectors",
                "an exact file (`REPO:FILE`) cannot be combined with a quantization, --include "
                "or --exclude",
                {}, spec.name);
  }
  if (!manifest::is_valid_model_name(spec.name)) {
    throw Error(ErrorKind::usage, "invalid model name",
                "`" + spec.name + "` is not a name (a letter, then letters, digits or `_`)",
                "Choose one with --name");
  }
  AddResult result;
  result.name = spec.name;
  if (request.auto_quant) {
    spec.quant = choose_quant(settings, spec, request.vram, result, stop);
    result.chosen_quant = spec.quant;
  }
  const auto original = read_if_exists(settings.manifest_path);
  const std::string edited =
      manifest::with_model_added(original.value_or(""), spec, settings.manifest_path);
  util::write_file_atomic(settings.manifest_path, edited);
  try {
    result.lock = lock(settings, {{spec.name}, false}, reporter, stop);
  } catch (...) {
    // A model that cannot be locked (no such repo, a quantization it lacks) is not added: the
    // manifest goes back to what it was, byte for byte.
    if (original) {
      util::write_file_atomic(settings.manifest_path, *original);
    } else {
      std::error_code ignored;
      std::filesystem::remove(settings.manifest_path, ignored);
    }
    throw;
  }
  return result;
}

RemoveResult remove_models(const Settings& settings, const std::vector<std::string>& names) {
  RemoveResult result;
  const auto text = read_if_exists(settings.manifest_path);
  const auto manifest =
      text ? manifest::parse_manifest(*text, settings.manifest_path) : manifest::Manifest{};
  std::optional<manifest::Lockfile> lockfile;
  if (std::filesystem::exists(settings.lockfile_path)) {
    lockfile = manifest::load_lockfile(settings.lockfile_path);
  }
  std::vector<std::string> in_manifest;
  for (const auto& name : names) {
    const bool listed = manifest.find(name) != nullptr;
    const bool locked = lockfile && lockfile->find(name) != nullptr;
    if (!listed && !locked) {
      auto known = manifest.names();
      if (lockfile) {
        const auto more = lockfile->names();
        known.insert(known.end(), more.begin(), more.end());
      }
      const auto suggestion = util::closest_match(name, known);
      throw Error(ErrorKind::usage, "unknown model",
                  "'" + name + "' is neither in " + settings.manifest_path.filename().string() +
                      " nor in " + settings.lockfile_path.filename().string(),
                  suggestion ? "Did you mean '" + *suggestion + "'?" : "");
    }
    if (listed && std::find(in_manifest.begin(), in_manifest.end(), name) == in_manifest.end()) {
      in_manifest.push_back(name);
    }
  }
  // Both files are checked before either is written: a bad name leaves both as they were.
  if (!in_manifest.empty()) {
    const auto edited = manifest::with_models_removed(*text, in_manifest, settings.manifest_path);
    util::write_file_atomic(settings.manifest_path, edited);
    result.from_manifest = in_manifest;
  }
  if (lockfile) {
    auto& models = lockfile->models;
    for (const auto& name : names) {
      const auto it = std::find_if(models.begin(), models.end(),
                                   [&](const auto& model) { return model.name == name; });
      if (it != models.end()) {
        models.erase(it);
        result.from_lockfile.push_back(name);
      }
    }
    if (!result.from_lockfile.empty()) {
      manifest::save_lockfile(settings.lockfile_path, *lockfile);
    }
  }
  return result;
}

} // namespace hfmodels::ops
