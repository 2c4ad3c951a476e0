// SPDX-License-Identifier: MIT
#include "ops/store.hpp"

#include "cache/maintenance.hpp"
#include "hash/sha256.hpp"
#include "ops/failures.hpp"
#include "ops/project.hpp"
#include "transfer/engine.hpp"
#include "util/cancel.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

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
// becomes visible under snapshots/ only once its bytes match the lock (docs/hub-and-cache.md §5,
// and the cache's first invariant in the README). Without a locked sha256 (`lock` learning a
// regular file's) this is where it comes from. Returns the sha256.
std::string adopt_cached_blob(const cache::HubCache& cache, const FileJob& job, Publish publish,
                              const std::stop_token& stop) {
  std::string actual = hash::sha256_file(cache.blob_path(job.repo, job.etag), stop);
  if (job.sha256 && actual != *job.sha256) {
    throw Error(ErrorKind::integrity, "cached file does not match the lockfile",
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

// The cause of a file whose last source, a mirror, held a wrong copy (with --no-origin, every
// mirror that had it did).
constexpr const char* k_wrong_in_mirror = "source:wrong";

// The engine says what the bytes were; what to do about it is said here.
Error with_advice(const Error& error, Publish publish, bool from_mirror) {
  if (!error.hint().empty() || error.kind() != ErrorKind::integrity) {
    return error;
  }
  if (from_mirror) {
    return error
        .with_hint("Nothing was added to the cache. The mirror holds other bytes than the ones "
                   "pinned: delete that object from it, then `hfmodels push` a good copy")
        .with_cause(k_wrong_in_mirror);
  }
  if (publish == Publish::blobs_only) {
    return error.with_hint("Nothing was added to the cache. The Hub's bytes differ from its own "
                           "listing: run `hfmodels lock` again later");
  }
  return error.with_hint("Nothing was added to the cache. The Hub served other bytes than the "
                         "ones pinned: if the repo was rewritten, re-lock with "
                         "`hfmodels lock --update`");
}

// The most severe failure decides the exit code: integrity over network over the rest.
int severity(ErrorKind code) {
  switch (code) {
  case ErrorKind::integrity:
    return 4;
  case ErrorKind::offline_missing:
    return 3;
  case ErrorKind::network:
    return 2;
  default:
    return 1;
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

// The cause of the failures of files not tried because the run gave up (GiveUp).
constexpr std::string_view k_not_tried = "store:not-tried";

// One blob to download, as the engine sees it: what it must be, and where it goes. Taking the
// blob's lock, claiming a partial download to continue, committing or parking the temporary
// and linking the snapshot happen here, on threads the engine starts for them (start() and a
// successful finish()) or on its loop; none of them waits for another process.
class BlobDownload final : public transfer::FileTask {
public:
  BlobDownload(const Settings& settings, const cache::HubCache& cache, const FileJob& job,
               Publish publish, GiveUp& give_up)
      : m_cache(cache), m_job(job), m_publish(publish), m_give_up(give_up),
        m_mirrors_only(!settings.asks_hub()) {
    // The mirrors the run reads first, in order, each at its object for the file's sha256
    // (unknown while `lock` learns a regular file's), then the Hub if it is asked.
    for (std::size_t i = 0; i < settings.mirrors.size() && job.sha256; ++i) {
      const auto& mirror = settings.mirrors[i];
      if (!settings.reads(mirror)) {
        continue;
      }
      m_spec.sources.push_back({mirror.object_url(*job.sha256), mirror.access});
      m_source_ids.push_back(i);
    }
    if (!m_mirrors_only) {
      m_spec.sources.push_back(
          {hub::resolve_url(settings.endpoint, job.repo, job.commit.str(), job.path.str()), {}});
      m_source_ids.push_back(settings.mirrors.size());
    }
    m_spec.subject = job.subject();
    m_spec.size = job.size;
    m_spec.sha256 = job.sha256;
    // A regular file's etag is its git blob id: checked as well, so that an etag edited to
    // name another file's blob can never put these bytes under that name.
    if (!job.etag.is_sha256()) {
      m_spec.git_sha1 = job.etag.str();
    }
  }

  const transfer::FileSpec& spec() const override { return m_spec; }

  Start start() override {
    if (m_give_up.given_up()) {
      throw Error(ErrorKind::failure, "not tried", "", "", m_job.subject())
          .with_cause(std::string(k_not_tried));
    }
    // Another process downloading the same blob holds its lock: this one waits its turn rather
    // than download the blob a second time.
    m_lock = m_cache.try_lock_blob(m_job.repo, m_job.etag);
    if (!m_lock) {
      return Start::later;
    }
    if (m_cache.has_blob(m_job.repo, m_job.etag, m_job.size)) {
      m_lock.reset();
      return Start::not_needed; // it finished meanwhile: checked and linked afterwards
    }
    // Holding the lock, any partial download of this blob is a leftover (a killed or
    // interrupted run, Python <= 1.17) and is continued. A filesystem that cannot lock gets a
    // private temporary instead: no resume, but no two writers on one file either.
    m_temp.emplace(m_lock->held() ? m_cache.open_partial_blob(m_job.repo, m_job.etag, m_job.size)
                                  : m_cache.create_temp_blob(m_job.repo, m_job.etag));
    return Start::now;
  }

  cache::TempBlob& temporary() override { return *m_temp; }

  void finish(const transfer::Downloaded* result, const Error* failure, bool prefix_only) override {
    try {
      if (result != nullptr && !m_temp) {
        m_adopt = true; // another process put the blob in place
      } else if (result != nullptr) {
        m_cache.commit_blob(m_job.repo, m_job.etag, std::move(*m_temp), m_job.size);
        m_temp.reset();
        // `cache gc` deletes only what hfmodels downloaded (unless --all).
        cache::mark_downloaded(m_cache, m_job.repo, m_job.etag);
        if (m_publish == Publish::snapshots) {
          m_cache.link_snapshot(m_job.repo, m_job.commit, m_job.path, m_job.etag);
        }
        m_sha256 = result->sha256;
        m_downloaded = true;
        m_received_from = result->received_from;
        m_source = result->source;
      } else {
        m_failure = with_advice(*failure, m_publish, m_spec.sources.back().access.has_value());
        if (m_mirrors_only && failure->cause() == "source:missing") {
          m_failure = Error(ErrorKind::offline_missing, "not in any mirror", failure->why(),
                            "The Hub was not asked (no origin)", failure->subject())
                          .with_cause("source:missing");
        }
        // Bytes that failed the hash are dropped; those cut short by the network, a full disk or
        // a stop are kept for the next run to continue.
        if (m_temp && m_lock && m_lock->held() && failure->kind() != ErrorKind::integrity) {
          m_cache.park_partial_blob(m_job.repo, m_job.etag, std::move(*m_temp), prefix_only);
        }
        m_temp.reset();
      }
    } catch (const Error& error) {
      m_failure = error.subject().empty() ? error.with_subject(m_job.subject()) : error;
    }
    m_lock.reset();
    if (m_failure && m_failure->cause() != "cancelled" && m_failure->cause() != k_not_tried) {
      m_give_up.failed(cause_of(*m_failure));
    } else if (!m_failure) {
      m_give_up.succeeded();
    }
  }

  const FileJob& job() const { return m_job; }
  const std::optional<Error>& failure() const { return m_failure; }
  bool downloaded() const { return m_downloaded; }
  bool adopt() const { return m_adopt; }
  const std::string& sha256() const { return m_sha256; }
  // The run's source (SourceTally) of each of the spec's sources.
  std::size_t source_id(std::size_t source) const { return m_source_ids.at(source); }
  const std::vector<std::uint64_t>& received_from() const { return m_received_from; }
  std::size_t source() const { return m_source; }

private:
  const cache::HubCache& m_cache;
  const FileJob& m_job;
  Publish m_publish;
  GiveUp& m_give_up;
  transfer::FileSpec m_spec;
  std::optional<cache::FileLock> m_lock;
  std::optional<cache::TempBlob> m_temp;
  std::optional<Error> m_failure;
  bool m_downloaded = false;
  bool m_adopt = false;
  std::string m_sha256;
  bool m_mirrors_only = false;
  std::vector<std::size_t> m_source_ids;
  std::vector<std::uint64_t> m_received_from;
  std::size_t m_source = 0;
};

// The engine's events, told to the reporter in its terms; a source that failed a file is
// counted, and a wrong object reported (once: the file moves on to the next source).
class ReportEvents final : public transfer::Events {
public:
  ReportEvents(Reporter& reporter, const std::vector<FileJob>& jobs,
               const std::vector<std::size_t>& job_of,
               const std::vector<std::unique_ptr<BlobDownload>>& downloads,
               std::vector<SourceTally>& tally)
      : m_reporter(reporter), m_jobs(jobs), m_job_of(job_of), m_downloads(downloads),
        m_tally(tally) {}

  void source_failed(std::size_t file, std::size_t source, const Error& error) override {
    SourceTally& tally = m_tally[m_downloads[file]->source_id(source)];
    if (error.cause() == "source:missing") {
      ++tally.missing;
    } else if (error.kind() == ErrorKind::integrity) {
      ++tally.wrong;
      m_reporter.warning("mirror " + tally.source + " holds a wrong copy of " + error.subject() +
                         " (" + error.why() + "); taking it from the next source");
    } else {
      ++tally.failed;
    }
  }

  void started(std::size_t file, std::uint64_t resumed) override {
    const FileJob& job = m_jobs[m_job_of[file]];
    m_reporter.transfer_started(file, job.model, job.path.str(), job.size, resumed);
  }
  void progress(const transfer::FileProgress& file, const transfer::TotalProgress& total) override {
    m_reporter.transfer_progress(file, total);
  }
  void finished(std::size_t file, bool ok) override { m_reporter.transfer_finished(file, ok); }

private:
  Reporter& m_reporter;
  const std::vector<FileJob>& m_jobs;
  const std::vector<std::size_t>& m_job_of;
  const std::vector<std::unique_ptr<BlobDownload>>& m_downloads;
  std::vector<SourceTally>& m_tally;
};

// Checks and links, on every core, blobs the cache holds already; each sha256 or failure goes to
// its job's slot.
void adopt_blobs(const cache::HubCache& cache, const std::vector<FileJob>& jobs,
                 const std::vector<std::size_t>& indices, Publish publish,
                 const std::stop_token& stop, StoreResult& result,
                 std::vector<std::optional<Error>>& failures) {
  // Hashing is CPU-bound: one file per core, whatever -j says about connections.
  const auto errors = util::run_parallel(std::max(1u, std::thread::hardware_concurrency()),
                                         indices.size(), [&](std::size_t, std::size_t k) {
                                           util::throw_if_stopped(stop);
                                           result.sha256[indices[k]] = adopt_cached_blob(
                                               cache, jobs[indices[k]], publish, stop);
                                         });
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (!errors[k]) {
      continue;
    }
    try {
      std::rethrow_exception(errors[k]);
    } catch (const Error& error) {
      failures[indices[k]] =
          error.subject().empty() ? error.with_subject(jobs[indices[k]].subject()) : error;
    }
  }
  util::throw_if_stopped(stop);
}

// Reports the failures (one line per cause) and throws a summary with the most severe exit code.
void report_failures(const std::vector<std::optional<Error>>& failures, Reporter& reporter,
                     bool gave_up) {
  std::size_t failed = 0;
  std::size_t not_tried = 0;
  ErrorKind worst = ErrorKind::failure;
  std::vector<Error> errors;
  for (const auto& failure : failures) {
    if (!failure) {
      continue;
    }
    ++failed;
    if (failure->cause() == k_not_tried) {
      ++not_tried;
      continue;
    }
    errors.push_back(*failure);
    if (severity(failure->kind()) > severity(worst)) {
      worst = failure->kind();
    }
  }
  if (failed == 0) {
    return;
  }
  report_grouped(reporter, errors);
  // A cause shared by every failure is the run's: the caller may act on it.
  const bool one_cause =
      !errors.empty() && std::all_of(errors.begin(), errors.end(), [&](const Error& error) {
        return error.cause() == errors.front().cause();
      });
  std::string stopped = !gave_up ? std::string()
                                 : "gave up after " + std::to_string(k_failures_before_giving_up) +
                                       " files in a row failed the same way; " +
                                       std::to_string(not_tried) + " were not tried";
  // Files no source had, or had right: every one is named, for whoever fills the mirror.
  std::string missing;
  std::string wrong;
  bool retry_helps = not_tried > 0;
  for (const Error& error : errors) {
    if (error.kind() == ErrorKind::offline_missing) {
      missing += "\n  " + error.subject();
    } else if (error.cause() == k_wrong_in_mirror) {
      wrong += "\n  " + error.subject();
    } else {
      retry_helps = true;
    }
  }
  // Each part after the last: a list ends its line, a sentence needs "; ".
  const auto add = [&](const std::string& part) {
    stopped += (stopped.empty() || stopped.back() == '\n' ? "" : "; ") + part;
  };
  if (!missing.empty()) {
    add("not in any mirror:" + missing + "\n");
  }
  if (!wrong.empty()) {
    add("no good copy in any mirror:" + wrong + "\n");
  }
  // Another run helps a network failure; a mirror that lacks files needs them put there.
  throw Error(worst,
              std::to_string(failed) + " of " + std::to_string(failures.size()) +
                  " files could not be fetched",
              stopped,
              retry_helps ? "See the errors above; run the command again to retry"
                          : "See the errors above")
      .with_cause(one_cause ? errors.front().cause() : std::string());
}

} // namespace

StoreResult store_files(const Settings& settings, const cache::HubCache& cache,
                        const std::vector<FileJob>& jobs, Reporter& reporter, Publish publish,
                        const std::stop_token& stop) {
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
  std::vector<std::optional<Error>> failures(jobs.size());
  adopt_blobs(cache, jobs, cached, publish, stop, result, failures);
  if (to_download.empty()) {
    report_failures(failures, reporter, false);
    return result;
  }

  std::uint64_t planned_bytes = 0;
  for (const std::size_t index : to_download) {
    planned_bytes = util::add_sizes(planned_bytes, jobs[index].size);
  }
  reporter.transfers_planned(to_download.size(), planned_bytes);

  transfer::EngineOptions options;
  // Once, before any file: a setting that makes every download fail (a token over plain http)
  // is one error, not one per file.
  options.client = client_options(settings);
  options.files_at_once = settings.jobs;
  options.connections = std::max(settings.jobs, transfer::k_connections);
  GiveUp give_up;
  std::vector<std::unique_ptr<BlobDownload>> downloads;
  std::vector<transfer::FileTask*> tasks;
  for (const std::size_t index : to_download) {
    downloads.push_back(
        std::make_unique<BlobDownload>(settings, cache, jobs[index], publish, give_up));
    tasks.push_back(downloads.back().get());
  }
  for (const auto& mirror : settings.mirrors) {
    result.sources.push_back({mirror.text, false});
  }
  result.sources.push_back({"hub", true});
  ReportEvents events(reporter, jobs, to_download, downloads, result.sources);
  try {
    transfer::download(tasks, options, events, stop);
  } catch (const util::Cancelled&) {
    reporter.transfers_done();
    throw; // one line for the stop, not an error per file it stopped
  }
  reporter.transfers_done();

  std::vector<std::size_t> adopt_later;
  for (std::size_t k = 0; k < downloads.size(); ++k) {
    const BlobDownload& download = *downloads[k];
    const std::size_t index = to_download[k];
    if (download.failure()) {
      failures[index] = *download.failure();
    } else if (download.adopt()) {
      adopt_later.push_back(index);
    } else {
      result.sha256[index] = download.sha256();
      if (download.downloaded()) {
        ++result.downloaded;
        result.bytes_downloaded += jobs[index].size;
        const auto& received = download.received_from();
        for (std::size_t source = 0; source < received.size(); ++source) {
          result.sources[download.source_id(source)].bytes += received[source];
        }
        if (!received.empty()) {
          ++result.sources[download.source_id(download.source())].files;
        }
      }
    }
  }
  // Blobs another process put in place while this one waited for their locks.
  adopt_blobs(cache, jobs, adopt_later, publish, stop, result, failures);
  if (!settings.asks_hub()) {
    result.sources.pop_back(); // not a source of this run: no "from the Hub: 0 files"
  }
  report_failures(failures, reporter, give_up.given_up());
  return result;
}

} // namespace hfmodels::ops
