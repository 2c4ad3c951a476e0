// SPDX-License-Identifier: MIT
#pragma once

#include "hub/client.hpp"
#include "manifest/lockfile.hpp"
#include "manifest/manifest.hpp"
#include "manifest/quants.hpp"
#include "mirror/mirror.hpp"
#include "ops/reporter.hpp"
#include "ops/settings.hpp"
#include "ops/store.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

// The operations behind the commands. They take resolved Settings, report through a Reporter
// and throw Error; none of them prints or knows about the command line. Those that can take
// long end within a fraction of a second when `stop` is requested, throwing util::Cancelled.
namespace hfmodels::ops {

struct LockOptions {
  std::vector<std::string> names; // empty: every model of the manifest
  bool update = false; // re-resolve branches (not tags or commits) to their current commit
};

struct LockResult {
  std::vector<std::string> resolved; // models resolved against the Hub
  std::vector<std::string> kept;     // models whose pin was kept
  std::vector<std::string> removed;  // models no longer in the manifest
  bool lockfile_changed = false;
};

// `hfmodels lock`: models.yaml → models.lock. Regular files are downloaded into the cache to be
// hashed; LFS files take their hash from the listing.
LockResult lock(const Settings& settings, const LockOptions& options, Reporter& reporter,
                const std::stop_token& stop = {});

struct FetchResult {
  std::size_t files = 0; // locked files of the selected models
  std::size_t downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
  std::vector<SourceTally> sources; // where the downloaded bytes came from
};

// `hfmodels fetch`: make the cache hold every locked file of `names` (all if empty), verified.
// With everything cached it sends no request and hashes nothing. Offline, anything missing
// throws Error(offline_missing) listing every missing model/file.
FetchResult fetch(const Settings& settings, const std::vector<std::string>& names,
                  Reporter& reporter, const std::stop_token& stop = {});

// `hfmodels push`: every locked file of `names` (all if empty) that the mirror `to` lacks,
// re-hashed from the cache, uploaded `settings.jobs` at a time; objects already there with the
// right size are skipped, so an interrupted push goes on where it stopped (an S3 multipart
// upload part by part). Error(offline_missing) when a file is not in the cache.
struct PushResult {
  std::size_t objects = 0; // distinct sha256 of the selected files
  std::size_t uploaded = 0;
  std::size_t skipped = 0; // already in the mirror
  std::uint64_t bytes_uploaded = 0;
};
PushResult push(const Settings& settings, const std::vector<std::string>& names,
                const mirror::Mirror& to, Reporter& reporter, const std::stop_token& stop = {});

// `hfmodels bundle`: push into `folder` as a file:// mirror, with the models' lockfile and
// manifest and a README saying how to install from it.
PushResult bundle(const Settings& settings, const std::vector<std::string>& names,
                  const std::filesystem::path& folder, Reporter& reporter,
                  const std::stop_token& stop = {});

struct PlannedDownload {
  std::string model;
  std::string path;
  std::uint64_t size = 0;
  std::uint64_t bytes = 0; // still to come: less when a partial download is continued, 0 when
                           // the blob is already cached for another path
};

struct FetchPlan {
  std::size_t files = 0; // locked files of the selected models
  std::vector<PlannedDownload> downloads;
  std::uint64_t bytes_needed = 0;
  std::filesystem::path disk; // the cache folder the bytes go to
  std::uint64_t bytes_available = 0;
  // Why the fetch would fail before downloading a byte (offline, or no origin and no mirror),
  // as fetch would throw it.
  std::optional<Error> blocked;
  bool fits() const { return bytes_needed <= bytes_available; }
};

// `hfmodels fetch --dry-run`: what fetch would download, and whether it fits on the cache's
// disk. Checks the lockfile as fetch does; no network, no download.
FetchPlan plan_fetch(const Settings& settings, const std::vector<std::string>& names,
                     const std::stop_token& stop = {});

// The same for models given in memory (a lockfile embedded in a program, a model resolved at run
// time): no staleness check, no manifest. Offline with files missing throws
// Error(offline_missing) without a hint.
FetchResult fetch_models(const Settings& settings,
                         const std::vector<const manifest::LockedModel*>& models,
                         Reporter& reporter, const std::stop_token& stop = {});

// Resolves manifest entries against the Hub (commit, selected files) and hashes the regular
// files, whose sha256 the listing lacks, by downloading them into the cache as blobs: what
// `lock` writes for each entry.
std::vector<manifest::LockedModel> resolve_models(const Settings& settings,
                                                  const std::vector<manifest::ModelSpec>& specs,
                                                  Reporter& reporter,
                                                  const std::stop_token& stop = {});

enum class FileState { ok, missing, mismatch };

struct FileCheck {
  std::string model;
  std::string path;
  FileState state = FileState::ok;
  std::string expected_sha256;
  std::string actual_sha256; // empty unless hashed
  std::uint64_t expected_size = 0;
  std::uint64_t actual_size = 0;
  std::string problem; // verify --quick: what is wrong with its size or structure
  // When it is a mismatch: the file holding the bytes (the blob the snapshot links to), which
  // must go for a fetch to download it again.
  std::filesystem::path stored_at;
};

enum class VerifyDepth {
  full,  // every byte hashed against the lockfile's sha256
  quick, // sizes and headers (formats/structure.hpp), no hashing
};

// `hfmodels verify`: re-hash every cached locked file (in parallel) against the lockfile.
std::vector<FileCheck> verify(const Settings& settings, const std::vector<std::string>& names,
                              Reporter& reporter, const std::stop_token& stop = {},
                              VerifyDepth depth = VerifyDepth::full);

// In the order a fix needs: a stale lockfile first, then a file of the wrong size, then missing.
enum class ModelState { cached, missing, wrong_size, stale, unlocked };

struct ModelStatus {
  std::string name;
  std::string commit; // empty when unlocked
  std::size_t files = 0;
  std::size_t files_missing = 0;
  std::size_t files_wrong_size = 0; // a cached file of another size than the lockfile's
  std::uint64_t bytes = 0;
  ModelState state = ModelState::cached;
};

// `hfmodels status`: every model of the lockfile and the manifest. Presence and size only.
std::vector<ModelStatus> status(const Settings& settings, const std::stop_token& stop = {});

// `hfmodels path`: the model's snapshot folder, or one locked file's path inside it. The path is
// given whether or not the files are cached yet.
std::filesystem::path model_path(const Settings& settings, const std::string& name,
                                 const std::optional<std::string>& file);

// The same for a model in memory: its snapshot folder, or one locked file's path inside it
// (Error(usage) naming the closest locked path when `file` is not locked).
std::filesystem::path locked_path(const Settings& settings, const manifest::LockedModel& model,
                                  const std::optional<std::string>& file);

// Which locked files of `model` the cache holds (presence and size, as a no-op fetch checks).
std::vector<bool> cached_files(const Settings& settings, const manifest::LockedModel& model,
                               const std::stop_token& stop = {});

struct FileChange {
  enum class Kind { added, removed, changed };
  std::string path;
  Kind kind = Kind::changed;
  std::uint64_t old_size = 0; // 0 when added
  std::uint64_t new_size = 0; // 0 when removed
};

struct OutdatedModel {
  enum class State {
    current,  // its branch still points at the locked commit
    outdated, // its branch moved
    pinned,   // locked from a commit or a tag: nothing to follow
  };
  std::string name;
  std::string revision;
  std::string locked_commit;
  std::string current_commit;
  State state = State::current;
  std::vector<FileChange> changes; // what `lock --update` would change, when outdated
  std::string problem;             // why the changes are unknown (nothing selected any more)
};

// `hfmodels outdated`: for each locked model, whether its branch moved since it was locked, and
// the files a `lock --update` would change. One revision call per model, and a listing for the
// outdated ones. Writes nothing.
std::vector<OutdatedModel> outdated(const Settings& settings, const std::vector<std::string>& names,
                                    const std::stop_token& stop = {});

// The memory a model may take here: the given VRAM, or this machine's RAM (capped by its cgroup's
// limit in a container) minus max(2 GiB, 20 %) for everything else.
struct MemoryBudget {
  std::uint64_t bytes = 0;
  std::uint64_t memory = 0; // the RAM it was taken from (0 with VRAM)
  bool cgroup_limited = false;
  bool from_vram = false;
};
MemoryBudget memory_budget(std::optional<std::uint64_t> vram);

struct RepoInfo {
  std::string repo;
  std::string revision;
  std::string commit;
  std::string license; // as the card declares it; "" when it does not
  std::string gated;   // "", "auto" or "manual"
  std::vector<hub::RepoFile> files;
  manifest::GgufInventory gguf;
  MemoryBudget budget;
};

// `hfmodels info REPO[@REV]`: one Hub call (the revision info with every file), the GGUF
// quantizations it holds and the memory budget they are measured against.
RepoInfo repo_info(const Settings& settings, std::string_view ref,
                   std::optional<std::uint64_t> vram, const std::stop_token& stop = {});

// The largest quantization whose files fit `budget` bytes, or none.
const manifest::Quantization* largest_fitting(const manifest::GgufInventory& gguf,
                                              std::uint64_t budget);

struct AddRequest {
  manifest::ModelSpec spec; // name, repo and selection as they go into models.yaml
  bool auto_quant = false;  // `--quant auto`: the largest quantization that fits the budget
  std::optional<std::uint64_t> vram;
};

struct AddResult {
  std::string name;
  std::optional<std::string> chosen_quant; // with auto_quant
  std::uint64_t chosen_bytes = 0;
  MemoryBudget budget;
  LockResult lock;
};

// `hfmodels add`: appends the entry to models.yaml (created when missing; the rest of the file
// untouched) and locks it. A model that cannot be locked leaves models.yaml as it was.
AddResult add_model(const Settings& settings, const AddRequest& request, Reporter& reporter,
                    const std::stop_token& stop = {});

struct RemoveResult {
  std::vector<std::string> from_manifest;
  std::vector<std::string> from_lockfile;
};

// `hfmodels remove`: the entries leave models.yaml (with their own comments) and models.lock;
// the cache is untouched. A name in neither file is an error, and then nothing is written.
RemoveResult remove_models(const Settings& settings, const std::vector<std::string>& names);

// One revision of a repo in the cache, whoever wrote it; or a repo's partial downloads.
struct CachedRevision {
  std::string repo;   // "org/name", "datasets/org/name"
  std::string commit; // "" for partial downloads
  std::vector<std::string> refs;
  bool partial = false;
  std::size_t files = 0;
  std::uint64_t bytes = 0; // on disk, each blob once
  std::chrono::system_clock::time_point last_used;
  std::vector<std::string> projects; // lockfiles that pin this revision
};

// `hfmodels cache ls`: every revision of every repo in the cache, with the known projects that
// pin it. Reads the known lockfiles; no network.
std::vector<CachedRevision> cache_list(const Settings& settings, const std::stop_token& stop = {});

// An entry deleted (or, on a dry run, to delete); or, with `bytes` 0 and `projects`, a revision
// removed that a known project pins (its next fetch downloads it again).
struct PlannedDeletion {
  std::string repo;
  std::string name; // a blob's etag, a partial download's file name, or a pinned commit
  std::uint64_t bytes = 0;
  bool partial = false;
  std::vector<std::string> projects;
};

// `hfmodels cache rm REPO[@REV]...`: the snapshots named (all of the repo, or the revision a ref
// or a commit prefix names) and the blobs no other snapshot of the repo uses.
std::vector<PlannedDeletion> cache_remove(const Settings& settings,
                                          const std::vector<std::string>& targets, bool dry_run,
                                          const std::stop_token& stop = {});

struct GcOptions {
  bool dry_run = false;
  bool all = false; // also what other clients downloaded
  std::optional<unsigned> older_than_days;
};

// `hfmodels cache gc`: deletes the blobs no known project's lockfile pins that hfmodels
// downloaded (every client's with `all`), unused for `older_than_days` when given, and partial
// downloads a day old; forgets recorded lockfiles that no longer exist. Blobs being downloaded
// (their lock held) are left. The dry run lists what a real run deletes.
std::vector<PlannedDeletion> cache_gc(const Settings& settings, const GcOptions& options,
                                      const std::stop_token& stop = {});

// `hfmodels sbom`: a CycloneDX 1.6 JSON bill of materials of the locked models (all when `names`
// is empty): a machine-learning-model (or data) component per model, purl
// pkg:huggingface/<org>/<name>@<commit>, every file with its SHA-256, the card's licence when
// the lockfile recorded one. The same lockfile gives the same bytes (no timestamp).
std::string sbom(const Settings& settings, const std::vector<std::string>& names,
                 const std::stop_token& stop = {});

struct DownloadRequest {
  manifest::ModelSpec spec; // repo, revision, and files, include or exclude
  std::optional<std::filesystem::path> local_dir;
};

struct DownloadResult {
  std::string commit;
  std::size_t files = 0;
  std::size_t downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
  std::filesystem::path snapshot;
  std::optional<std::filesystem::path> local_dir;
};

// `hfmodels download`: resolves the revision, lists and selects the files, and puts them into
// the cache verified (LFS files against the sha256 the Hub lists, regular files against their
// git blob id), then copies them into `local_dir` when given. No manifest, no lockfile.
DownloadResult download(const Settings& settings, const DownloadRequest& request,
                        Reporter& reporter, const std::stop_token& stop = {});

// Where a locked model lives in the cache; what the CMake package turns into a target.
struct ModelLocation {
  std::string name;
  std::string repo;
  std::string commit;
  std::filesystem::path dir; // snapshots/<commit>
  std::vector<std::string> files;
};

// The selected models' locations, after checking that the lockfile is fresh against the
// manifest (Error(stale_lock) otherwise). Touches neither the network nor the files.
std::vector<ModelLocation> locate_models(const Settings& settings,
                                         const std::vector<std::string>& names);

struct ExportResult {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
};

// `hfmodels export`: fetch if needed, then copy real files (no symlinks) to <dir>/<name>/...
ExportResult export_models(const Settings& settings, const std::vector<std::string>& names,
                           const std::filesystem::path& dir, Reporter& reporter,
                           const std::stop_token& stop = {});

} // namespace hfmodels::ops
