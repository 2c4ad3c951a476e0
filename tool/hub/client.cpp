// SPDX-License-Identifier: MIT
#include "hub/client.hpp"

#include "util/display.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

namespace hfmodels::hub {

namespace {

using nlohmann::json;

// A server that pages without end (1000 entries a page, the limits allow a few hundred pages).
constexpr std::size_t max_pages = 10'000;

[[noreturn]] void invalid_answer(const std::string& subject, const std::string& why) {
  throw Error(ErrorKind::network, "the Hub sent an invalid answer", why, {}, subject)
      .with_cause("hub:invalid-answer");
}

// The Hub's answers nest four levels deep at most. A hostile one nested a million deep would
// parse for seconds into a huge tree; one pass over the bytes refuses it first.
constexpr std::size_t max_json_depth = 64;

bool nested_too_deep(std::string_view body) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth) {
        return true;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

json parse_json(const std::string& body, const std::string& subject, std::string_view what) {
  if (nested_too_deep(body)) {
    invalid_answer(subject, std::string(what) + " is nested more than " +
                                std::to_string(max_json_depth) + " levels deep");
  }
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    invalid_answer(subject, std::string(what) + " is not valid JSON");
  }
  return value;
}

// The `rel="next"` target of an RFC 8288 Link header (docs/hub-and-cache.md §1.5), which may list
// several comma-separated links, each `<url>; param; param`.
std::optional<std::string> next_link(std::string_view header) {
  std::size_t position = 0;
  while (position < header.size()) {
    const auto open = header.find('<', position);
    if (open == std::string_view::npos) {
      break;
    }
    const auto close = header.find('>', open);
    if (close == std::string_view::npos) {
      break;
    }
    const std::string_view target = header.substr(open + 1, close - open - 1);
    const auto end = header.find(',', close);
    std::string_view params = header.substr(
        close + 1, end == std::string_view::npos ? std::string_view::npos : end - close - 1);
    while (!params.empty()) {
      const auto semicolon = params.find(';');
      const std::string param = util::to_lower(util::trim(params.substr(0, semicolon)));
      params =
          semicolon == std::string_view::npos ? std::string_view{} : params.substr(semicolon + 1);
      if (!param.starts_with("rel=")) {
        continue;
      }
      std::string_view value = util::trim(std::string_view(param).substr(4));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      // rel may hold several space-separated relation types.
      for (const std::string& rel : util::split(value, ' ')) {
        if (rel == "next") {
          return std::string(target);
        }
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    position = end + 1;
  }
  return std::nullopt;
}

// One tree entry (docs/hub-and-cache.md §2.2), checked field by field; nothing for folders.
// The keys of a file in the two answers that list files: tree entries (`path`, `oid`, `lfs.oid`,
// and a `type`) and the revision info's siblings (`rfilename`, `blobId`, `lfs.sha256`), §2.1.
struct FileKeys {
  const char* path;
  const char* blob_id;
  const char* lfs_sha256;
  bool typed;
};
constexpr FileKeys k_tree_keys{"path", "oid", "oid", true};
constexpr FileKeys k_sibling_keys{"rfilename", "blobId", "sha256", false};

std::optional<RepoFile> parse_entry(const json& entry, const std::string& subject,
                                    const FileKeys& keys = k_tree_keys) {
  if (!entry.is_object()) {
    invalid_answer(subject, "a file listing entry is not an object");
  }
  if (keys.typed) {
    const auto type = entry.find("type");
    if (type == entry.end() || !type->is_string()) {
      invalid_answer(subject, "a file listing entry has no `type`");
    }
    const auto& kind = type->get_ref<const std::string&>();
    if (kind == "directory" || kind == "unknown") {
      return std::nullopt;
    }
    if (kind != "file") {
      invalid_answer(subject, "a file listing entry has the unknown type '" + kind + "'");
    }
  }
  RepoFile file;
  const auto path = entry.find(keys.path);
  if (path == entry.end() || !path->is_string()) {
    invalid_answer(subject, "a file listing entry has no `" + std::string(keys.path) + "`");
  }
  try {
    // A path from the Hub is joined to the snapshot folder later: refuse any that could escape.
    file.path = RepoPath(path->get_ref<const std::string&>());
  } catch (const Error& error) {
    invalid_answer(subject, "unsafe file path: " + error.why());
  }
  const std::string where = " for '" + file.path.str() + "'";
  const auto size = entry.find("size");
  if (size == entry.end() || !size->is_number_unsigned() ||
      size->get<std::uint64_t>() > k_max_file_size) {
    invalid_answer(subject, "`size` is not a whole number of bytes up to 2^53" + where);
  }
  file.size = size->get<std::uint64_t>();
  const auto oid = entry.find(keys.blob_id);
  if (oid == entry.end() || !oid->is_string() ||
      !util::is_lower_hex(oid->get_ref<const std::string&>(), 40)) {
    invalid_answer(subject,
                   "`" + std::string(keys.blob_id) + "` is not a 40-hex git blob id" + where);
  }
  file.blob_id = BlobId(oid->get_ref<const std::string&>());
  const auto lfs = entry.find("lfs");
  if (lfs != entry.end() && !lfs->is_null()) {
    // Inside tree entries the LFS sha256 is keyed `oid`, not `sha256` as in siblings (§2.1).
    if (!lfs->is_object()) {
      invalid_answer(subject, "`lfs` is not an object" + where);
    }
    const auto lfs_oid = lfs->find(keys.lfs_sha256);
    if (lfs_oid == lfs->end() || !lfs_oid->is_string() ||
        !util::is_lower_hex(lfs_oid->get_ref<const std::string&>(), 64)) {
      invalid_answer(subject,
                     "`lfs." + std::string(keys.lfs_sha256) + "` is not a 64-hex sha256" + where);
    }
    const auto lfs_size = lfs->find("size");
    if (lfs_size == lfs->end() || !lfs_size->is_number_unsigned() ||
        lfs_size->get<std::uint64_t>() != file.size) {
      invalid_answer(subject, "`lfs.size` differs from `size`" + where);
    }
    file.lfs_sha256 = BlobId(lfs_oid->get_ref<const std::string&>());
  }
  return file;
}

// The licence the model card declares (`license:` in its YAML header, which the Hub returns as
// cardData.license, a string or a list), else the `license:<id>` tag the Hub derives from it.
// What a card says is the author's claim, passed on as written; empty when it says nothing.
std::string card_license(const json& info) {
  std::vector<std::string> ids;
  const auto card = info.find("cardData");
  if (card != info.end() && card->is_object()) {
    const auto license = card->find("license");
    if (license != card->end() && license->is_string()) {
      ids.push_back(license->get<std::string>());
    } else if (license != card->end() && license->is_array()) {
      for (const auto& item : *license) {
        if (item.is_string()) {
          ids.push_back(item.get<std::string>());
        }
      }
    }
  }
  const auto tags = info.find("tags");
  if (ids.empty() && tags != info.end() && tags->is_array()) {
    for (const auto& tag : *tags) {
      if (tag.is_string() && tag.get_ref<const std::string&>().starts_with("license:")) {
        ids.push_back(tag.get<std::string>().substr(8));
      }
    }
  }
  std::string joined;
  for (const auto& id : ids) {
    // An identifier, not prose: anything else is left out rather than carried on.
    const bool repeated =
        (" OR " + joined + " OR ").find(" OR " + id + " OR ") != std::string::npos;
    if (id.size() <= 64 && is_license_expression(id) && id.find(' ') == std::string::npos &&
        !repeated && joined.size() + 4 + id.size() <= 256) {
      joined += (joined.empty() ? "" : " OR ") + id;
    }
  }
  return joined;
}

// `gated`: false, or "auto"/"manual" (true in older answers means "auto").
std::string gated_mode(const json& info) {
  const auto gated = info.find("gated");
  if (gated == info.end() || gated->is_null() || (gated->is_boolean() && !gated->get<bool>())) {
    return "";
  }
  if (gated->is_string()) {
    return gated->get<std::string>() == "manual" ? "manual" : "auto";
  }
  return "auto";
}

std::vector<std::string> ref_names(const json& refs, const char* key, const std::string& subject) {
  std::vector<std::string> names;
  const auto list = refs.find(key);
  if (list == refs.end() || list->is_null()) {
    return names;
  }
  if (!list->is_array()) {
    invalid_answer(subject, "`" + std::string(key) + "` is not a list");
  }
  for (const json& ref : *list) {
    const auto name = ref.is_object() ? ref.find("name") : ref.end();
    if (!ref.is_object() || name == ref.end() || !name->is_string()) {
      invalid_answer(subject, "an entry of `" + std::string(key) + "` has no `name`");
    }
    names.push_back(name->get<std::string>());
  }
  return names;
}

// Every message the Hub gave: X-Error-Message and the JSON body's `error` / `errors` (§2.4).
std::vector<std::string> server_messages(const http::Response& response) {
  std::vector<std::string> messages;
  // Untrusted text: on one line (a line break could forge a line of output of our own) and
  // bounded, before it is joined into a message.
  const auto add = [&messages](std::string message) {
    message = util::printable_inline(util::trim(message), 1000);
    if (!message.empty() &&
        std::find(messages.begin(), messages.end(), message) == messages.end()) {
      messages.push_back(std::move(message));
    }
  };
  if (auto header = response.headers.get("x-error-message")) {
    add(*header);
  }
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    if (const auto error = body.find("error"); error != body.end()) {
      if (error->is_string()) {
        add(error->get<std::string>());
      } else if (error->is_array()) {
        for (const json& item : *error) {
          if (item.is_string()) {
            add(item.get<std::string>());
          }
        }
      }
    }
    if (const auto errors = body.find("errors"); errors != body.end() && errors->is_array()) {
      for (const json& item : *errors) {
        if (item.is_object() && item.contains("message") && item["message"].is_string()) {
          add(item["message"].get<std::string>());
        }
      }
    }
  }
  return messages;
}

std::optional<std::string> request_id(const http::Response& response) {
  for (const char* name : {"x-request-id", "x-amzn-trace-id", "x-amz-cf-id"}) {
    if (auto value = response.headers.get(name)) {
      return value;
    }
  }
  return std::nullopt;
}

// `key=value` from a structured-field list such as `"resolvers";r=0;t=172`.
std::optional<std::string> field_param(std::string_view item, std::string_view key) {
  for (const std::string& part : util::split(item, ';')) {
    const std::string_view trimmed = util::trim(part);
    if (trimmed.size() > key.size() && trimmed.starts_with(key) && trimmed[key.size()] == '=') {
      return std::string(trimmed.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

std::string first_token(std::string_view item) {
  std::string token(util::trim(item.substr(0, item.find(';'))));
  std::erase(token, '"');
  return token;
}

// The §7.5 message: "you have reached your '<bucket>' rate limit. Retry after t seconds (r/q
// requests remaining in current w s window)", from the IETF draft RateLimit headers.
std::string rate_limit_message(const http::Response& response) {
  const auto limit = response.headers.get("ratelimit");
  if (limit) {
    const std::string bucket = first_token(*limit);
    const auto remaining = field_param(*limit, "r");
    const auto reset = field_param(*limit, "t");
    if (!bucket.empty() && reset) {
      std::string message =
          "you have reached your '" + bucket + "' rate limit. Retry after " + *reset + " seconds";
      // RateLimit-Policy: "fixed window";"resolvers";q=3000;w=300 — possibly several, by comma.
      if (const auto policies = response.headers.get("ratelimit-policy")) {
        for (const std::string& policy : util::split(*policies, ',')) {
          const bool matches = policy.find("\"" + bucket + "\"") != std::string::npos;
          const auto quota = field_param(policy, "q");
          const auto window = field_param(policy, "w");
          if (matches && quota && window && remaining) {
            message += " (" + *remaining + "/" + *quota + " requests remaining in current " +
                       *window + "s window)";
            break;
          }
        }
      }
      return message;
    }
  }
  if (const auto retry_after = response.headers.get("retry-after")) {
    return "the Hub asks to retry after " + *retry_after + " seconds";
  }
  return "too many requests";
}

std::string repo_page_from_url(std::string_view url) {
  const auto resolve = url.find("/resolve/");
  return resolve == std::string_view::npos ? std::string() : std::string(url.substr(0, resolve));
}

} // namespace

HubClient::HubClient(http::Client& http, std::string endpoint, std::stop_token stop,
                     http::RetryPolicy retry, ListingLimits limits)
    : m_http(http), m_endpoint(std::move(endpoint)), m_stop(std::move(stop)), m_retry(retry),
      m_limits(limits) {}

http::Response HubClient::get(const std::string& url, const std::string& subject,
                              std::string_view repo_page, std::size_t max_body) {
  http::Retrier retrier(m_retry, m_stop);
  for (;;) {
    http::Response response;
    try {
      response = m_http.get(url, m_stop, max_body);
    } catch (const http::TransportError& error) {
      const http::Verdict verdict =
          http::classify({static_cast<CURLcode>(error.curl_code())}, m_retry);
      if (verdict.step == http::NextStep::retry && retrier.next()) {
        continue;
      }
      throw http::tried(error, retrier.attempts());
    }
    if (response.status >= 200 && response.status < 300) {
      return response;
    }
    const http::Verdict verdict =
        http::classify({CURLE_OK, response.status, &response.headers}, m_retry);
    if (verdict.step == http::NextStep::retry && retrier.next(verdict.server_wait)) {
      continue;
    }
    try {
      throw_for_status(response, subject, repo_page);
    } catch (const Error& error) {
      throw http::tried(error, retrier.attempts());
    }
    return response;
  }
}

CommitId HubClient::resolve_commit(const RepoRef& repo, std::string_view revision) {
  return revision_info(repo, revision, false).commit;
}

RevisionInfo HubClient::revision_info(const RepoRef& repo, std::string_view revision,
                                      bool with_files) {
  const std::string subject = repo.id + "@" + std::string(revision);
  // With every file listed, the answer grows with the repo as a listing does.
  const http::Response response =
      get(revision_info_url(m_endpoint, repo, revision) + (with_files ? "?blobs=true" : ""),
          subject, repo_page_url(m_endpoint, repo),
          with_files ? std::max<std::size_t>(m_limits.max_bytes, 64u << 20) : 64u << 20);
  const json info = parse_json(response.body, subject, "the revision info");
  const auto sha = info.is_object() ? info.find("sha") : info.end();
  if (!info.is_object() || sha == info.end() || !sha->is_string()) {
    invalid_answer(subject, "the revision info has no `sha`");
  }
  const std::string& commit = sha->get_ref<const std::string&>();
  if (!CommitId::is_valid(commit)) {
    invalid_answer(subject, "`sha` is not a 40-hex commit id");
  }
  if (CommitId::is_valid(revision) && commit != revision) {
    invalid_answer(subject, "asked for commit " + std::string(revision) + ", got " + commit);
  }
  RevisionInfo result{CommitId(commit), card_license(info), gated_mode(info), {}};
  if (with_files) {
    const auto siblings = info.find("siblings");
    if (siblings == info.end() || !siblings->is_array()) {
      invalid_answer(subject, "the revision info has no `siblings` list");
    }
    std::set<std::string, std::less<>> paths;
    for (const json& sibling : *siblings) {
      if (result.files.size() == m_limits.max_files) {
        throw Error(ErrorKind::usage, "too many files to list",
                    "it has more than " + std::to_string(m_limits.max_files) + " files", "",
                    subject)
            .with_cause("hub:listing-too-large");
      }
      auto file = parse_entry(sibling, subject, k_sibling_keys);
      if (!paths.insert(file->path.str()).second) {
        invalid_answer(subject, "the revision info names '" + file->path.str() + "' twice");
      }
      result.files.push_back(std::move(*file));
    }
    std::sort(result.files.begin(), result.files.end(),
              [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  }
  return result;
}

std::vector<RepoFile> HubClient::list_files(const RepoRef& repo, const CommitId& commit,
                                            const std::vector<ListingScope>& scopes) {
  const std::string subject = repo.id + "@" + commit.str();
  std::vector<RepoFile> files;
  std::set<std::string, std::less<>> paths;
  std::size_t bytes = 0;
  const auto too_large = [&](const std::string& what) {
    throw Error(ErrorKind::usage, "too many files to list", what, "", subject)
        .with_cause("hub:listing-too-large");
  };
  for (const ListingScope& scope : scopes) {
    std::set<std::string> visited;
    std::string url = tree_url(m_endpoint, repo, commit.str(), scope.folder, scope.recursive);
    for (std::size_t page = 1;; ++page) {
      if (page > max_pages) {
        invalid_answer(subject,
                       "the file listing has more than " + std::to_string(max_pages) + " pages");
      }
      http::Response response;
      try {
        response = get(url, subject, repo_page_url(m_endpoint, repo));
      } catch (const Error& error) {
        if (page == 1 && !scope.folder.empty() && error.cause() == "http:404:EntryNotFound") {
          break; // a folder the commit does not have holds no file
        }
        throw;
      }
      bytes += response.body.size();
      if (bytes > m_limits.max_bytes) {
        too_large("its listing is over " + util::format_bytes(m_limits.max_bytes) + " of JSON");
      }
      const json entries = parse_json(response.body, subject, "the file listing");
      if (!entries.is_array()) {
        invalid_answer(subject, "the file listing is not a list");
      }
      for (const json& entry : entries) {
        std::optional<RepoFile> file = parse_entry(entry, subject);
        if (!file) {
          continue;
        }
        // Scopes never overlap (a folder inside another is listed with it), so a path named
        // twice is the server's mistake.
        if (!paths.insert(file->path.str()).second) {
          invalid_answer(subject, "the file listing names '" + file->path.str() + "' twice");
        }
        if (files.size() == m_limits.max_files) {
          too_large("it has more than " + std::to_string(m_limits.max_files) + " files");
        }
        files.push_back(std::move(*file));
      }
      // Follow the next-page link verbatim: it carries the query and an opaque cursor (§1.5).
      const auto link = response.headers.get("link");
      const auto next = link ? next_link(*link) : std::nullopt;
      if (!next) {
        break;
      }
      visited.insert(url);
      url = http::resolve_location(url, *next);
      if (visited.contains(url)) {
        invalid_answer(subject, "the file listing's pages link in a loop");
      }
    }
  }
  std::sort(files.begin(), files.end(),
            [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  return files;
}

RepoRefs HubClient::list_refs(const RepoRef& repo) {
  const std::string subject = repo.id;
  const http::Response response =
      get(refs_url(m_endpoint, repo), subject, repo_page_url(m_endpoint, repo));
  const json refs = parse_json(response.body, subject, "the refs list");
  if (!refs.is_object()) {
    invalid_answer(subject, "the refs list is not an object");
  }
  RepoRefs result;
  result.branches = ref_names(refs, "branches", subject);
  result.tags = ref_names(refs, "tags", subject);
  return result;
}

void throw_for_status(const http::Response& response, const std::string& subject,
                      std::string_view repo_page) {
  const long status = response.status;
  if (status >= 200 && status < 300) {
    return;
  }
  const std::string page =
      repo_page.empty() ? repo_page_from_url(response.url) : std::string(repo_page);
  const std::vector<std::string> messages = server_messages(response);
  const std::string error_code = response.headers.get("x-error-code").value_or("");
  const std::string error_message = response.headers.get("x-error-message").value_or("");

  // "HTTP 404: <server messages> (request id <id>)": everything a bug report needs.
  std::string why = "HTTP " + std::to_string(status);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    why += (i == 0 ? ": " : "; ") + messages[i];
  }
  if (const auto id = request_id(response)) {
    why += " (request id " + *id + ")";
  }
  // The request id differs from one request to the next; the cause does not.
  const std::string cause = "http:" + std::to_string(status) + ":" + error_code;
  const auto fail = [&](std::string what, std::string hint, std::string_view detail = {}) {
    throw Error(ErrorKind::network, std::move(what), why, std::move(hint), subject)
        .with_cause(detail.empty() ? cause
                                   : "http:" + std::to_string(status) + ":" + std::string(detail));
  };
  const bool bad_token =
      status == 401 && std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
        return m.find("Invalid credentials in Authorization header") != std::string::npos;
      });

  // The order is Python's hf_raise_for_status (docs/hub-and-cache.md §7.3).
  if (error_code == "RevisionNotFound") {
    fail("revision not found", {});
  }
  if (error_code == "EntryNotFound") {
    fail("file not found in the repository", "Check the path");
  }
  if (error_code == "GatedRepo" && (status == 401 || status == 403)) {
    const std::string where = page.empty() ? "on the repo's page" : "at " + page;
    if (status == 403) {
      fail("the repo is gated: your account has no access to it yet",
           "Request access " + where +
               " and wait for approval; a fine-grained token also needs read access to "
               "gated repos");
    }
    fail("the repo is gated: the Hub needs a token of an account that was granted access",
         "Request access " + where);
  }
  if (error_message == "Access to this resource is disabled.") {
    fail("the repository is disabled", "Its owner or the Hub disabled it; pick another repo");
  }
  if (bad_token) {
    fail("the Hub rejected the token",
         "The token is invalid or expired: create a new one at "
         "https://huggingface.co/settings/tokens",
         "bad-token");
  }
  // The Hub answers 401 for private, gated and nonexistent repos alike.
  if (error_code == "RepoNotFound" || status == 401) {
    fail("repository not found (or private / gated)", "Check the name");
  }
  if (status == 400) {
    fail("the Hub refused the request as malformed", "Check the repo id, revision and path");
  }
  if (status == 403) {
    fail("access denied",
         "Make sure your token has the correct permissions (a fine-grained token needs read "
         "access to this repo)");
  }
  if (status == 429) {
    why = rate_limit_message(response) + " (HTTP 429" +
          (request_id(response) ? ", request id " + *request_id(response) : std::string()) + ")";
    fail("rate limited by the Hub", "Wait and try again");
  }
  if (status == 416) {
    if (const auto range = response.headers.get("content-range")) {
      why += " (Content-Range: " + *range + ")";
    }
    fail("the server refused the requested byte range", "Run the command again");
  }
  if (status >= 500) {
    fail("the server had an error (HTTP " + std::to_string(status) + ")",
         "The Hub, the mirror or a proxy is having trouble: try again later");
  }
  why += " from " + http::redact_url(response.url);
  fail("the request failed (HTTP " + std::to_string(status) + ")", "");
}

} // namespace hfmodels::hub
