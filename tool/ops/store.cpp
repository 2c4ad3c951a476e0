// SPDX-License-Identifier: MIT
#include "ops/store.hpp"

#include "hash/sha256.hpp"
#include "http/client.hpp"
#include "ops/project.hpp"
#include "transfer/download.hpp"
#include "transfer/ranged.hpp"
#include "util/cancel.hpp"
#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hfmodels::ops {

namespace {

// Downloads one job's blob unless it is already cached, then links it into the snapshot.
// Returns the sha256 computed from the downloaded bytes, or the expected one when nothing moved.
std::string store_file(const Settings& settings, const cache::HubCache& cache, http::Client& http,
                       transfer::Connections& connections, const FileJob& job,
                       const transfer::ProgressFn& progress, bool& downloaded) {
  downloaded = false;
  std::string sha256 = job.sha256.value_or("");
  if (!cache.has_blob(job.repo, job.etag, job.size)) {
    // The lock makes a second process wait for the first instead of downloading the same blob
    // twice; it re-checks the blob once it holds the lock.
    const cache::FileLock lock = cache.lock_blob(job.repo, job.etag);
    if (!cache.has_blob(job.repo, job.etag, job.size)) {
      transfer::Expected expected;
      expected.size = job.size;
      expected.sha256 = job.sha256;
      if (!job.sha256 && job.etag.size() == 40) {
        expected.git_sha1 = job.etag;
      }
      // Holding the lock, any partial download of this blob is a leftover (a killed or
      // interrupted run, Python <= 1.17) and is continued. A filesystem that cannot lock gets a
      // private temporary instead: no resume, but no two writers on one file either.
      auto temp = lock.held() ? cache.open_partial_blob(job.repo, job.etag, job.size)
                              : cache.create_temp_blob(job.repo, job.etag);
      const auto url = hub::resolve_url(settings.endpoint, job.repo, job.commit, job.path);
      transfer::Downloaded result;
      try {
        result = transfer::download_ranged(http, connections, url, temp, expected, job.subject(),
                                           progress);
      } catch (const Error& error) {
        // Bytes that failed the hash are dropped; those cut short by the network, a full disk
        // or Ctrl-C are kept for the next run to continue.
        if (lock.held() && error.code() != ExitCode::integrity) {
          cache.park_partial_blob(job.repo, job.etag, std::move(temp));
        }
        throw;
      }
      cache.commit_blob(job.repo, job.etag, std::move(temp), job.size);
      sha256 = result.sha256;
      downloaded = true;
    }
  }
  if (!downloaded) {
    // A blob already in the cache (another revision, another tool, an interrupted run) becomes
    // visible under snapshots/ only once its bytes match the lock (SPEC.md "The cache"). When
    // locking a regular file this is also where its sha256 comes from.
    const std::string actual = hash::sha256_file(cache.blob_path(job.repo, job.etag));
    if (job.sha256 && actual != *job.sha256) {
      throw Error(ExitCode::integrity, "cached file does not match the lockfile",
                  "expected sha256 " + *job.sha256 + ", the cached blob " +
                      cache.blob_path(job.repo, job.etag).filename().string() + " has " + actual,
                  "Nothing was linked. If the lockfile was edited by hand, re-create it with "
                  "`hfmodels lock`; otherwise delete the blob and run `hfmodels fetch` again",
                  job.subject());
    }
    sha256 = actual;
  }
  cache.link_snapshot(job.repo, job.commit, job.path, job.etag);
  return sha256;
}

// The most severe failure decides the exit code: integrity over network over the rest.
int severity(ExitCode code) {
  switch (code) {
  case ExitCode::integrity:
    return 3;
  case ExitCode::network:
    return 2;
  default:
    return 1;
  }
}

// What two failures share when one cause hit many files (an unreachable host, a proxy that
// refuses): the message with its URLs and numbers (ports, timings, retry counts) left out.
std::string cause_of(const Error& error) {
  const std::string& why = error.why();
  std::string cause;
  for (std::size_t i = 0; i < why.size();) {
    if (why.compare(i, 7, "http://") == 0 || why.compare(i, 8, "https://") == 0) {
      // A URL runs to the next space, or to the ": " that follows it in curl's messages.
      while (i < why.size() && why[i] != ' ' && why.compare(i, 2, ": ") != 0) {
        ++i;
      }
      cause += "<url>";
    } else if (std::isdigit(static_cast<unsigned char>(why[i])) != 0) {
      while (i < why.size() && std::isdigit(static_cast<unsigned char>(why[i])) != 0) {
        ++i;
      }
      cause += '#';
    } else {
      cause += why[i++];
    }
  }
  return std::to_string(static_cast<int>(error.code())) + '\n' + error.summary() + '\n' + cause +
         '\n' + error.hint();
}

// One line per cause rather than per file: 200 files against an unreachable host print the first
// file's error and how many more failed the same way (naming them when they are few).
void report_grouped(Reporter& reporter, const std::vector<Error>& errors) {
  constexpr std::size_t named = 5;
  struct Group {
    std::string cause;
    const Error* first;
    std::vector<std::string> others; // subjects
  };
  std::vector<Group> groups; // in order of appearance
  for (const Error& error : errors) {
    std::string cause = cause_of(error);
    const auto known = std::find_if(groups.begin(), groups.end(),
                                    [&](const Group& group) { return group.cause == cause; });
    if (known != groups.end()) {
      known->others.push_back(error.subject());
    } else {
      groups.push_back({std::move(cause), &error, {}});
    }
  }
  for (const Group& group : groups) {
    const Error& error = *group.first;
    const std::size_t more = group.others.size();
    if (more == 0) {
      reporter.error(error);
      continue;
    }
    std::string same =
        "the same for " + std::to_string(more) + " more file" + (more == 1 ? "" : "s");
    if (more <= named) {
      for (std::size_t i = 0; i < more; ++i) {
        same += (i == 0 ? " (" : ", ") + group.others[i];
      }
      same += ")";
    }
    reporter.error(Error(error.code(), error.summary(),
                         error.why().empty() ? same : error.why() + "; " + same, error.hint(),
                         error.subject()));
  }
}

} // namespace

StoreResult store_files(const Settings& settings, const cache::HubCache& cache,
                        const std::vector<FileJob>& jobs, Reporter& reporter) {
  StoreResult result;
  result.sha256.resize(jobs.size());
  if (jobs.empty()) {
    return result;
  }
  cache.ensure_cachedir_tag();

  std::uint64_t planned_bytes = 0;
  for (const auto& job : jobs) {
    planned_bytes += job.size;
  }
  reporter.transfers_planned(jobs.size(), planned_bytes);

  // Once, before any job: a setting that makes every download fail (a token over plain http)
  // is one error, not one per file.
  const http::ClientOptions options = client_options(settings);
  const std::size_t workers = std::min<std::size_t>(settings.jobs, jobs.size());
  std::vector<std::unique_ptr<http::Client>> clients(workers);
  // Large files add ranged connections to the workers' own, up to k_max_connections in all.
  transfer::Connections connections(
      options, static_cast<unsigned>(transfer::k_max_connections -
                                     std::min<std::size_t>(workers, transfer::k_max_connections)));
  std::atomic<std::size_t> started{0};
  std::atomic<std::size_t> downloaded{0};
  std::atomic<std::uint64_t> bytes_downloaded{0};

  const auto failures =
      util::run_parallel(workers, jobs.size(), [&](std::size_t worker, std::size_t index) {
        // After Ctrl-C the remaining jobs end at once instead of starting.
        util::throw_if_cancelled();
        if (!clients[worker]) {
          clients[worker] = std::make_unique<http::Client>(options);
        }
        ++started;
        const auto& job = jobs[index];
        reporter.transfer_started(index, job.model, job.path, job.size);
        bool ok = false;
        try {
          bool moved = false;
          result.sha256[index] = store_file(
              settings, cache, *clients[worker], connections, job,
              [&](std::uint64_t bytes) { reporter.transfer_progress(index, bytes); }, moved);
          if (moved) {
            ++downloaded;
            bytes_downloaded += job.size;
          }
          ok = true;
        } catch (...) {
          reporter.transfer_finished(index, false);
          throw;
        }
        reporter.transfer_finished(index, ok);
        if (started == jobs.size()) {
          // No file left for this worker to start: its connection joins the large files still
          // running, instead of idling while they finish.
          connections.release(std::move(clients[worker]));
        }
      });
  reporter.transfers_done();
  // One line for an interruption, not one error per file that it stopped.
  if (std::any_of(failures.begin(), failures.end(), [](const auto& failure) { return failure; })) {
    util::throw_if_cancelled();
  }

  std::size_t failed = 0;
  ExitCode worst = ExitCode::failure;
  std::vector<Error> errors;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (!failures[i]) {
      continue;
    }
    ++failed;
    try {
      std::rethrow_exception(failures[i]);
    } catch (const Error& error) {
      errors.push_back(error.subject().empty() ? error.with_subject(jobs[i].subject()) : error);
      if (severity(error.code()) > severity(worst)) {
        worst = error.code();
      }
    } catch (const std::exception& error) {
      errors.emplace_back(ExitCode::failure, "cannot store file", error.what(), "",
                          jobs[i].subject());
    }
  }
  report_grouped(reporter, errors);
  if (failed > 0) {
    throw Error(worst,
                std::to_string(failed) + " of " + std::to_string(jobs.size()) +
                    " files could not be fetched",
                "", "See the errors above; run the command again to retry");
  }
  write_refs(cache, jobs);
  result.downloaded = downloaded;
  result.bytes_downloaded = bytes_downloaded;
  return result;
}

void write_refs(const cache::HubCache& cache, const std::vector<FileJob>& jobs) {
  std::set<std::pair<std::string, std::string>> written;
  for (const auto& job : jobs) {
    const auto folder = hub::cache_folder_name(job.repo);
    if (written.insert({folder, job.revision}).second &&
        cache.read_ref(job.repo, job.revision) != job.commit) {
      cache.write_ref(job.repo, job.revision, job.commit);
    }
  }
}

} // namespace hfmodels::ops
