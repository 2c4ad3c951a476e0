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
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hfmodels::ops {

namespace {

// A blob already in the cache (another revision's, another client's, one `lock` fetched)
// becomes visible under snapshots/ only once its bytes match the lock (docs/hub-protocol.md §5,
// and the cache's first invariant in the README). Without a locked sha256 (`lock` learning a
// regular file's) this is where it comes from. Returns the sha256.
std::string adopt_cached_blob(const cache::HubCache& cache, const FileJob& job, Publish publish) {
  std::string actual = hash::sha256_file(cache.blob_path(job.repo, job.etag));
  if (job.sha256 && actual != *job.sha256) {
    throw Error(ExitCode::integrity, "cached file does not match the lockfile",
                "expected sha256 " + *job.sha256 + ", the cached blob " +
                    cache.blob_path(job.repo, job.etag).filename().string() + " has " + actual,
                "Nothing was linked. If the lockfile was edited by hand, re-create it with "
                "`hfmodels lock`; otherwise delete the blob and run `hfmodels fetch` again",
                job.subject())
        .with_cause("integrity:cached");
  }
  if (publish == Publish::snapshots) {
    cache.link_snapshot(job.repo, job.commit, job.path, job.etag);
  }
  return actual;
}

// Downloads one job's blob unless another process has meanwhile, then links it into the
// snapshot. Returns the sha256 computed from the downloaded bytes (or the cached blob's).
std::string store_file(const Settings& settings, const cache::HubCache& cache, http::Client& http,
                       transfer::Connections& connections, const FileJob& job,
                       const transfer::ProgressFn& progress, Publish publish, bool& downloaded) {
  downloaded = false;
  // The lock makes a second process wait for the first instead of downloading the same blob
  // twice; the blob is checked again once the lock is held.
  const cache::FileLock lock = cache.lock_blob(job.repo, job.etag);
  if (cache.has_blob(job.repo, job.etag, job.size)) {
    return adopt_cached_blob(cache, job, publish);
  }
  transfer::Expected expected;
  expected.size = job.size;
  expected.sha256 = job.sha256;
  if (!job.sha256 && job.etag.size() == 40) {
    expected.git_sha1 = job.etag;
  }
  // Holding the lock, any partial download of this blob is a leftover (a killed or interrupted
  // run, Python <= 1.17) and is continued. A filesystem that cannot lock gets a private
  // temporary instead: no resume, but no two writers on one file either.
  auto temp = lock.held() ? cache.open_partial_blob(job.repo, job.etag, job.size)
                          : cache.create_temp_blob(job.repo, job.etag);
  const auto url = hub::resolve_url(settings.endpoint, job.repo, job.commit, job.path);
  transfer::Downloaded result;
  try {
    result =
        transfer::download_ranged(http, connections, url, temp, expected, job.subject(), progress);
  } catch (const Error& error) {
    // Bytes that failed the hash are dropped; those cut short by the network, a full disk or
    // Ctrl-C are kept for the next run to continue.
    if (lock.held() && error.code() != ExitCode::integrity) {
      cache.park_partial_blob(job.repo, job.etag, std::move(temp));
    }
    throw;
  }
  cache.commit_blob(job.repo, job.etag, std::move(temp), job.size);
  downloaded = true;
  if (publish == Publish::snapshots) {
    cache.link_snapshot(job.repo, job.commit, job.path, job.etag);
  }
  return result.sha256;
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
// refuses, a file the Hub does not have): the cause the thrower named, else the message with
// its URLs and numbers (ports, timings, retry counts) left out.
std::string cause_of(const Error& error) {
  if (!error.cause().empty()) {
    return std::to_string(static_cast<int>(error.code())) + '\n' + error.summary() + '\n' +
           error.cause();
  }
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

// Files that fail one after another for one cause (a host that is down, a listing of files the
// Hub does not have) stop a run early: past this many in a row, with no success between, the
// files not started yet are not tried. Above the default -j (16), so that a first round of
// connections, all failing at once for a passing reason, does not end the run.
constexpr std::size_t k_failures_before_giving_up = 20;

// Counts the failures in a row that share a cause. Thread-safe.
class GiveUp {
public:
  void succeeded() {
    const std::lock_guard lock(m_mutex);
    m_in_a_row = 0;
  }
  void failed(const std::string& cause) {
    const std::lock_guard lock(m_mutex);
    m_in_a_row = cause == m_cause ? m_in_a_row + 1 : 1;
    m_cause = cause;
    if (m_in_a_row >= k_failures_before_giving_up) {
      m_given_up = true;
    }
  }
  bool given_up() const {
    const std::lock_guard lock(m_mutex);
    return m_given_up;
  }

private:
  mutable std::mutex m_mutex;
  std::string m_cause;
  std::size_t m_in_a_row = 0;
  bool m_given_up = false;
};

// Thrown for a file that was not tried because the run gave up; not reported per file.
struct NotTried {};

// Reports the failures (one line per cause) and throws a summary with the most severe exit code;
// returns `result` when every job succeeded.
StoreResult finish(const std::vector<FileJob>& jobs,
                   const std::vector<std::exception_ptr>& failures, Reporter& reporter,
                   StoreResult& result, bool gave_up) {
  // One line for an interruption, not one error per file that it stopped.
  if (std::any_of(failures.begin(), failures.end(), [](const auto& failure) { return failure; })) {
    util::throw_if_cancelled();
  }
  std::size_t failed = 0;
  std::size_t not_tried = 0;
  ExitCode worst = ExitCode::failure;
  std::vector<Error> errors;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (!failures[i]) {
      continue;
    }
    ++failed;
    try {
      std::rethrow_exception(failures[i]);
    } catch (const NotTried&) {
      ++not_tried;
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
    const std::string stopped = !gave_up ? std::string()
                                         : "gave up after " +
                                               std::to_string(k_failures_before_giving_up) +
                                               " files in a row failed the same way; " +
                                               std::to_string(not_tried) + " were not tried";
    throw Error(worst,
                std::to_string(failed) + " of " + std::to_string(jobs.size()) +
                    " files could not be fetched",
                stopped, "See the errors above; run the command again to retry");
  }
  return std::move(result);
}

} // namespace

StoreResult store_files(const Settings& settings, const cache::HubCache& cache,
                        const std::vector<FileJob>& jobs, Reporter& reporter, Publish publish) {
  StoreResult result;
  result.sha256.resize(jobs.size());
  if (jobs.empty()) {
    return result;
  }
  cache.ensure_cachedir_tag();

  // Blobs the cache has are only checked and linked: no transfer, so not in the plan.
  std::vector<std::size_t> cached;
  std::vector<std::size_t> to_download;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    (cache.has_blob(jobs[i].repo, jobs[i].etag, jobs[i].size) ? cached : to_download).push_back(i);
  }
  std::vector<std::exception_ptr> failures(jobs.size());
  // Hashing is CPU-bound: one file per core, whatever -j says about connections.
  const auto cached_failures = util::run_parallel(std::max(1u, std::thread::hardware_concurrency()),
                                                  cached.size(), [&](std::size_t, std::size_t k) {
                                                    util::throw_if_cancelled();
                                                    result.sha256[cached[k]] = adopt_cached_blob(
                                                        cache, jobs[cached[k]], publish);
                                                  });
  for (std::size_t k = 0; k < cached.size(); ++k) {
    failures[cached[k]] = cached_failures[k];
  }
  if (to_download.empty()) {
    return finish(jobs, failures, reporter, result, false);
  }

  std::uint64_t planned_bytes = 0;
  for (const std::size_t index : to_download) {
    planned_bytes += jobs[index].size;
  }
  reporter.transfers_planned(to_download.size(), planned_bytes);

  // Once, before any job: a setting that makes every download fail (a token over plain http)
  // is one error, not one per file.
  const http::ClientOptions options = client_options(settings);
  const std::size_t workers = std::min<std::size_t>(settings.jobs, to_download.size());
  std::vector<std::unique_ptr<http::Client>> clients(workers);
  // Large files add ranged connections to the workers' own, up to k_max_connections in all.
  transfer::Connections connections(
      options, static_cast<unsigned>(transfer::k_max_connections -
                                     std::min<std::size_t>(workers, transfer::k_max_connections)));
  std::atomic<std::size_t> started{0};
  std::atomic<std::size_t> downloaded{0};
  std::atomic<std::uint64_t> bytes_downloaded{0};

  GiveUp give_up;
  const auto download_failures =
      util::run_parallel(workers, to_download.size(), [&](std::size_t worker, std::size_t id) {
        // After Ctrl-C the remaining jobs end at once instead of starting.
        util::throw_if_cancelled();
        if (give_up.given_up()) {
          throw NotTried{};
        }
        if (!clients[worker]) {
          clients[worker] = std::make_unique<http::Client>(options);
        }
        ++started;
        const std::size_t index = to_download[id];
        const auto& job = jobs[index];
        reporter.transfer_started(id, job.model, job.path, job.size);
        bool ok = false;
        try {
          bool moved = false;
          result.sha256[index] = store_file(
              settings, cache, *clients[worker], connections, job,
              [&](std::uint64_t bytes) { reporter.transfer_progress(id, bytes); }, publish, moved);
          if (moved) {
            ++downloaded;
            bytes_downloaded += job.size;
          }
          ok = true;
          give_up.succeeded();
        } catch (const Error& error) {
          give_up.failed(cause_of(error));
          reporter.transfer_finished(id, false);
          throw;
        } catch (...) {
          reporter.transfer_finished(id, false);
          throw;
        }
        reporter.transfer_finished(id, ok);
        if (started == to_download.size()) {
          // No file left for this worker to start: its connection joins the large files still
          // running, instead of idling while they finish.
          connections.release(std::move(clients[worker]));
        }
      });
  for (std::size_t id = 0; id < to_download.size(); ++id) {
    failures[to_download[id]] = download_failures[id];
  }
  reporter.transfers_done();
  result.downloaded = downloaded;
  result.bytes_downloaded = bytes_downloaded;
  return finish(jobs, failures, reporter, result, give_up.given_up());
}

} // namespace hfmodels::ops
