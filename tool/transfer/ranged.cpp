// SPDX-License-Identifier: MIT
#include "transfer/ranged.hpp"

#include "hash/sha256.hpp"
#include "hub/client.hpp"
#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <utility>

namespace hfmodels::transfer {

namespace {

// As download(): a body whose hash comes out wrong is fetched once more from the start before
// the mismatch is reported.
constexpr int k_downloads = 2;
// The hasher reads the file in blocks of this size, and the writers wake it whenever a part
// grows past a multiple of it: often enough that the hash trails the frontier by about a block,
// rarely enough that the wake-ups cost nothing (a thousand per GiB).
constexpr std::size_t k_hash_block = 1u << 20;
// Workers waiting for a part poll Ctrl-C this often.
constexpr std::chrono::milliseconds k_wait_poll{200};
// The longest a writer waits for the hasher (see throttle()): well under the idle timeout, which
// counts the time a write callback takes.
constexpr std::chrono::milliseconds k_max_throttle{1000};

// One ranged request's worth of the file: [begin, end). `written` bytes from `begin` on are in
// the file; only the worker that holds the part writes them, the hasher reads them.
struct Part {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::atomic<std::uint64_t> written{0};

  std::uint64_t size() const { return end - begin; }
  bool complete() const { return written.load(std::memory_order_acquire) == size(); }
};

// How a worker's attempt at a part ended.
enum class Outcome {
  done,    // every byte of the part is in the file
  retire,  // the server turned this connection away: the part goes back to the queue
  stopped, // another thread failed or fell back; nothing to report
};

class RangedDownload {
public:
  RangedDownload(http::Client& http, Connections& connections, const std::string& url,
                 cache::TempBlob& temp, const Expected& expected, const std::string& subject,
                 const ProgressFn& progress)
      : m_http(http), m_connections(connections), m_tuning(connections.tuning()), m_url(url),
        m_temp(temp), m_expected(expected), m_subject(subject), m_progress(progress),
        m_size(*expected.size) {}

  Downloaded run() {
    for (int download = 1;; ++download) {
      try {
        if (!transfer()) {
          // The server ignores Range: the single stream continues from the complete prefix.
          return transfer::download(m_http, m_url, m_temp, m_expected, m_subject, m_progress);
        }
        return check();
      } catch (const util::Cancelled&) {
        throw;
      } catch (const Error& error) {
        if (error.code() != ExitCode::integrity) {
          throw;
        }
        if (download == k_downloads) {
          throw http::tried(error, download);
        }
        // A resumed prefix may be what was wrong: start over from an empty file.
        m_temp.truncate();
        m_received = 0;
        report();
      }
    }
  }

private:
  // One pass over the missing bytes: true when every byte is in and hashed, false when the
  // server ignored Range. Throws the first failure, the temporary cut back to its complete
  // prefix.
  bool transfer() {
    std::uint64_t existing = m_temp.size();
    if (existing > m_size) {
      m_temp.truncate();
      existing = 0;
    }
    existing = without_holes(existing);
    reset(existing);
    report();

    // The caller's connection plus what the budget gives, never more than there are parts.
    const auto wanted =
        static_cast<unsigned>(std::min<std::uint64_t>(m_connections.parts(), m_parts.size()));
    std::vector<std::unique_ptr<http::Client>> extras =
        m_connections.acquire(wanted > 0 ? wanted - 1 : 0);
    if (extras.empty() && existing == 0) {
      return false; // one connection: the plain stream does the same with fewer requests
    }
    m_active = 1 + extras.size();

    std::thread hasher;
    std::vector<std::thread> workers;
    try {
      hasher = std::thread([this] { hash(); });
      for (auto& client : extras) {
        workers.emplace_back([this, &client] { work(*client, false); });
      }
    } catch (...) {
      fail(std::current_exception()); // no thread: stop the ones started
    }
    work(m_http, true);
    // The caller's loop ends when no part is left or on a failure; so do the others'.
    for (auto& worker : workers) {
      worker.join();
    }
    for (auto& client : extras) {
      m_connections.release(std::move(client));
    }
    if (!m_stop && !all_parts_complete()) {
      // Cannot happen (a worker leaves early only by failing), but the hasher would wait for
      // these bytes forever.
      fail(std::make_exception_ptr(Error(ExitCode::failure, "the download stopped early",
                                         "parts are missing", "Run the command again", m_subject)));
    }
    // Ends by itself once every byte is hashed; on a failure fail() has stopped it.
    if (hasher.joinable()) {
      hasher.join();
    }
    report();

    if (m_fallback || m_failure) {
      keep_complete_prefix();
      if (m_failure) {
        util::throw_if_cancelled(); // one clean "interrupted" rather than a worker's error
        std::rethrow_exception(m_failure);
      }
      return false;
    }
    if (m_hashed != m_size) {
      throw Error(ExitCode::failure, "the download ended before every byte was hashed",
                  std::to_string(m_hashed) + " of " + std::to_string(m_size) + " bytes", "",
                  m_subject);
    }
    return true;
  }

  // A leftover of a ranged download that was killed (SIGKILL, a crash: no chance to cut it back)
  // has parts past its complete prefix, with holes between them. Resumed by its length it would
  // fail the hash and come again whole; cut at its first hole it resumes from about where it
  // stopped. Part boundaries are multiples of the part size, so only the block where a part's
  // writing stopped can hold unwritten zeros before the first hole: that block goes too. (A
  // part that stopped within its last block leaves no hole: the hash catches that rare case.)
  std::uint64_t without_holes(std::uint64_t length) {
    if (length == 0) {
      return 0;
    }
    const off_t hole = ::lseek(m_temp.fd(), 0, SEEK_HOLE);
    if (hole < 0 || static_cast<std::uint64_t>(hole) >= length) {
      return length; // no hole (the end of a file counts as one), or no SEEK_HOLE support
    }
    struct stat info {};
    const std::uint64_t block =
        ::fstat(m_temp.fd(), &info) == 0 ? std::max<std::uint64_t>(info.st_blksize, 4096) : 4096;
    std::uint64_t keep = static_cast<std::uint64_t>(hole) / block * block;
    keep = keep > block ? keep - block : 0;
    if (::ftruncate(m_temp.fd(), static_cast<off_t>(keep)) != 0) {
      util::throw_io_error("cannot truncate", m_temp.path(), errno);
    }
    return keep;
  }

  void reset(std::uint64_t existing) {
    // Parts end at multiples of the part size (see without_holes); the first may be shorter.
    const std::uint64_t part_size = std::max<std::uint64_t>(m_tuning.part_size, 1);
    const auto part_end = [&](std::uint64_t begin) {
      return std::min(m_size, (begin / part_size + 1) * part_size);
    };
    std::size_t count = 0;
    for (std::uint64_t begin = existing; begin < m_size; begin = part_end(begin)) {
      ++count;
    }
    m_parts = std::vector<Part>(count); // Part holds an atomic: sized once, never moved
    m_pending.clear();
    std::uint64_t begin = existing;
    for (std::size_t i = 0; i < count; ++i) {
      m_parts[i].begin = begin;
      m_parts[i].end = part_end(begin);
      m_pending.insert(i);
      begin = m_parts[i].end;
    }
    m_frontier_part = 0;
    m_in_flight = 0;
    m_cdn_url.clear();
    m_reresolve_next = false;
    m_stop = false;
    m_fallback = false;
    m_failure = nullptr;
    m_received = existing;
    m_hashed = 0;
    m_hashed_to = 0;
    m_sha256.clear();
    m_git_sha1.clear();
  }

  // --- coordination ----------------------------------------------------------------------------

  // Records the first failure and stops every thread: writers at their next block, waiters at
  // once, the hasher at its next block.
  void fail(std::exception_ptr failure) {
    {
      const std::lock_guard lock(m_mutex);
      if (!m_failure && !m_fallback) {
        m_failure = std::move(failure);
      }
      m_stop = true;
    }
    m_work_cv.notify_all();
    m_hash_cv.notify_all();
  }

  void fall_back() {
    {
      const std::lock_guard lock(m_mutex);
      if (!m_failure) {
        m_fallback = true;
      }
      m_stop = true;
    }
    m_work_cv.notify_all();
    m_hash_cv.notify_all();
  }

  // The lowest pending part, in file order so the complete prefix grows steadily. Waits while
  // parts are in flight elsewhere (one may come back); nothing once all are done, or on stop.
  std::optional<std::size_t> take_part() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      if (m_stop) {
        return std::nullopt;
      }
      if (!m_pending.empty()) {
        const std::size_t index = *m_pending.begin();
        m_pending.erase(m_pending.begin());
        ++m_in_flight;
        return index;
      }
      if (m_in_flight == 0) {
        return std::nullopt;
      }
      m_work_cv.wait_for(lock, k_wait_poll);
      util::throw_if_cancelled();
    }
  }

  void finish_part(std::size_t index, bool requeue) {
    {
      const std::lock_guard lock(m_mutex);
      --m_in_flight;
      if (requeue) {
        m_pending.insert(index);
      }
    }
    m_work_cv.notify_all();
  }

  bool all_parts_complete() const {
    return std::all_of(m_parts.begin(), m_parts.end(),
                       [](const Part& part) { return part.complete(); });
  }

  // Extra connections wait for the first answer: it names the URL the parts come from.
  bool wait_for_url() {
    std::unique_lock lock(m_mutex);
    while (m_cdn_url.empty() && !m_stop) {
      m_work_cv.wait_for(lock, k_wait_poll);
      util::throw_if_cancelled();
    }
    return !m_stop;
  }

  // The end of the complete prefix: every byte before it is in the file. Call with m_mutex held.
  std::uint64_t frontier_locked() {
    while (m_frontier_part < m_parts.size() && m_parts[m_frontier_part].complete()) {
      ++m_frontier_part;
    }
    if (m_frontier_part == m_parts.size()) {
      return m_size;
    }
    const Part& part = m_parts[m_frontier_part];
    return part.begin + part.written.load(std::memory_order_acquire);
  }

  void wake_hasher() {
    // Taking the mutex orders this wake-up after the hasher's check of the frontier, so it
    // cannot be lost between that check and its wait.
    { const std::lock_guard lock(m_mutex); }
    m_hash_cv.notify_one();
  }

  // Holds a writer that got `max_unhashed` ahead of the hash until the hasher catches up. Never
  // for long: a writer must not wait on a frontier that nobody is writing (its part may be back
  // in the queue), so it goes on after a while regardless.
  void throttle(std::uint64_t end) {
    const std::uint64_t limit = m_tuning.max_unhashed;
    if (end <= m_hashed_to.load() + limit) {
      return;
    }
    std::unique_lock lock(m_mutex);
    ++m_throttled;
    // The hasher may be asleep with bytes of this very part to hash (it is woken per MiB).
    m_hash_cv.notify_one();
    const auto deadline = std::chrono::steady_clock::now() + k_max_throttle;
    while (!m_stop && !util::cancelled() && end > m_hashed_to.load() + limit &&
           m_throttle_cv.wait_until(lock, deadline) != std::cv_status::timeout) {
    }
    --m_throttled;
  }

  // Cuts the temporary back to its complete prefix, so the file kept for the next run (parked
  // as blobs/<etag>.incomplete, which Python <= 1.17 resumes by its length) has no holes.
  void keep_complete_prefix() noexcept {
    std::uint64_t frontier = 0;
    {
      const std::lock_guard lock(m_mutex);
      frontier = frontier_locked();
    }
    if (::ftruncate(m_temp.fd(), static_cast<off_t>(frontier)) != 0) {
      // A file that cannot be cut is not kept with holes: an empty one is just removed.
      static_cast<void>(::ftruncate(m_temp.fd(), 0));
    }
  }

  void report() {
    if (!m_progress) {
      return;
    }
    // One reporter call at a time, in order, so the count never goes back; a writer that finds
    // another reporting skips (the next block reports).
    const std::unique_lock lock(m_progress_mutex, std::try_to_lock);
    if (lock.owns_lock()) {
      m_progress(m_received.load(std::memory_order_relaxed));
    }
  }

  // --- the hasher ------------------------------------------------------------------------------

  // Hashes the file in order as its complete prefix grows, reading back what the writers just
  // put there: those pages are still in the page cache, so this is a memory copy, not a disk
  // read, and the hash is done moments after the last byte arrives.
  void hash() {
    try {
      hash::Sha256 sha256;
      std::optional<hash::GitBlobSha1> git_sha1;
      if (m_expected.git_sha1) {
        git_sha1.emplace(m_size);
      }
      const auto buffer = std::make_unique_for_overwrite<char[]>(k_hash_block);
      std::uint64_t hashed = 0;
      while (hashed < m_size) {
        std::uint64_t target = 0;
        {
          std::unique_lock lock(m_mutex);
          m_hash_cv.wait(lock, [&] { return m_stop || frontier_locked() > hashed; });
          if (m_stop) {
            return;
          }
          target = frontier_locked();
        }
        while (hashed < target) {
          if (m_stop) {
            return;
          }
          const auto want =
              static_cast<std::size_t>(std::min<std::uint64_t>(k_hash_block, target - hashed));
          const std::size_t got = m_temp.read_at(buffer.get(), want, hashed);
          if (got == 0) {
            throw Error(ExitCode::failure, "the partial download is shorter than written",
                        m_temp.path().string() + " ends at " + std::to_string(hashed) + " bytes",
                        "Run the command again", m_subject);
          }
          sha256.update(buffer.get(), got);
          if (git_sha1) {
            git_sha1->update(buffer.get(), got);
          }
          hashed += got;
          m_hashed_to.store(hashed);
          if (m_throttled.load() > 0) {
            { const std::lock_guard lock(m_mutex); }
            m_throttle_cv.notify_all();
          }
        }
      }
      // Read by the caller after join().
      m_sha256 = sha256.hex_digest();
      m_git_sha1 = git_sha1 ? git_sha1->hex_digest() : std::string();
      m_hashed = hashed;
    } catch (...) {
      fail(std::current_exception());
    }
  }

  // --- the workers -----------------------------------------------------------------------------

  // One connection's loop: takes parts until none is left. The caller's connection (`keeper`)
  // stays to the end; an extra one leaves when the server turns it away.
  void work(http::Client& client, bool keeper) {
    try {
      if (!keeper && !wait_for_url()) {
        return;
      }
      http::Retrier retrier(m_tuning.retry);
      bool resolved = false; // the last request went through the resolve URL, no byte since
      while (const auto index = take_part()) {
        const Outcome outcome = fetch(client, *index, keeper, retrier, resolved);
        finish_part(*index, outcome != Outcome::done);
        if (outcome == Outcome::retire) {
          retire();
          return;
        }
        if (outcome == Outcome::stopped) {
          return;
        }
      }
    } catch (...) {
      fail(std::current_exception());
    }
  }

  void retire() {
    unsigned accepted = 0;
    {
      const std::lock_guard lock(m_mutex);
      accepted = static_cast<unsigned>(--m_active);
    }
    // The server objects to this many connections: later files open no more than it accepted.
    m_connections.limit_parts(accepted);
  }

  Outcome fetch(http::Client& client, std::size_t index, bool keeper, http::Retrier& retrier,
                bool& resolved) {
    Part& part = m_parts[index];
    for (;;) {
      if (m_stop) {
        return Outcome::stopped;
      }
      if (part.complete()) {
        return Outcome::done;
      }
      const std::uint64_t from = part.begin + part.written.load(std::memory_order_relaxed);
      const std::uint64_t last = part.end - 1;
      // Through the resolve URL (the Hub, with the token where it belongs) for the first request
      // and after the CDN's signed URL was refused; straight to the CDN otherwise.
      std::string url;
      {
        const std::lock_guard lock(m_mutex);
        url = m_cdn_url.empty() || m_reresolve_next ? m_url : m_cdn_url;
      }
      const bool via_resolve = url == m_url;
      bool progressed = false;

      const http::ResponseStart on_start = [&](long status, const http::Headers& headers) {
        if (m_stop) {
          return false;
        }
        if (status == 200) {
          fall_back(); // Range ignored: this body is the whole file, from byte 0
          return false;
        }
        if (status != 206) {
          throw Error(ExitCode::network, "unexpected answer to a download",
                      "HTTP " + std::to_string(status) + " to a range request from " +
                          http::redact_url(client.in_flight_url()),
                      "Check HF_ENDPOINT and any proxy in between", m_subject);
        }
        check_range(headers, from, last);
        if (via_resolve) {
          {
            const std::lock_guard lock(m_mutex);
            m_cdn_url = client.in_flight_url();
          }
          m_work_cv.notify_all();
        }
        return true;
      };

      const http::BodySink sink = [&](const char* data, std::size_t size) {
        if (m_stop) {
          return false;
        }
        const std::uint64_t written = part.written.load(std::memory_order_relaxed);
        if (written + size > part.size()) {
          throw Error(ExitCode::network, "the server sent more than the range asked for",
                      "bytes " + std::to_string(from) + "-" + std::to_string(last) + " of " +
                          http::redact_url(client.in_flight_url()),
                      "Run the command again", m_subject);
        }
        m_temp.write_at(data, size, part.begin + written);
        part.written.store(written + size, std::memory_order_release);
        progressed = true;
        if ((written >> 20) != ((written + size) >> 20) || written + size == part.size()) {
          wake_hasher();
        }
        throttle(part.begin + written + size);
        m_received.fetch_add(size, std::memory_order_relaxed);
        report();
        return true;
      };

      http::Response response;
      try {
        response = client.download_range(url, from, last, sink, on_start);
      } catch (const util::Cancelled&) {
        throw;
      } catch (const http::TransportError& error) {
        if (m_stop) {
          return Outcome::stopped;
        }
        if (progressed) {
          retrier.reset();
          resolved = false;
        }
        if (part.complete()) {
          return Outcome::done; // the connection broke after the last byte
        }
        // A server that sent bytes a moment ago is worth asking again even for a failure that
        // would otherwise be final (connection refused while it restarts).
        const bool retryable = error.retryable() || progressed || part.written > 0;
        if (retryable && retrier.next()) {
          continue;
        }
        if (!keeper) {
          return Outcome::retire;
        }
        throw http::tried(
            Error(error.code(), error.summary(), error.why(), error.hint(), m_subject),
            retrier.attempts());
      } catch (const Error&) {
        if (m_stop) {
          return Outcome::stopped; // our own abort, after another thread stopped the download
        }
        throw;
      }
      if (via_resolve) {
        const std::lock_guard lock(m_mutex);
        m_reresolve_next = false;
      }
      if (progressed) {
        retrier.reset();
        resolved = false;
      }
      if (response.status >= 200 && response.status < 300) {
        continue; // a short answer: the loop asks for the rest
      }
      if (response.status == 403 && !via_resolve && !resolved) {
        // The CDN's signed URL expires (hub-protocol.md §3.4 (b)): ask the Hub for a fresh one,
        // once; another 403 right after means this connection is not wanted.
        const std::lock_guard lock(m_mutex);
        if (m_cdn_url == url) {
          m_reresolve_next = true;
        }
        resolved = true;
        continue;
      }
      if (via_resolve) {
        resolved = true;
      }
      // 403, 429 and 503 to an extra connection are how servers and CDNs refuse one client too
      // many connections: it leaves, the others (the caller's at least) carry on.
      const bool turned_away =
          response.status == 403 || response.status == 429 || response.status == 503;
      if (turned_away && !keeper) {
        return Outcome::retire;
      }
      if (http::is_transient_status(response.status)) {
        if (retrier.next(&response.headers)) {
          continue;
        }
        if (!keeper) {
          return Outcome::retire; // retries spent: the caller's connection takes the part
        }
      }
      if (response.status == 416) {
        throw Error(ExitCode::network, "the server refused a range request",
                    "asked for bytes " + std::to_string(from) + "-" + std::to_string(last) +
                        " and got HTTP 416 (Content-Range: " +
                        response.headers.get("content-range").value_or("none") + ")",
                    "Run the command again", m_subject);
      }
      hub::throw_for_status(response, m_subject);
      throw Error(ExitCode::network, "unexpected answer to a download",
                  "HTTP " + std::to_string(response.status), "", m_subject);
    }
  }

  // A 206 must carry exactly the bytes asked for (or fewer, from the same start) of a file of
  // the locked size.
  void check_range(const http::Headers& headers, std::uint64_t from, std::uint64_t last) const {
    const auto header = headers.get("content-range");
    const auto range = http::parse_content_range(header);
    if (range && range->total != m_size) {
      throw Error(ExitCode::integrity, "downloaded file does not match the lockfile",
                  "expected " + std::to_string(m_size) + " bytes, the server has " +
                      std::to_string(range->total),
                  "The file on the Hub differs from the pinned one: check the lockfile, or "
                  "re-lock with `hfmodels lock --update`",
                  m_subject);
    }
    if (!range || range->first != from || range->last > last) {
      throw Error(ExitCode::network, "the server sent the wrong part of the file",
                  "asked for bytes " + std::to_string(from) + "-" + std::to_string(last) +
                      ", got Content-Range: " + header.value_or("(none)"),
                  "Run the command again", m_subject);
    }
  }

  // --- the result ------------------------------------------------------------------------------

  Downloaded check() const {
    Downloaded result;
    result.size = m_hashed;
    result.sha256 = m_sha256;
    const bool sha256_ok = !m_expected.sha256 || *m_expected.sha256 == m_sha256;
    const bool git_ok = !m_expected.git_sha1 || *m_expected.git_sha1 == m_git_sha1;
    if (sha256_ok && git_ok) {
      return result;
    }
    const std::string size = std::to_string(m_size) + " bytes";
    std::string why;
    if (m_expected.sha256 || !m_expected.git_sha1) {
      why = "expected sha256 " + m_expected.sha256.value_or("(any)") + " (" + size + "), got " +
            m_sha256 + " (" + size + ")";
    }
    if (m_expected.git_sha1 && !git_ok) {
      why += std::string(why.empty() ? "" : "; ") + "expected git blob id " + *m_expected.git_sha1 +
             " (" + size + "), got " + m_git_sha1 + " (" + size + ")";
    }
    throw Error(ExitCode::integrity, "downloaded file does not match the lockfile", why,
                "Nothing was added to the cache. The Hub served other bytes than the ones "
                "pinned: if the repo was rewritten, re-lock with `hfmodels lock --update`",
                m_subject);
  }

  http::Client& m_http;
  Connections& m_connections;
  const RangedTuning& m_tuning;
  const std::string& m_url;
  cache::TempBlob& m_temp;
  const Expected& m_expected;
  const std::string& m_subject;
  const ProgressFn& m_progress;
  const std::uint64_t m_size;

  std::vector<Part> m_parts;

  // Guards everything below up to the hasher's results, and orders the condition variables.
  std::mutex m_mutex;
  std::condition_variable m_work_cv;     // parts queued or finished, URL known, stop
  std::condition_variable m_hash_cv;     // the frontier moved, stop
  std::condition_variable m_throttle_cv; // the hash moved, stop
  // The hasher stores m_hashed_to then reads m_throttled; a writer increments m_throttled then
  // reads m_hashed_to: sequentially consistent, so one of them sees the other (no lost wake-up).
  std::atomic<int> m_throttled{0}; // writers waiting in throttle()
  std::atomic<std::uint64_t> m_hashed_to{0};
  std::set<std::size_t> m_pending; // part indices, lowest first
  std::size_t m_in_flight = 0;
  std::size_t m_active = 0;        // connections still taking parts
  std::size_t m_frontier_part = 0; // the first part not complete
  std::string m_cdn_url;           // where the resolve URL led; empty until the first answer
  bool m_reresolve_next = false;   // the CDN refused its URL: the next request asks the Hub again
  std::atomic<bool> m_stop{false};
  bool m_fallback = false;
  std::exception_ptr m_failure;

  std::mutex m_progress_mutex;
  std::atomic<std::uint64_t> m_received{0};

  // The hasher's results, read after it was joined.
  std::uint64_t m_hashed = 0;
  std::string m_sha256;
  std::string m_git_sha1;
};

} // namespace

Connections::Connections(http::ClientOptions options, unsigned budget, RangedTuning tuning)
    : m_options(std::move(options)), m_tuning(tuning), m_available(budget),
      m_parts(std::max(1u, tuning.parts)) {}

Connections::~Connections() = default;

unsigned Connections::parts() const {
  const std::lock_guard lock(m_mutex);
  return m_parts;
}

void Connections::limit_parts(unsigned accepted) {
  const std::lock_guard lock(m_mutex);
  m_parts = std::clamp(accepted, 1u, m_parts);
}

std::vector<std::unique_ptr<http::Client>> Connections::acquire(unsigned wanted) {
  const std::lock_guard lock(m_mutex);
  std::vector<std::unique_ptr<http::Client>> clients;
  const unsigned count = std::min(wanted, m_available);
  while (clients.size() < count) {
    if (!m_idle.empty()) {
      clients.push_back(std::move(m_idle.back()));
      m_idle.pop_back();
    } else {
      clients.push_back(std::make_unique<http::Client>(m_options));
    }
  }
  m_available -= count;
  return clients;
}

void Connections::release(std::unique_ptr<http::Client> client) {
  const std::lock_guard lock(m_mutex);
  m_idle.push_back(std::move(client));
  ++m_available;
}

Downloaded download_ranged(http::Client& http, Connections& connections, const std::string& url,
                           cache::TempBlob& temp, const Expected& expected,
                           const std::string& subject, const ProgressFn& progress) {
  if (!expected.size || *expected.size < connections.tuning().threshold ||
      connections.parts() < 2) {
    return download(http, url, temp, expected, subject, progress);
  }
  return RangedDownload(http, connections, url, temp, expected, subject, progress).run();
}

} // namespace hfmodels::transfer
