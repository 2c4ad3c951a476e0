// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "cache/local_dir.hpp"
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
// rename, so an interrupted export never leaves a short file under the final name. A file with
// the same size and modification time as the source is taken as already exported, as
// `cmake --install` does, so re-installing gigabytes costs nothing.
bool copy_real_file(const fs::path& source, const fs::path& destination) {
  const auto source_time = fs::last_write_time(source);
  std::error_code error;
  if (fs::is_regular_file(fs::symlink_status(destination, error)) &&
      fs::file_size(destination) == fs::file_size(source) &&
      fs::last_write_time(destination) == source_time) {
    return false;
  }
  fs::create_directories(destination.parent_path());
  const fs::path temp = destination.string() + "." + util::random_hex(8) + ".tmp";
  if (!fs::copy_file(source, temp, fs::copy_options::overwrite_existing, error)) {
    fs::remove(temp, error);
    throw Error(ErrorKind::failure, "cannot export file", error.message(), {},
                destination.string());
  }
  fs::last_write_time(temp, source_time);
  fs::rename(temp, destination);
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
    if (copy_real_file(source, dir / file.path.str())) {
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
