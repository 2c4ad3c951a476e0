// SPDX-License-Identifier: MIT
#include "transfer/engine.hpp"

#include "http/handle.hpp"
#include "hub/client.hpp"
#include "transfer/hasher.hpp"
#include "transfer/partial.hpp"
#include "transfer/plan.hpp"
#include "transfer/rate.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hfmodels::transfer {

namespace {

using Clock = std::chrono::steady_clock;

// Bytes go to the file in writes of this size: a write of 16 KiB (what libcurl hands over at a
// time) costs about twice the CPU per byte of one of 64-256 KiB (bench/ANALYSIS.md).
constexpr std::size_t k_write_size = 256u << 10;
// A slow download's bytes are written after at most this long instead, so that what a killed
// run leaves is about what had arrived.
constexpr std::chrono::milliseconds k_max_buffer_age{250};
constexpr std::chrono::milliseconds k_event_interval{100};
// The loop wakes at least this often (buffers to write, retries due, events), and a stop
// request wakes it at once.
constexpr std::chrono::milliseconds k_poll{100};
// A file whose lock another process holds is asked again after this long (Python's filelock
// polls every 50 ms too).
constexpr std::chrono::milliseconds k_start_again{50};
// A body whose hash comes out wrong is downloaded once more from the start before the mismatch
// is reported: a proxy or a flaky link that flipped a byte should not fail the build, while a
// file that really differs from the lock costs one extra download.
constexpr int k_downloads = 2;
// docs/hub-and-cache.md §3.2.
constexpr int k_max_redirects = 10;
constexpr std::size_t k_max_error_body = 64u << 10;
// A request of a segmented file lasts about this long at its connection's speed (between one
// and sixteen pieces): long enough for its round trip not to matter, short enough that a
// connection that comes free finds work to take over.
constexpr double k_request_seconds = 2.0;
// Bytes that arrived this recently say the server is there (a refused connection is then worth
// another try).
constexpr std::chrono::seconds k_reachable{10};
// Files this large are hashed on a thread of their own (transfer/hasher.hpp), so that hashing
// several large files spreads over the cores instead of sharing the loop's.
constexpr std::uint64_t k_hash_on_own_thread_from = 16u << 20;

// The server answered a Range request with the whole file (200): it ignores Range.
struct RangeIgnored {};

struct File;
class Engine;

struct Connection {
  Connection(Engine& owner, const http::ClientOptions& options, std::uint32_t number)
      : engine(owner), handle(options), id(number) {}

  Engine& engine;
  http::Handle handle;
  const std::uint32_t id; // in the file's SegmentPlan
  File* file = nullptr;   // the file it works for; null when free
  std::size_t source = 0; // of the file's sources, the one its request goes to
  bool busy = false;      // a request of it is in the multi handle
  std::optional<Clock::time_point> retry_at;
  // Its retries for the file it works for: each connection has its own, so that a blip that
  // breaks all of a file's connections at once costs each one try, not the file five.
  http::RetryBudget budget;
  RateMeter rate; // of this connection, for the size of its requests

  // The request in flight.
  ByteRange range;
  bool ranged = false;     // with a Range header; else a plain GET of the whole file
  std::string url;         // of the hop in flight
  bool via_resolve = true; // started at the Hub's resolve URL, not at a CDN URL it led to
  int hops = 0;
  http::Headers headers;
  long status = 0;        // of the final response, once its headers are in
  bool accepting = false; // its body is the file's bytes
  std::string error_body;
  std::exception_ptr failure; // thrown in a callback
  std::uint64_t position = 0; // file offset of the next byte to arrive
  std::vector<char> buffer;   // arrived, not written yet
  std::uint64_t buffer_at = 0;
  Clock::time_point buffer_since;
  BlockChecksummer checksums;
};

// Wakes the loop when a thread of the engine ends its work, so that it notices without polling.
struct WakeLoop {
  CURLM* multi;
  ~WakeLoop() { curl_multi_wakeup(multi); }
};

// One thread for the filesystem work of starting and finishing files (a lock, a temporary, a
// rename, a link: about a millisecond a file on a slow disk), so that the loop's transfers do
// not wait for it (bench/ANALYSIS.md). One, not one per file: a thread costs about as much to
// start as the work it would do. Jobs run in the order given; those given before destruction
// all run.
class FilesystemWorker {
public:
  FilesystemWorker() : m_thread([this] { run(); }) {}
  ~FilesystemWorker() {
    {
      const std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_more.notify_one();
    m_thread.join();
  }
  FilesystemWorker(const FilesystemWorker&) = delete;
  FilesystemWorker& operator=(const FilesystemWorker&) = delete;

  template<typename Job>
  auto post(Job job) -> std::future<decltype(job())> {
    auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
    auto future = task->get_future();
    {
      const std::lock_guard lock(m_mutex);
      m_jobs.emplace_back([task] { (*task)(); });
    }
    m_more.notify_one();
    return future;
  }

private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(m_mutex);
        m_more.wait(lock, [&] { return m_stop || !m_jobs.empty(); });
        if (m_jobs.empty()) {
          return;
        }
        job = std::move(m_jobs.front());
        m_jobs.pop_front();
      }
      job();
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_more;
  std::deque<std::function<void()>> m_jobs;
  bool m_stop = false;
  std::thread m_thread; // last: it starts once the rest is ready
};

// What starting a file found: whether to go on, and whether its temporary holds bytes of an
// earlier run to check.
struct Started {
  FileTask::Start start = FileTask::Start::now;
  bool check = false;
};

struct File {
  FileTask* task = nullptr;
  std::size_t index = 0;
  const FileSpec* spec = nullptr;
  // starting: its lock and temporary being taken, and finishing: its checked bytes being put in
  // place (FileTask::finish), both on the FilesystemWorker; loading: what an earlier run left
  // in its temporary being checked, on a thread of its own.
  enum class State {
    queued,
    starting,
    loading,
    running,
    hashing,
    finishing,
    done
  } state = State::queued;
  Clock::time_point not_before;
  cache::TempBlob* temp = nullptr;
  std::optional<SegmentPlan> plan;
  std::unique_ptr<ResumeRecord> record;
  std::future<Started> starting;
  std::future<std::vector<ByteRange>> loading; // the bytes of the partial to keep
  std::future<void> finishing;
  std::unique_ptr<FileHasher> hasher;
  std::vector<Connection*> connections;
  unsigned limit = 1;         // connections it may use (lowered when a server objects)
  bool single_stream = false; // the server ignores Range: one plain GET from the start
  std::size_t source = 0;     // of FileSpec::sources, the one asked now
  std::vector<std::uint64_t> received_from; // bytes each source sent in this run that the file kept
  std::string cdn_url;                      // where the source's URL led
  bool reresolved = false; // the CDN refused its URL once and the Hub was asked again
  int downloads = 1;
  std::uint64_t resumed = 0;  // bytes it had when it started
  std::uint64_t received = 0; // bytes that arrived in this run
  RateMeter rate;
  Clock::time_point last_event;
  Clock::time_point last_bytes;
};

class Engine {
public:
  Engine(const std::vector<FileTask*>& tasks, const EngineOptions& options, Events& events,
         std::stop_token stop)
      : m_options(options), m_events(events), m_stop(std::move(stop)) {
    static_cast<void>(http::global_init());
    m_multi = curl_multi_init();
    if (m_multi == nullptr) {
      throw Error(ErrorKind::failure, "cannot initialise libcurl");
    }
    m_files.resize(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      File& file = m_files[i];
      file.task = tasks[i];
      file.index = i;
      file.spec = &tasks[i]->spec();
      if (file.spec->sources.empty()) {
        throw Error(ErrorKind::failure, "no source to download from", "", "", file.spec->subject);
      }
      file.received_from.assign(file.spec->sources.size(), 0);
      m_bytes_total = util::add_sizes(m_bytes_total, file.spec->size);
    }
  }

  ~Engine() {
    // The threads first (loaders, hashers): they wake the multi handle when they finish.
    for (File& file : m_files) {
      wait_for_loading(file);
      if (file.finishing.valid()) {
        file.finishing.wait();
      }
      file.hasher.reset();
    }
    for (auto& connection : m_pool) {
      if (connection->busy) {
        curl_multi_remove_handle(m_multi, connection->handle.get());
      }
    }
    m_pool.clear();
    curl_multi_cleanup(m_multi);
  }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void run() {
    // A stop request wakes the loop at once, wherever it waits.
    const std::stop_callback wake_on_stop(m_stop, [this] { curl_multi_wakeup(m_multi); });
    for (;;) {
      if (m_stop.stop_requested()) {
        stop_everything();
        throw util::Cancelled();
      }
      // What ended first, then what can start now that it has: a file's end frees a connection
      // and a place for the next file, in the same turn.
      int running = 0;
      curl_multi_perform(m_multi, &running);
      finish_requests();
      write_old_buffers(Clock::now());
      check_hashes();
      const auto now = Clock::now();
      start_files(now);
      started();
      loaded();
      finished();
      tend_files();
      send_requests(now);
      save_records();
      report(false);
      if (all_done()) {
        break;
      }
      int ignored = 0;
      curl_multi_poll(m_multi, nullptr, 0, poll_timeout(), &ignored);
    }
    report(true);
  }

private:
  bool all_done() const {
    return std::all_of(m_files.begin(), m_files.end(),
                       [](const File& file) { return file.state == File::State::done; });
  }

  // Milliseconds until the loop has something to do that no socket announces: a retry or a
  // file's start falling due, a hash to check, within k_poll (buffers, records and events wait
  // that long). A request just added is libcurl's to start: curl_multi_poll returns at once for
  // it; threads that finish (loaders, hashers) wake it.
  int poll_timeout() const {
    const auto now = Clock::now();
    auto due = now + k_poll;
    for (const auto& connection : m_pool) {
      if (connection->file != nullptr && !connection->busy && connection->retry_at) {
        due = std::min(due, *connection->retry_at);
      }
    }
    for (const File& file : m_files) {
      if (file.state == File::State::queued && file.not_before > now) {
        due = std::min(due, file.not_before); // to be asked again (Start::later)
      }
      if (file.state == File::State::hashing && file.hasher->done()) {
        return 0; // hashed since check_hashes() looked
      }
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - now);
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(wait.count(), 0));
  }

  // --- files -------------------------------------------------------------------------------

  bool connection_available() const {
    return !m_free.empty() || m_pool.size() < std::max(m_options.connections, 1u);
  }

  Connection* take_connection(File& file) {
    Connection* connection = nullptr;
    if (!m_free.empty()) {
      connection = m_free.back();
      m_free.pop_back();
    } else {
      m_pool.push_back(std::make_unique<Connection>(*this, m_options.client,
                                                    static_cast<std::uint32_t>(m_pool.size())));
      connection = m_pool.back().get();
    }
    connection->file = &file;
    connection->retry_at.reset();
    connection->budget = http::RetryBudget(m_options.retry);
    connection->rate = RateMeter{};
    file.connections.push_back(connection);
    return connection;
  }

  // The connection, idle, leaves its file (whose plan forgets it) and waits for another.
  void free_connection(Connection& connection) {
    // A busy one's transfer would end later, for no file: detach() it instead.
    assert(!connection.busy);
    File& file = *connection.file;
    if (file.plan) {
      file.plan->release(connection.id);
    }
    std::erase(file.connections, &connection);
    connection.file = nullptr;
    connection.retry_at.reset();
    m_free.push_back(&connection);
  }

  // The connection leaves its file even with a request in flight: libcurl drops the transfer
  // (and its message, should it have ended in this round), the bytes that arrived are written
  // and the plan gets back the rest of its range.
  void detach(Connection& connection) {
    if (connection.busy) {
      curl_multi_remove_handle(m_multi, connection.handle.get());
      connection.busy = false;
      try {
        write_buffer(connection);
      } catch (...) {
        // The error that ends the file says why; these bytes are just not kept.
      }
      close_request(connection);
    }
    connection.buffer.clear();
    connection.checksums.close();
    free_connection(connection);
  }

  std::size_t running_files() const {
    return static_cast<std::size_t>(
        std::count_if(m_files.begin(), m_files.end(), [](const File& f) {
          return f.state == File::State::starting || f.state == File::State::loading ||
                 f.state == File::State::running || f.state == File::State::hashing;
        }));
  }

  void start_files(Clock::time_point now) {
    for (File& file : m_files) {
      if (file.state != File::State::queued || file.not_before > now) {
        continue;
      }
      if (running_files() >= std::max(m_options.files_at_once, 1u) || !connection_available()) {
        return;
      }
      begin(file);
    }
  }

  // Starting a file takes its lock, claims or creates its temporary and checks what a partial
  // download holds: filesystem work of about a millisecond a file on a slow disk (more for a
  // large partial, which is read back), which every other transfer would wait for on the loop
  // (bench/ANALYSIS.md). So it runs on a thread of its own; loaded() takes the outcome.
  void begin(File& file) {
    file.state = File::State::starting;
    file.starting = m_worker.post([this, &file] {
      const WakeLoop wake{m_multi};
      Started started;
      started.start = file.task->start();
      if (started.start == FileTask::Start::now) {
        file.temp = &file.task->temporary();
        file.record = std::make_unique<ResumeRecord>(*file.temp, file.spec->size);
        started.check = file.temp->size() != 0;
      }
      return started;
    });
  }

  // Files whose start has been made go on; those with bytes of an earlier run have them checked
  // first.
  void started() {
    const auto now = Clock::now();
    for (File& file : m_files) {
      if (file.state != File::State::starting ||
          file.starting.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        continue;
      }
      try {
        const Started started = file.starting.get();
        switch (started.start) {
        case FileTask::Start::later: // another process holds its lock
          file.state = File::State::queued;
          file.not_before = now + k_start_again;
          break;
        case FileTask::Start::not_needed: {
          const Downloaded nothing;
          file.state = File::State::done;
          file.task->finish(&nothing, nullptr, true);
          break;
        }
        case FileTask::Start::now:
          if (started.check) {
            load(file);
          } else {
            run_file(file, file.record->load()); // nothing to check
          }
          break;
        }
      } catch (const Error& error) {
        fail(file, error);
      }
    }
  }

  // Checking what a partial download holds reads it back, which takes a while for a large one:
  // the loop moves the other files meanwhile, and the worker starts and finishes them.
  void load(File& file) {
    file.state = File::State::loading;
    file.loading = std::async(std::launch::async, [this, &file] {
      const WakeLoop wake{m_multi};
      return file.record->load(m_stop);
    });
  }

  // Files whose partial download has been checked start.
  void loaded() {
    for (File& file : m_files) {
      if (file.state != File::State::loading ||
          file.loading.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        continue;
      }
      try {
        run_file(file, file.loading.get());
      } catch (const Error& error) {
        fail(file, error);
      }
    }
  }

  // Files put in place end.
  void finished() {
    for (File& file : m_files) {
      if (file.state == File::State::finishing &&
          file.finishing.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        end_finishing(file);
      }
    }
  }

  void end_finishing(File& file) {
    file.finishing.get(); // FileTask::finish reports its own failures
    file.state = File::State::done;
    m_events.finished(file.index, true);
    ++m_files_done;
  }

  // Waits for the start or check of `file` (a stop ends a check at once).
  static void wait_for_loading(File& file) {
    if (file.starting.valid()) {
      file.starting.wait();
    }
    if (file.loading.valid()) {
      file.loading.wait();
    }
  }

  // The file starts with the bytes `done` it has: connections come in tend_files().
  void run_file(File& file, const std::vector<ByteRange>& done) {
    file.plan.emplace(file.spec->size, done, m_options.piece);
    file.resumed = file.plan->done_bytes();
    file.limit = std::max(m_options.connections_per_file, 1u);
    new_hasher(file);
    file.state = File::State::running;
    file.last_bytes = Clock::now();
    m_events.started(file.index, file.resumed);
    skip_unreachable_sources(file);
  }

  void new_hasher(File& file) {
    const auto hashing = file.spec->size >= k_hash_on_own_thread_from
                             ? FileHasher::Hashing::own_thread
                             : FileHasher::Hashing::in_order_on_caller;
    file.hasher =
        std::make_unique<FileHasher>(*file.temp, file.spec->size, file.spec->git_sha1.has_value(),
                                     hashing, [this] { curl_multi_wakeup(m_multi); });
    file.hasher->reached(file.plan->prefix());
  }

  bool segmented(const File& file) const {
    return !file.single_stream && file.spec->size >= m_options.segmented_from;
  }

  // A running file without a connection gets one (it has just started, or started over), or is
  // hashed when its bytes are all in however its last request ended. Then connections that no
  // file is starting with go to the large files still running, shared out evenly, up to each
  // one's limit, while they have bytes to hand over. Evenly: the first file to hear from its
  // server would otherwise take every connection while the others crawl on one each, and the
  // run would end with one file alone on one core.
  void tend_files() {
    for (File& file : m_files) {
      if (file.state != File::State::running || !file.connections.empty()) {
        continue;
      }
      if (file.plan->complete()) {
        hash_then_finish(file);
      } else if (connection_available()) {
        take_connection(file);
      }
    }
    const auto sharing = static_cast<unsigned>(
        std::count_if(m_files.begin(), m_files.end(), [this](const File& file) {
          return file.state == File::State::running && segmented(file);
        }));
    const unsigned share =
        sharing == 0 ? 1 : (std::max(m_options.connections, 1u) + sharing - 1) / sharing;
    for (File& file : m_files) {
      if (file.state != File::State::running || !segmented(file)) {
        continue;
      }
      if (file.cdn_url.empty()) {
        continue; // until the first answer says where the file is served from
      }
      const unsigned limit =
          std::min({file.limit, std::max(m_options.connections_per_file, 1u), share});
      while (file.connections.size() < limit && file.plan->can_take() && connection_available() &&
             !new_file_waiting()) {
        Connection* connection = take_connection(file);
        if (!file.plan->take(connection->id, segment_size(file, *connection, Clock::now()))) {
          free_connection(*connection);
          break;
        }
      }
    }
  }

  // A file could start now but for a connection (not one waiting for another process's lock).
  bool new_file_waiting() const {
    if (running_files() >= std::max(m_options.files_at_once, 1u)) {
      return false;
    }
    const auto now = Clock::now();
    return std::any_of(m_files.begin(), m_files.end(), [now](const File& file) {
      return file.state == File::State::queued && file.not_before <= now;
    });
  }

  // --- requests ----------------------------------------------------------------------------

  std::uint64_t request_size(const File& file, const Connection& connection,
                             Clock::time_point now) const {
    if (!segmented(file)) {
      return file.spec->size; // one request for what is missing
    }
    const double rate = connection.rate.rate(now);
    const std::uint64_t piece = std::max<std::uint64_t>(m_options.piece, 1);
    const auto wanted = rate > 0 ? static_cast<std::uint64_t>(rate * k_request_seconds) : 2 * piece;
    return std::clamp<std::uint64_t>((wanted + piece - 1) / piece * piece, piece, 16 * piece);
  }

  // How much of the bytes nobody owns a connection of a segmented file takes as its segment: a
  // request's worth, but no more than a quarter of what is missing per connection of the file.
  // So a file's connections work side by side near its front instead of spread over it, and its
  // complete prefix, which the hash follows, moves at the file's speed rather than at one
  // connection's: the hash keeps up with the download instead of starting at its end.
  std::uint64_t segment_size(const File& file, const Connection& connection,
                             Clock::time_point now) const {
    const std::uint64_t wanted = request_size(file, connection, now);
    if (!segmented(file)) {
      return wanted;
    }
    const std::uint64_t piece = std::max<std::uint64_t>(m_options.piece, 1);
    const std::uint64_t missing = file.spec->size - file.plan->done_bytes();
    const std::uint64_t share = missing / (4 * std::max<std::size_t>(file.connections.size(), 1));
    return std::clamp<std::uint64_t>((share + piece - 1) / piece * piece, piece, wanted);
  }

  void send_requests(Clock::time_point now) {
    for (File& file : m_files) {
      if (file.state != File::State::running) {
        continue;
      }
      // A copy: free_connection() changes the list.
      const std::vector<Connection*> connections = file.connections;
      for (Connection* connection : connections) {
        if (connection->busy || (connection->retry_at && *connection->retry_at > now)) {
          continue;
        }
        connection->retry_at.reset();
        const std::uint64_t size = request_size(file, *connection, now);
        auto range = file.plan->next_request(connection->id, size);
        if (!range && file.plan->take(connection->id, segment_size(file, *connection, now))) {
          range = file.plan->next_request(connection->id, size);
        }
        if (!range) {
          free_connection(*connection); // nothing left to fetch for it
          continue;
        }
        try {
          send(*connection, *range);
        } catch (const Error& error) {
          fail(file, error);
          break;
        }
      }
    }
  }

  void send(Connection& connection, const ByteRange& range) {
    File& file = *connection.file;
    connection.range = range;
    // A plain GET when the whole file is wanted from its start: it works with any server.
    connection.ranged = range.begin != 0 || range.end != file.spec->size;
    connection.via_resolve = file.cdn_url.empty();
    connection.source = file.source;
    connection.url = connection.via_resolve ? current_source(file).url : file.cdn_url;
    connection.hops = 0;
    connection.position = range.begin;
    connection.buffer_at = range.begin;
    connection.buffer.clear();
    add_request(connection);
  }

  void add_request(Connection& connection) {
    connection.headers.clear();
    connection.status = 0;
    connection.accepting = false;
    connection.error_body.clear();
    connection.failure = nullptr;
    std::optional<http::ByteRangeRequest> range;
    if (connection.ranged) {
      range = http::ByteRangeRequest{connection.range.begin, connection.range.end - 1};
    }
    CURL* handle = connection.handle.get();
    // Every attempt starts at the resolve URL or the URL it led to; the signed CDN URL expires
    // (docs/hub-and-cache.md §3.4 (b)), and a 403 from it sends the file back to the Hub.
    const auto& access = connection.file->spec->sources[connection.source].access;
    connection.handle.prepare(connection.url, range, /*compressed=*/false,
                              access ? &*access : nullptr);
    // A segmented file's connections are TCP connections of their own (HTTP/1.1, kept alive):
    // a CDN caps the speed of each, and HTTP/2 would carry every segment in one. Other files may
    // share one (HTTP/2 where TLS offers it, libcurl's default).
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION,
                     static_cast<long>(segmented(*connection.file) ? CURL_HTTP_VERSION_1_1
                                                                   : CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Engine::on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &connection);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Engine::on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &connection);
    curl_easy_setopt(handle, CURLOPT_PRIVATE, &connection);
    if (curl_multi_add_handle(m_multi, handle) != CURLM_OK) {
      throw Error(ErrorKind::failure, "cannot start a transfer", "curl_multi_add_handle failed");
    }
    connection.busy = true;
  }

  // --- callbacks (inside curl_multi_perform) ------------------------------------------------

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    const std::size_t length = size * count;
    try {
      const std::string_view line(data, length);
      http::add_header_line(connection.headers, line);
      if (!util::trim(line).empty() || line.starts_with("HTTP/")) {
        return length;
      }
      // The end of a response's headers: decide what its body is.
      const long status = connection.handle.status();
      if (status < 200) {
        return length; // an interim 1xx
      }
      connection.status = status;
      if (status >= 300) {
        return length; // a redirect or an error: its body is not the file's
      }
      if (connection.ranged && status == 200 && connection.file->connections.size() == 1) {
        // The server ignores Range and sends the whole file: it is taken from its first byte,
        // never appended to what the file had (docs/hub-and-cache.md §3.6, pitfall 3 of §9).
        connection.engine.start_over_with(connection);
      } else {
        check_response(connection);
      }
      connection.accepting = true;
      File& file = *connection.file;
      if (connection.via_resolve) {
        // The file's other requests go straight to where the resolve URL led (a signed CDN URL,
        // or the resolve URL itself on a server that does not redirect): one request to the
        // Hub per file, not one per segment. Extra connections wait for it.
        file.cdn_url = connection.url;
        file.reresolved = false;
      }
      return length;
    } catch (...) {
      connection.failure = std::current_exception();
      return 0;
    }
  }

  static Error wrong_size(const FileSpec& spec, const std::string& has) {
    return Error(ErrorKind::integrity, "downloaded file does not match the pinned one",
                 "expected " + std::to_string(spec.size) + " bytes, " + has, "", spec.subject)
        .with_cause("integrity:size");
  }

  // A 2xx must carry the bytes asked for, of a file of the locked size.
  static void check_response(const Connection& connection) {
    const File& file = *connection.file;
    const FileSpec& spec = *file.spec;
    if (!connection.ranged) {
      if (connection.status != 200) {
        throw Error(ErrorKind::network, "unexpected answer to a download",
                    "HTTP " + std::to_string(connection.status) + " to a request without Range", "",
                    spec.subject);
      }
      // A body sent as it is stored, announced shorter than the file, is another file (a
      // mirror's object cut short): known before a byte of it is taken. (A longer one fails at
      // its first byte too many; bytes all in before a reset are for the hash to judge.)
      const auto announced = http::content_length(connection.headers);
      if (announced && *announced < spec.size && !connection.headers.get("content-encoding")) {
        throw wrong_size(spec, "the server has " + std::to_string(*announced));
      }
      return;
    }
    if (connection.status == 200) {
      throw RangeIgnored{};
    }
    const auto header = connection.headers.get("content-range");
    const auto range = http::parse_content_range(header);
    if (connection.status == 206 && range && range->total != spec.size) {
      throw wrong_size(spec, "the server has " + std::to_string(range->total));
    }
    if (connection.status != 206 || !range || range->first != connection.range.begin ||
        range->last >= connection.range.end) {
      throw Error(ErrorKind::network, "the server sent the wrong part of the file",
                  "asked for bytes " + std::to_string(connection.range.begin) + "-" +
                      std::to_string(connection.range.end - 1) + ", got HTTP " +
                      std::to_string(connection.status) +
                      " with Content-Range: " + header.value_or("(none)"),
                  "", spec.subject)
          .with_cause("download:wrong-range");
    }
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    const std::size_t length = size * count;
    try {
      if (!connection.accepting && connection.status == 0 && is_local(connection)) {
        connection.engine.local_body_starts(connection);
      }
      if (!connection.accepting) {
        if (connection.status >= 400) {
          // Kept for the error message only.
          connection.error_body.append(
              data, std::min(length, k_max_error_body -
                                         std::min(k_max_error_body, connection.error_body.size())));
        }
        return length;
      }
      const FileSpec& spec = *connection.file->spec;
      if (connection.position + length > connection.range.end) {
        if (!connection.ranged) {
          throw Error(ErrorKind::integrity, "downloaded file does not match the pinned one",
                      "expected " + std::to_string(spec.size) + " bytes, the server sent more", "",
                      spec.subject)
              .with_cause("integrity:size");
        }
        throw Error(ErrorKind::network, "the server sent more than the range asked for",
                    "bytes " + std::to_string(connection.range.begin) + "-" +
                        std::to_string(connection.range.end - 1),
                    "", spec.subject)
            .with_cause("download:wrong-range");
      }
      if (connection.buffer.empty()) {
        connection.buffer.reserve(k_write_size + (16u << 10));
        connection.buffer_at = connection.position;
        connection.buffer_since = Clock::now();
      }
      connection.buffer.insert(connection.buffer.end(), data, data + length);
      connection.position += length;
      if (connection.buffer.size() >= k_write_size) {
        write_buffer(connection);
      }
      return length;
    } catch (...) {
      connection.failure = std::current_exception();
      return 0;
    }
  }

  // Writes what arrived into the file, and tells the plan, the record, the hasher and the
  // meters. Throws on a failed write (a full disk).
  static void write_buffer(Connection& connection) {
    if (connection.buffer.empty()) {
      return;
    }
    File& file = *connection.file;
    const char* data = connection.buffer.data();
    const std::size_t size = connection.buffer.size();
    const std::uint64_t at = connection.buffer_at;
    file.temp->write_at(data, size, at);
    file.plan->written(connection.id, size);
    for (const Block& block : connection.checksums.add(at, data, size)) {
      file.record->add(block);
    }
    file.hasher->written(at, data, size, file.plan->prefix());
    const auto now = Clock::now();
    file.received += size;
    file.received_from[connection.source] += size;
    file.rate.add(size, now);
    connection.rate.add(size, now);
    file.last_bytes = now;
    connection.buffer_at += size;
    connection.buffer.clear();
  }

  // --- requests that ended ------------------------------------------------------------------

  void finish_requests() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(m_multi, &left)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      Connection* connection = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &connection);
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(m_multi, message->easy_handle);
      connection->busy = false;
      File& file = *connection->file;
      try {
        request_ended(*connection, code);
      } catch (const Error& error) {
        source_failed(file, error);
      }
    }
  }

  // Closes the checksummed block a request was writing, and the request in the plan: what it
  // did not get is asked again by the next request of its segment.
  static void close_request(Connection& connection) {
    File& file = *connection.file;
    if (auto block = connection.checksums.close()) {
      file.record->add(*block);
    }
    file.plan->request_ended(connection.id);
  }

  void request_ended(Connection& connection, CURLcode code) {
    File& file = *connection.file;
    std::exception_ptr failure = connection.failure;
    try {
      write_buffer(connection); // the bytes before a break are good
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      close_request(connection);
      try {
        std::rethrow_exception(failure);
      } catch (const RangeIgnored&) {
        restart(file, /*single_stream=*/true);
        return;
      }
    }
    const long status = connection.status != 0 ? connection.status : connection.handle.status();
    const auto location = connection.headers.get("location");
    if (code == CURLE_OK && http::is_redirect(status) && location && !location->empty()) {
      // The same request again, at the URL the redirect names: the plan still holds its range.
      if (++connection.hops > k_max_redirects) {
        close_request(connection);
        throw Error(ErrorKind::network, "too many redirects",
                    "more than " + std::to_string(k_max_redirects) + " from " +
                        http::redact_url(current_source(file).url),
                    "", file.spec->subject);
      }
      connection.url = http::resolve_location(connection.url, *location);
      connection.position = connection.range.begin;
      connection.buffer_at = connection.position;
      add_request(connection);
      return;
    }
    close_request(connection);
    if (file.plan->complete()) {
      // Every byte is in, however this last request ended (a reset after its last byte): the
      // hash decides.
      hash_then_finish(file);
      return;
    }
    const bool success = code == CURLE_OK && status >= 200 && status < 300;
    if (success && connection.position == connection.range.end) {
      return;
    }
    // A short answer counts as a try like a broken one: the rest is asked for again.
    on_failed_attempt(connection, success ? CURLE_PARTIAL_FILE : code, status);
  }

  void on_failed_attempt(Connection& connection, CURLcode code, long status) {
    File& file = *connection.file;
    const auto now = Clock::now();
    if (current_source(file).access) {
      // A mirror: an object it does not have (S3 says 403 AccessDenied instead of 404 to a
      // reader without s3:ListBucket), or a mirror that fails before it sent anything (down,
      // or a proxy whose backend is), moves the file on to the next source at once.
      if (code == CURLE_FILE_COULDNT_READ_FILE || (code == CURLE_OK && status == 404) ||
          (code == CURLE_OK && status == 403 &&
           http::xml_element(connection.error_body, "Code") == "AccessDenied")) {
        throw missing_object(connection, code, status);
      }
      // A range the object does not reach: it is shorter than the file, another object.
      if (code == CURLE_OK && status == 416) {
        const auto stored = connection.headers.get("content-range");
        throw wrong_size(*file.spec, http::redact_url(connection.url) + " answered HTTP 416" +
                                         (stored ? " (Content-Range: " + *stored + ")" : ""));
      }
      if ((code != CURLE_OK || status >= 500) && file.received_from[file.source] == 0) {
        ++m_strikes[source_key(current_source(file))];
        throw failure_of(connection, code, status);
      }
    }
    http::Attempt attempt;
    attempt.transport = code;
    attempt.status = status;
    attempt.headers = &connection.headers;
    // Not the Hub: a URL a redirect led to (its 403 is an expired signature, not a token
    // refused).
    attempt.from_cdn = connection.url != current_source(file).url;
    attempt.reachable = now - file.last_bytes < k_reachable && file.received > 0;
    const http::Verdict verdict = http::classify(attempt, m_options.retry);

    if (verdict.step == http::NextStep::reresolve) {
      if (!file.reresolved) {
        // The CDN's signed URL expired: ask the Hub for a fresh one, at once.
        file.cdn_url.clear();
        file.reresolved = true;
        return;
      }
      if (connection.url != file.cdn_url) {
        return; // it was asked at the URL that expired: the next request takes the new one
      }
    }
    const bool extra = file.connections.size() > 1;
    // 403, 429 and 503 to an extra connection are how servers and CDNs refuse one client too
    // many connections; a refused connection is one too. It leaves (the others, the first at
    // least, carry on) and the file uses no more than it had from now on.
    const bool turned_away = code == CURLE_OK && (status == 403 || status == 429 || status == 503);
    if (extra && (turned_away || (code != CURLE_OK && verdict.step == http::NextStep::give_up))) {
      retire(connection);
      return;
    }
    if (verdict.step == http::NextStep::retry) {
      // Retries start over only when the file's bytes grew.
      if (const auto delay =
              connection.budget.next(file.plan->done_bytes(), http::random_jitter())) {
        connection.retry_at = now + verdict.server_wait.value_or(*delay);
        return;
      }
      if (extra) {
        retire(connection); // its retries are spent; the others go on
        return;
      }
    }
    // An answer no retry can change (401, 404, ...), or the last connection's retries spent.
    throw http::tried(failure_of(connection, code, status), connection.budget.tries());
  }

  void retire(Connection& connection) {
    File& file = *connection.file;
    file.limit = static_cast<unsigned>(std::max<std::size_t>(1, file.connections.size() - 1));
    free_connection(connection);
  }

  // The error a failed attempt is reported with: the Hub's reason for an HTTP status, libcurl's
  // words for a transfer that broke.
  static Error failure_of(const Connection& connection, CURLcode code, long status) {
    const FileSpec& spec = *connection.file->spec;
    if (code != CURLE_OK) {
      const Error error =
          http::transport_error(code, connection.url, connection.handle.error_text(code))
              .with_subject(spec.subject);
      // A mirror's: the advice is about the mirror, not the Hub's endpoint.
      return spec.sources[connection.source].access ? error.with_cause("source:" + error.cause())
                                                    : error;
    }
    if (spec.sources[connection.source].access) {
      // A mirror's answer: its status, and the code an S3 error body names.
      return Error(ErrorKind::network, "the mirror refused the download",
                   "HTTP " + std::to_string(status) + " from " + http::redact_url(connection.url) +
                       http::error_code_suffix(connection.error_body),
                   "", spec.subject)
          .with_cause("source:http:" + std::to_string(status));
    }
    http::Response response;
    response.status = status;
    response.headers = connection.headers;
    response.body = connection.error_body;
    response.url = connection.url;
    try {
      hub::throw_for_status(response, spec.subject);
    } catch (const Error& error) {
      return error;
    }
    return Error(ErrorKind::network, "unexpected answer to a download",
                 "HTTP " + std::to_string(status) + " from " + http::redact_url(connection.url), "",
                 spec.subject);
  }

  // --- sources -----------------------------------------------------------------------------

  static const Source& current_source(const File& file) { return file.spec->sources[file.source]; }

  // A mirror, for counting its failures: its URL up to the object's name.
  static std::string source_key(const Source& source) {
    return source.url.substr(0, source.url.rfind('/'));
  }

  static bool is_local(const Connection& connection) {
    const auto& access = connection.file->spec->sources[connection.source].access;
    return access && access->scheme == http::SourceAccess::Scheme::file;
  }

  // The file's source failed with `error`: the file goes on with the next source, or fails if
  // it was the last or the error is not the source's (a full disk, a stop).
  void source_failed(File& file, const Error& error) {
    const bool sources_left = file.source + 1 < file.spec->sources.size();
    const bool the_sources = error.kind() == ErrorKind::network ||
                             error.kind() == ErrorKind::integrity ||
                             error.cause() == "source:missing";
    const bool moving = file.state == File::State::running || file.state == File::State::hashing;
    if (!sources_left || !the_sources || !moving) {
      fail(file, error);
      return;
    }
    m_events.source_failed(file.index, file.source,
                           error.subject().empty() ? error.with_subject(file.spec->subject)
                                                   : error);
    const std::vector<Connection*> connections = file.connections;
    for (Connection* connection : connections) {
      detach(*connection);
    }
    ++file.source;
    file.cdn_url.clear();
    file.reresolved = false;
    file.downloads = 1;
    file.limit = std::max(m_options.connections_per_file, 1u);
    if (error.kind() == ErrorKind::integrity || file.single_stream) {
      // Its bytes were wrong, or came from the start of a server that ignores Range: the next
      // source starts from an empty file.
      restart(file, false);
    } else {
      file.state = File::State::running; // tend_files() gives it a connection
    }
    skip_unreachable_sources(file);
  }

  // Mirrors that could not be reached for this many files in a row are not asked again in this
  // run: a mirror that is down, or a connect timeout, would otherwise cost every file a wait.
  static constexpr int k_strikes = 3;

  void skip_unreachable_sources(File& file) {
    while (file.source + 1 < file.spec->sources.size()) {
      const auto& access = current_source(file).access;
      if (!access) {
        return;
      }
      const auto strikes = m_strikes.find(source_key(current_source(file)));
      if (strikes == m_strikes.end() || strikes->second < k_strikes) {
        return;
      }
      m_events.source_failed(file.index, file.source,
                             Error(ErrorKind::network, "the mirror is not reachable",
                                   "it failed " + std::to_string(strikes->second) +
                                       " files in a row before sending a byte; not asked again",
                                   "", file.spec->subject)
                                 .with_cause("source:unreachable"));
      ++file.source;
    }
  }

  static Error missing_object(const Connection& connection, CURLcode code, long status) {
    const std::string why =
        code == CURLE_OK
            ? "HTTP " + std::to_string(status) + " from " + http::redact_url(connection.url)
            : http::redact_url(connection.url) + ": " + connection.handle.error_text(code);
    return Error(ErrorKind::network, "the mirror does not have the file", why, "",
                 connection.file->spec->subject)
        .with_cause("source:missing");
  }

public:
  // The first byte of a local file's range arrives: libcurl reports no status for file://,
  // only its size (as Content-Length), which must be the pinned one.
  void local_body_starts(Connection& connection) {
    const File& file = *connection.file;
    const auto length = connection.headers.get("content-length");
    if (!length || *length != std::to_string(file.spec->size)) {
      throw Error(ErrorKind::integrity, "downloaded file does not match the pinned one",
                  "expected " + std::to_string(file.spec->size) + " bytes, " +
                      http::redact_url(connection.url) + " has " + length.value_or("(unknown)"),
                  "", file.spec->subject)
          .with_cause("integrity:size");
    }
    connection.status = connection.ranged ? 206 : 200;
    connection.accepting = true;
    if (connection.via_resolve) {
      connection.file->cdn_url = connection.url;
    }
  }

private:
  // --- files that end -----------------------------------------------------------------------

  void hash_then_finish(File& file) {
    // Another connection's request may have ended in the same round, its bytes all written and
    // its message not read yet.
    const std::vector<Connection*> connections = file.connections;
    for (Connection* connection : connections) {
      detach(*connection);
    }
    file.state = File::State::hashing;
    file.hasher->reached(file.spec->size);
  }

  void check_hashes() {
    for (File& file : m_files) {
      if (file.state != File::State::hashing || !file.hasher->done()) {
        continue;
      }
      try {
        const FileHasher::Digests digests = file.hasher->digests();
        const bool sha256_ok = !file.spec->sha256 || *file.spec->sha256 == digests.sha256;
        const bool git_ok = !file.spec->git_sha1 || *file.spec->git_sha1 == digests.git_sha1;
        if (sha256_ok && git_ok) {
          if (current_source(file).access) {
            const auto strikes = m_strikes.find(source_key(current_source(file)));
            if (strikes != m_strikes.end() && strikes->second < k_strikes) {
              m_strikes.erase(strikes); // it works: its failures were not in a row
            }
          }
          file.record->remove();
          file.hasher.reset();
          // Renames and links: filesystem work, off the loop like a file's start (begin()).
          file.state = File::State::finishing;
          file.finishing =
              m_worker.post([this, &file,
                             result = Downloaded{file.spec->size, digests.sha256, file.received,
                                                 file.received_from, file.source}] {
                const WakeLoop wake{m_multi};
                file.task->finish(&result, nullptr, true);
              });
          continue;
        }
        const Error mismatch = hash_mismatch(file, digests);
        // A mirror's object is what it is: asking it again would bring the same bytes.
        if (file.downloads >= k_downloads || current_source(file).access) {
          throw http::tried(mismatch, file.downloads);
        }
        ++file.downloads;
        restart(file, file.single_stream);
      } catch (const Error& error) {
        source_failed(file, error);
      }
    }
  }

  static Error hash_mismatch(const File& file, const FileHasher::Digests& digests) {
    const FileSpec& spec = *file.spec;
    const std::string size = std::to_string(spec.size) + " bytes";
    std::string why;
    if (spec.sha256) {
      why = "expected sha256 " + *spec.sha256 + " (" + size + "), got " + digests.sha256;
    }
    if (spec.git_sha1 && *spec.git_sha1 != digests.git_sha1) {
      why += std::string(why.empty() ? "" : "; ") + "expected git blob id " + *spec.git_sha1 +
             " (" + size + "), got " + digests.git_sha1;
    }
    return Error(ErrorKind::integrity, "downloaded file does not match the pinned one", why, "",
                 spec.subject)
        .with_cause("integrity:hash");
  }

public:
  // The file of `connection`, its only one, starts over from an empty temporary with the body
  // arriving now, which is the whole file.
  void start_over_with(Connection& connection) {
    File& file = *connection.file;
    file.hasher.reset();
    file.temp->truncate();
    // What each source sent is dropped with the bytes: a source is credited with what the file
    // keeps.
    std::fill(file.received_from.begin(), file.received_from.end(), 0);
    file.record->clear();
    file.single_stream = true;
    file.resumed = 0;
    file.plan.emplace(file.spec->size, std::vector<ByteRange>{}, m_options.piece);
    file.plan->take(connection.id);
    connection.range = *file.plan->next_request(connection.id, file.spec->size);
    connection.ranged = false;
    connection.position = 0;
    connection.buffer.clear();
    connection.checksums.close();
    new_hasher(file);
  }

private:
  // Starts the file over from an empty temporary: its bytes failed the hash (a resumed part may
  // be what was wrong), or the server ignores Range and only a whole GET from the start works.
  void restart(File& file, bool single_stream) {
    const std::vector<Connection*> connections = file.connections;
    for (Connection* connection : connections) {
      detach(*connection);
    }
    file.hasher.reset();
    file.temp->truncate();
    // What each source sent is dropped with the bytes: a source is credited with what the file
    // keeps.
    std::fill(file.received_from.begin(), file.received_from.end(), 0);
    file.record->clear();
    file.record->save(true);
    file.single_stream = single_stream;
    file.plan.emplace(file.spec->size, std::vector<ByteRange>{}, m_options.piece);
    new_hasher(file);
    file.state = File::State::running; // tend_files() gives it a connection
  }

  // Ends `file` with `error`, keeping what arrived (and its record) for the caller to park.
  void fail(File& file, const Error& error) {
    if (file.state == File::State::finishing) {
      file.finishing.wait(); // its bytes were good: it ends as it was going to
      end_finishing(file);
      return;
    }
    if (file.state == File::State::done) {
      return;
    }
    wait_for_loading(file); // a stop ends it at once
    const std::vector<Connection*> connections = file.connections;
    for (Connection* connection : connections) {
      detach(*connection);
    }
    // Nothing begun, or bytes of unknown shape (their check was stopped): never taken for a
    // prefix.
    bool prefix_only = file.record == nullptr;
    if (file.record && file.plan) {
      try {
        file.record->save(true);
      } catch (...) {
        // Without its record the partial is taken as a prefix next time; the hash checks it.
      }
      const auto& done = file.plan->done();
      prefix_only = done.empty() || (done.size() == 1 && done.front().begin == 0);
      try {
        // A prefix is left as just that: bytes past it that were not trusted (a resumed file's
        // unchecked tail) must not look like more of it to a client that resumes by size.
        const std::uint64_t prefix = done.empty() ? 0 : done.front().end;
        if (prefix_only && file.temp->size() > prefix) {
          file.temp->truncate(prefix);
        }
      } catch (...) {
        prefix_only = false; // then it is not parked under the name Python resumes
      }
    }
    file.hasher.reset();
    const bool started = file.state != File::State::queued;
    file.state = File::State::done;
    const Error subjected =
        error.subject().empty() ? error.with_subject(file.spec->subject) : error;
    file.task->finish(nullptr, &subjected, prefix_only);
    if (started) {
      m_events.finished(file.index, false);
    }
  }

  void stop_everything() {
    const util::Cancelled cancelled;
    for (File& file : m_files) {
      fail(file, cancelled);
    }
  }

  // --- time-driven ------------------------------------------------------------------------

  void write_old_buffers(Clock::time_point now) {
    for (auto& connection : m_pool) {
      if (connection->file != nullptr && !connection->buffer.empty() &&
          now - connection->buffer_since >= k_max_buffer_age) {
        try {
          write_buffer(*connection);
        } catch (const Error& error) {
          fail(*connection->file, error);
        }
      }
    }
  }

  void save_records() {
    for (File& file : m_files) {
      if (file.state == File::State::running && file.record) {
        try {
          std::vector<Block> open;
          for (const Connection* connection : file.connections) {
            if (auto block = connection->checksums.peek()) {
              open.push_back(*block);
            }
          }
          file.record->save(false, open);
        } catch (const Error&) {
          // A record that cannot be written (a full disk) only costs a longer resume.
        }
      }
    }
  }

  void report(bool force) {
    const auto now = Clock::now();
    TotalProgress total;
    total.files_total = m_files.size();
    total.bytes_total = m_bytes_total;
    total.files_done = m_files_done;
    double slowest = 0;
    std::uint64_t received = 0;
    for (const File& file : m_files) {
      received += file.received;
      if (file.state == File::State::done) {
        total.bytes_done += file.spec->size;
      } else if (file.plan) {
        total.bytes_done += file.plan->done_bytes();
        const auto eta =
            eta_seconds(file.spec->size - file.plan->done_bytes(), file.rate.rate(now));
        slowest = std::max(slowest, eta.value_or(0.0));
      }
    }
    m_rate.add(received - m_received, now);
    m_received = received;
    total.bytes_per_second = m_rate.rate(now);
    total.eta_seconds = eta_seconds(total.bytes_total - total.bytes_done, total.bytes_per_second);
    if (total.eta_seconds) {
      // Files do not lend each other their speed: the slowest decides when all are in.
      total.eta_seconds = std::max(*total.eta_seconds, slowest);
    }
    for (File& file : m_files) {
      if (file.state != File::State::running && file.state != File::State::hashing) {
        continue;
      }
      if (!force && now - file.last_event < k_event_interval) {
        continue;
      }
      file.last_event = now;
      FileProgress progress;
      progress.file = file.index;
      progress.bytes_done = file.plan->done_bytes();
      progress.bytes_total = file.spec->size;
      progress.bytes_per_second = file.rate.rate(now);
      progress.eta_seconds =
          eta_seconds(file.spec->size - progress.bytes_done, progress.bytes_per_second);
      m_events.progress(progress, total);
    }
  }

  const EngineOptions& m_options;
  Events& m_events;
  std::stop_token m_stop;
  CURLM* m_multi = nullptr;
  FilesystemWorker m_worker;
  std::vector<File> m_files;
  std::vector<std::unique_ptr<Connection>> m_pool;
  std::vector<Connection*> m_free;
  std::uint64_t m_bytes_total = 0;
  std::size_t m_files_done = 0;
  RateMeter m_rate;
  std::uint64_t m_received = 0;
  // Per mirror (source_key), the files in a row it failed before sending a byte.
  std::map<std::string, int> m_strikes;
};

} // namespace

void download(const std::vector<FileTask*>& tasks, const EngineOptions& options, Events& events,
              std::stop_token stop) {
  Engine(tasks, options, events, std::move(stop)).run();
}

} // namespace hfmodels::transfer
