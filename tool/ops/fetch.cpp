// SPDX-License-Identifier: MIT
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "ops/store.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

namespace hfmodels::ops {

namespace {

FileJob job_for(const manifest::LockedModel& model, const manifest::LockedFile& file) {
  return {model.name, model.repo, model.revision, model.commit,
          file.path,  file.size,  file.etag,      file.sha256};
}

// refs/<revision> of each model, once its snapshot holds every locked file, for clients that
// look a revision up by name (offline Python, transformers). Never over a ref another client
// wrote: it may name a newer commit, and hfmodels itself finds its snapshots by commit. A cache
// that cannot be written (read-only, another user's) is still a complete one, so that is no
// failure; a planted link is.
void record_refs(const cache::HubCache& cache,
                 const std::vector<const manifest::LockedModel*>& models) {
  for (const auto* model : models) {
    try {
      cache.create_ref(model->repo, model->revision, model->commit);
    } catch (const Error& error) {
      if (!error.cause().starts_with("io:")) {
        throw;
      }
    }
  }
}

std::string fetch_command(const std::vector<std::string>& names) {
  std::string command = "hfmodels fetch";
  for (const auto& name : names) {
    command += " " + name;
  }
  return command;
}

// What downloading `missing` costs on disk: per file, the bytes still to come (0 when its blob
// is already there for another path; a partial download is continued, not restarted), and each
// blob once.
std::vector<std::uint64_t> bytes_to_download(const cache::HubCache& cache,
                                             const std::vector<FileJob>& missing) {
  std::vector<std::uint64_t> bytes(missing.size(), 0);
  std::set<std::pair<std::string, std::string>> counted;
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const auto& job = missing[i];
    if (counted.insert({hub::cache_folder_name(job.repo), job.etag.str()}).second &&
        !cache.has_blob(job.repo, job.etag, job.size)) {
      bytes[i] = job.size - std::min(job.size, cache.partial_bytes(job.repo, job.etag));
    }
  }
  return bytes;
}

std::uint64_t sum(const std::vector<std::uint64_t>& sizes) {
  std::uint64_t total = 0;
  for (const auto size : sizes) {
    total = util::add_sizes(total, size);
  }
  return total;
}

void require_disk_space(const cache::HubCache& cache, const std::vector<FileJob>& missing) {
  const std::uint64_t needed = sum(bytes_to_download(cache, missing));
  const auto available = util::available_space(cache.root());
  if (needed > available) {
    throw Error(ErrorKind::failure, "not enough disk space",
                "need " + util::format_bytes(needed) + ", have " + util::format_bytes(available) +
                    " on " + cache.root().string(),
                "Free some space or point HF_HUB_CACHE at a larger disk");
  }
}

// The locked files of `models` that the cache lacks (presence and size only: a no-op fetch must
// not hash gigabytes), and how many files the models have.
std::vector<FileJob> missing_files(const cache::HubCache& cache,
                                   const std::vector<const manifest::LockedModel*>& models,
                                   std::size_t& files, const std::stop_token& stop) {
  std::vector<FileJob> missing;
  for (const auto* model : models) {
    const std::vector<bool> present =
        cache.files_present(model->repo, model->commit, snapshot_files(*model), stop);
    files += model->files.size();
    for (std::size_t i = 0; i < model->files.size(); ++i) {
      if (!present[i]) {
        missing.push_back(job_for(*model, model->files[i]));
      }
    }
  }
  return missing;
}

// Why `missing` cannot be fetched before a byte is asked for: offline, or no origin and no
// mirror. Nothing when it can be (or nothing is missing).
std::optional<Error> nowhere_to_fetch_from(const Settings& settings, const cache::HubCache& cache,
                                           const std::vector<FileJob>& missing) {
  if (!missing.empty() && settings.no_origin && settings.mirrors.empty()) {
    return Error(ErrorKind::offline_missing, "no source to fetch from",
                 std::to_string(missing.size()) +
                     " file(s) are not in the cache, the Hub is not to be asked (no origin) and "
                     "no mirror is set",
                 "Set HFMODELS_MIRRORS or --mirror");
  }
  // Offline, folders are still read (they open no connection): a bundle on a USB stick.
  const bool readable_mirror =
      std::any_of(settings.mirrors.begin(), settings.mirrors.end(),
                  [&](const auto& mirror) { return settings.reads(mirror); });
  if (!missing.empty() && settings.offline && !readable_mirror) {
    std::string list;
    for (const auto& job : missing) {
      list += "\n  " + job.subject();
    }
    return Error(ErrorKind::offline_missing, "offline mode and files are missing from the cache",
                 std::to_string(missing.size()) + " file(s) not in " + cache.root().string() + ":" +
                     list + "\n");
  }
  return std::nullopt;
}

} // namespace

FetchResult fetch(const Settings& settings, const std::vector<std::string>& names,
                  Reporter& reporter, const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  require_fresh(project, models, names.empty());
  remember_project(settings);
  try {
    return fetch_models(settings, models, reporter, stop);
  } catch (const Error& error) {
    if (error.kind() == ErrorKind::offline_missing && settings.no_origin) {
      throw error.with_hint("Put the files in a mirror (`hfmodels push --to URL` where they are "
                            "cached), or run `" +
                            fetch_command(names) + "` without --no-origin");
    }
    if (error.kind() == ErrorKind::offline_missing) {
      throw error.with_hint("Run `" + fetch_command(names) +
                            "` with network access (HF_HUB_OFFLINE unset)");
    }
    throw;
  }
}

FetchResult fetch_models(const Settings& settings,
                         const std::vector<const manifest::LockedModel*>& models,
                         Reporter& reporter, const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  FetchResult result;
  const std::vector<FileJob> missing = missing_files(cache, models, result.files, stop);

  if (auto blocked = nowhere_to_fetch_from(settings, cache, missing)) {
    throw *blocked;
  }
  if (!missing.empty()) {
    require_disk_space(cache, missing);
    const auto stored = store_files(settings, cache, missing, reporter, Publish::snapshots, stop);
    result.downloaded = stored.downloaded;
    result.bytes_downloaded = stored.bytes_downloaded;
    result.sources = stored.sources;
  }
  record_refs(cache, models);
  return result;
}

} // namespace hfmodels::ops

namespace hfmodels::ops {

FetchPlan plan_fetch(const Settings& settings, const std::vector<std::string>& names,
                     const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  require_fresh(project, models, names.empty());
  const cache::HubCache cache(settings.cache_dir);
  FetchPlan plan;
  const std::vector<FileJob> missing = missing_files(cache, models, plan.files, stop);
  const auto bytes = bytes_to_download(cache, missing);
  for (std::size_t i = 0; i < missing.size(); ++i) {
    plan.downloads.push_back({missing[i].model, missing[i].path.str(), missing[i].size, bytes[i]});
  }
  plan.bytes_needed = sum(bytes);
  plan.blocked = nowhere_to_fetch_from(settings, cache, missing);
  plan.disk = cache.root();
  plan.bytes_available = util::available_space(cache.root());
  return plan;
}

} // namespace hfmodels::ops
