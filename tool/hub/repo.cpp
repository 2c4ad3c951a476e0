// SPDX-License-Identifier: MIT
#include "hub/repo.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <string>

namespace hfmodels::hub {

namespace {

constexpr std::size_t max_repo_id_length = 96; // docs/hub-and-cache.md §1.1
constexpr std::size_t max_repo_path_length = 1024;

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes every byte but the RFC 3986 unreserved set and `keep`, with uppercase hex
// like Python's urllib.parse.quote (docs/hub-and-cache.md §1.3).
std::string percent_encode(std::string_view text, char keep) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep != '\0' && ch == keep)) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::string_view api_segment(RepoType type) {
  return type == RepoType::dataset ? "datasets" : "models";
}

// The prefix of web and resolve URLs: none for models (docs/hub-and-cache.md §1.1 table).
std::string_view url_prefix(RepoType type) {
  return type == RepoType::dataset ? "datasets/" : "";
}

std::string api_base(std::string_view endpoint, const RepoRef& repo) {
  return std::string(endpoint) + "/api/" + std::string(api_segment(repo.type)) + "/" + repo.id;
}

[[noreturn]] void throw_bad_repo_id(std::string_view id, const std::string& reason) {
  throw Error(ErrorKind::usage, "invalid repo id", "'" + std::string(id) + "' " + reason,
              "A repo id is `name` or `namespace/name`: letters, digits, `-`, `_` and `.`, at "
              "most 96 characters");
}

[[noreturn]] void throw_bad_path(std::string_view path, const std::string& reason) {
  std::string shown(path.substr(0, 200));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      c = '?'; // never echo control characters to a terminal
    }
  }
  throw Error(ErrorKind::usage, "invalid file path", "'" + shown + "' " + reason,
              "Repository paths are relative, use `/` between folders and contain no `.` or "
              "`..` segment");
}

bool is_hex_lower(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

} // namespace

std::string_view type_name(RepoType type) {
  return type == RepoType::dataset ? "dataset" : "model";
}

std::optional<RepoType> parse_repo_type(std::string_view name) {
  if (name == "model") {
    return RepoType::model;
  }
  if (name == "dataset") {
    return RepoType::dataset;
  }
  return std::nullopt;
}

void validate_repo_id(std::string_view id) {
  if (id.empty()) {
    throw_bad_repo_id(id, "is empty");
  }
  if (id.size() > max_repo_id_length) {
    throw_bad_repo_id(id, "is longer than 96 characters");
  }
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) {
      throw_bad_repo_id(id, "contains a character other than letters, digits, `-`, `_`, `.`");
    }
  }
  const auto parts = util::split(id, '/');
  if (parts.size() > 2) {
    throw_bad_repo_id(id, "has more than one `/`");
  }
  for (const std::string& part : parts) {
    if (part.empty()) {
      throw_bad_repo_id(id, "has an empty part");
    }
    // Python's regex `\b[\w\-.]+\b` makes each part start and end with a word character.
    for (const char edge : {part.front(), part.back()}) {
      if (edge == '-' || edge == '.') {
        throw_bad_repo_id(id, "has a part that starts or ends with `-` or `.`");
      }
    }
  }
  // `--` would make cache folder names ambiguous (§5.2); `..` and `.git` are refused by the Hub.
  if (id.find("--") != std::string_view::npos) {
    throw_bad_repo_id(id, "contains `--`");
  }
  if (id.find("..") != std::string_view::npos) {
    throw_bad_repo_id(id, "contains `..`");
  }
  if (id.ends_with(".git")) {
    throw_bad_repo_id(id, "ends with `.git`");
  }
}

bool has_noncharacter(std::string_view text) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  for (std::size_t at = 0; at + 2 < text.size(); ++at) {
    if (byte(at) == 0xEF && byte(at + 1) == 0xB7 && byte(at + 2) >= 0x90 && byte(at + 2) <= 0xAF) {
      return true;
    }
    if (byte(at) == 0xEF && byte(at + 1) == 0xBF &&
        (byte(at + 2) == 0xBE || byte(at + 2) == 0xBF)) {
      return true;
    }
    if (at + 3 < text.size() && byte(at) >= 0xF0 && (byte(at + 1) & 0x0FU) == 0x0F &&
        byte(at + 2) == 0xBF && (byte(at + 3) == 0xBE || byte(at + 3) == 0xBF)) {
      return true;
    }
  }
  return false;
}

void validate_repo_path(std::string_view path) {
  if (path.empty()) {
    throw_bad_path(path, "is empty");
  }
  if (path.size() > max_repo_path_length) {
    throw_bad_path(path, "is longer than 1024 bytes");
  }
  for (const char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      throw_bad_path(path, "contains a control character");
    }
    if (c == '\\') {
      throw_bad_path(path, "contains a backslash");
    }
  }
  if (has_noncharacter(path)) {
    throw_bad_path(path, "contains a Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0..U+FDEF)");
  }
  if (path.front() == '/') {
    throw_bad_path(path, "is absolute");
  }
  for (const std::string& segment : util::split(path, '/')) {
    if (segment.empty()) {
      throw_bad_path(path, "has an empty segment");
    }
    if (segment == "." || segment == "..") {
      throw_bad_path(path, "has a `" + segment + "` segment");
    }
  }
}

bool is_commit_hash(std::string_view revision) {
  if (revision.size() != 40) {
    return false;
  }
  for (const char c : revision) {
    if (!is_hex_lower(c)) {
      return false;
    }
  }
  return true;
}

std::string encode_revision(std::string_view revision) {
  return percent_encode(revision, '\0');
}

std::string encode_path(std::string_view path) {
  return percent_encode(path, '/');
}

std::string resolve_url(std::string_view endpoint, const RepoRef& repo, std::string_view revision,
                        std::string_view path) {
  return repo_page_url(endpoint, repo) + "/resolve/" + encode_revision(revision) + "/" +
         encode_path(path);
}

std::string revision_info_url(std::string_view endpoint, const RepoRef& repo,
                              std::string_view revision) {
  return api_base(endpoint, repo) + "/revision/" + encode_revision(revision);
}

std::string tree_url(std::string_view endpoint, const RepoRef& repo, std::string_view revision,
                     std::string_view folder, bool recursive) {
  // Lowercase booleans, as Python and JS send them (§1.5). The folder is encoded per segment,
  // which the Hub accepts as JS sends it.
  return api_base(endpoint, repo) + "/tree/" + encode_revision(revision) +
         (folder.empty() ? std::string() : "/" + encode_path(folder)) +
         "?recursive=" + (recursive ? "true" : "false") + "&expand=false";
}

std::string refs_url(std::string_view endpoint, const RepoRef& repo) {
  return api_base(endpoint, repo) + "/refs";
}

std::string repo_page_url(std::string_view endpoint, const RepoRef& repo) {
  return std::string(endpoint) + "/" + std::string(url_prefix(repo.type)) + repo.id;
}

std::string cache_folder_name(const RepoRef& repo) {
  std::string name = std::string(api_segment(repo.type)) + "--";
  for (const char c : repo.id) {
    if (c == '/') {
      name += "--";
    } else {
      name += c;
    }
  }
  return name;
}

std::optional<RepoRef> repo_of_cache_folder(std::string_view folder) {
  for (const RepoType type : {RepoType::model, RepoType::dataset}) {
    const std::string prefix = std::string(api_segment(type)) + "--";
    if (!folder.starts_with(prefix)) {
      continue;
    }
    std::string_view rest = folder.substr(prefix.size());
    std::string id;
    if (const auto separator = rest.find("--"); separator != std::string_view::npos) {
      id = std::string(rest.substr(0, separator)) + "/" + std::string(rest.substr(separator + 2));
    } else {
      id = std::string(rest);
    }
    try {
      validate_repo_id(id);
    } catch (const Error&) {
      return std::nullopt;
    }
    return RepoRef{type, id};
  }
  return std::nullopt;
}

std::string normalize_etag(std::string_view etag) {
  etag = util::trim(etag);
  if (etag.starts_with("W/")) {
    etag.remove_prefix(2);
  }
  while (etag.starts_with('"')) {
    etag.remove_prefix(1);
  }
  while (etag.ends_with('"')) {
    etag.remove_suffix(1);
  }
  return std::string(etag);
}

} // namespace hfmodels::hub
