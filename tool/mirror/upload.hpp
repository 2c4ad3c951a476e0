// SPDX-License-Identifier: MIT
#pragma once

#include "http/client.hpp"
#include "http/retry.hpp"
#include "mirror/mirror.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

// Putting objects into a mirror (`hfmodels push`, `hfmodels bundle`): HTTP PUT (nginx or Apache
// WebDAV, Artifactory, Nexus), S3 PutObject and multipart upload, or a copy into a folder
// (docs/mirrors.md).
namespace hfmodels::mirror {

// S3 allows 10,000 parts of an upload; parts are at least this large (S3's least is 5 MiB),
// so that each is worth its request.
inline constexpr std::uint64_t k_max_parts = 10'000;
inline constexpr std::uint64_t k_min_part = 64ULL << 20;

// The part size for an object of `size` bytes: whole MiB, at least k_min_part, and large enough
// for the object to fit in k_max_parts (a 500 GB file takes 48 MiB parts).
std::uint64_t part_size_for(std::uint64_t size);

// An object to upload, hashed once: its bytes are in `file`, and `sha256` is what they hash to.
// `part_sha256` holds each part's when it goes in parts (S3 checks every part's payload).
struct LocalObject {
  std::filesystem::path file;
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t part_size = 0; // 0: one request
  std::vector<std::string> part_sha256;
};

// Reads `file` once, hashing the whole and, when `part_size` is not 0, each part of it.
LocalObject hash_object(const std::filesystem::path& file, std::uint64_t part_size,
                        const std::stop_token& stop);

struct UploadOptions {
  http::ClientOptions client;
  http::RetryPolicy retry;
  // S3 objects from this size on go in parts (HFMODELS_S3_MULTIPART_FROM).
  std::uint64_t multipart_from = k_multipart_from;
  // Parts of one object sent at once.
  unsigned parts_at_once = 4;
  // Where an interrupted multipart upload keeps its id and the parts it has, so that the next
  // push goes on with it.
  std::filesystem::path records;
};

// One mirror to upload to. Thread-safe: every call has its own connection.
class Uploader {
public:
  Uploader(const Mirror& mirror, UploadOptions options);

  // The object's size when the mirror has it; nothing when it has not.
  std::optional<std::uint64_t> existing_size(std::string_view sha256,
                                             const std::stop_token& stop) const;
  // The part size an object of `size` bytes is uploaded with (0: one request).
  std::uint64_t part_size(std::uint64_t size) const;
  // Puts the object in place, whole or not at all (a temporary renamed for a folder; a PUT or
  // a completed multipart upload for a server). Throws Error: network for the server's
  // refusals, failure for local ones, cancelled on a stop.
  void upload(const LocalObject& object, const std::stop_token& stop) const;

private:
  void upload_to_folder(const LocalObject& object, const std::stop_token& stop) const;
  void upload_in_parts(const LocalObject& object, const std::stop_token& stop) const;
  void abort_upload(const std::string& url, const std::string& upload_id,
                    const std::stop_token& stop) const;

  Mirror m_mirror;
  UploadOptions m_options;
};

} // namespace hfmodels::mirror
