// SPDX-License-Identifier: MIT
#pragma once

// The names the Hub gives a repo's content, checked once where they enter (a lockfile, a Hub
// answer, a program's call) and carried as types from there on: the cache joins them into paths
// without checking them again, and a function that takes a CommitId cannot be handed a branch.

#include <string>
#include <string_view>

namespace hfmodels::hub {

// A commit: 40 lowercase hex digits.
class CommitId {
public:
  CommitId() = default; // empty: not set yet, in a value being built
  // Throws Error(usage) "invalid commit" unless `text` is one.
  explicit CommitId(std::string_view text);
  static bool is_valid(std::string_view text);

  const std::string& str() const { return m_text; }
  bool operator==(const CommitId&) const = default;
  bool operator<(const CommitId& other) const { return m_text < other.m_text; }

private:
  std::string m_text;
};

// A blob of the cache (blobs/<name>): a git blob sha1 (40 lowercase hex) for a regular file, the
// content's sha256 (64) for an LFS one.
class BlobId {
public:
  BlobId() = default; // empty: not set yet, in a value being built
  // Throws Error(usage) "invalid blob etag" unless `text` is one.
  explicit BlobId(std::string_view text);
  static bool is_valid(std::string_view text);

  const std::string& str() const { return m_text; }
  // The content's sha256: an LFS file's blob name.
  bool is_sha256() const { return m_text.size() == 64; }
  bool operator==(const BlobId&) const = default;
  bool operator<(const BlobId& other) const { return m_text < other.m_text; }

private:
  std::string m_text;
};

// A file's path in a repo, safe to join below a snapshot folder: relative, non-empty, at most
// 1024 bytes, no NUL or control character, no backslash, no empty, `.` or `..` segment, no
//
// Unicode noncharacter.
class RepoPath {
public:
  RepoPath() = default; // empty: not set yet, in a value being built
  // Throws Error(usage) "invalid file path" saying what is wrong.
  explicit RepoPath(std::string_view text);

  const std::string& str() const { return m_text; }
  bool operator==(const RepoPath&) const = default;
  bool operator<(const RepoPath& other) const { return m_text < other.m_text; }

private:
  std::string m_text;
};

// A licence as a model card declares it: one or more ids ("apache-2.0", "llama3", "cc-by-nc-4.0")
// joined by " OR ", each of the characters SPDX ids use, so it can go into a lockfile, an SBOM
// or a terminal as it is.
bool is_license_expression(std::string_view text);

} // namespace hfmodels::hub
