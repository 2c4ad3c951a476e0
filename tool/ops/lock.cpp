// SPDX-License-Identifier: MIT
#include "hash/sha256.hpp"
#include "hub/client.hpp"
#include "manifest/quants.hpp"
#include "manifest/selection.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "ops/resolve.hpp"
#include "ops/store.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

namespace hfmodels::ops {

namespace {

// A GGUF repo locked whole takes every quantization, many times what anyone runs: say which, and
// how to choose one.
void warn_if_every_quant(const manifest::ModelSpec& spec, const manifest::LockedModel& model,
                         Reporter& reporter) {
  if (spec.quant || !spec.include.empty() || !spec.files.empty()) {
    return;
  }
  std::vector<std::string_view> paths;
  std::vector<std::uint64_t> sizes;
  for (const auto& file : model.files) {
    paths.push_back(file.path.str());
    sizes.push_back(file.size);
  }
  const auto inventory = manifest::gguf_inventory(paths, sizes);
  if (inventory.quants.size() < 2) {
    return;
  }
  std::string list;
  std::uint64_t total = 0;
  for (const auto& quant : inventory.quants) {
    list += (list.empty() ? "" : ", ") + quant.name + " " + util::format_bytes(quant.bytes);
    total += quant.bytes;
  }
  reporter.warning(spec.name + ": " + spec.repo.id + " holds " +
                   std::to_string(inventory.quants.size()) +
                   " GGUF quantizations and all of them are locked (" + util::format_bytes(total) +
                   "): " + list + ". Choose one with `quant: " + inventory.quants.front().name +
                   "` in its models.yaml entry, or `hfmodels add " + spec.repo.id + ":" +
                   inventory.quants.front().name + "`");
}

// Resolves one manifest entry against the Hub: its commit and the selected files. Regular files
// are left without sha256, to be hashed from their download; LFS files take it from the listing.
manifest::LockedModel resolve(hub::HubClient& hub, const manifest::ModelSpec& spec,
                              const Settings& settings) {
  manifest::LockedModel model;
  model.name = spec.name;
  model.repo = spec.repo;
  model.revision = spec.revision;
  model.manifest_digest = spec.digest();
  if (!spec.include.empty() || !spec.exclude.empty()) {
    model.patterns = manifest::PatternRule::fnmatch;
  }
  try {
    // The revision info also gives the card's licence, recorded for `sbom`; a commit is asked
    // for too, for its licence.
    const auto info = hub.revision_info(spec.repo, spec.revision, false);
    model.commit = info.commit;
    model.license = info.license;
    const auto listed = hub.list_files(spec.repo, model.commit, listing_scopes(spec));
    for (const auto& file : manifest::select_files(spec, listed)) {
      model.files.push_back(
          {file.path, file.size, file.lfs_sha256 ? file.lfs_sha256->str() : "", file.etag()});
    }
  } catch (const Error& error) {
    if (error.cause() == "hub:listing-too-large") {
      throw Error(error.kind(), "too many files in " + spec.repo.id, error.why(),
                  "Lock fewer files: `files:` with exact paths, or `include:` patterns under a "
                  "folder (`onnx/*`) list only those folders; or raise the limit of " +
                      std::to_string(settings.max_listed_files) + " files with HFMODELS_MAX_FILES",
                  spec.name)
          .with_cause(error.cause());
    }
    throw error.subject().empty() ? error.with_subject(spec.name) : error;
  }
  return model;
}

// Resolves every spec with `hub`, then hashes the regular files.
std::vector<manifest::LockedModel> resolve_with(HubAccess& hub, const Settings& settings,
                                                const std::vector<manifest::ModelSpec>& specs,
                                                Reporter& reporter, const std::stop_token& stop) {
  std::vector<manifest::LockedModel> models;
  for (const auto& spec : specs) {
    models.push_back(resolve(hub.get(spec.name), spec, settings));
    warn_if_every_quant(spec, models.back(), reporter);
    reporter.note("resolved", spec.name,
                  spec.name + ": " + spec.repo.id + "@" + spec.revision + " -> " +
                      models.back().commit.str().substr(0, 12));
  }
  // Regular files are small; download them into the cache to learn their sha256 (checked
  // against their git blob id on the way), so a later fetch has them already. As blobs only:
  // the snapshot appears, complete, with `fetch`.
  std::vector<FileJob> jobs;
  std::vector<manifest::LockedFile*> targets;
  for (auto& model : models) {
    for (auto& file : model.files) {
      if (file.sha256.empty()) {
        jobs.push_back({model.name, model.repo, model.revision, model.commit, file.path, file.size,
                        file.etag, std::nullopt});
        targets.push_back(&file);
      }
    }
  }
  if (!jobs.empty()) {
    const cache::HubCache cache(settings.cache_dir);
    const auto stored = store_files(settings, cache, jobs, reporter, Publish::blobs_only, stop);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      targets[i]->sha256 = stored.sha256[i];
    }
  }
  return models;
}

} // namespace

std::vector<manifest::LockedModel> resolve_models(const Settings& settings,
                                                  const std::vector<manifest::ModelSpec>& specs,
                                                  Reporter& reporter, const std::stop_token& stop) {
  HubAccess hub(settings, stop);
  return resolve_with(hub, settings, specs, reporter, stop);
}

LockResult lock(const Settings& settings, const LockOptions& options, Reporter& reporter,
                const std::stop_token& stop) {
  const auto manifest = manifest::load_manifest(settings.manifest_path);
  for (const auto& name : options.names) {
    if (!manifest.find(name)) {
      const auto suggestion = util::closest_match(name, manifest.names());
      throw Error(ErrorKind::usage, "unknown model",
                  "'" + name + "' is not in " + settings.manifest_path.string(),
                  suggestion ? "Did you mean '" + *suggestion + "'?" : "");
    }
  }
  manifest::Lockfile previous;
  bool previous_damaged = false;
  if (std::filesystem::exists(settings.lockfile_path)) {
    try {
      previous = manifest::load_lockfile(settings.lockfile_path);
    } catch (const Error& error) {
      // A damaged lockfile (a merge conflict, a bad edit) still names the pins the team agreed
      // on: only --update, which moves pins anyway, re-creates it, resolving every entry afresh.
      // A newer format is never rewritten: that would downgrade it for everyone.
      if (!options.update || error.cause() != "lockfile:invalid") {
        throw;
      }
      previous_damaged = true;
      reporter.warning(std::string("re-resolving every model, the lockfile cannot be read: ") +
                       error.what());
    }
  }

  HubAccess hub(settings, stop);

  LockResult result;
  manifest::Lockfile next;
  std::vector<manifest::ModelSpec> to_resolve;
  for (const auto& spec : manifest.models) {
    const auto* old = previous.find(spec.name);
    // Over a damaged lockfile every entry is resolved, `lock NAME` included: there is no old
    // entry to keep for the others, and leaving them out would silently unlock them.
    const bool named =
        previous_damaged || options.names.empty() ||
        std::find(options.names.begin(), options.names.end(), spec.name) != options.names.end();
    // A hand-edited entry (files the selection would not give) is resolved again, not kept.
    const bool unchanged =
        old && old->manifest_digest == spec.digest() && !selection_mismatch(spec, *old);
    if (!named) {
      // Outside the requested names the old entry stays as it is, even if stale.
      if (old) {
        next.models.push_back(*old);
      }
      continue;
    }
    if (unchanged && (!options.update || !follows_moving_ref(hub.get(spec.name), spec))) {
      next.models.push_back(*old);
      result.kept.push_back(spec.name);
      continue;
    }
    to_resolve.push_back(spec);
    result.resolved.push_back(spec.name);
  }
  for (const auto& old : previous.models) {
    if (!manifest.find(old.name)) {
      result.removed.push_back(old.name);
    }
  }
  for (auto& model : resolve_with(hub, settings, to_resolve, reporter, stop)) {
    next.models.push_back(std::move(model));
  }

  std::sort(next.models.begin(), next.models.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  result.lockfile_changed = manifest::save_lockfile(settings.lockfile_path, next);
  remember_project(settings);
  return result;
}

} // namespace hfmodels::ops
