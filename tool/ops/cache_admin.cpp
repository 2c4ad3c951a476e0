// SPDX-License-Identifier: MIT
// `cache ls`, `cache rm` and `cache gc`: the cache as a whole, every client's repos in it.
#include "cache/maintenance.hpp"
#include "manifest/lockfile.hpp"
#include "ops/operations.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace hfmodels::ops {

namespace {

using Clock = std::chrono::system_clock;

// What the known projects pin: blobs by (repo folder, etag), snapshots by (folder, commit).
struct Pins {
  std::set<std::pair<std::string, std::string>> blobs;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> snapshots;
  std::vector<std::string> projects;  // the lockfiles read
  std::vector<std::string> forgotten; // records of lockfiles that no longer exist
};

Pins known_pins(const Settings& settings, const cache::HubCache& cache, bool forget_missing,
                const std::stop_token& stop) {
  Pins pins;
  auto projects = cache::known_projects(cache);
  // This project counts, whether or not it was recorded yet.
  std::error_code error;
  if (std::filesystem::exists(settings.lockfile_path, error)) {
    const auto self = std::filesystem::absolute(settings.lockfile_path).lexically_normal();
    if (std::find(projects.begin(), projects.end(), self) == projects.end()) {
      projects.push_back(self);
    }
  }
  for (const auto& path : projects) {
    const bool present = std::filesystem::exists(path, error);
    if (error) {
      // Unreadable (another user's folder, a mount that is down) is not gone: what it pins is
      // unknown, so nothing may be deleted.
      throw Error(ErrorKind::failure, "cannot check a known project's lockfile",
                  path.string() + ": " + error.message(),
                  "Run this where that lockfile can be read, or delete it if the project is gone");
    }
    if (!present) {
      if (forget_missing) {
        cache::forget_project(cache, path);
      }
      pins.forgotten.push_back(path.string());
      continue;
    }
    manifest::Lockfile lockfile;
    try {
      lockfile = manifest::load_lockfile(path, stop);
    } catch (const Error& failure) {
      // What it pins is unknown: deleting anything could delete its files.
      throw Error(
          ErrorKind::usage, "cannot read a known project's lockfile", std::string(failure.what()),
          "Repair it (`hfmodels lock --update` in its folder), or delete it; `cache` commands "
          "keep every pinned file and need to read them all");
    }
    pins.projects.push_back(path.string());
    for (const auto& model : lockfile.models) {
      const std::string folder = hub::cache_folder_name(model.repo);
      auto& pinners = pins.snapshots[{folder, model.commit.str()}];
      if (pinners.empty() || pinners.back() != path.string()) {
        pinners.push_back(path.string()); // once per project, however many entries pin it
      }
      for (const auto& file : model.files) {
        pins.blobs.insert({folder, file.etag.str()});
      }
    }
  }
  return pins;
}

std::uint64_t snapshot_bytes(const cache::CachedRepo& repo, const cache::CachedSnapshot& snapshot,
                             Clock::time_point& last_used) {
  std::set<std::string> etags;
  for (const auto& file : snapshot.files) {
    if (!file.etag.empty()) {
      etags.insert(file.etag);
    }
  }
  std::uint64_t bytes = 0;
  for (const auto& blob : repo.blobs) {
    if (etags.contains(blob.etag)) {
      bytes += blob.allocated;
      last_used = std::max(last_used, blob.last_used);
    }
  }
  return bytes;
}

std::string repo_id_of(const std::string& folder) {
  const auto repo = hub::repo_of_cache_folder(folder);
  return repo ? (repo->type == hub::RepoType::dataset ? "datasets/" : "") + repo->id : folder;
}

} // namespace

std::vector<CachedRevision> cache_list(const Settings& settings, const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  const auto pins = known_pins(settings, cache, false, stop);
  std::vector<CachedRevision> result;
  for (const auto& repo : cache::scan_cache(cache, stop)) {
    for (const auto& snapshot : repo.snapshots) {
      CachedRevision revision;
      revision.repo = repo_id_of(repo.folder);
      revision.commit = snapshot.commit;
      revision.refs = snapshot.refs;
      revision.files = snapshot.files.size();
      revision.bytes = snapshot_bytes(repo, snapshot, revision.last_used);
      if (const auto it = pins.snapshots.find({repo.folder, snapshot.commit});
          it != pins.snapshots.end()) {
        revision.projects = it->second;
      }
      result.push_back(std::move(revision));
    }
    std::uint64_t partial = 0;
    for (const auto& file : repo.partials) {
      partial += file.allocated;
    }
    if (partial > 0) {
      CachedRevision revision;
      revision.repo = repo_id_of(repo.folder);
      revision.partial = true;
      revision.files = repo.partials.size();
      revision.bytes = partial;
      for (const auto& file : repo.partials) {
        revision.last_used = std::max(revision.last_used, file.modified);
      }
      result.push_back(std::move(revision));
    }
  }
  return result;
}

std::vector<PlannedDeletion> cache_remove(const Settings& settings,
                                          const std::vector<std::string>& targets, bool dry_run,
                                          const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  const auto repos = cache::scan_cache(cache, stop);
  const auto pins = known_pins(settings, cache, false, stop);
  std::vector<PlannedDeletion> result;
  std::vector<cache::Deletion> plan;
  for (const auto& target : targets) {
    const auto at = target.find('@');
    const std::string id = target.substr(0, at);
    const std::string revision = at == std::string::npos ? "" : target.substr(at + 1);
    const auto repo = std::find_if(repos.begin(), repos.end(),
                                   [&](const auto& r) { return repo_id_of(r.folder) == id; });
    if (repo == repos.end()) {
      std::vector<std::string> known;
      for (const auto& r : repos) {
        known.push_back(repo_id_of(r.folder));
      }
      const auto suggestion = util::closest_match(id, known);
      throw Error(ErrorKind::usage, "not in the cache",
                  "no repo `" + id + "` in " + cache.root().string(),
                  suggestion ? "Did you mean '" + *suggestion + "'?" : "See `hfmodels cache ls`");
    }
    // The snapshots named: all of the repo, or the one a ref or a commit (prefix) names.
    std::set<std::string> removed_commits;
    for (const auto& snapshot : repo->snapshots) {
      // A commit prefix of 4 or more hex digits, as git takes one.
      const bool named =
          revision.empty() ||
          std::find(snapshot.refs.begin(), snapshot.refs.end(), revision) != snapshot.refs.end() ||
          (revision.size() >= 4 && snapshot.commit.starts_with(revision));
      if (named) {
        removed_commits.insert(snapshot.commit);
      }
    }
    if (removed_commits.empty() && !revision.empty()) {
      throw Error(ErrorKind::usage, "not in the cache",
                  "`" + id + "` has no revision `" + revision + "` in the cache",
                  "See `hfmodels cache ls`");
    }
    // The snapshots go whole. With them go the blobs they link that no kept snapshot links;
    // the whole repo takes every blob (those `lock` keeps unlinked too).
    std::set<std::string> kept;
    std::set<std::string> linked;
    for (const auto& snapshot : repo->snapshots) {
      auto& into = removed_commits.contains(snapshot.commit) ? linked : kept;
      for (const auto& file : snapshot.files) {
        into.insert(file.etag);
      }
    }
    for (const auto& commit : removed_commits) {
      plan.push_back({repo->folder, cache::Deletion::Kind::snapshot, commit, 0});
    }
    for (const auto& blob : repo->blobs) {
      if (!kept.contains(blob.etag) && (revision.empty() || linked.contains(blob.etag))) {
        plan.push_back({repo->folder, cache::Deletion::Kind::blob, blob.etag, blob.allocated});
      }
    }
    if (revision.empty()) {
      for (const auto& partial : repo->partials) {
        plan.push_back(
            {repo->folder, cache::Deletion::Kind::partial, partial.name, partial.allocated});
      }
    }
    for (const auto& commit : removed_commits) {
      if (const auto it = pins.snapshots.find({repo->folder, commit}); it != pins.snapshots.end()) {
        result.push_back({repo_id_of(repo->folder), commit, 0, false, it->second});
      }
    }
  }
  const auto done = dry_run ? plan : cache::delete_entries(cache, plan);
  for (const auto& item : done) {
    if (item.kind != cache::Deletion::Kind::snapshot) {
      result.push_back({repo_id_of(item.folder),
                        item.name,
                        item.bytes,
                        item.kind == cache::Deletion::Kind::partial,
                        {}});
    }
  }
  return result;
}

std::vector<PlannedDeletion> cache_gc(const Settings& settings, const GcOptions& options,
                                      const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  const auto pins = known_pins(settings, cache, !options.dry_run, stop);
  const auto now = Clock::now();
  const auto old_enough = [&](Clock::time_point used) {
    // In hours: a number of days in nanoseconds overflows past 292 years.
    const auto hours = std::chrono::duration_cast<std::chrono::hours>(now - used).count();
    return !options.older_than_days ||
           hours / 24 >= static_cast<long long>(*options.older_than_days);
  };
  std::vector<cache::Deletion> plan;
  for (const auto& repo : cache::scan_cache(cache, stop)) {
    for (const auto& blob : repo.blobs) {
      if (!pins.blobs.contains({repo.folder, blob.etag}) && (blob.by_hfmodels || options.all) &&
          old_enough(blob.last_used)) {
        plan.push_back({repo.folder, cache::Deletion::Kind::blob, blob.etag, blob.allocated});
      }
    }
    // Partial downloads a day old are abandoned: a download under way holds its blob's lock,
    // and one that stopped is resumed within hours, if ever.
    for (const auto& partial : repo.partials) {
      if (now - partial.modified > std::chrono::hours(24)) {
        plan.push_back(
            {repo.folder, cache::Deletion::Kind::partial, partial.name, partial.allocated});
      }
    }
  }
  const auto done = options.dry_run ? plan : cache::delete_entries(cache, plan);
  std::vector<PlannedDeletion> result;
  for (const auto& item : done) {
    result.push_back({repo_id_of(item.folder),
                      item.name,
                      item.bytes,
                      item.kind == cache::Deletion::Kind::partial,
                      {}});
  }
  return result;
}

} // namespace hfmodels::ops
