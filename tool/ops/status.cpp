// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"

#include <algorithm>

namespace hfmodels::ops {

std::vector<ModelStatus> status(const Settings& settings, const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, {});
  const auto stale = stale_models(project, models);
  const cache::HubCache cache(settings.cache_dir);

  std::vector<ModelStatus> result;
  for (const auto* model : models) {
    ModelStatus entry;
    entry.name = model->name;
    entry.commit = model->commit.str();
    entry.files = model->files.size();
    entry.bytes = model->total_size();
    using Presence = cache::HubCache::Presence;
    const auto presence = cache.presence(model->repo, model->commit, snapshot_files(*model), stop);
    entry.files_missing =
        static_cast<std::size_t>(std::count(presence.begin(), presence.end(), Presence::missing));
    entry.files_wrong_size = static_cast<std::size_t>(
        std::count(presence.begin(), presence.end(), Presence::wrong_size));
    const bool is_stale = std::any_of(stale.begin(), stale.end(),
                                      [&](const auto& s) { return s.name == model->name; });
    entry.state = is_stale                     ? ModelState::stale
                  : entry.files_wrong_size > 0 ? ModelState::wrong_size
                  : entry.files_missing > 0    ? ModelState::missing
                                               : ModelState::cached;
    result.push_back(std::move(entry));
  }
  for (const auto& name : unlocked_models(project)) {
    ModelStatus entry;
    entry.name = name;
    entry.state = ModelState::unlocked;
    result.push_back(std::move(entry));
  }
  return result;
}

} // namespace hfmodels::ops
