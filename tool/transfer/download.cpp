// SPDX-License-Identifier: MIT
#include "transfer/download.hpp"

#include "hash/sha256.hpp"
#include "http/retry.hpp"
#include "hub/client.hpp"
#include "transfer/write_buffer.hpp"
#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace hfmodels::transfer {

namespace {

// A body whose hash comes out wrong is downloaded once more from the start before the mismatch
// is reported: a proxy or a flaky link that flipped a byte should not fail the build, while a
// file that really differs from the lock costs only one extra download.
constexpr int k_downloads = 2;
// Reading back a resumed partial download, and checking for Ctrl-C between blocks.
constexpr std::size_t k_read_block = 1 << 20;

std::optional<std::uint64_t> content_length(const http::Headers& headers) {
  const auto value = headers.get("content-length");
  if (!value || value->empty() || value->find_first_not_of("0123456789") != std::string::npos ||
      value->size() > 19) {
    return std::nullopt;
  }
  return std::stoull(*value);
}

// The bytes in the temporary so far, hashed as they were written; replaced wholesale when a
// download restarts at 0.
struct Progress {
  hash::Sha256 sha256;
  std::optional<hash::GitBlobSha1> git_sha1;
  std::uint64_t received = 0;
};

class Downloader {
public:
  Downloader(http::Client& http, const std::string& url, cache::TempBlob& temp,
             const Expected& expected, const std::string& subject, const ProgressFn& progress)
      : m_http(http), m_url(url), m_temp(temp), m_expected(expected), m_subject(subject),
        m_progress(progress) {}

  Downloaded run() {
    adopt_partial();
    for (int download = 1;; ++download) {
      try {
        transfer();
        return check();
      } catch (const util::Cancelled&) {
        throw;
      } catch (const Error& error) {
        // Integrity failures start over from an empty file (a resumed partial may be what was
        // wrong); anything else keeps the bytes for a resume.
        if (error.code() != ExitCode::integrity) {
          throw http::tried(error, m_retrier.attempts());
        }
        if (download == k_downloads) {
          throw http::tried(error, download);
        }
        restart();
      }
    }
  }

private:
  void report() {
    if (m_progress) {
      m_progress(m_state.received);
    }
  }

  void restart() {
    m_temp.truncate();
    m_buffer.clear();
    m_flushed = 0;
    m_state = Progress{};
    m_resumed_from = 0;
    report();
  }

  void start_git_hash(std::optional<std::uint64_t> total) {
    if (m_expected.git_sha1 && !m_state.git_sha1) {
      // Git's blob id hashes the size first, so it needs the total before the first byte.
      if (!total) {
        throw Error(ExitCode::failure, "cannot check the git blob id of a file of unknown size", "",
                    "", m_subject);
      }
      m_state.git_sha1.emplace(*total);
    }
  }

  void add(const char* data, std::size_t size) {
    if (!m_check_on_disk) {
      m_state.sha256.update(data, size);
      if (m_state.git_sha1) {
        m_state.git_sha1->update(data, size);
      }
    }
    m_state.received += size;
  }

  // A temporary that already holds bytes (a download an earlier run left behind) is continued
  // from its end. Its bytes were written by another process, which might (on a filesystem whose
  // locks do not work) even still be writing: so the result is checked as it is on disk, read
  // back once at the end, instead of by hashing the bytes as they arrive.
  void adopt_partial() {
    const std::uint64_t existing = m_temp.size();
    if (existing == 0) {
      return;
    }
    m_check_on_disk = true;
    if (!m_expected.size || existing > *m_expected.size) {
      restart();
      return;
    }
    m_state.received = existing;
    m_flushed = existing;
    m_resumed_from = existing;
    report();
  }

  // Hashes the temporary as it is on disk (for a resumed download).
  void hash_from_disk() {
    Progress disk;
    const std::uint64_t size = m_temp.size();
    if (m_expected.git_sha1) {
      disk.git_sha1.emplace(size);
    }
    const auto buffer = std::make_unique_for_overwrite<char[]>(k_read_block);
    while (disk.received < size) {
      util::throw_if_cancelled();
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(k_read_block, size - disk.received));
      const std::size_t got = m_temp.read_at(buffer.get(), want, disk.received);
      if (got == 0) {
        break;
      }
      disk.sha256.update(buffer.get(), got);
      if (disk.git_sha1) {
        disk.git_sha1->update(buffer.get(), got);
      }
      disk.received += got;
    }
    m_state = std::move(disk);
  }

  // Writes the gathered bytes. Until then they are hashed and counted but not in the file: a
  // request continues from m_state.received only after a flush.
  void flush() {
    if (!m_buffer.empty()) {
      m_temp.write_at(m_buffer.data(), m_buffer.size(), m_flushed);
      m_flushed += m_buffer.size();
      m_buffer.clear();
    }
  }

  bool complete() const { return m_expected.size && m_state.received == *m_expected.size; }

  // Gets the missing bytes: Range requests from where the file ends, retried with back-off on
  // transport failures and transient statuses; the count starts over whenever bytes arrive.
  void transfer() {
    for (;;) {
      if (complete() && (m_state.received > 0 || m_resumed_from > 0)) {
        return; // every byte is in already; the hash decides
      }
      const std::uint64_t range_from = m_state.received;
      bool progressed = false;

      // Runs before the first body byte of a 2xx answer: decides whether its bytes continue the
      // file, replace it, or must be refused.
      const http::ResponseStart on_start = [&](long status, const http::Headers& headers) {
        if (status == 206) {
          const auto range = http::parse_content_range(headers.get("content-range"));
          if (!range || range->first != range_from) {
            throw Error(ExitCode::network, "the server sent the wrong part of the file",
                        "asked for bytes " + std::to_string(range_from) + "-, got Content-Range: " +
                            headers.get("content-range").value_or("(none)"),
                        "Run the command again", m_subject);
          }
        } else if (status == 200) {
          if (range_from > 0) {
            // The server ignored Range and sends the whole file: start over, never append
            // (docs/hub-protocol.md §3.6, pitfall 3 of §9).
            restart();
          }
        } else {
          throw Error(ExitCode::network, "unexpected answer to a download",
                      "HTTP " + std::to_string(status) + " from " + http::redact_url(m_url),
                      "Check HF_ENDPOINT and any proxy in between", m_subject);
        }
        if (!m_check_on_disk) {
          start_git_hash(m_expected.size ? m_expected.size : content_length(headers));
        }
        return true;
      };

      const http::BodySink sink = [&](const char* data, std::size_t size) {
        if (m_expected.size && m_state.received + size > *m_expected.size) {
          // Refuse early rather than fill the disk with bytes that cannot match.
          throw Error(ExitCode::integrity, "downloaded file does not match the lockfile",
                      "expected " + std::to_string(*m_expected.size) +
                          " bytes, the server sent more",
                      "The file on the Hub differs from the pinned one: check the lockfile, or "
                      "re-lock with `hfmodels lock --update`",
                      m_subject);
        }
        add(data, size);
        if (m_buffer.add(data, size)) {
          flush();
        }
        progressed = true;
        report();
        return true;
      };

      http::Response response;
      try {
        // Every attempt goes back to the resolve URL: the signed CDN URL it redirects to
        // expires (docs/hub-protocol.md §3.4 (b)).
        response = m_http.download(m_url, range_from, sink, on_start);
        flush();
      } catch (const http::TransportError& error) {
        flush(); // the bytes before the break are good: the next request continues after them
        if (complete()) {
          return; // every byte is in; the connection only broke afterwards
        }
        if (progressed) {
          m_retrier.reset();
        }
        // A server that was reachable a moment ago is worth asking again even for a failure
        // that would otherwise be final (connection refused while it restarts).
        const bool retryable = error.retryable() || m_state.received > 0;
        if (retryable && m_retrier.next()) {
          continue;
        }
        throw error.with_subject(m_subject);
      }

      if (response.status >= 200 && response.status < 300) {
        return; // a short body is caught by the size check
      }
      if (response.status == 416) {
        throw Error(ExitCode::network, "the server refused to resume the download",
                    "asked for bytes " + std::to_string(range_from) + "- and got HTTP 416 (" +
                        "Content-Range: " + response.headers.get("content-range").value_or("none") +
                        ")",
                    "Run the command again to download the file from the start", m_subject);
      }
      if (http::is_transient_status(response.status) && m_retrier.next(&response.headers)) {
        continue;
      }
      hub::throw_for_status(response, m_subject);
      throw Error(ExitCode::network, "unexpected answer to a download",
                  "HTTP " + std::to_string(response.status), "", m_subject);
    }
  }

  // Size and hashes against the lock; the bytes were hashed as they were written, or are read
  // back now for a resumed download.
  Downloaded check() {
    if (m_check_on_disk) {
      hash_from_disk();
    }
    Downloaded result;
    result.size = m_state.received;
    result.sha256 = m_state.sha256.hex_digest();
    const std::string git_sha1 = m_state.git_sha1 ? m_state.git_sha1->hex_digest() : std::string();

    const bool size_ok = !m_expected.size || *m_expected.size == m_state.received;
    const bool sha256_ok = !m_expected.sha256 || *m_expected.sha256 == result.sha256;
    const bool git_ok =
        !m_expected.git_sha1 || (m_state.git_sha1 && *m_expected.git_sha1 == git_sha1);
    if (size_ok && sha256_ok && git_ok) {
      return result;
    }
    const std::string expected_size =
        m_expected.size ? std::to_string(*m_expected.size) + " bytes" : "any size";
    const std::string actual_size = std::to_string(m_state.received) + " bytes";
    std::string why;
    if (m_expected.sha256 || !m_expected.git_sha1) {
      why = "expected sha256 " + m_expected.sha256.value_or("(any)") + " (" + expected_size +
            "), got " + result.sha256 + " (" + actual_size + ")";
    }
    if (m_expected.git_sha1 && !git_ok) {
      why += std::string(why.empty() ? "" : "; ") + "expected git blob id " + *m_expected.git_sha1 +
             " (" + expected_size + "), got " + (git_sha1.empty() ? "none" : git_sha1) + " (" +
             actual_size + ")";
    }
    throw Error(ExitCode::integrity, "downloaded file does not match the lockfile", why,
                "Nothing was added to the cache. The Hub served other bytes than the ones "
                "pinned: if the repo was rewritten, re-lock with `hfmodels lock --update`",
                m_subject);
  }

  http::Client& m_http;
  const std::string& m_url;
  cache::TempBlob& m_temp;
  const Expected& m_expected;
  const std::string& m_subject;
  const ProgressFn& m_progress;
  Progress m_state;
  WriteBuffer m_buffer;        // received, not yet written (see flush)
  std::uint64_t m_flushed = 0; // bytes in the file: m_state.received minus m_buffer
  std::uint64_t m_resumed_from = 0;
  bool m_check_on_disk = false;
  http::Retrier m_retrier;
};

} // namespace

Downloaded download(http::Client& http, const std::string& url, cache::TempBlob& temp,
                    const Expected& expected, const std::string& subject,
                    const ProgressFn& progress) {
  return Downloader(http, url, temp, expected, subject, progress).run();
}

} // namespace hfmodels::transfer
