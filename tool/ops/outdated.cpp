// SPDX-License-Identifier: MIT
#include "manifest/selection.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "ops/resolve.hpp"
#include "util/error.hpp"

#include <map>

namespace hfmodels::ops {

namespace {

// What re-locking `model` at `files` (the selection at the current commit) would change.
std::vector<FileChange> changes(const manifest::LockedModel& model,
                                const std::vector<hub::RepoFile>& files) {
  std::map<std::string_view, const manifest::LockedFile*> locked;
  for (const auto& file : model.files) {
    locked.emplace(file.path.str(), &file);
  }
  std::vector<FileChange> result;
  for (const auto& file : files) {
    const auto it = locked.find(file.path.str());
    if (it == locked.end()) {
      result.push_back({file.path.str(), FileChange::Kind::added, 0, file.size});
      continue;
    }
    if (it->second->etag != file.etag() || it->second->size != file.size) {
      result.push_back({file.path.str(), FileChange::Kind::changed, it->second->size, file.size});
    }
    locked.erase(it);
  }
  for (const auto& [path, file] : locked) {
    result.push_back({std::string(path), FileChange::Kind::removed, file->size, 0});
  }
  std::sort(result.begin(), result.end(),
            [](const FileChange& a, const FileChange& b) { return a.path < b.path; });
  return result;
}

} // namespace

std::vector<OutdatedModel> outdated(const Settings& settings, const std::vector<std::string>& names,
                                    const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  HubAccess hub(settings, stop);
  std::vector<OutdatedModel> result;
  for (const auto* model : models) {
    OutdatedModel entry;
    entry.name = model->name;
    entry.revision = model->revision;
    entry.locked_commit = model->commit.str();
    // The manifest entry says what to select; without one (a lockfile alone), the same paths.
    const auto* spec = project.manifest ? project.manifest->find(model->name) : nullptr;
    manifest::ModelSpec selection;
    if (spec) {
      selection = *spec;
    } else {
      selection.name = model->name;
      selection.repo = model->repo;
      selection.revision = model->revision;
      for (const auto& file : model->files) {
        selection.files.push_back(file.path.str());
      }
    }
    auto& client = hub.get(model->name);
    if (!follows_moving_ref(client, selection)) {
      entry.state = OutdatedModel::State::pinned;
      entry.current_commit = entry.locked_commit;
      result.push_back(std::move(entry));
      continue;
    }
    const auto current = client.resolve_commit(model->repo, model->revision);
    entry.current_commit = current.str();
    if (current != model->commit) {
      const auto listed = client.list_files(model->repo, current, listing_scopes(selection));
      try {
        entry.changes = changes(*model, manifest::select_files(selection, listed));
      } catch (const Error& error) {
        // The entry no longer selects anything at the new commit: `lock --update` would fail
        // the same way; say it per model rather than stopping at the first.
        entry.problem = error.why();
      }
    }
    entry.state =
        current == model->commit ? OutdatedModel::State::current : OutdatedModel::State::outdated;
    result.push_back(std::move(entry));
  }
  return result;
}

} // namespace hfmodels::ops
