// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace hfmodels::ops {

std::filesystem::path model_path(const Settings& settings, const std::string& name,
                                 const std::optional<std::string>& file) {
  const auto lockfile = manifest::load_lockfile(settings.lockfile_path);
  return locked_path(settings, *select_models(lockfile, {name}).front(), file);
}

std::filesystem::path locked_path(const Settings& settings, const manifest::LockedModel& model,
                                  const std::optional<std::string>& file) {
  const cache::HubCache cache(settings.cache_dir);
  if (!file) {
    return cache.snapshot_dir(model.repo, model.commit);
  }
  const auto found = std::find_if(model.files.begin(), model.files.end(),
                                  [&](const auto& locked) { return locked.path.str() == *file; });
  if (found == model.files.end()) {
    std::vector<std::string> paths;
    for (const auto& locked : model.files) {
      paths.push_back(locked.path.str());
    }
    const auto suggestion = util::closest_match(*file, paths);
    throw Error(ErrorKind::usage, "unknown file", "'" + *file + "' is not locked for " + model.name,
                suggestion ? "Did you mean '" + *suggestion + "'?" : "", model.name);
  }
  return cache.snapshot_path(model.repo, model.commit, found->path);
}

std::vector<bool> cached_files(const Settings& settings, const manifest::LockedModel& model,
                               const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  return cache.files_present(model.repo, model.commit, snapshot_files(model), stop);
}

std::vector<ModelLocation> locate_models(const Settings& settings,
                                         const std::vector<std::string>& names) {
  const auto project = load_project(settings);
  const auto models = select_models(project.lockfile, names);
  require_fresh(project, models, names.empty());
  const cache::HubCache cache(settings.cache_dir);
  std::vector<ModelLocation> locations;
  for (const auto* model : models) {
    ModelLocation location{model->name,
                           model->repo.id,
                           model->commit.str(),
                           cache.snapshot_dir(model->repo, model->commit),
                           {}};
    for (const auto& file : model->files) {
      location.files.push_back(file.path.str());
    }
    locations.push_back(std::move(location));
  }
  return locations;
}

} // namespace hfmodels::ops
