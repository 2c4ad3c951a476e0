// SPDX-License-Identifier: MIT
// hfmodels::Project, the free fetch and path: the operations of ops/ over a lockfile read from a
// file or a program's memory, reporting through the caller's EventCallback.
#include "ops/project.hpp"

#include "api/internal.hpp"
#include "ops/operations.hpp"
#include "util/display.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace hfmodels {

namespace api {

LockedModel to_public(const manifest::LockedModel& model) {
  LockedModel result;
  result.name = model.name;
  result.repo = model.repo.id;
  result.repo_type = std::string(hub::type_name(model.repo.type));
  result.revision = model.revision;
  result.commit = model.commit.str();
  for (const auto& file : model.files) {
    result.files.push_back({file.path.str(), file.size, file.sha256, file.etag.str()});
  }
  return result;
}

manifest::LockedModel to_internal(const LockedModel& model) {
  manifest::LockedModel result;
  result.name = model.name;
  result.repo.id = model.repo;
  const auto type = hub::parse_repo_type(model.repo_type.empty() ? "model" : model.repo_type);
  if (!type) {
    throw Error(ErrorKind::usage, "invalid locked model",
                "repo_type must be \"model\" or \"dataset\"", {}, model.name);
  }
  result.repo.type = *type;
  result.revision = model.revision;
  try {
    // The program's values enter here: each becomes its type once, checked.
    result.commit = hub::CommitId(model.commit);
    for (const auto& file : model.files) {
      result.files.push_back(
          {hub::RepoPath(file.path), file.size, file.sha256, hub::BlobId(file.etag)});
    }
  } catch (const Error& error) {
    throw Error(ErrorKind::usage, "invalid locked model", error.summary() + ": " + error.why(), {},
                "LockedModel model " + model.name);
  }
  std::sort(result.files.begin(), result.files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  manifest::check_model(result, "LockedModel");
  return result;
}

Error without_secrets(const Error& error, const ops::Settings& settings) {
  util::Redactor redactor;
  for (const std::string& secret : ops::secrets_of(settings)) {
    redactor.add_secret(secret);
  }
  return Error(error.kind(), redactor.redact(error.summary()), redactor.redact(error.why()),
               redactor.redact(error.hint()), redactor.redact(error.subject()))
      .with_cause(error.cause());
}

namespace {

// The model's folder, or one file in it, once every file it needs is in the cache.
std::filesystem::path cached_path(const ops::Settings& settings, const manifest::LockedModel& model,
                                  const std::optional<std::string>& file) {
  std::filesystem::path path = ops::locked_path(settings, model, file);
  const std::vector<bool> present = ops::cached_files(settings, model);
  std::size_t missing = 0;
  for (std::size_t i = 0; i < model.files.size(); ++i) {
    const bool wanted = !file || model.files[i].path.str() == *file;
    if (wanted && !present[i]) {
      ++missing;
    }
  }
  if (missing > 0) {
    throw Error(ErrorKind::offline_missing, "not in the cache",
                std::to_string(missing) + " of the model's files are missing from " +
                    settings.cache_dir.string(),
                "Fetch the model first", file ? model.name + "/" + *file : model.name);
  }
  return path;
}

// A fetch reporting to the program: its Events, and the reasons of the files that failed in
// the one Error it throws, every secret masked.
FetchSummary fetch_reporting(const ops::Settings& settings,
                             const std::vector<const manifest::LockedModel*>& models,
                             const EventCallback& on_event, const std::stop_token& stop) {
  EventReporter reporter(on_event);
  try {
    const ops::FetchResult result = ops::fetch_models(settings, models, reporter, stop);
    return {result.files, result.downloaded, result.bytes_downloaded};
  } catch (const Error& error) {
    if (error.kind() == ErrorKind::cancelled) {
      throw Error(ErrorKind::cancelled, "fetch cancelled", "a stop was requested",
                  "What arrived is kept; the next fetch continues it");
    }
    throw without_secrets(reporter.explained(error), settings);
  }
}

} // namespace
} // namespace api

struct Project::State {
  ops::Settings settings;
  ops::Project project;
  std::vector<LockedModel> models; // public copies, in lockfile order
};

Project::Project(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Project::~Project() = default;
Project::Project(Project&&) noexcept = default;
Project& Project::operator=(Project&&) noexcept = default;

Project Project::open(const std::filesystem::path& lockfile, const Options& options) {
  auto state = std::make_unique<State>();
  state->settings = options.settings().value;
  state->settings.lockfile_path = lockfile;
  state->settings.manifest_path = lockfile.parent_path() / "models.yaml";
  state->project = ops::load_project(state->settings);
  for (const auto& model : state->project.lockfile.models) {
    state->models.push_back(api::to_public(model));
  }
  return Project(std::move(state));
}

Project Project::from_text(std::string_view lockfile_text, const Options& options) {
  auto state = std::make_unique<State>();
  state->settings = options.settings().value;
  state->settings.lockfile_path = "<embedded models.lock>";
  state->project.lockfile = manifest::parse_lockfile(lockfile_text, state->settings.lockfile_path);
  for (const auto& model : state->project.lockfile.models) {
    state->models.push_back(api::to_public(model));
  }
  return Project(std::move(state));
}

std::vector<std::string> Project::models() const {
  return m_state->project.lockfile.names();
}

const LockedModel& Project::model(std::string_view name) const {
  const auto* locked = ops::select_models(m_state->project.lockfile, {std::string(name)}).front();
  const auto index = static_cast<std::size_t>(locked - m_state->project.lockfile.models.data());
  return m_state->models[index];
}

ModelState Project::state(std::string_view name) const {
  const auto* model = ops::select_models(m_state->project.lockfile, {std::string(name)}).front();
  const std::vector<bool> present = ops::cached_files(m_state->settings, *model);
  ModelState state;
  state.name = model->name;
  state.files = model->files.size();
  for (std::size_t i = 0; i < model->files.size(); ++i) {
    state.bytes += model->files[i].size;
    if (present[i]) {
      ++state.files_cached;
      state.bytes_cached += model->files[i].size;
    }
  }
  return state;
}

FetchSummary Project::fetch(const std::vector<std::string>& models, const EventCallback& on_event,
                            const std::stop_token& stop) {
  const auto selected = ops::select_models(m_state->project.lockfile, models);
  ops::require_fresh(m_state->project, selected, models.empty());
  return api::fetch_reporting(m_state->settings, selected, on_event, stop);
}

std::filesystem::path Project::path(std::string_view model) const {
  const auto* locked = ops::select_models(m_state->project.lockfile, {std::string(model)}).front();
  return api::cached_path(m_state->settings, *locked, std::nullopt);
}

std::filesystem::path Project::path(std::string_view model, std::string_view file) const {
  const auto* locked = ops::select_models(m_state->project.lockfile, {std::string(model)}).front();
  return api::cached_path(m_state->settings, *locked, std::string(file));
}

FetchSummary fetch(const LockedModel& model, const Options& options, const EventCallback& on_event,
                   const std::stop_token& stop) {
  const manifest::LockedModel internal = api::to_internal(model);
  return api::fetch_reporting(options.settings().value, {&internal}, on_event, stop);
}

std::filesystem::path path(const LockedModel& model, const Options& options) {
  return api::cached_path(options.settings().value, api::to_internal(model), std::nullopt);
}

std::filesystem::path path(const LockedModel& model, const Options& options,
                           std::string_view file) {
  return api::cached_path(options.settings().value, api::to_internal(model), std::string(file));
}

} // namespace hfmodels
