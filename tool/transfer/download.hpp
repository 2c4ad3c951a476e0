// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "http/client.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace hfmodels::transfer {

// What the bytes must be. Unset fields are not checked.
struct Expected {
  std::optional<std::uint64_t> size;
  std::optional<std::string> sha256;
  std::optional<std::string> git_sha1;
};

struct Downloaded {
  std::uint64_t size = 0;
  std::string sha256;
};

// Called with the number of bytes received so far; must be cheap (called per network block).
using ProgressFn = std::function<void(std::uint64_t bytes)>;

// Downloads `url` into `temp`, hashing the bytes as they arrive (the file is never read back).
// A dropped connection resumes with a Range request; a 200 answer to it restarts from zero.
// Throws Error(network) for HTTP failures (the Hub's reason included), Error(integrity) for a
// size or hash mismatch, naming `subject` ("model/file") and the expected and actual values.
Downloaded download(http::Client& http, const std::string& url, cache::TempBlob& temp,
                    const Expected& expected, const std::string& subject,
                    const ProgressFn& progress);

} // namespace hfmodels::transfer
