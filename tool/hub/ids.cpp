// SPDX-License-Identifier: MIT
#include "hub/ids.hpp"

#include "hub/repo.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace hfmodels::hub {

CommitId::CommitId(std::string_view text) : m_text(text) {
  if (!is_valid(text)) {
    throw Error(ErrorKind::usage, "invalid commit '" + std::string(text.substr(0, 80)) + "'",
                "a commit is 40 lowercase hex digits");
  }
}

bool CommitId::is_valid(std::string_view text) {
  return is_commit_hash(text);
}

BlobId::BlobId(std::string_view text) : m_text(text) {
  if (!is_valid(text)) {
    throw Error(ErrorKind::usage, "invalid blob etag '" + std::string(text.substr(0, 80)) + "'",
                "a blob name is a 40-hex git sha1 or a 64-hex sha256");
  }
}

bool BlobId::is_valid(std::string_view text) {
  return util::is_lower_hex(text, 40) || util::is_lower_hex(text, 64);
}

RepoPath::RepoPath(std::string_view text) : m_text(text) {
  validate_repo_path(text);
}

bool is_license_expression(std::string_view text) {
  constexpr std::string_view k_or = " OR ";
  if (text.empty() || text.size() > 256) {
    return false;
  }
  for (;;) {
    const auto end = text.find(k_or);
    const std::string_view id = text.substr(0, end);
    const bool valid_id = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.' || c == '+' || c == '_';
    });
    if (!valid_id) {
      return false;
    }
    if (end == std::string_view::npos) {
      return true;
    }
    text.remove_prefix(end + k_or.size());
  }
}

} // namespace hfmodels::hub
