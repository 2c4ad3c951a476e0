// SPDX-License-Identifier: MIT
#include "manifest/selection.hpp"

#include "manifest/quants.hpp"
#include "util/error.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <map>

namespace hfmodels::manifest {

namespace {

bool is_ascii_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string backticked(std::string_view text) {
  return "`" + std::string(text) + "`";
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) {
      text += separator;
    }
    text += item;
  }
  return text;
}

// The quantization names of the repo's .gguf files, to list when a requested quant matches
// nothing.
std::vector<std::string> available_quants(const std::vector<std::string_view>& paths) {
  std::vector<std::string> names;
  for (const auto& quant : gguf_inventory(paths, {}).quants) {
    names.push_back(quant.name);
  }
  return names;
}

[[noreturn]] void fail_selection(const ModelSpec& spec, std::string why, std::string hint) {
  throw Error(ErrorKind::usage, "no matching file", std::move(why), std::move(hint), spec.name);
}

// The likely intended path for a missing exact file: a near-miss spelling, or the same file name
// in a folder.
std::optional<std::string> suggest_path(std::string_view wanted,
                                        const std::vector<std::string_view>& files) {
  const std::vector<std::string> paths(files.begin(), files.end());
  if (auto close = util::closest_match(wanted, paths)) {
    return close;
  }
  const std::string suffix = "/" + std::string(wanted);
  for (const auto& path : paths) {
    if (path.ends_with(suffix)) {
      return path;
    }
  }
  const std::string lower = util::to_lower(wanted);
  for (const auto& path : paths) {
    if (util::to_lower(path) == lower) {
      return path;
    }
  }
  return std::nullopt;
}

std::vector<std::size_t> select_exact(const ModelSpec& spec,
                                      const std::vector<std::string_view>& paths) {
  std::map<std::string_view, std::size_t> by_path;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    by_path.emplace(paths[i], i);
  }
  std::map<std::string_view, std::size_t> selected;
  for (const auto& wanted : spec.files) {
    const auto it = by_path.find(wanted);
    if (it == by_path.end()) {
      const auto suggestion = suggest_path(wanted, paths);
      throw Error(ErrorKind::usage, "file not found in repository",
                  backticked(wanted) + " is not in " + spec.repo.id + " at " + spec.revision,
                  suggestion ? "Did you mean " + backticked(*suggestion) + "?"
                             : "Check the path on the repository's \"Files\" page",
                  spec.name + "/" + wanted);
    }
    selected.emplace(it->first, it->second);
  }
  std::vector<std::size_t> result;
  result.reserve(selected.size());
  for (const auto& [path, index] : selected) {
    result.push_back(index);
  }
  return result;
}

} // namespace

bool matches_quant(std::string_view path, std::string_view quant) {
  if (quant.empty() || !is_gguf(path)) {
    return false;
  }
  const std::string haystack = util::to_lower(path);
  const std::string needle = util::to_lower(quant);
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    const std::size_t after = at + needle.size();
    const bool starts = at == 0 || !is_ascii_alnum(haystack[at - 1]);
    // `_` continues a quant name (Q4_K -> Q4_K_M); `-` and `.` end it.
    const bool ends =
        after == haystack.size() || (!is_ascii_alnum(haystack[after]) && haystack[after] != '_');
    if (starts && ends) {
      return true;
    }
  }
  return false;
}

std::vector<std::size_t>
select_paths(const ModelSpec& spec, const std::vector<std::string_view>& paths, PatternRule rule) {
  if (!spec.files.empty()) {
    return select_exact(spec, paths);
  }
  const auto matches = rule == PatternRule::fnmatch ? util::glob_match : util::segment_glob_match;

  std::vector<bool> chosen(paths.size(), spec.include.empty() && !spec.quant);
  // Each selector must earn its place: one that matches nothing is a typo or a stale manifest.
  for (const auto& pattern : spec.include) {
    bool matched = false;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (matches(pattern, paths[i])) {
        chosen[i] = true;
        matched = true;
      }
    }
    if (!matched) {
      fail_selection(spec,
                     "include pattern " + backticked(pattern) + " matched no file in " +
                         spec.repo.id + " at " + spec.revision,
                     "Patterns match the whole path, as with `hf download --include`: "
                     "`config.json` is only the top-level file, `*config.json` any of them");
    }
  }
  if (spec.quant) {
    bool matched = false;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (matches_quant(paths[i], *spec.quant)) {
        chosen[i] = true;
        matched = true;
      }
    }
    if (!matched) {
      const auto quants = available_quants(paths);
      const bool has_gguf = std::any_of(paths.begin(), paths.end(), is_gguf);
      std::string hint = "Available quants: " + join(quants, ", ");
      if (!has_gguf) {
        hint = "`quant` selects .gguf files and this repository has none; use `include` instead";
      } else if (quants.empty()) {
        hint = "Check the .gguf file names on the repository's \"Files\" page";
      }
      fail_selection(spec,
                     "quant " + backticked(*spec.quant) + " matched no .gguf file in " +
                         spec.repo.id + " at " + spec.revision,
                     hint);
    }
  }
  // A pattern that excludes nothing is fine: it may guard against files the repo does not have
  // (yet), and failing on it would break locking whenever upstream removes such a file.
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (chosen[i] &&
        std::any_of(spec.exclude.begin(), spec.exclude.end(),
                    [&](const std::string& pattern) { return matches(pattern, paths[i]); })) {
      chosen[i] = false;
    }
  }

  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (chosen[i]) {
      result.push_back(i);
    }
  }
  if (result.empty()) {
    fail_selection(spec,
                   paths.empty() ? spec.repo.id + " has no file at " + spec.revision
                                 : "`exclude` removes every selected file",
                   paths.empty() ? "Check the repository and revision"
                                 : "Narrow the `exclude` patterns");
  }
  // In path order, each path once (a listing names each path once; a caller's list might not).
  std::sort(result.begin(), result.end(),
            [&](std::size_t a, std::size_t b) { return paths[a] < paths[b]; });
  result.erase(std::unique(result.begin(), result.end(),
                           [&](std::size_t a, std::size_t b) { return paths[a] == paths[b]; }),
               result.end());
  return result;
}

std::vector<hub::RepoFile> select_files(const ModelSpec& spec,
                                        const std::vector<hub::RepoFile>& files) {
  std::vector<std::string_view> paths;
  paths.reserve(files.size());
  for (const auto& file : files) {
    paths.emplace_back(file.path.str());
  }
  std::vector<hub::RepoFile> selected;
  for (const std::size_t index : select_paths(spec, paths)) {
    selected.push_back(files[index]);
  }
  return selected;
}

} // namespace hfmodels::manifest
