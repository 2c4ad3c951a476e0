// SPDX-License-Identifier: MIT
#include "ops/resolve.hpp"

#include "ops/project.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <set>

namespace hfmodels::ops {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The folder a glob names before its first wildcard ("onnx/" for "onnx/*.json"), or "" when the
// pattern may match at the top.
std::string literal_folder(std::string_view pattern) {
  const auto wildcard = pattern.find_first_of("*?[");
  const std::string_view literal = pattern.substr(0, wildcard);
  const auto slash = literal.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(literal.substr(0, slash));
}

} // namespace

bool follows_moving_ref(hub::HubClient& hub, const manifest::ModelSpec& spec) {
  if (hub::is_commit_hash(spec.revision)) {
    return false;
  }
  const auto refs = hub.list_refs(spec.repo);
  return !(contains(refs.tags, spec.revision) && !contains(refs.branches, spec.revision));
}

std::vector<hub::ListingScope> listing_scopes(const manifest::ModelSpec& spec) {
  std::set<std::string> folders;
  if (!spec.files.empty()) {
    for (const auto& file : spec.files) {
      const auto slash = file.rfind('/');
      folders.insert(slash == std::string::npos ? std::string() : file.substr(0, slash));
    }
    std::vector<hub::ListingScope> scopes;
    for (const auto& folder : folders) {
      scopes.push_back({folder, false});
    }
    return scopes;
  }
  if (spec.quant || spec.include.empty()) {
    return {{}};
  }
  for (const auto& pattern : spec.include) {
    std::string folder = literal_folder(pattern);
    if (folder.empty()) {
      return {{}};
    }
    folders.insert(std::move(folder));
  }
  // A folder inside another one is listed with it.
  std::vector<hub::ListingScope> scopes;
  for (const auto& folder : folders) {
    const bool inside = std::any_of(scopes.begin(), scopes.end(), [&](const auto& scope) {
      return folder.starts_with(scope.folder + "/");
    });
    if (!inside) {
      scopes.push_back({folder, true});
    }
  }
  return scopes;
}

hub::HubClient& HubAccess::get(const std::string& model) {
  if (m_settings.offline) {
    throw Error(ErrorKind::offline_missing, "cannot ask the Hub offline",
                "'" + model + "' needs the Hub's answer (its commit and files)", {}, model)
        .with_cause("offline:resolve");
  }
  if (m_settings.no_origin) {
    throw Error(ErrorKind::offline_missing, "cannot ask the Hub with --no-origin",
                "'" + model +
                    "' needs the Hub's answer (its commit and files), and mirrors "
                    "hold files only",
                {}, model)
        .with_cause("no-origin:resolve");
  }
  if (!m_hub) {
    m_http.emplace(client_options(m_settings));
    // The JSON of a listing is about 250 bytes a file; the byte limit follows the file limit.
    m_hub.emplace(
        *m_http, m_settings.endpoint, m_stop, http::RetryPolicy{},
        hub::ListingLimits{m_settings.max_listed_files,
                           std::max<std::size_t>(256u << 20, m_settings.max_listed_files * 2560)});
  }
  return *m_hub;
}

} // namespace hfmodels::ops
