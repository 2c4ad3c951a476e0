// SPDX-License-Identifier: MIT
// `hfmodels push` and `hfmodels bundle`: the locked files of the cache, re-hashed, into a mirror
// (README, "Teams and CI fleets").
#include "cache/cache.hpp"
#include "manifest/edit.hpp"
#include "mirror/upload.hpp"
#include "ops/failures.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

#include <map>
#include <mutex>

namespace hfmodels::ops {

namespace {

// One object of the mirror and the locked files it holds the bytes of.
struct Object {
  std::string sha256;
  std::uint64_t size = 0;
  std::filesystem::path blob;
  std::string subject; // the first file with these bytes, for messages
};

std::vector<Object> objects_of(const cache::HubCache& cache,
                               const std::vector<const manifest::LockedModel*>& models) {
  std::map<std::string, Object> objects;
  std::string missing;
  std::size_t missing_count = 0;
  for (const auto* model : models) {
    for (const auto& file : model->files) {
      const std::string subject = model->name + "/" + file.path.str();
      if (objects.contains(file.sha256)) {
        continue;
      }
      if (!cache.has_blob(model->repo, file.etag, file.size)) {
        missing += "\n  " + subject;
        ++missing_count;
        continue;
      }
      objects[file.sha256] = {file.sha256, file.size, cache.blob_path(model->repo, file.etag),
                              subject};
    }
  }
  if (missing_count > 0) {
    throw Error(ErrorKind::offline_missing, "files to push are not in the cache",
                std::to_string(missing_count) + " file(s) missing:" + missing + "\n",
                "Run `hfmodels fetch` first");
  }
  std::vector<Object> list;
  for (auto& [sha256, object] : objects) {
    list.push_back(std::move(object));
  }
  return list;
}

mirror::UploadOptions upload_options(const Settings& settings) {
  mirror::UploadOptions options;
  options.client = client_options(settings);
  options.multipart_from = settings.multipart_from;
  options.records = settings.cache_dir / ".locks" / "hfmodels" / "uploads";
  return options;
}

PushResult push_models(const Settings& settings,
                       const std::vector<const manifest::LockedModel*>& models,
                       const mirror::Mirror& to, Reporter& reporter, const std::stop_token& stop) {
  const cache::HubCache cache(settings.cache_dir);
  const std::vector<Object> objects = objects_of(cache, models);
  const mirror::Uploader uploader(to, upload_options(settings));

  PushResult result;
  result.objects = objects.size();
  std::mutex mutex;
  const auto errors =
      util::run_parallel(settings.jobs, objects.size(), [&](std::size_t, std::size_t index) {
        const Object& object = objects[index];
        util::throw_if_stopped(stop);
        if (uploader.existing_size(object.sha256, stop) == object.size) {
          const std::lock_guard lock(mutex);
          ++result.skipped;
          return;
        }
        // Re-hashed first: a mirror gets only the bytes the lockfile pins, whatever happened
        // to the cache since they were fetched.
        const mirror::LocalObject local =
            mirror::hash_object(object.blob, uploader.part_size(object.size), stop);
        if (local.sha256 != object.sha256 || local.size != object.size) {
          throw Error(ErrorKind::integrity, "cached file does not match the lockfile",
                      "expected sha256 " + object.sha256 + ", the cached blob has " + local.sha256,
                      "Nothing was pushed. Run `hfmodels verify` to find the damage and "
                      "`hfmodels fetch` to repair it",
                      object.subject);
        }
        uploader.upload(local, stop);
        const std::lock_guard lock(mutex);
        ++result.uploaded;
        result.bytes_uploaded += object.size;
        reporter.note("pushed", object.subject, object.sha256);
      });
  util::throw_if_stopped(stop);
  std::vector<Error> failures;
  ErrorKind worst = ErrorKind::failure;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (!errors[i]) {
      continue;
    }
    Error error(ErrorKind::failure, "cannot push");
    try {
      std::rethrow_exception(errors[i]);
    } catch (const Error& thrown) {
      error = thrown;
    } catch (const std::filesystem::filesystem_error& thrown) {
      // A folder mirror's filesystem refusing (std::filesystem throws its own type).
      error = Error(ErrorKind::failure, "cannot write to the mirror", thrown.what())
                  .with_cause("io:" + std::to_string(thrown.code().value()));
    } catch (const std::exception& thrown) {
      error = Error(ErrorKind::failure, "cannot push", thrown.what());
    }
    failures.push_back(error.with_subject(objects[i].subject)); // model/path, not the hex
    if (error.kind() == ErrorKind::integrity || worst == ErrorKind::failure) {
      worst = error.kind();
    }
  }
  if (!failures.empty()) {
    report_grouped(reporter, failures);
    throw Error(worst,
                std::to_string(failures.size()) + " of " + std::to_string(objects.size()) +
                    " objects could not be pushed",
                "", "See the errors above; run the command again: what is there is skipped");
  }
  return result;
}

constexpr std::string_view k_bundle_readme_title = "# Models bundled by hfmodels\n";

// A bundle writes models.lock, models.yaml and README.md into its folder: never over a project's
// own files (`--to .` in the project, another project's folder). A folder whose README bundle
// wrote is hfmodels' own, and gets the files of the latest bundle.
void refuse_to_replace(const std::filesystem::path& folder) {
  const auto readme = folder / "README.md";
  std::error_code error;
  if (std::filesystem::is_regular_file(readme, error) &&
      util::read_file(readme).starts_with(k_bundle_readme_title)) {
    return;
  }
  std::string present;
  for (const char* name : {"models.yaml", "models.lock", "README.md"}) {
    if (std::filesystem::exists(folder / name, error)) {
      present += (present.empty() ? "" : ", ") + std::string(name);
    }
  }
  if (!present.empty()) {
    throw Error(ErrorKind::usage, "the folder is not a bundle",
                folder.string() + " holds " + present +
                    ", which a bundle would replace with its own",
                "Give an empty folder, or one an earlier bundle wrote");
  }
}

} // namespace

PushResult push(const Settings& settings, const std::vector<std::string>& names,
                const mirror::Mirror& to, Reporter& reporter, const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  return push_models(settings, select_models(project.lockfile, names), to, reporter, stop);
}

PushResult bundle(const Settings& settings, const std::vector<std::string>& names,
                  const std::filesystem::path& folder, Reporter& reporter,
                  const std::stop_token& stop) {
  auto absolute = std::filesystem::absolute(folder).lexically_normal();
  if (!absolute.has_filename()) {
    absolute = absolute.parent_path(); // `--to .` names the folder, not an empty last part
  }
  refuse_to_replace(absolute);
  const mirror::Mirror to = mirror::parse_mirror(mirror::file_url(absolute), util::process_getenv);
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  PushResult result = push_models(settings, models, to, reporter, stop);

  // The lockfile and the manifest of the models bundled, and how to install them.
  manifest::Lockfile lockfile;
  std::vector<std::string> kept;
  for (const auto* model : models) {
    lockfile.models.push_back(*model);
    kept.push_back(model->name);
  }
  manifest::save_lockfile(absolute / "models.lock", lockfile);
  if (project.manifest) {
    std::vector<std::string> dropped;
    for (const auto& name : project.lockfile.names()) {
      if (std::find(kept.begin(), kept.end(), name) == kept.end() &&
          project.manifest->find(name) != nullptr) {
        dropped.push_back(name);
      }
    }
    const std::string text = util::read_file(settings.manifest_path);
    util::write_file_atomic(
        absolute / "models.yaml",
        dropped.empty() ? text
                        : manifest::with_models_removed(text, dropped, settings.manifest_path));
  }
  std::string readme =
      std::string(k_bundle_readme_title) +
      "\n"
      "This folder is a mirror (`sha256/<hex>`, one file per object) of the models in\n"
      "`models.lock`:\n\n";
  for (const auto* model : models) {
    readme += "- `" + model->name + "`: " + model->repo.id + " at " + model->commit.str() + " (" +
              std::to_string(model->files.size()) + " files)\n";
  }
  readme += "\nTo put them into this machine's Hugging Face cache without a network, run in the\n"
            "project (or in this folder, whose models.lock is the project's):\n\n"
            "    HFMODELS_MIRRORS=" +
            mirror::file_url(absolute) +
            " hfmodels fetch --no-origin\n\n"
            "Every byte is checked against the sha256 in models.lock as it is copied.\n"
            "If the folder moves, give its new place in HFMODELS_MIRRORS.\n";
  util::write_file_atomic(absolute / "README.md", readme);
  return result;
}

} // namespace hfmodels::ops
