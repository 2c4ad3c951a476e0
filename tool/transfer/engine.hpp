// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "http/access.hpp"
#include "http/client.hpp"
#include "http/retry.hpp"

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

// The download engine: every connection of a run in one libcurl multi handle, driven by one loop
// on the caller's thread (docs/ARCHITECTURE.md, "The download engine"). A file is a list of
// segments (transfer/plan.hpp); one fetched over a single connection is the one-segment case,
// so there is one code path. Beside the loop run a file's hasher (transfer/hasher.hpp) and,
// briefly, the filesystem work of starting and finishing a file (FileTask::start, finish);
// nothing else has a thread. What arrived is kept across Ctrl-C, a kill and a power cut
// (transfer/partial.hpp).
namespace hfmodels::transfer {

// Files from this size on may use several connections: below it a file costs little more than
// the handshakes extra connections would add, and other files fill the run's connections.
inline constexpr std::uint64_t k_segmented_from = 64u << 20;
// Segments start at multiples of this size (but where a missing range starts), and none is split
// below twice it: each request stays worth its round trip. hf_transfer uses 10 MB parts, aria2
// splits no file below 20 MiB.
inline constexpr std::uint64_t k_piece = 8u << 20;
// Connections of a run, as `aria2c -x16`: a CDN that caps each connection (50 MiB/s is
// reported for the Hub's) needs many for one file, and three large files share them.
inline constexpr unsigned k_connections = 16;

struct EngineOptions {
  http::ClientOptions client;
  unsigned files_at_once = 16;                   // -j
  unsigned connections = k_connections;          // the run's, every file's together
  unsigned connections_per_file = k_connections; // a file may use all of them
  std::uint64_t segmented_from = k_segmented_from;
  std::uint64_t piece = k_piece;
  http::RetryPolicy retry;
};

// One place a file can come from: a mirror, or the Hub (docs/ARCHITECTURE.md, "Sources").
struct Source {
  std::string url; // the file there: a mirror's object URL, the Hub's resolve URL
  // A mirror's protocols and credentials; none for the Hub, whose token policy applies.
  std::optional<http::SourceAccess> access;
};

// What one file must be.
struct FileSpec {
  // Tried in order: a missing object, a wrong one or a source that fails moves the file on to
  // the next one; bytes from a source that failed are kept unless they were wrong.
  std::vector<Source> sources;
  std::string subject; // "model/path", for errors
  std::uint64_t size = 0;
  std::optional<std::string> sha256;
  std::optional<std::string> git_sha1; // a regular file's blob id, checked as well
};

// What the engine downloaded into a temporary: every byte, hashed as it arrived.
struct Downloaded {
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t received = 0; // of it, the bytes that came over the network in this run
  // The bytes each source of FileSpec::sources sent, and the one that sent the last.
  std::vector<std::uint64_t> received_from;
  std::size_t source = 0;
};

// A file for the engine, prepared by the caller, who knows where files live and how they are
// locked. The engine calls start() and temporary(), then finish() after a success, on a thread
// of its own (their filesystem work would hold up every transfer on the loop); finish() after a
// failure on the loop's thread. Calls for one file never overlap; calls for different files may,
// so what tasks share must be safe to use from several threads.
class FileTask {
public:
  virtual ~FileTask() = default;

  virtual const FileSpec& spec() const = 0;

  enum class Start {
    now,        // temporary() is ready to be written
    later,      // not yet (another process holds the file's lock): asked again shortly
    not_needed, // another process put the file in place meanwhile: finish() without a download
  };
  // The file's turn has come. Must not wait.
  virtual Start start() = 0;
  // The temporary to write, once start() said now. What it already holds is taken from its
  // record (transfer/partial.hpp) and continued.
  virtual cache::TempBlob& temporary() = 0;

  // The file is done: `result` when every byte is in the temporary and matches the spec (or
  // nothing was needed: result->size == 0 and received == 0); else `failure`, with the
  // temporary holding what arrived (and its record), for the caller to keep (`prefix_only`: it
  // is a complete prefix, without holes) or drop.
  virtual void finish(const Downloaded* result, const Error* failure, bool prefix_only) = 0;
};

// Progress as the engine measures it: speed over the last few seconds of this run only, never
// counting bytes a resumed download already had; the ETA from the bytes still missing at that
// speed.
struct FileProgress {
  std::size_t file = 0;         // index into the tasks
  std::uint64_t bytes_done = 0; // in the file now, resumed bytes included
  std::uint64_t bytes_total = 0;
  double bytes_per_second = 0;
  std::optional<double> eta_seconds; // unknown at no speed
};

struct TotalProgress {
  std::size_t files_done = 0;
  std::size_t files_total = 0;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  double bytes_per_second = 0;
  // The bytes missing at the run's speed, and never less than the slowest file's own ETA.
  std::optional<double> eta_seconds;
};

// What the engine reports, on its loop's thread: each file's start and end, and progress at most
// every 100 ms per file.
class Events {
public:
  virtual ~Events() = default;
  virtual void started(std::size_t file, std::uint64_t resumed_bytes) = 0;
  virtual void progress(const FileProgress& file, const TotalProgress& total) = 0;
  virtual void finished(std::size_t file, bool ok) = 0;
  // Source `source` of `file` failed with `error` and the file moves on to the next source:
  // `error` says whether the object was missing (cause "source:missing"), wrong (integrity)
  // or the source failed.
  virtual void source_failed(std::size_t /*file*/, std::size_t /*source*/, const Error& /*error*/) {
  }
};

// Downloads every task, running at most options.files_at_once files and options.connections
// connections at a time, until each has been finished (FileTask::finish). A stop request ends
// every transfer within a fraction of a second: each unfinished task is finished with a
// util::Cancelled failure (its bytes kept), then Cancelled is thrown.
void download(const std::vector<FileTask*>& tasks, const EngineOptions& options, Events& events,
              std::stop_token stop);

} // namespace hfmodels::transfer
