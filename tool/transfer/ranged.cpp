// SPDX-License-Identifier: MIT
#include "transfer/ranged.hpp"

#include "hash/sha256.hpp"
#include "hub/client.hpp"
#include "transfer/write_buffer.hpp"
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
#include <list>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <utility>

namespace hfmodels::transfer {

namespace {

// As download(): a body whose hash comes out wrong is fetched once more from the start before
// the mismatch is reported.
constexpr int k_downloads = 2;
// The hasher reads the file in blocks of this size, and the writers wake it whenever a segment
// grows past a multiple of it: often enough that the hash trails the frontier by about a block,
// rarely enough that the wake-ups cost nothing (a thousand per GiB).
constexpr std::size_t k_hash_block = 1u << 20;
// Workers waiting for a segment poll Ctrl-C this often.
constexpr std::chrono::milliseconds k_wait_poll{200};
// The longest a writer waits for the hasher (see throttle()): well under the idle timeout, which
// counts the time a write callback takes.
constexpr std::chrono::milliseconds k_max_throttle{1000};

// A run of the file that one request fetches: [begin, end). `written` bytes from `begin` on are in
// the file; only the worker that owns the segment writes them, the hasher reads them. `end`
// moves down when another connection takes over the segment's second half (see split()).
struct Segment {
  Segment(std::uint64_t first, std::uint64_t last) : begin(first), end(last) {}

  const std::uint64_t begin;
  std::atomic<std::uint64_t> end;
  std::atomic<std::uint64_t> written{0};
  // Under the download's mutex: a worker holds the segment; bytes up to `begin + claimed` are
  // being written, and a split never starts below them.
  bool owned = false;
  std::uint64_t claimed = 0;

  std::uint64_t size() const { return end.load(std::memory_order_acquire) - begin; }
  bool complete() const { return written.load(std::memory_order_acquire) >= size(); }

  // Where another connection could take over: past what the writer may already hold, up to two
  // write blocks beyond its claim. With the download's mutex held.
  std::uint64_t split_from() const { return begin + claimed + 2 * k_write_block; }
  // The bytes from split_from() to the end; 0 when there are none.
  std::uint64_t splittable() const {
    const std::uint64_t from = split_from();
    const std::uint64_t last = end.load();
    return last > from ? last - from : 0;
  }
};

// How a worker's attempt at a segment ended.
enum class Outcome {
  done,    // every byte of the segment is in the file
  retire,  // the server turned this connection away: the segment goes back to the queue
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

    // The caller's connection plus what the budget gives, never more than there are pieces.
    const std::uint64_t piece = std::max<std::uint64_t>(m_tuning.piece_size, 1);
    const auto pieces = std::max<std::uint64_t>((m_size - existing) / piece, 1);
    const auto wanted =
        static_cast<unsigned>(std::min<std::uint64_t>(m_connections.parts(), pieces));
    std::vector<std::unique_ptr<http::Client>> extras =
        m_connections.acquire(wanted > 0 ? wanted - 1 : 0);
    reset(existing, 1 + extras.size());
    report();

    std::thread hasher;
    try {
      hasher = std::thread([this] { hash(); });
      for (auto& client : extras) {
        start_worker(std::move(client));
      }
    } catch (...) {
      fail(std::current_exception()); // no thread: stop the ones started
    }
    work(m_http, true);
    // The caller's loop ends when no segment is left or on a failure; so do the others'. Only
    // the caller starts workers, so none starts after this.
    for (auto& worker : m_workers) {
      worker.join();
    }
    m_workers.clear();
    if (!m_stop && !all_segments_complete()) {
      // Cannot happen (a worker leaves early only by failing), but the hasher would wait for
      // these bytes forever.
      fail(std::make_exception_ptr(Error(ExitCode::failure, "the download stopped early",
                                         "segments are missing", "Run the command again",
                                         m_subject)));
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
  // has segments past its complete prefix, with holes between them. Resumed by its length it
  // would fail the hash and come again whole; cut at its first hole it resumes from about where
  // it stopped. Segments start at multiples of the piece size, so only the block where a
  // segment's writing stopped can hold unwritten zeros before the first hole: that block goes
  // too. (A segment that stopped within its last block leaves no hole: the hash catches that
  // rare case.)
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

  // The missing bytes as `connections` segments of about equal size, each (but the first)
  // starting at a multiple of the piece size.
  void reset(std::uint64_t existing, std::size_t connections) {
    const std::uint64_t piece = std::max<std::uint64_t>(m_tuning.piece_size, 1);
    const std::uint64_t share = (m_size - existing + connections - 1) / connections;
    m_segments.clear();
    for (std::uint64_t begin = existing; begin < m_size;) {
      const std::uint64_t end = std::min(m_size, (begin + share + piece - 1) / piece * piece);
      m_segments.emplace_back(begin, end);
      begin = end;
    }
    m_frontier = m_segments.begin();
    m_in_flight = 0;
    m_active = 1;
    m_cdn_url.clear();
    m_reresolve_next = false;
    m_stop = false;
    m_fallback = false;
    m_failure = nullptr;
    m_received = existing;
    m_hashed = 0;
    m_hashed_to = 0;
    m_sha256_state.emplace();
    m_git_sha1_state.reset();
    if (m_expected.git_sha1) {
      m_git_sha1_state.emplace(m_size);
    }
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

  // The first segment nobody holds, in file order so the complete prefix grows steadily; else the
  // second half of the running segment with the most left to fetch. An extra connection leaves
  // when there is neither (its connection goes back for other files); the caller's waits while
  // segments are in flight elsewhere (one may come back). Nothing once all are done, or on stop.
  Segment* take_segment(bool keeper) {
    std::unique_lock lock(m_mutex);
    for (;;) {
      if (m_stop) {
        return nullptr;
      }
      for (auto it = m_frontier; it != m_segments.end(); ++it) {
        if (!it->owned && !it->complete()) {
          return own(*it);
        }
      }
      if (const auto half = split_locked(); half != m_segments.end()) {
        return own(*half);
      }
      if (!keeper || m_in_flight == 0) {
        return nullptr;
      }
      m_work_cv.wait_for(lock, k_wait_poll);
      util::throw_if_cancelled();
    }
  }

  Segment* own(Segment& segment) {
    segment.owned = true;
    segment.claimed = segment.written.load();
    ++m_in_flight;
    return &segment;
  }

  // Cuts the running segment with the most bytes left in two, at a multiple of the piece size
  // past what its writer may already hold; the new second half is not owned yet. Its writer
  // stops where the half begins. Nothing (end()) when no segment has two pieces left.
  std::list<Segment>::iterator split_locked() {
    const std::uint64_t piece = std::max<std::uint64_t>(m_tuning.piece_size, 1);
    auto best = m_segments.end();
    std::uint64_t best_left = 0;
    for (auto it = m_frontier; it != m_segments.end(); ++it) {
      if (it->owned && it->splittable() > best_left) {
        best = it;
        best_left = it->splittable();
      }
    }
    if (best == m_segments.end() || best_left < 2 * piece) {
      return m_segments.end();
    }
    const std::uint64_t middle = (best->split_from() + best_left / 2 + piece - 1) / piece * piece;
    const std::uint64_t end = best->end.load();
    if (middle >= end) {
      return m_segments.end();
    }
    best->end.store(middle, std::memory_order_release);
    return m_segments.emplace(std::next(best), middle, end);
  }

  void finish_segment(Segment& segment) {
    {
      const std::lock_guard lock(m_mutex);
      segment.owned = false;
      --m_in_flight;
    }
    m_work_cv.notify_all();
  }

  bool all_segments_complete() const {
    return std::all_of(m_segments.begin(), m_segments.end(),
                       [](const Segment& segment) { return segment.complete(); });
  }

  // More connections for this file while the budget has some (another file gave them back) and
  // it has work to split. Called by the caller's connection, between its blocks.
  void recruit() {
    if (m_connections.available() == 0) {
      return;
    }
    unsigned wanted = 0;
    {
      const std::lock_guard lock(m_mutex);
      const unsigned limit = m_connections.parts();
      if (m_stop || m_active >= limit || !has_work_for_another_locked()) {
        return;
      }
      wanted = limit - static_cast<unsigned>(m_active);
    }
    for (auto& client : m_connections.acquire(wanted)) {
      start_worker(std::move(client));
    }
  }

  bool has_work_for_another_locked() {
    const std::uint64_t piece = std::max<std::uint64_t>(m_tuning.piece_size, 1);
    return std::any_of(m_frontier, m_segments.end(), [&](const Segment& segment) {
      return segment.owned ? segment.splittable() >= 2 * piece : !segment.complete();
    });
  }

  // An extra connection's thread. Its client goes back to the budget when it leaves, so that
  // another file can take it at once.
  void start_worker(std::unique_ptr<http::Client> client) {
    {
      const std::lock_guard lock(m_mutex);
      ++m_active;
    }
    http::Client& connection = *client;
    m_workers.emplace_back([this, &connection, owned = std::move(client)]() mutable {
      work(connection, false);
      m_connections.release(std::move(owned));
    });
  }

  // Extra connections wait for the first answer: it names the URL the segments come from.
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
    while (m_frontier != m_segments.end() && m_frontier->complete()) {
      ++m_frontier;
    }
    if (m_frontier == m_segments.end()) {
      return m_size;
    }
    return m_frontier->begin + m_frontier->written.load(std::memory_order_acquire);
  }

  void wake_hasher() {
    // Taking the mutex orders this wake-up after the hasher's check of the frontier, so it
    // cannot be lost between that check and its wait.
    { const std::lock_guard lock(m_mutex); }
    m_hash_cv.notify_one();
  }

  // Holds a writer while the complete prefix is `max_unhashed` ahead of the hash, until the
  // hasher catches up: it is short of CPU (taken by the writers themselves on a fast link), and
  // would otherwise be left with a long hash to do after the last byte. Segments far ahead of
  // the prefix are no reason to wait: the prefix waits for the network there, not the hash.
  // Never for long: a writer must not wait on a prefix that nobody is writing (its segment may
  // be back in the queue), so it goes on after a while regardless.
  void throttle() {
    const std::uint64_t limit = m_tuning.max_unhashed;
    std::unique_lock lock(m_mutex);
    const auto behind = [&] { return frontier_locked() > m_hashed_to.load() + limit; };
    if (!behind()) {
      return;
    }
    ++m_throttled;
    // The hasher may be asleep with bytes to hash (it is woken per MiB).
    m_hash_cv.notify_one();
    const auto deadline = std::chrono::steady_clock::now() + k_max_throttle;
    while (!m_stop && !util::cancelled() && behind() &&
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

  // Hashes the file in order as its complete prefix grows. The writer of the block at the
  // frontier hashes it itself as it writes it (see flush); what arrived ahead of the frontier is
  // read back here once the frontier reaches it. Those pages are still in the page cache, so this
  // is a memory copy, not a disk read, and the hash is done moments after the last byte arrives.
  void hash() {
    try {
      const auto buffer = std::make_unique_for_overwrite<char[]>(k_hash_block);
      for (;;) {
        std::uint64_t target = 0;
        {
          std::unique_lock lock(m_mutex);
          m_hash_cv.wait(lock, [&] {
            return m_stop || m_hashed_to.load() >= m_size || frontier_locked() > m_hashed_to.load();
          });
          if (m_stop) {
            return;
          }
          if (m_hashed_to.load() >= m_size) {
            break;
          }
          target = frontier_locked();
        }
        const std::lock_guard hash_lock(m_hash_mutex);
        for (std::uint64_t hashed = m_hashed_to.load(); hashed < target; hashed = m_hashed_to) {
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
          hash_locked(buffer.get(), got);
        }
      }
      // Read by the caller after join().
      const std::lock_guard hash_lock(m_hash_mutex);
      m_sha256 = m_sha256_state->hex_digest();
      m_git_sha1 = m_git_sha1_state ? m_git_sha1_state->hex_digest() : std::string();
      m_hashed = m_hashed_to.load();
    } catch (...) {
      fail(std::current_exception());
    }
  }

  // Adds the next bytes of the file to the hash. Call with m_hash_mutex held.
  void hash_locked(const char* data, std::size_t size) {
    m_sha256_state->update(data, size);
    if (m_git_sha1_state) {
      m_git_sha1_state->update(data, size);
    }
    m_hashed_to.fetch_add(size);
    if (m_throttled.load() > 0) {
      { const std::lock_guard lock(m_mutex); }
      m_throttle_cv.notify_all();
    }
  }

  // --- the workers -----------------------------------------------------------------------------

  // One connection's loop: takes segments until none is left. The caller's connection (`keeper`)
  // stays to the end; an extra one leaves when the server turns it away.
  void work(http::Client& client, bool keeper) {
    try {
      if (!keeper && !wait_for_url()) {
        return;
      }
      http::Retrier retrier(m_tuning.retry);
      bool resolved = false; // the last request went through the resolve URL, no byte since
      WriteBuffer buffer;
      while (Segment* segment = take_segment(keeper)) {
        const Outcome outcome = fetch(client, *segment, keeper, retrier, resolved, buffer);
        finish_segment(*segment);
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

  // Writes what `buffer` holds at the segment's end, as far as the segment still reaches (a split
  // may have moved its end below what arrived). False when the segment is complete.
  bool flush(Segment& segment, WriteBuffer& buffer) {
    if (buffer.empty()) {
      return !segment.complete();
    }
    std::uint64_t at = 0;
    std::size_t count = 0;
    {
      const std::lock_guard lock(m_mutex);
      const std::uint64_t written = segment.written.load(std::memory_order_relaxed);
      const std::uint64_t left = segment.size() - std::min(segment.size(), written);
      at = segment.begin + written;
      count = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left));
      segment.claimed = written + count;
    }
    if (count > 0) {
      {
        // The kernel serialises writes to one file anyway (ext4 takes the inode's lock), and
        // its writers wait for that lock spinning: 9% of the CPU of 3 GiB over 16 connections
        // went there. Writers that queue here sleep instead.
        const std::lock_guard write_lock(m_write_mutex);
        m_temp.write_at(buffer.data(), count, at);
      }
      // Bytes that continue the hash are hashed here, from the buffer, and need not be read
      // back. Unless the hasher is busy: then it reads them back with the rest.
      bool hashed_to_end = false;
      if (m_hash_mutex.try_lock()) {
        const std::lock_guard hash_lock(m_hash_mutex, std::adopt_lock);
        if (m_hashed_to.load() == at) {
          hash_locked(buffer.data(), count);
          hashed_to_end = at + count == m_size;
        }
      }
      segment.written.fetch_add(count, std::memory_order_acq_rel);
      m_received.fetch_add(count, std::memory_order_relaxed);
      if (((at - segment.begin) >> 20) != ((at + count - segment.begin) >> 20) ||
          segment.complete() || hashed_to_end) {
        wake_hasher();
      }
    }
    buffer.clear();
    return !segment.complete();
  }

  Outcome fetch(http::Client& client, Segment& segment, bool keeper, http::Retrier& retrier,
                bool& resolved, WriteBuffer& buffer) {
    for (;;) {
      if (m_stop) {
        return Outcome::stopped;
      }
      if (segment.complete()) {
        return Outcome::done;
      }
      const std::uint64_t from = segment.begin + segment.written.load(std::memory_order_relaxed);
      const std::uint64_t last = segment.end.load(std::memory_order_acquire) - 1;
      // Through the resolve URL (the Hub, with the token where it belongs) for the first request
      // and after the CDN's signed URL was refused; straight to the CDN otherwise.
      std::string url;
      {
        const std::lock_guard lock(m_mutex);
        url = m_cdn_url.empty() || m_reresolve_next ? m_url : m_cdn_url;
      }
      const bool via_resolve = url == m_url;
      bool progressed = false;
      std::uint64_t position = from; // of the next byte to arrive

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
        if (position + size > last + 1) {
          throw Error(ExitCode::network, "the server sent more than the range asked for",
                      "bytes " + std::to_string(from) + "-" + std::to_string(last) + " of " +
                          http::redact_url(client.in_flight_url()),
                      "Run the command again", m_subject);
        }
        const bool due = buffer.add(data, size);
        position += size;
        progressed = true;
        if (!due && position < segment.end.load(std::memory_order_relaxed)) {
          return true;
        }
        if (!flush(segment, buffer)) {
          // Complete: at the end of the answer, or where a split moved the segment's end (the
          // rest of this answer belongs to another connection's segment).
          return position == last + 1;
        }
        throttle();
        if (keeper) {
          recruit();
        }
        report();
        return true;
      };

      http::Response response;
      try {
        response = client.download_range(url, from, last, sink, on_start);
        flush(segment, buffer);
      } catch (const util::Cancelled&) {
        throw;
      } catch (const http::TransportError& error) {
        if (m_stop) {
          return Outcome::stopped;
        }
        flush(segment, buffer); // the bytes before the break are good
        if (progressed) {
          retrier.reset();
          resolved = false;
        }
        if (segment.complete()) {
          return Outcome::done; // the connection broke after the last byte
        }
        // A server that sent bytes a moment ago is worth asking again even for a failure that
        // would otherwise be final (connection refused while it restarts).
        const bool retryable = error.retryable() || progressed || segment.written > 0;
        if (retryable && retrier.next()) {
          continue;
        }
        if (!keeper) {
          return Outcome::retire;
        }
        throw http::tried(error.with_subject(m_subject), retrier.attempts());
      } catch (const Error&) {
        if (m_stop) {
          return Outcome::stopped; // our own abort, after another thread stopped the download
        }
        buffer.clear();
        if (segment.complete()) {
          return Outcome::done; // the answer was cut where a split moved the segment's end
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
        // The CDN's signed URL expires (docs/hub-protocol.md §3.4 (b)): ask the Hub for a fresh
        // one, once; another 403 right after means this connection is not wanted.
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
          return Outcome::retire; // retries spent: the caller's connection takes the segment
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

  // The extra connections' threads; only the caller's thread starts and joins them.
  std::vector<std::thread> m_workers;

  // Guards everything below up to the hasher's results (and the segments' owned and claimed),
  // and orders the condition variables.
  std::mutex m_mutex;
  std::condition_variable m_work_cv;     // segments finished or split, URL known, stop
  std::condition_variable m_hash_cv;     // the frontier moved, stop
  std::condition_variable m_throttle_cv; // the hash moved, stop
  // Whoever hashes stores m_hashed_to, then reads m_throttled and, if a writer waits, takes the
  // mutex before it notifies; a writer checks m_hashed_to with the mutex held: no lost wake-up.
  std::atomic<int> m_throttled{0}; // writers waiting in throttle()
  std::atomic<std::uint64_t> m_hashed_to{0};
  std::list<Segment> m_segments;           // in file order; a list, as split() inserts
  std::list<Segment>::iterator m_frontier; // the first segment not complete
  std::size_t m_in_flight = 0;             // segments owned by a worker
  std::size_t m_active = 0;                // connections still taking segments
  std::string m_cdn_url;         // where the resolve URL led; empty until the first answer
  bool m_reresolve_next = false; // the CDN refused its URL: the next request asks the Hub again
  std::atomic<bool> m_stop{false};
  bool m_fallback = false;
  std::exception_ptr m_failure;

  std::mutex m_write_mutex; // one write() to the file at a time (see flush)
  std::mutex m_progress_mutex;
  std::atomic<std::uint64_t> m_received{0};

  // The hash of the first m_hashed_to bytes: the hasher's, or a writer's whose block continues
  // it. m_hashed_to changes only with m_hash_mutex held.
  std::mutex m_hash_mutex;
  std::optional<hash::Sha256> m_sha256_state;
  std::optional<hash::GitBlobSha1> m_git_sha1_state;

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

unsigned Connections::available() const {
  const std::lock_guard lock(m_mutex);
  return m_available;
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
