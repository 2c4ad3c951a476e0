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

// Large files as parallel ranged parts (issue #5), the way hf_transfer and `aria2c -x` fetch
// them: one connection is the most a single TCP stream gets through a long or lossy link, so a
// 1 GiB file over a WAN is fetched over several at once.
namespace hfmodels::transfer {

// Files from this size on are split. Below it a file costs little more than the handshakes the
// extra connections would add, and -j already fetches several such files side by side; at it,
// the file spans four parts, enough to fill a link that caps each connection.
inline constexpr std::uint64_t k_ranged_threshold = 64u << 20;
// One request per part. Large enough that a request's round trip is a few per cent of the
// part's transfer time on a fast link; small enough that the parts still in flight when the
// last one starts (what the hash waits for) and a part fetched again after a cut stay cheap.
// hf_transfer uses 10 MB, aria2's minimum split is 20 MiB.
inline constexpr std::uint64_t k_part_size = 16u << 20;
// Connections per file, as hf_transfer's default. More rarely helps against a CDN, and a
// server that objects is answered by retiring connections (see Connections).
inline constexpr unsigned k_parts_per_file = 8;
// Connections of a whole run, the -j workers' own included: aria2's per-server maximum (`-x16`).
// Three large files fetched at once share them instead of opening 24.
inline constexpr unsigned k_max_connections = 16;

struct RangedTuning {
  std::uint64_t threshold = k_ranged_threshold;
  std::uint64_t part_size = k_part_size;
  unsigned parts = k_parts_per_file; // connections per file, the caller's own included
  http::RetryPolicy retry;           // per connection, as for a single-stream download
  // Writers wait while they are this far ahead of the hash, so a hasher starved of CPU (by the
  // writers themselves on a fast link) cannot leave a long hash to do after the last byte.
  // Above parts × part_size, so a hasher that keeps up never holds anyone back.
  std::uint64_t max_unhashed = 256u << 20;
};

// The extra connections of the ranged downloads of one run: a budget shared by the files fetched
// at once, and the idle clients kept for the next file so their connections are reused. Also
// remembers a server's objection: once it answered an extra connection with 403/429/503, later
// files open no more connections than it accepted. Thread-safe.
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

  // Up to `wanted` clients, as many as the budget allows (maybe none).
  std::vector<std::unique_ptr<http::Client>> acquire(unsigned wanted);
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
// as ranged parts over up to parts() connections: `http` (the caller's, which follows the
// resolve URL's redirects with its token policy) fetches the first part and learns the CDN URL,
// the others fetch the rest from there, parts handed out in file order. The sha256 is computed
// while the bytes arrive, from the file in order as its complete prefix grows, so a finished
// file needs no second read. A server that ignores Range is fetched by download(). On failure or
// Ctrl-C the temporary is cut back to its complete prefix before the error leaves, so what is
// kept for the next run never has holes.
Downloaded download_ranged(http::Client& http, Connections& connections, const std::string& url,
                           cache::TempBlob& temp, const Expected& expected,
                           const std::string& subject, const ProgressFn& progress);

} // namespace hfmodels::transfer
