// SPDX-License-Identifier: MIT
#include "transfer/download.hpp"

#include "hash/sha256.hpp"
#include "hub/client.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace hfmodels::transfer {

namespace {

// hub-protocol.md §3.6 (Python http_get): up to 5 consecutive attempts without progress, 1 s
// apart; the counter starts over whenever bytes arrive.
constexpr int max_failed_attempts = 5;
constexpr std::chrono::seconds retry_delay{1};

bool is_transient_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

// The first byte position of `Content-Range: bytes a-b/total`, if the header is well formed.
std::optional<std::uint64_t> content_range_start(const std::optional<std::string>& header) {
  if (!header) {
    return std::nullopt;
  }
  std::string_view value = util::trim(*header);
  if (!value.starts_with("bytes ")) {
    return std::nullopt;
  }
  value = util::trim(value.substr(6));
  const auto dash = value.find('-');
  if (dash == 0 || dash == std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t start = 0;
  for (const char c : value.substr(0, dash)) {
    if (c < '0' || c > '9' || start > (UINT64_MAX - 9) / 10) {
      return std::nullopt;
    }
    start = start * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return start;
}

std::optional<std::uint64_t> content_length(const http::Headers& headers) {
  const auto value = headers.get("content-length");
  if (!value || value->empty() || value->find_first_not_of("0123456789") != std::string::npos ||
      value->size() > 19) {
    return std::nullopt;
  }
  return std::stoull(*value);
}

// Hashers over the bytes received so far; replaced wholesale when a download restarts at 0.
struct Hashers {
  hash::Sha256 sha256;
  std::optional<hash::GitBlobSha1> git_sha1;
};

} // namespace

Downloaded download(http::Client& http, const std::string& url, cache::TempBlob& temp,
                    const Expected& expected, const std::string& subject,
                    const ProgressFn& progress) {
  Hashers hashers;
  std::uint64_t received = 0;
  bool git_started = false;
  int failed_attempts = 0;

  const auto report = [&progress](std::uint64_t bytes) {
    if (progress) {
      progress(bytes);
    }
  };

  for (;;) {
    const std::uint64_t range_from = received;
    bool progressed = false;

    // Runs before the first body byte of a 2xx answer: decides whether its bytes continue the
    // file, replace it, or must be refused.
    const http::ResponseStart on_start = [&](long status, const http::Headers& headers) {
      if (status == 206) {
        const auto start = content_range_start(headers.get("content-range"));
        if (!start || *start != range_from) {
          throw Error(ExitCode::network, "the server sent the wrong part of the file",
                      "asked for bytes " + std::to_string(range_from) + "-, got Content-Range: " +
                          headers.get("content-range").value_or("(none)"),
                      "Run the command again", subject);
        }
      } else if (status == 200) {
        if (range_from > 0) {
          // The server ignored Range and sends the whole file: start over, never append
          // (hub-protocol.md §3.6, pitfall 3 of §9).
          temp.truncate();
          hashers = Hashers{};
          git_started = false;
          received = 0;
          report(0);
        }
      } else {
        throw Error(ExitCode::network, "unexpected answer to a download",
                    "HTTP " + std::to_string(status) + " from " + http::redact_url(url),
                    "Check HF_ENDPOINT and any proxy in between", subject);
      }
      if (expected.git_sha1 && !git_started) {
        // Git's blob id hashes the size first, so it needs the total before the first byte.
        const auto total = expected.size ? expected.size : content_length(headers);
        if (!total) {
          throw Error(ExitCode::failure, "cannot check the git blob id of a file of unknown size",
                      "", "", subject);
        }
        hashers.git_sha1.emplace(*total);
        git_started = true;
      }
      return true;
    };

    const http::BodySink sink = [&](const char* data, std::size_t size) {
      if (expected.size && received + size > *expected.size) {
        // Refuse early rather than fill the disk with bytes that cannot match.
        throw Error(ExitCode::integrity, "downloaded file does not match the lockfile",
                    "expected " + std::to_string(*expected.size) + " bytes, the server sent more",
                    "The file on the Hub differs from the pinned one: check the lockfile, or "
                    "re-lock with `hfmodels lock --update`",
                    subject);
      }
      temp.write(data, size);
      hashers.sha256.update(data, size);
      if (hashers.git_sha1) {
        hashers.git_sha1->update(data, size);
      }
      received += size;
      progressed = true;
      report(received);
      return true;
    };

    http::Response response;
    try {
      // Every attempt goes back to the resolve URL: the signed CDN URL it redirects to expires
      // (hub-protocol.md §3.4 (b)).
      response = http.download(url, range_from, sink, on_start);
    } catch (const http::TransportError& error) {
      if (expected.size && received == *expected.size && received > 0) {
        break; // every byte is in; the connection only broke afterwards. The hash decides.
      }
      failed_attempts = progressed ? 1 : failed_attempts + 1;
      // Only a transfer that got somewhere is resumed; failing to connect at all is reported
      // at once, so an unreachable endpoint does not cost five seconds per file.
      if (received == 0 || failed_attempts > max_failed_attempts) {
        throw Error(error.code(), error.summary(), error.why(), error.hint(), subject);
      }
      std::this_thread::sleep_for(retry_delay);
      continue;
    }

    if (response.status >= 200 && response.status < 300) {
      break;
    }
    if (response.status == 416) {
      throw Error(ExitCode::network, "the server refused to resume the download",
                  "asked for bytes " + std::to_string(range_from) + "- and got HTTP 416 (" +
                      "Content-Range: " + response.headers.get("content-range").value_or("none") +
                      ")",
                  "Run the command again to download the file from the start", subject);
    }
    if (received > 0 && is_transient_status(response.status) &&
        ++failed_attempts <= max_failed_attempts) {
      // Bytes are already on disk: a passing 503 from the CDN should not throw them away.
      std::this_thread::sleep_for(retry_delay);
      continue;
    }
    hub::throw_for_status(response, subject);
    throw Error(ExitCode::network, "unexpected answer to a download",
                "HTTP " + std::to_string(response.status), "", subject);
  }

  Downloaded result;
  result.size = received;
  result.sha256 = hashers.sha256.hex_digest();
  const std::string git_sha1 = hashers.git_sha1 ? hashers.git_sha1->hex_digest() : std::string();

  const bool size_ok = !expected.size || *expected.size == received;
  const bool sha256_ok = !expected.sha256 || *expected.sha256 == result.sha256;
  const bool git_ok = !expected.git_sha1 || (hashers.git_sha1 && *expected.git_sha1 == git_sha1);
  if (!size_ok || !sha256_ok || !git_ok) {
    const std::string expected_size =
        expected.size ? std::to_string(*expected.size) + " bytes" : "any size";
    const std::string actual_size = std::to_string(received) + " bytes";
    std::string why;
    if (expected.sha256 || !expected.git_sha1) {
      why = "expected sha256 " + expected.sha256.value_or("(any)") + " (" + expected_size +
            "), got " + result.sha256 + " (" + actual_size + ")";
    }
    if (expected.git_sha1 && !git_ok) {
      why += std::string(why.empty() ? "" : "; ") + "expected git blob id " + *expected.git_sha1 +
             " (" + expected_size + "), got " + (git_sha1.empty() ? "none" : git_sha1) + " (" +
             actual_size + ")";
    }
    throw Error(ExitCode::integrity, "downloaded file does not match the lockfile", why,
                "Nothing was added to the cache. The Hub served other bytes than the ones "
                "pinned: if the repo was rewritten, re-lock with `hfmodels lock --update`",
                subject);
  }
  return result;
}

} // namespace hfmodels::transfer
