// SPDX-License-Identifier: MIT
// `hfmodels download`: one repo, no manifest, as `hf download` does it.
#include "manifest/selection.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "ops/resolve.hpp"
#include "ops/store.hpp"
#include "util/error.hpp"

namespace hfmodels::ops {

DownloadResult download(const Settings& settings, const DownloadRequest& request,
                        Reporter& reporter, const std::stop_token& stop) {
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
