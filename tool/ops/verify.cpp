// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"
#include "formats/structure.hpp"
#include "hash/sha256.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "util/cancel.hpp"
#include "util/parallel.hpp"

#include <filesystem>
#include <thread>

namespace hfmodels::ops {

std::vector<FileCheck> verify(const Settings& settings, const std::vector<std::string>& names,
                              Reporter& reporter, const std::stop_token& stop, VerifyDepth depth) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  const cache::HubCache cache(settings.cache_dir);

  std::vector<FileCheck> checks;
  std::vector<std::filesystem::path> paths;
  for (const auto* model : models) {
    for (const auto& file : model->files) {
      FileCheck check;
      check.model = model->name;
      check.path = file.path.str();
      check.expected_sha256 = file.sha256;
      check.expected_size = file.size;
      checks.push_back(std::move(check));
      paths.push_back(cache.snapshot_path(model->repo, model->commit, file.path));
    }
  }

  // Hashing is CPU-bound: one file per core, whatever -j says about connections.
  const auto workers = std::max(1u, std::thread::hardware_concurrency());
  const auto failures =
      util::run_parallel(workers, checks.size(), [&](std::size_t, std::size_t index) {
        auto& check = checks[index];
        std::error_code error;
        const auto size = std::filesystem::file_size(paths[index], error);
        if (error) {
          check.state = FileState::missing;
          return;
        }
        check.actual_size = size;
        if (depth == VerifyDepth::quick) {
          // Sizes and headers only: seconds for any size.
          if (formats::is_html_page(paths[index], check.path, size)) {
            check.problem =
                "an HTML page, not the file: a login, error or proxy page saved under its name";
          } else if (size != check.expected_size) {
            check.problem = "the file has " + std::to_string(size) + " bytes, the lockfile says " +
                            std::to_string(check.expected_size);
          } else if (auto problem = formats::structure_problem(paths[index], check.path, size)) {
            check.problem = std::move(*problem);
          }
          check.state = check.problem.empty() ? FileState::ok : FileState::mismatch;
          return;
        }
        check.actual_sha256 = hash::sha256_file(paths[index], stop);
        check.state = check.actual_sha256 == check.expected_sha256 && size == check.expected_size
                          ? FileState::ok
                          : FileState::mismatch;
      });
  util::throw_if_stopped(stop);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].state == FileState::mismatch) {
      std::error_code error;
      checks[i].stored_at = std::filesystem::canonical(paths[i], error);
    }
  }
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (failures[i]) {
      // An unreadable file cannot be vouched for.
      checks[i].state = FileState::mismatch;
      try {
        std::rethrow_exception(failures[i]);
      } catch (const Error& error) {
        reporter.error(error.with_subject(checks[i].model + "/" + checks[i].path));
      }
    }
  }
  return checks;
}

} // namespace hfmodels::ops
