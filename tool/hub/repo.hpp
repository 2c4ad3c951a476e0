// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hfmodels::hub {

enum class RepoType { model, dataset };

struct RepoRef {
  RepoType type = RepoType::model;
  std::string id; // "namespace/name" or "name"

  bool operator==(const RepoRef&) const = default;
};

std::string_view type_name(RepoType type); // "model", "dataset"
std::optional<RepoType> parse_repo_type(std::string_view name);

// Throws Error(usage) unless `id` is 1–96 characters of [A-Za-z0-9._-] with at most one `/`,
// no `--`, no `..`, and no leading or trailing `/`, `-` or `.` in a part (docs/hub-and-cache.md
// §1.1).
void validate_repo_id(std::string_view id);

// Throws Error(usage) unless `path` is a safe relative repository path: non-empty, at most 1024
// bytes, no NUL or control characters, no backslash, no leading `/`, no empty, `.` or `..`
// segment. Such paths can never escape the snapshot folder they are joined to.
void validate_repo_path(std::string_view path);

// Whether `text` (UTF-8) holds a Unicode noncharacter: U+FDD0..U+FDEF, or U+xFFFE or U+xFFFF of
// any plane. YAML may not hold them unescaped, and yaml-cpp's emitter writes U+FFFD for them, so
// a lockfile would name another file or ref: paths and revisions holding one are refused.
bool has_noncharacter(std::string_view text);

bool is_commit_hash(std::string_view revision); // 40 lowercase hex

// The largest file size believed, 2^53 bytes (8 PiB): far above any file on the Hub (the Python
// client refuses plain downloads over 50 GB), and the largest integer a JSON reader in
// JavaScript keeps exact, so every size hfmodels writes reads back the same in the JS peers.
// A lockfile or listing that says more is refused. Sums of sizes are checked
// (util::add_sizes).
inline constexpr std::uint64_t k_max_file_size = std::uint64_t{1} << 53;

// docs/hub-and-cache.md §1.3: a revision is one path segment (every byte but A-Za-z0-9-._~ encoded,
// so `/` becomes %2F); a file path is encoded per segment with the `/` kept.
std::string encode_revision(std::string_view revision);
std::string encode_path(std::string_view path);

// URLs under `endpoint` (no trailing slash).
std::string resolve_url(std::string_view endpoint, const RepoRef& repo, std::string_view revision,
                        std::string_view path);
std::string revision_info_url(std::string_view endpoint, const RepoRef& repo,
                              std::string_view revision);
// The listing of `folder` ("" for the whole repo), with its sub-folders when `recursive`.
std::string tree_url(std::string_view endpoint, const RepoRef& repo, std::string_view revision,
                     std::string_view folder = {}, bool recursive = true);
std::string refs_url(std::string_view endpoint, const RepoRef& repo);
// The repo's web page ("https://huggingface.co/org/name", ".../datasets/org/name"), for hints.
std::string repo_page_url(std::string_view endpoint, const RepoRef& repo);

// Cache folder name: "models--org--name", "datasets--org--name".
std::string cache_folder_name(const RepoRef& repo);
// The repo a cache folder holds, or nothing for a name no client would write (an invalid id).
std::optional<RepoRef> repo_of_cache_folder(std::string_view folder);

// Strips a weak prefix `W/` and surrounding quotes (docs/hub-and-cache.md §4).
std::string normalize_etag(std::string_view etag);

} // namespace hfmodels::hub
