// SPDX-License-Identifier: MIT
#include "ops/project.hpp"

#include "cache/maintenance.hpp"
#include "manifest/selection.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>

namespace hfmodels::ops {

Project load_project(const Settings& settings, const std::stop_token& stop) {
  std::error_code error;
  if (!std::filesystem::exists(settings.lockfile_path, error)) {
    throw Error(ErrorKind::usage, "no lockfile",
                settings.lockfile_path.string() + " does not exist",
                "Run `hfmodels lock` to create it from models.yaml");
  }
  Project project;
  project.lockfile = manifest::load_lockfile(settings.lockfile_path, stop);
  if (std::filesystem::exists(settings.manifest_path, error)) {
    project.manifest = manifest::load_manifest(settings.manifest_path);
  }
  return project;
}

std::vector<const manifest::LockedModel*> select_models(const manifest::Lockfile& lockfile,
                                                        const std::vector<std::string>& names) {
  std::vector<const manifest::LockedModel*> selected;
  if (names.empty()) {
    for (const auto& model : lockfile.models) {
      selected.push_back(&model);
    }
    return selected;
  }
  for (const auto& name : names) {
    const auto* model = lockfile.find(name);
    if (!model) {
      const auto suggestion = util::closest_match(name, lockfile.names());
      throw Error(
          ErrorKind::usage, "unknown model", "'" + name + "' is not in the lockfile",
          suggestion ? "Did you mean '" + *suggestion + "'?" : "Locked models: " + [&] {
            std::string list;
            for (const auto& known : lockfile.names()) {
              list += (list.empty() ? "" : ", ") + known;
            }
            return list.empty() ? std::string("none") : list;
          }());
    }
    if (std::find(selected.begin(), selected.end(), model) == selected.end()) {
      selected.push_back(model);
    }
  }
  return selected;
}

std::vector<StaleModel> stale_models(const Project& project,
                                     const std::vector<const manifest::LockedModel*>& models) {
  std::vector<StaleModel> stale;
  if (!project.manifest) {
    return stale;
  }
  for (const auto* model : models) {
    const auto* spec = project.manifest->find(model->name);
    if (!spec) {
      stale.push_back({model->name, "no longer in " + project.manifest->path.filename().string()});
    } else if (spec->digest() != model->manifest_digest) {
      stale.push_back({model->name, "its entry in " + project.manifest->path.filename().string() +
                                        " changed since it was locked"});
    } else if (const auto mismatch = selection_mismatch(*spec, *model)) {
      stale.push_back({model->name, "models.lock was edited by hand: " + *mismatch});
    }
  }
  return stale;
}

std::vector<std::string> unlocked_models(const Project& project) {
  std::vector<std::string> names;
  if (project.manifest) {
    for (const auto& spec : project.manifest->models) {
      if (!project.lockfile.find(spec.name)) {
        names.push_back(spec.name);
      }
    }
  }
  return names;
}

std::optional<std::string> selection_mismatch(const manifest::ModelSpec& spec,
                                              const manifest::LockedModel& model) {
  // Linear in the files and without copies: a lockfile may hold 100,000 of them, and this
  // runs before every fetch.
  std::vector<std::string_view> paths;
  paths.reserve(model.files.size());
  for (const auto& locked : model.files) {
    paths.emplace_back(locked.path.str());
  }
  std::vector<std::size_t> selected;
  try {
    selected = manifest::select_paths(spec, paths, model.patterns);
  } catch (const Error& error) {
    return "it lacks a file the manifest selects (" + error.why() + ")";
  }
  std::vector<bool> kept(paths.size(), false);
  for (const std::size_t index : selected) {
    kept[index] = true;
  }
  if (const auto dropped = std::find(kept.begin(), kept.end(), false); dropped != kept.end()) {
    return "it lists `" + model.files[static_cast<std::size_t>(dropped - kept.begin())].path.str() +
           "`, which the manifest entry does not select";
  }
  if (!model.recorded_paths_digest.empty() &&
      model.recorded_paths_digest != manifest::paths_digest(model)) {
    return "a file entry was added to or removed from its `files` (they no longer match its "
           "`paths` digest)";
  }
  return std::nullopt;
}

void require_fresh(const Project& project, const std::vector<const manifest::LockedModel*>& models,
                   bool whole_lockfile) {
  auto stale = stale_models(project, models);
  if (whole_lockfile) {
    for (const auto& name : unlocked_models(project)) {
      stale.push_back(
          {name, "in " + project.manifest->path.filename().string() + " but never locked"});
    }
  }
  if (stale.empty()) {
    return;
  }
  std::string why;
  for (const auto& model : stale) {
    why += (why.empty() ? "" : "; ") + model.name + ": " + model.reason;
  }
  throw Error(ErrorKind::stale, "the lockfile is stale", why,
              "Run `hfmodels lock` and commit the new models.lock");
}

void remember_project(const Settings& settings) {
  try {
    cache::remember_project(cache::HubCache(settings.cache_dir), settings.lockfile_path);
  } catch (const Error& error) {
    // A cache this user cannot write (read-only, shared and another's) still serves: without the
    // record, `cache gc` run by others just does not know this project.
    if (!error.cause().starts_with("io:") && error.kind() != ErrorKind::failure) {
      throw;
    }
  }
}

http::ClientOptions client_options(const Settings& settings) {
  if (settings.token_error && !settings.offline) {
    throw *settings.token_error;
  }
  http::ClientOptions options;
  options.user_agent = "hfmodels/" HFMODELS_VERSION "; hf_hub/none; cpp/libcurl";
  options.token = settings.token;
  options.token_origin = http::origin_of(settings.endpoint);
  options.connect_timeout_seconds = settings.download_timeout_seconds;
  options.idle_timeout_seconds = settings.download_timeout_seconds;
  options.trace = settings.http_trace;
  options.allow_http_token = settings.allow_http_token;
  options.proxies = settings.proxies;
  options.ca_bundle = settings.ca_bundle;
  if (!settings.offline) {
    // Fail before any work, not at the first request; offline, nothing is ever sent.
    http::check_token_transport(options, settings.endpoint);
  }
  return options;
}

std::vector<cache::HubCache::SnapshotFile> snapshot_files(const manifest::LockedModel& model) {
  std::vector<cache::HubCache::SnapshotFile> files;
  files.reserve(model.files.size());
  for (const auto& file : model.files) {
    files.push_back({&file.path, file.size});
  }
  return files;
}

} // namespace hfmodels::ops
