// SPDX-License-Identifier: MIT
#pragma once

// The hfmodels run-time library: fetch, find and check Hugging Face models from a program, with
// the guarantees of the command line (pinned commits, every byte verified, the shared cache,
// resumable downloads). README.md, "Using hfmodels from a program", shows it in use.
//
// Threads: every function runs on the caller's thread, and so do the events of a fetch. Objects
// are not shared between threads, but several fetches (of any projects) may run at once on
// different threads; the library keeps no process-wide state a caller can trip over, installs
// no signal handler and never prints. Every failure throws hfmodels::Error.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <hfmodels/error.hpp>
#include <hfmodels/export.hpp>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels {

// "0.2.0": the version of the library the program runs with.
HFMODELS_EXPORT const char* version() noexcept;

// Where and how to fetch. A default-constructed Options reads the environment as the command
// line does (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_TOKEN_PATH, HF_HUB_OFFLINE,
// HFMODELS_OFFLINE, HFMODELS_MIRRORS, HFMODELS_NO_ORIGIN, proxies, timeouts); the setters
// override it. Throws Error(usage) for a
// malformed variable (an endpoint that is not http(s), a bad timeout).
class HFMODELS_EXPORT Options {
public:
  Options();
  ~Options();
  Options(const Options& other);
  Options& operator=(const Options& other);
  Options(Options&&) noexcept;
  Options& operator=(Options&&) noexcept;

  // The Hub cache (default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).
  // Throws Error(usage) for an empty path.
  Options& cache_dir(std::filesystem::path dir);
  const std::filesystem::path& cache_dir() const;
  // The Hub (default: HF_ENDPOINT, else https://huggingface.co). Throws Error(usage) for a URL
  // that is not http(s).
  Options& endpoint(std::string url);
  const std::string& endpoint() const;
  // The access token for gated and private repos (default: HF_TOKEN, the token file). Sent only
  // to the Hub's own origin, never printed, never put in an Error.
  Options& token(std::string token);
  // Never connect: fetches succeed from the cache or throw Error(offline_missing).
  Options& offline(bool offline);
  bool offline() const;
  // Mirrors tried in order before the Hub: `http(s)://…`, `s3://bucket/prefix` (AWS_*
  // credentials) or `file:///path`, each holding files at `<base>/sha256/<hex>` (default:
  // HFMODELS_MIRRORS). Every byte is checked as bytes from the Hub are. Throws Error(usage)
  // for a URL that is not a mirror.
  Options& mirrors(const std::vector<std::string>& urls);
  std::vector<std::string> mirrors() const; // credentials in them masked
  // Files come from the mirrors only; the Hub is never contacted (default:
  // HFMODELS_NO_ORIGIN).
  Options& no_origin(bool no_origin);
  bool no_origin() const;
  // Files downloaded at once, 1 to 64 (default 16); Error(usage) outside that.
  Options& jobs(unsigned jobs);
  unsigned jobs() const;

  struct Settings;
  const Settings& settings() const; // for the library's own use

private:
  std::unique_ptr<Settings> m_settings;
};

// One locked file: a path of the repo at the locked commit, with its size and sha256.
struct LockedFile {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256; // 64 hex digits
  std::string etag;   // the cache's blob name: git blob id (40 hex) or the LFS sha256
};

// A model pinned to a commit, with every file it needs: an entry of models.lock, or what
// Hub::resolve gives for a model chosen at run time.
struct LockedModel {
  std::string name;      // the name in models.lock; for Hub::resolve, made from the repo id
  std::string repo;      // "org/name"
  std::string repo_type; // "model", "dataset" or "space"
  std::string revision;  // as asked for: a branch, a tag or a commit
  std::string commit;    // 40 hex digits
  std::vector<LockedFile> files;

  std::uint64_t total_size() const noexcept {
    std::uint64_t total = 0;
    for (const auto& file : files) {
      total += file.size;
    }
    return total;
  }
};

// What a fetch reports as it goes, on the thread that called fetch: one `started` and one
// `finished` (or `failed`) per file downloaded, and `progress` at most every 100 ms per file.
// Speed and ETA are over the last seconds of this run, never counting bytes resumed from disk.
// Why files failed is in the hfmodels::Error the fetch then throws (grouped by cause).
struct Event {
  enum class Kind { started, progress, finished, failed };
  Kind kind = Kind::started;
  std::string model;
  std::string path;                 // the file's path in the repo
  std::uint64_t bytes_done = 0;     // of this file, resumed bytes included
  std::uint64_t bytes_total = 0;    // this file's size
  double bytes_per_second = 0;      // this file's, over the last seconds
  double eta_seconds = -1;          // this file's; negative while unknown
  std::uint64_t all_bytes_done = 0; // of every file this fetch downloads
  std::uint64_t all_bytes_total = 0;
  double all_eta_seconds = -1; // never less than the slowest file's
};
using EventCallback = std::function<void(const Event&)>;

// What a fetch did.
struct FetchSummary {
  std::size_t files = 0;              // locked files of the models fetched
  std::size_t downloaded = 0;         // of them, downloaded now (the rest were cached)
  std::uint64_t bytes_downloaded = 0; // their sizes (bytes a partial download kept included)
};

// A model's presence in the cache, by size (hashing is verify's job).
struct ModelState {
  std::string name;
  std::size_t files = 0;
  std::size_t files_cached = 0;
  std::uint64_t bytes = 0;        // of every locked file
  std::uint64_t bytes_cached = 0; // of the files present
  bool cached() const noexcept { return files_cached == files; }
};

// The models of one lockfile.
class HFMODELS_EXPORT Project {
public:
  // Reads a models.lock (every value checked). A models.yaml beside it is checked too: a model
  // edited there since it was locked makes fetch throw Error(stale).
  static Project open(const std::filesystem::path& lockfile, const Options& options = {});
  // A lockfile's text, as hfmodels_embed_lockfile() compiles it into a program.
  static Project from_text(std::string_view lockfile_text, const Options& options = {});
  // The lockfile that hfmodels_embed_lockfile(<target>) compiled into this program. Linking a
  // program that calls it without that function fails with an undefined
  // hfmodels_embedded_lockfile.
  static Project embedded(const Options& options = {});

  ~Project();
  Project(Project&&) noexcept;
  Project& operator=(Project&&) noexcept;

  // The locked models' names, sorted.
  std::vector<std::string> models() const;
  // One locked model; Error(usage) for a name the lockfile lacks.
  const LockedModel& model(std::string_view name) const;
  // Which files of the model the cache holds. No network.
  ModelState state(std::string_view name) const;

  // Makes the cache hold every file of `models` (all when empty), each verified. Cached files
  // cost neither a request nor a hash. A stop request ends it within a second with
  // Error(cancelled), keeping what arrived for the next fetch.
  FetchSummary fetch(const std::vector<std::string>& models = {},
                     const EventCallback& on_event = {}, const std::stop_token& stop = {});

  // The model's snapshot folder, or one file in it. No network; Error(offline_missing) when a
  // file of the model is not cached, Error(usage) for a name or file not locked.
  std::filesystem::path path(std::string_view model) const;
  std::filesystem::path path(std::string_view model, std::string_view file) const;

private:
  struct State;
  explicit Project(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

// Resolves models chosen at run time against the Hub.
class HFMODELS_EXPORT Hub {
public:
  explicit Hub(const Options& options = {});
  ~Hub();
  Hub(Hub&&) noexcept;
  Hub& operator=(Hub&&) noexcept;

  // Pins `spec` to a commit, with every selected file's size and sha256 (regular files are
  // downloaded into the cache to be hashed, as `hfmodels lock` does). `spec` is
  // `org/name[@revision][:selector]`: the selector is a quantization of a GGUF repo
  // (`org/x-GGUF:Q4_K_M`, also found in sub-folders) or one file's path (`org/x:config.json`).
  LockedModel resolve(std::string_view spec, const std::stop_token& stop = {}) const;

private:
  std::unique_ptr<Options> m_options;
};

// Fetches one model (from Hub::resolve, or a Project's), with the guarantees of Project::fetch.
HFMODELS_EXPORT FetchSummary fetch(const LockedModel& model, const Options& options,
                                   const EventCallback& on_event = {},
                                   const std::stop_token& stop = {});

// The model's snapshot folder, or one file in it, as Project::path.
HFMODELS_EXPORT std::filesystem::path path(const LockedModel& model, const Options& options);
HFMODELS_EXPORT std::filesystem::path path(const LockedModel& model, const Options& options,
                                           std::string_view file);

} // namespace hfmodels

// Defined by the source that hfmodels_embed_lockfile() generates: the lockfile's text. Hidden, so
// that each shared library embedding a lockfile (two plugins of one host) keeps its own.
#if defined(__GNUC__)
#define HFMODELS_EMBEDDED_VISIBILITY __attribute__((visibility("hidden")))
#else
#define HFMODELS_EMBEDDED_VISIBILITY
#endif
extern "C" HFMODELS_EMBEDDED_VISIBILITY const char* hfmodels_embedded_lockfile(std::size_t* size);

inline hfmodels::Project hfmodels::Project::embedded(const Options& options) {
  std::size_t size = 0;
  const char* text = hfmodels_embedded_lockfile(&size);
  return from_text(std::string_view(text, size), options);
}
