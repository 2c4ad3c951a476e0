// SPDX-License-Identifier: MIT
#pragma once

#include "http/client.hpp"
#include "http/retry.hpp"
#include "hub/ids.hpp"
#include "hub/repo.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::hub {

// One file of a commit, as the tree listing describes it.
struct RepoFile {
  RepoPath path;
  std::uint64_t size = 0;
  BlobId blob_id;                   // git blob sha1 (of the LFS pointer, for LFS files)
  std::optional<BlobId> lfs_sha256; // set for LFS files

  bool is_lfs() const { return lfs_sha256.has_value(); }
  // The cache blob name: the content sha256 for LFS files, the git blob sha1 otherwise.
  const BlobId& etag() const { return lfs_sha256 ? *lfs_sha256 : blob_id; }
};

// What the revision-info call says of a commit, beyond its id.
struct RevisionInfo {
  CommitId commit;
  std::string license; // the card's licence id(s), "apache-2.0" or "mit OR cc-by-4.0"; "" if none
  std::string gated;   // "", "auto" or "manual"
  std::vector<RepoFile> files; // with_files only: every file, sorted by path
};

struct RepoRefs {
  std::vector<std::string> branches;
  std::vector<std::string> tags;
};

// The Hub's JSON API. Every answer is validated before use (commit ids, paths, hashes); a
// malformed answer throws Error(network) saying what was wrong. Transport failures and transient
// statuses (408, 429, 5xx) are retried per `retry` (http/retry.hpp); the final error says how
// many times the call was tried.
// How much of a file listing is read before giving up: a made-up listing of millions of entries
// must not become millions of downloads, nor fill memory.
struct ListingLimits {
  // The Hub recommends fewer than 100,000 files per repo; larger ones are listed by folder.
  std::size_t max_files = 100'000;
  std::size_t max_bytes = 256u << 20; // of JSON, over all pages
};

// A part of a repo to list: a folder ("" for the root), with or without its sub-folders.
struct ListingScope {
  std::string folder;
  bool recursive = true;

  bool operator==(const ListingScope&) const = default;
};

class HubClient {
public:
  // Every call ends at once, throwing util::Cancelled, when `stop` is requested.
  HubClient(http::Client& http, std::string endpoint, std::stop_token stop = {},
            http::RetryPolicy retry = {}, ListingLimits limits = {});

  // The commit `revision` (branch, tag, refs/pr/N or commit) points to, from the revision-info
  // call. Throws Error(network) with the Hub's reason (repo or revision not found, gated, ...).
  CommitId resolve_commit(const RepoRef& repo, std::string_view revision);
  // The same call, with the card's licence and gating, and with `with_files` every file of the
  // commit with its size and hashes (`?blobs=true`): one request for a whole repo, as `info`
  // and `hf download` use it. Limited like list_files by max_files.
  RevisionInfo revision_info(const RepoRef& repo, std::string_view revision, bool with_files);

  // Every file of `commit` in `scopes` (the whole repo by default; none inside another),
  // following `Link:
  // rel="next"` pagination, each path once, sorted by path. A folder the commit does not have
  // lists nothing. More than the limits allow throws Error(usage) with cause
  // "hub:listing-too-large" (the caller says how to narrow the selection).
  std::vector<RepoFile> list_files(const RepoRef& repo, const CommitId& commit,
                                   const std::vector<ListingScope>& scopes = {{}});

  RepoRefs list_refs(const RepoRef& repo);

private:
  // GET with retries; a failure that remains throws, naming `subject`.
  http::Response get(const std::string& url, const std::string& subject, std::string_view repo_page,
                     std::size_t max_body = 64u << 20);

  http::Client& m_http;
  std::string m_endpoint;
  std::stop_token m_stop;
  http::RetryPolicy m_retry;
  ListingLimits m_limits;
};

// Throws the Error that a non-2xx Hub response means (docs/hub-and-cache.md §7.3): repo not found,
// gated, revision not found, entry not found, bad token, rate limited, ... `subject` names what
// was asked for ("org/name@main"). Returns normally for 2xx. `repo_page` (repo_page_url) is
// named in the gated-repo hint; when empty it is taken from a `/resolve/` response URL.
void throw_for_status(const http::Response& response, const std::string& subject,
                      std::string_view repo_page = {});

} // namespace hfmodels::hub
