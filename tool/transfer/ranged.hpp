// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "http/client.hpp"
#include "http/retry.hpp"
#include "transfer/download.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// Large files as parallel ranged requests (issue #5), the way `aria2c -x` fetches them: one
// connection is the most a single TCP stream gets through a long or lossy link, or from a CDN
// that caps each connection, so a 1 GiB file is fetched over several at once.
//
// A file is cut into as many segments as it has connections when it starts, one request each.
// A connection that finishes its segment takes over half of the largest one still running (the
// running request stops where the new one begins), and a file picks up connections that other
// files give back while it runs: every connection stays busy until the last file ends.
namespace hfmodels::transfer {

// Files from this size on are fetched in segments. Below it a file costs little more than the
// handshakes the extra connections would add, and -j already fetches several such files side
// by side.
inline constexpr std::uint64_t k_ranged_threshold = 64u << 20;
// Segments start at multiples of this size (but the first), and none is split below twice it:
// a request's round trip stays a few per cent of its transfer time on a fast link, and the
// splits near the end of a file, which take whatever connection is free, stay worth their
// request. hf_transfer uses 10 MB parts, aria2 splits no file below 20 MiB.
inline constexpr std::uint64_t k_piece_size = 8u << 20;
// Connections per file: all of the run's, as `aria2c -x16`. The last file still running can then
// use every connection the others gave back (a CDN capping each connection at 50 MiB/s: 7.8 s
// for 3 GiB with 8 per file, 6.1 s with 16). A server that objects is answered by retiring
// connections (see Connections).
inline constexpr unsigned k_parts_per_file = 16;
// Connections of a whole run, the -j workers' own included: aria2's per-server maximum (`-x16`).
// Three large files fetched at once share them instead of opening 24.
inline constexpr unsigned k_max_connections = 16;

struct RangedTuning {
  std::uint64_t threshold = k_ranged_threshold;
  std::uint64_t piece_size = k_piece_size;
  unsigned parts = k_parts_per_file; // connections per file, the caller's own included
  http::RetryPolicy retry;           // per connection, as for a single-stream download
  // Writers wait while they are this far ahead of the hash, so a hasher starved of CPU (by the
  // writers themselves on a fast link) cannot leave a long hash to do after the last byte.
  std::uint64_t max_unhashed = 256u << 20;
};

// The extra connections of the ranged downloads of one run: a budget shared by the files fetched
// at once, and the idle clients kept for the next file so their connections are reused. A file
// running takes the connections that others give back. Also remembers a
// server's objection: once it answered an extra connection with 403/429/503, files open no more
// connections than it accepted. Thread-safe.
class Connections {
public:
  // `budget`: extra connections for all files together (k_max_connections minus -j).
  Connections(http::ClientOptions options, unsigned budget, RangedTuning tuning = {});
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  const RangedTuning& tuning() const { return m_tuning; }
  // Connections a file may use now, its caller's own included.
  unsigned parts() const;
  // A server turned away a connection while `accepted` were open: use no more from now on.
  void limit_parts(unsigned accepted);

  // Connections the budget would give now; a hint (another file may take them first).
  unsigned available() const;
  // Up to `wanted` clients, as many as the budget allows (maybe none).
  std::vector<std::unique_ptr<http::Client>> acquire(unsigned wanted);
  // Gives back a client from acquire(), or adds one to the budget: a -j worker with no file left
  // to start lends its connection to the large files still running.
  void release(std::unique_ptr<http::Client> client);

private:
  http::ClientOptions m_options;
  RangedTuning m_tuning;
  mutable std::mutex m_mutex;
  unsigned m_available;
  unsigned m_parts;
  std::vector<std::unique_ptr<http::Client>> m_idle;
};

// As download(), but a file of at least tuning().threshold bytes whose size is known is fetched
// in segments over up to parts() connections: `http` (the caller's, which follows the resolve
// URL's redirects with its token policy) fetches the first segment and learns the CDN URL, the
// others fetch theirs from there. The sha256 is computed while the bytes arrive, from the file in
// order as its complete prefix grows (on another core than the network's), so a finished file
// needs no second read. A server that ignores Range is fetched by download(). On failure or
// Ctrl-C the temporary is cut back to its complete prefix before the error leaves, so what is
// kept for the next run never has holes.
Downloaded download_ranged(http::Client& http, Connections& connections, const std::string& url,
                           cache::TempBlob& temp, const Expected& expected,
                           const std::string& subject, const ProgressFn& progress);

} // namespace hfmodels::transfer
