// SPDX-License-Identifier: MIT
#include "cache/maintenance.hpp"

#include "cache/dir.hpp"
#include "hash/sha256.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace hfmodels::cache {

namespace fs = std::filesystem;

namespace {

// Under `.locks`, which every cache scanner skips: a folder of its own at the top of the cache
// (`.hfmodels`) makes Python's scan_cache_dir and huggingface.js's
// scanCacheDir report a corrupted repo (docs/hub-and-cache.md, "The cache").
constexpr std::string_view k_locks = ".locks";
constexpr std::string_view k_records = "hfmodels";
constexpr std::string_view k_partial = ".incomplete";

bool is_repo_folder(std::string_view name) {
  return name.starts_with("models--") || name.starts_with("datasets--") ||
         name.starts_with("spaces--");
}

bool is_partial(std::string_view name) {
  return name.ends_with(k_partial) ||
         (name.ends_with(k_record_suffix) &&
          name.substr(0, name.size() - k_record_suffix.size()).ends_with(k_partial));
}

// The blob a snapshot link names: `../../blobs/<etag>` (deeper for files in folders).
std::string blob_of_link(std::string_view target) {
  const auto at = target.rfind("blobs/");
  if (at == std::string_view::npos || (at > 0 && target[at - 1] != '/')) {
    return "";
  }
  const std::string_view etag = target.substr(at + 6);
  return etag.find('/') == std::string_view::npos ? std::string(etag) : "";
}

void scan_snapshot(const Dir& dir, const std::string& prefix, CachedSnapshot& snapshot, int depth) {
  if (depth > 64) {
    return; // deeper than any repo: not one of ours
  }
  for (const auto& name : dir.list()) {
    const auto entry = dir.stat(name, Follow::no);
    if (!entry) {
      continue;
    }
    if (entry->type == EntryType::directory) {
      if (const auto sub = dir.open_folder(name)) {
        scan_snapshot(*sub, prefix + name + "/", snapshot, depth + 1);
      }
    } else if (entry->type == EntryType::symlink) {
      snapshot.files.push_back({prefix + name, blob_of_link(dir.read_link(name).value_or(""))});
    } else {
      snapshot.files.push_back({prefix + name, ""});
    }
  }
}

// refs/<name> (names may hold `/`, as refs/pr/1 does) -> commit.
void scan_refs(const Dir& dir, const std::string& prefix, std::map<std::string, std::string>& refs,
               int depth) {
  if (depth > 16) {
    return;
  }
  for (const auto& name : dir.list()) {
    const auto entry = dir.stat(name, Follow::no);
    if (entry && entry->type == EntryType::directory) {
      if (const auto sub = dir.open_folder(name)) {
        scan_refs(*sub, prefix + name + "/", refs, depth + 1);
      }
    } else if (entry && entry->type == EntryType::regular) {
      if (auto text = dir.read_small_file(name, 128)) {
        while (!text->empty() &&
               (text->back() == '\n' || text->back() == ' ' || text->back() == '\r')) {
          text->pop_back();
        }
        refs[prefix + name] = *text;
      }
    }
  }
}

fs::path records_dir(const HubCache& cache) {
  return cache.root() / std::string(k_locks) / std::string(k_records);
}

std::set<std::string> downloaded_blobs(const HubCache& cache, const std::string& folder) {
  std::set<std::string> etags;
  if (const auto dir = Dir::open_existing(records_dir(cache) / "downloaded" / folder)) {
    for (auto& name : dir->list()) {
      etags.insert(std::move(name));
    }
  }
  return etags;
}

std::string project_record_name(const fs::path& lockfile) {
  return hash::sha256_hex(lockfile.string());
}

} // namespace

namespace {

// One repo folder as it is now: its blobs, partial downloads, snapshots and the refs to them.
CachedRepo scan_repo_dir(const HubCache& cache, const Dir& repo_dir, const std::string& folder) {
  CachedRepo repo;
  repo.folder = folder;
  const auto owned = downloaded_blobs(cache, folder);
  if (const auto blobs = repo_dir.open_folder("blobs")) {
    for (const auto& name : blobs->list()) {
      const auto blob = blobs->stat(name, Follow::no);
      if (!blob || blob->type != EntryType::regular) {
        continue;
      }
      if (is_partial(name)) {
        repo.partials.push_back(
            {name, name.substr(0, name.find('.')), blob->allocated, blob->modified});
      } else if (name.find('.') == std::string::npos) {
        repo.blobs.push_back({name, blob->size, blob->allocated,
                              std::max(blob->accessed, blob->modified), owned.contains(name)});
      }
    }
  }
  std::map<std::string, std::string> refs;
  if (const auto refs_dir = repo_dir.open_folder("refs")) {
    scan_refs(*refs_dir, "", refs, 0);
  }
  if (const auto snapshots = repo_dir.open_folder("snapshots")) {
    for (const auto& commit : snapshots->list()) {
      const auto dir = snapshots->open_folder(commit);
      if (!dir) {
        continue;
      }
      CachedSnapshot snapshot;
      snapshot.commit = commit;
      for (const auto& [ref, target] : refs) {
        if (target == commit) {
          snapshot.refs.push_back(ref);
        }
      }
      scan_snapshot(*dir, "", snapshot, 0);
      std::sort(snapshot.files.begin(), snapshot.files.end(),
                [](const auto& a, const auto& b) { return a.path < b.path; });
      repo.snapshots.push_back(std::move(snapshot));
    }
  }
  std::sort(repo.blobs.begin(), repo.blobs.end(),
            [](const auto& a, const auto& b) { return a.etag < b.etag; });
  std::sort(repo.snapshots.begin(), repo.snapshots.end(),
            [](const auto& a, const auto& b) { return a.commit < b.commit; });
  return repo;
}

} // namespace

std::vector<CachedRepo> scan_cache(const HubCache& cache, const std::stop_token& stop) {
  std::vector<CachedRepo> repos;
  const auto root = Dir::open_existing(cache.root());
  if (!root) {
    return repos;
  }
  auto names = root->list();
  std::sort(names.begin(), names.end());
  for (const auto& folder : names) {
    util::throw_if_stopped(stop);
    const auto entry = root->stat(folder, Follow::no);
    if (!is_repo_folder(folder) || !entry || entry->type != EntryType::directory) {
      continue;
    }
    if (const auto repo_dir = root->open_folder(folder)) {
      repos.push_back(scan_repo_dir(cache, *repo_dir, folder));
    }
  }
  return repos;
}

std::optional<CachedRepo> scan_repo(const HubCache& cache, const hub::RepoRef& repo) {
  const auto repo_dir = Dir::open_existing(cache.repo_dir(repo));
  if (!repo_dir) {
    return std::nullopt;
  }
  return scan_repo_dir(cache, *repo_dir, hub::cache_folder_name(repo));
}

void remember_project(const HubCache& cache, const fs::path& lockfile) {
  const fs::path absolute = fs::absolute(lockfile).lexically_normal();
  const std::string name = project_record_name(absolute);
  // Recorded before, as on every fetch but the first: one stat, nothing opened or written.
  if (const auto existing = stat_path(records_dir(cache) / "projects" / name, Follow::no);
      existing && existing->type == EntryType::regular) {
    return;
  }
  const Dir dir =
      Dir::open(cache.root(), {std::string(k_locks), std::string(k_records), "projects"});
  util::write_file_atomic(dir.path() / name, absolute.string() + "\n");
}

std::vector<fs::path> known_projects(const HubCache& cache) {
  std::vector<fs::path> projects;
  const auto dir = Dir::open_existing(records_dir(cache) / "projects");
  if (!dir) {
    return projects;
  }
  for (const auto& name : dir->list()) {
    if (name.size() != 64) {
      continue; // a temporary of a write under way, or not ours
    }
    auto text = dir->read_small_file(name, 65536);
    if (!text) {
      continue;
    }
    while (!text->empty() && text->back() == '\n') {
      text->pop_back();
    }
    if (!text->empty()) {
      projects.emplace_back(*text);
    }
  }
  std::sort(projects.begin(), projects.end());
  return projects;
}

void forget_project(const HubCache& cache, const fs::path& lockfile) {
  if (const auto dir = Dir::open_existing(records_dir(cache) / "projects")) {
    dir->remove(project_record_name(lockfile));
  }
}

void mark_downloaded(const HubCache& cache, const hub::RepoRef& repo, const hub::BlobId& etag) {
  const Dir dir = Dir::open(cache.root(), {std::string(k_locks), std::string(k_records),
                                           "downloaded", hub::cache_folder_name(repo)});
  if (dir.stat(etag.str(), Follow::no)) {
    return;
  }
  util::write_file_atomic(dir.path() / etag.str(), "");
}

namespace {

// Removes the links of `snapshot` named in `names` (all of them when `names` is null) unless
// their blob is there again (a fetch running now re-linked it), then the folders left empty, the
// snapshot folder itself and the refs naming it when nothing is left.
void unlink_snapshot_files(const Dir& repo_dir, const Dir* blobs, const CachedSnapshot& snapshot,
                           const std::set<std::string>* names) {
  const auto snapshots = repo_dir.open_folder("snapshots");
  const auto dir = snapshots ? snapshots->open_folder(snapshot.commit) : std::nullopt;
  if (!dir) {
    return;
  }
  std::size_t left = snapshot.files.size();
  for (const auto& file : snapshot.files) {
    const bool named = names == nullptr || names->contains(file.etag);
    const bool blob_back = !file.etag.empty() && names != nullptr && blobs != nullptr &&
                           blobs->stat(file.etag, Follow::no).has_value();
    if (!named || blob_back) {
      continue;
    }
    // Through the folders of the path, never following a link.
    std::optional<Dir> parent = dir->open_folder(".");
    const fs::path path(file.path);
    for (const auto& part : path.parent_path()) {
      parent = parent ? parent->open_folder(part.string()) : std::nullopt;
    }
    if (parent) {
      parent->remove(path.filename().string());
      --left;
    }
  }
  if (left > 0) {
    return;
  }
  // Empty folders of the snapshot, deepest first, then the snapshot and its refs.
  std::vector<std::string> folders;
  for (const auto& file : snapshot.files) {
    for (fs::path p = fs::path(file.path).parent_path(); !p.empty(); p = p.parent_path()) {
      folders.push_back(p.string());
    }
  }
  std::sort(folders.begin(), folders.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& folder : folders) {
    dir->remove_empty_folder(folder);
  }
  if (snapshots->remove_empty_folder(snapshot.commit)) {
    if (const auto refs = repo_dir.open_folder("refs")) {
      for (const auto& ref : snapshot.refs) {
        refs->remove(ref);
      }
    }
  }
}

// A repo with nothing left goes entirely, as Python's delete_revisions leaves none behind.
void remove_if_empty(const Dir& root, const Dir& repo_dir, const std::string& folder) {
  for (const char* sub : {"snapshots", "blobs"}) {
    repo_dir.remove_empty_folder(sub);
  }
  if (repo_dir.open_folder("snapshots") || repo_dir.open_folder("blobs")) {
    return;
  }
  if (const auto refs = repo_dir.open_folder("refs")) {
    std::map<std::string, std::string> names;
    scan_refs(*refs, "", names, 0);
    for (const auto& [name, commit] : names) {
      refs->remove(name);
    }
    // refs/pr/1 leaves refs/pr: folders go deepest first.
    std::vector<std::string> folders;
    for (const auto& [name, commit] : names) {
      for (fs::path p = fs::path(name).parent_path(); !p.empty(); p = p.parent_path()) {
        folders.push_back(p.string());
      }
    }
    std::sort(folders.begin(), folders.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& sub : folders) {
      refs->remove_empty_folder(sub);
    }
  }
  repo_dir.remove_empty_folder("refs");
  root.remove_empty_folder(folder);
}

} // namespace

std::vector<Deletion> delete_entries(const HubCache& cache, const std::vector<Deletion>& plan) {
  std::vector<Deletion> deleted;
  const auto root = Dir::open_existing(cache.root());
  if (!root) {
    return deleted;
  }
  std::map<std::string, std::set<std::string>> deleted_blobs;     // folder -> etags
  std::map<std::string, std::set<std::string>> removed_snapshots; // folder -> commits
  std::set<std::string> touched;
  for (const auto& item : plan) {
    // Never through a link: a repo folder swapped for one after the scan is left alone.
    const auto repo_dir = root->open_folder(item.folder);
    if (!repo_dir) {
      continue;
    }
    if (item.kind == Deletion::Kind::snapshot) {
      removed_snapshots[item.folder].insert(item.name);
      touched.insert(item.folder);
      deleted.push_back(item);
      continue;
    }
    const auto blobs = repo_dir->open_folder("blobs");
    if (!blobs) {
      continue;
    }
    const std::string etag =
        item.kind == Deletion::Kind::blob ? item.name : item.name.substr(0, item.name.find('.'));
    // The lock a download of this blob holds: taken, or the entry is in use and stays.
    const auto repo = hub::repo_of_cache_folder(item.folder);
    if (!repo || !hub::BlobId::is_valid(etag)) {
      continue;
    }
    std::optional<FileLock> held;
    try {
      held = cache.try_lock_blob(*repo, hub::BlobId(etag));
    } catch (const Error&) {
      continue; // a lock we cannot take (a planted link, another user's folder): leave it
    }
    if (!held || !blobs->stat(item.name, Follow::no)) {
      continue;
    }
    blobs->remove(item.name);
    if (item.kind == Deletion::Kind::blob) {
      deleted_blobs[item.folder].insert(item.name);
      if (const auto records =
              Dir::open_existing(records_dir(cache) / "downloaded" / item.folder)) {
        records->remove(item.name);
      }
    }
    touched.insert(item.folder);
    deleted.push_back(item);
  }
  // Snapshots removed whole, and links to deleted blobs, which would dangle; then what is left
  // empty.
  for (const auto& folder : touched) {
    // Scanned again: a download running now may have added links since the plan was made.
    const auto repo_dir = root->open_folder(folder);
    if (!repo_dir) {
      continue;
    }
    const CachedRepo repo = scan_repo_dir(cache, *repo_dir, folder);
    const auto blobs = repo_dir->open_folder("blobs");
    const auto& gone = deleted_blobs[repo.folder];
    const auto& whole = removed_snapshots[repo.folder];
    for (const auto& snapshot : repo.snapshots) {
      const Dir* blob_dir = blobs ? &*blobs : nullptr;
      if (whole.contains(snapshot.commit)) {
        unlink_snapshot_files(*repo_dir, blob_dir, snapshot, nullptr);
      } else if (!gone.empty()) {
        unlink_snapshot_files(*repo_dir, blob_dir, snapshot, &gone);
      }
    }
    remove_if_empty(*root, *repo_dir, repo.folder);
  }
  return deleted;
}

} // namespace hfmodels::cache
