// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string_view>

// The bookkeeping huggingface_hub keeps in a "local dir" (`hf download --local-dir DIR`,
// docs/hub-and-cache.md §5.10): DIR/.cache/huggingface/ with a `.gitignore`, a CACHEDIR.TAG and,
// per file, `download/<path>.metadata` naming the commit and etag the file holds. A folder that
// `hfmodels export` fills carries it too, so that `hf download` into the same folder finds its
// files current instead of downloading them again.
namespace hfmodels::cache {

class LocalDir {
public:
  // `dir` is the local dir (DIR above); its .cache/huggingface/ is created when missing.
  explicit LocalDir(const std::filesystem::path& dir);

  // Records that DIR/<repo_path> holds the file of `commit` whose etag is `etag`, written no
  // later than now. Leaves a record that already says so untouched.
  void record(std::string_view repo_path, std::string_view commit, std::string_view etag) const;

private:
  std::filesystem::path m_meta;
};

} // namespace hfmodels::cache
