// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "cache/local_dir.hpp"
#include "hash/sha256.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <filesystem>

namespace hfmodels::ops {

namespace {

namespace fs = std::filesystem;

// Copies `source` (a snapshot symlink, followed) to `destination` through a temporary and a
// rename, so an interrupted export never leaves a short file under the final name, hashing the
// bytes as they are copied: a cached file of the right size but the wrong bytes (which fetch
// takes for cached, as it hashes nothing) is refused, never shipped. A file with the same size
// and modification time as the source is taken as already exported, as `cmake --install` does,
// so re-installing gigabytes costs nothing.
bool copy_real_file(const fs::path& source, const fs::path& destination,
                    const manifest::LockedFile& locked, const std::string& subject,
                    const std::stop_token& stop) {
  const auto source_time = fs::last_write_time(source);
  std::error_code error;
  if (fs::is_regular_file(fs::symlink_status(destination, error)) &&
      fs::file_size(destination) == fs::file_size(source) &&
      fs::last_write_time(destination) == source_time) {
    return false;
  }
  fs::create_directories(destination.parent_path());
  const fs::path temp = destination.string() + "." + util::random_hex(8) + ".tmp";
  try {
    const std::string sha256 = hash::copy_with_sha256(source, temp, stop);
    // `download` knows a regular file by its git blob id only (empty sha256), checked as it
    // arrived.
    if (!locked.sha256.empty() && sha256 != locked.sha256) {
      const std::string blob = fs::canonical(source).string();
      throw Error(ErrorKind::integrity, "cached file does not match the lockfile",
                  "expected sha256 " + locked.sha256 + ", " + blob + " holds " + sha256,
                  "Delete " + blob + " and fetch again", subject);
    }
    fs::last_write_time(temp, source_time);
    fs::rename(temp, destination);
  } catch (...) {
    fs::remove(temp, error);
    throw;
  }
  return true;
}

} // namespace

ExportResult copy_snapshot(const cache::HubCache& cache, const manifest::LockedModel& model,
                           const fs::path& dir, const std::stop_token& stop) {
  ExportResult result;
  // What `hf download --local-dir` keeps, so that it takes these files as current.
  const cache::LocalDir local_dir(dir);
  for (const auto& file : model.files) {
    util::throw_if_stopped(stop);
    // Paths were validated where they entered (lockfile, Hub listing): they cannot leave dir.
    const auto source = cache.snapshot_path(model.repo, model.commit, file.path);
    if (copy_real_file(source, dir / file.path.str(), file, model.name + "/" + file.path.str(),
                       stop)) {
      ++result.files;
      result.bytes += file.size;
    }
    local_dir.record(file.path.str(), model.commit.str(), file.etag.str());
  }
  return result;
}

ExportResult export_models(const Settings& settings, const std::vector<std::string>& names,
                           const fs::path& dir, Reporter& reporter, const std::stop_token& stop) {
  fetch(settings, names, reporter, stop);
  const auto project = load_project(settings, stop);
  const cache::HubCache cache(settings.cache_dir);
  ExportResult result;
  for (const auto* model : select_models(project.lockfile, names)) {
    const auto copied = copy_snapshot(cache, *model, dir / model->name, stop);
    result.files += copied.files;
    result.bytes += copied.bytes;
  }
  return result;
}

} // namespace hfmodels::ops
