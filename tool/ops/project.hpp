// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "http/client.hpp"
#include "manifest/lockfile.hpp"
#include "manifest/manifest.hpp"
#include "ops/operations.hpp"
#include "ops/settings.hpp"

#include <optional>
#include <string>
#include <vector>

// What the operations share: the lockfile and manifest they work on, model selection by name,
// the staleness check and the HTTP client settings.
namespace hfmodels::ops {

struct Project {
  manifest::Lockfile lockfile;
  std::optional<manifest::Manifest> manifest; // absent when there is no models.yaml
};

// Loads the lockfile (Error(usage) with "run `hfmodels lock`" if it is missing) and the manifest
// beside it when there is one.
Project load_project(const Settings& settings, const std::stop_token& stop = {});

// The locked models called `names`, or all of them when `names` is empty. An unknown name
// throws Error(usage) with a "did you mean".
std::vector<const manifest::LockedModel*> select_models(const manifest::Lockfile& lockfile,
                                                        const std::vector<std::string>& names);

// The selected models that the manifest no longer matches, with the reason: edited since it was
// locked, or gone from the manifest. Empty when there is no manifest.
struct StaleModel {
  std::string name;
  std::string reason;
};
std::vector<StaleModel> stale_models(const Project& project,
                                     const std::vector<const manifest::LockedModel*>& models);

// Models of the manifest that the lockfile lacks (added to models.yaml, never locked).
std::vector<std::string> unlocked_models(const Project& project);

// Why the locked files of `model` cannot be what locking `spec` selected, or nothing: a file the
// selection would not pick, a file that `files` names missing, or a file list that no longer
// matches the `paths` digest `hfmodels lock` wrote. Only a hand edit does that.
std::optional<std::string> selection_mismatch(const manifest::ModelSpec& spec,
                                              const manifest::LockedModel& model);

// Throws Error(stale_lock) naming every stale model and the command that fixes it. With
// `whole_lockfile` (no model named on the command line), a model of the manifest that was never
// locked makes the lockfile stale too.
void require_fresh(const Project& project, const std::vector<const manifest::LockedModel*>& models,
                   bool whole_lockfile);

http::ClientOptions client_options(const Settings& settings);

// Copies the model's snapshot files (real files, no symlinks) into `dir`, skipping those already
// there with the same size and time, and records them as `hf download --local-dir` does.
ExportResult copy_snapshot(const cache::HubCache& cache, const manifest::LockedModel& model,
                           const std::filesystem::path& dir, const std::stop_token& stop);

// Records the project's lockfile in the cache (cache/maintenance.hpp), so that `cache gc` keeps
// what it pins; a cache that cannot be written is no failure.
void remember_project(const Settings& settings);

// The locked files of `model` as the cache's presence check takes them.
std::vector<cache::HubCache::SnapshotFile> snapshot_files(const manifest::LockedModel& model);

} // namespace hfmodels::ops
