// SPDX-License-Identifier: MIT
// `hfmodels download`: one repo, no manifest, as `hf download` does it.
#include "cache/maintenance.hpp"
#include "manifest/selection.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "ops/resolve.hpp"
#include "ops/store.hpp"
#include "util/error.hpp"

namespace hfmodels::ops {

namespace {

Error not_cached(const manifest::ModelSpec& spec, const cache::HubCache& cache,
                 const std::string& why) {
  return Error(ErrorKind::offline_missing, "not in the cache",
               spec.repo.id + "@" + spec.revision + ": " + why + " in " + cache.root().string(), {},
               spec.repo.id)
      .with_cause("offline:missing");
}

// Offline, as `hf download` with HF_HUB_OFFLINE: the revision's snapshot as the cache holds it
// (refs/<revision>, or a commit), its files selected as online, each of them there.
DownloadResult download_cached(const Settings& settings, const DownloadRequest& request,
                               const std::stop_token& stop) {
  const auto& spec = request.spec;
  const cache::HubCache cache(settings.cache_dir);
  std::optional<hub::CommitId> commit = hub::CommitId::is_valid(spec.revision)
                                            ? hub::CommitId(spec.revision)
                                            : cache.read_ref(spec.repo, spec.revision);
  if (!commit) {
    throw not_cached(spec, cache, "no revision " + spec.revision);
  }
  const auto repo = cache::scan_repo(cache, spec.repo);
  const cache::CachedSnapshot* snapshot = nullptr;
  if (repo) {
    for (const auto& each : repo->snapshots) {
      if (each.commit == commit->str()) {
        snapshot = &each;
      }
    }
  }
  if (snapshot == nullptr) {
    throw not_cached(spec, cache, "no snapshot of commit " + commit->str());
  }
  // What the snapshot links to, as a listing: the selection then means what it means online.
  std::vector<hub::RepoFile> listed;
  for (const auto& file : snapshot->files) {
    if (!hub::BlobId::is_valid(file.etag)) {
      continue; // a real file or a link elsewhere: not one a Hub client wrote
    }
    const hub::BlobId etag(file.etag);
    // The cache's own names: checked as every path that enters (a hand-made link may be odd).
    hub::RepoFile entry{hub::RepoPath(file.path), 0, etag, std::nullopt};
    if (etag.is_sha256()) {
      entry.lfs_sha256 = etag; // an LFS blob is named by its sha256
    }
    listed.push_back(std::move(entry));
  }
  manifest::LockedModel model;
  model.name = spec.name;
  model.repo = spec.repo;
  model.revision = spec.revision;
  model.commit = *commit;
  for (const auto& file : manifest::select_files(spec, listed)) {
    // A blob that is not there has size 0: the presence check below names the file.
    std::error_code error;
    const auto size = std::filesystem::file_size(cache.blob_path(spec.repo, file.etag()), error);
    model.files.push_back(
        {file.path, error ? 0 : size, file.lfs_sha256 ? file.lfs_sha256->str() : "", file.etag()});
  }
  const auto present = cache.files_present(model.repo, model.commit, snapshot_files(model), stop);
  std::string missing;
  for (std::size_t i = 0; i < present.size(); ++i) {
    if (!present[i]) {
      missing += "\n  " + model.files[i].path.str();
    }
  }
  if (!missing.empty()) {
    throw not_cached(spec, cache,
                     "files of commit " + commit->str() + " missing:" + missing + "\n");
  }
  DownloadResult result;
  result.commit = model.commit.str();
  result.files = model.files.size();
  result.snapshot = cache.snapshot_dir(model.repo, model.commit);
  if (request.local_dir) {
    copy_snapshot(cache, model, *request.local_dir, stop);
    result.local_dir = *request.local_dir;
  }
  return result;
}

} // namespace

DownloadResult download(const Settings& settings, const DownloadRequest& request,
                        Reporter& reporter, const std::stop_token& stop) {
  if (settings.offline) {
    return download_cached(settings, request, stop);
  }
  const auto& spec = request.spec;
  HubAccess hub(settings, stop);
  auto& client = hub.get(spec.name);
  const auto info = client.revision_info(spec.repo, spec.revision, false);
  const auto listed = client.list_files(spec.repo, info.commit, listing_scopes(spec));
  manifest::LockedModel model;
  model.name = spec.name;
  model.repo = spec.repo;
  model.revision = spec.revision;
  model.commit = info.commit;
  std::vector<FileJob> jobs;
  for (const auto& file : manifest::select_files(spec, listed)) {
    // LFS files are checked against the sha256 the Hub lists, regular files against their git
    // blob id as their bytes arrive.
    const std::string sha256 = file.lfs_sha256 ? file.lfs_sha256->str() : "";
    model.files.push_back({file.path, file.size, sha256, file.etag()});
    jobs.push_back({model.name, model.repo, model.revision, model.commit, file.path, file.size,
                    file.etag(),
                    file.lfs_sha256 ? std::optional<std::string>(sha256) : std::nullopt});
  }
  const cache::HubCache cache(settings.cache_dir);
  const auto present = cache.files_present(model.repo, model.commit, snapshot_files(model), stop);
  std::vector<FileJob> missing;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!present[i]) {
      missing.push_back(std::move(jobs[i]));
    }
  }
  DownloadResult result;
  result.commit = model.commit.str();
  result.files = model.files.size();
  if (!missing.empty()) {
    const auto stored = store_files(settings, cache, missing, reporter, Publish::snapshots, stop);
    result.downloaded = stored.downloaded;
    result.bytes_downloaded = stored.bytes_downloaded;
  }
  try {
    cache.create_ref(model.repo, model.revision, model.commit);
  } catch (const Error& error) {
    if (!error.cause().starts_with("io:")) {
      throw;
    }
  }
  result.snapshot = cache.snapshot_dir(model.repo, model.commit);
  if (request.local_dir) {
    copy_snapshot(cache, model, *request.local_dir, stop);
    result.local_dir = *request.local_dir;
  }
  return result;
}

} // namespace hfmodels::ops
