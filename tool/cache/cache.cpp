// SPDX-License-Identifier: MIT
#include "cache/cache.hpp"

#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace hfmodels::cache {

namespace fs = std::filesystem;

namespace {

// Content as huggingface_hub writes it (byte for byte), so whichever tool creates it first, the
// cache looks the same. https://bford.info/cachedir/
constexpr std::string_view k_cachedir_tag = "Signature: 8a477f597d28d172789f06886806bc55\n"
                                            "# This file is a cache directory tag created by "
                                            "huggingface_hub.\n"
                                            "# For information about cache directory tags, see:\n"
                                            "#\thttps://bford.info/cachedir/\n";

// The longest file name Linux (NAME_MAX) and NTFS take.
constexpr std::size_t k_max_name_length = 255;

// Partial downloads: `<etag>.incomplete` (parked, Python <= 1.17) or `<etag>.<hex>.incomplete`.
constexpr std::string_view k_partial_suffix = ".incomplete";
// docs/hub-and-cache.md §3.6: delete stray temporaries "older than a day or so".
constexpr std::chrono::hours k_stale_temporary_age{24};
// A partial download whose owner cannot be known to be dead is only taken over once nobody has
// written to it for this long: far beyond any stall timeout or back-off of a live download.
constexpr std::chrono::minutes k_foreign_partial_age{10};

// This machine, as 8 hex digits (FNV-1a of the host name): part of a partial download's name, so
// that a process on the same machine can tell whether its writer is still alive.
const std::string& host_tag() {
  static const std::string tag = [] {
    const std::string name = util::host_name();
    std::uint32_t hash = 2166136261u;
    for (const char c : name) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", hash);
    return std::string(hex);
  }();
  return tag;
}

// `<host>-<pid>-<random>`: the middle of `<etag>.<owner>.incomplete` for partial downloads
// written under the blob's lock.
std::string owner_tag() {
  return host_tag() + "-" + std::to_string(util::current_process_id()) + "-" + util::random_hex(8);
}

// The owner part of a partial with holes that its writer parked (`<etag>.parked-<random>
// .incomplete`): closed, so free to take at once, even by the process that parked it (a program
// that cancels a fetch and fetches again). Python resumes only `<etag>.incomplete`.
constexpr std::string_view k_parked_owner = "parked-";

// Whether the partial download named by `owner` (empty for the parked `<etag>.incomplete`) may
// be taken over. Holding the blob's lock, every partial is a leftover, since its writer would
// hold the lock; but some network filesystems grant flock to everyone (or to every thread of a
// process holding it), and taking over a live download there would make its writer fail. So: a
// parked one always (its writer closed it);
// one of a process of this machine once that process is gone (so `kill -9` and a rerun
// resume at once); any other (another machine's, Python's, a lockless temporary) once idle for
// k_foreign_partial_age.
bool abandoned(std::string_view owner, std::chrono::system_clock::duration age) {
  if (owner.empty() || owner.starts_with(k_parked_owner)) {
    return true;
  }
  const std::string host = host_tag() + "-";
  if (owner.starts_with(host)) {
    const std::string_view rest = owner.substr(host.size());
    const std::string_view pid_text = rest.substr(0, rest.find('-'));
    long pid = 0;
    const auto [end, error] =
        std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (error == std::errc() && end == pid_text.data() + pid_text.size() && pid > 0 &&
        pid != util::current_process_id() && !util::process_alive(pid)) {
      return true;
    }
  }
  // Alive, or a reused pid: only its silence can tell.
  return age > k_foreign_partial_age;
}

// A revision becomes folders under refs/ ("refs/pr/1" → refs/refs/pr/1), so it must not be able
// to climb out of refs/ or name something odd. Returns its segments.
std::vector<std::string> revision_segments(std::string_view revision) {
  const auto refuse = [&](const char* why) {
    return Error(ErrorKind::usage, "invalid revision '" + std::string(revision) + "'", why);
  };
  if (revision.empty()) {
    throw refuse("it is empty");
  }
  if (revision.find('\\') != std::string_view::npos ||
      revision.find('\0') != std::string_view::npos) {
    throw refuse("it contains a backslash or a NUL byte");
  }
  if (revision.front() == '/' || revision.back() == '/') {
    throw refuse("it starts or ends with '/'");
  }
  std::vector<std::string> segments = util::split(revision, '/');
  for (const std::string& segment : segments) {
    if (segment.empty() || segment == "." || segment == "..") {
      throw refuse("it has an empty, '.' or '..' path segment");
    }
  }
  return segments;
}

std::string temp_name(const std::string& name, std::string_view suffix) {
  std::string temp = name + "." + util::random_hex(8) + std::string(suffix);
  if (temp.size() > k_max_name_length) {
    // A 250-byte file name leaves no room for a suffix; the temporary need not resemble it.
    temp = "." + util::random_hex(16) + std::string(suffix);
  }
  return temp;
}

// write_file_atomic's scheme relative to a verified directory descriptor.
// How write_atomic_at puts the new file in place.
enum class Replace {
  always,     // rename over whatever is there
  if_missing, // only where nothing is: false, and nothing written, if something is
};

// Writes `content` to a temporary beside `name`, then puts it in place: readers see the old file
// or the new one, never half of it. Returns whether it did.
bool write_atomic_at(const Dir& dir, const std::string& name, std::string_view content,
                     Replace replace = Replace::always) {
  File file = dir.create_new([&] { return temp_name(name, ".tmp"); }, 0666);
  const std::string temp = file.path().filename().string();
  try {
    file.write(content.data(), content.size());
    file.close();
    if (replace == Replace::if_missing) {
      // link(2) fails with EEXIST where rename(2) would replace: the file someone else made
      // in the meantime stays.
      const std::error_code error = dir.link(temp, name);
      dir.remove(temp);
      if (error && error != std::errc::file_exists) {
        util::throw_io_error("cannot create", dir.path() / name, error.value());
      }
      return !error;
    }
    if (const std::error_code error = dir.rename(temp, name)) {
      util::throw_io_error("cannot replace", dir.path() / name, error.value());
    }
    return true;
  } catch (...) {
    dir.remove(temp);
    throw;
  }
}

// The folder part and the last segment of a repo path.
std::pair<std::vector<std::string>, std::string> split_repo_path(const hub::RepoPath& repo_path) {
  std::vector<std::string> folders = util::split(repo_path.str(), '/');
  std::string name = std::move(folders.back());
  folders.pop_back();
  return {std::move(folders), std::move(name)};
}

bool is_file_of_size(const std::optional<Entry>& entry, std::uint64_t size) {
  return entry && entry->type == EntryType::regular && entry->size == size;
}

// A non-empty variable; an empty one counts as unset (an empty HF_HOME would otherwise put the
// cache in the working folder).
std::optional<std::string> non_empty(const util::GetEnv& getenv, const char* name) {
  std::optional<std::string> value = getenv(name);
  if (value && value->empty()) {
    value.reset();
  }
  return value;
}

// Python's os.path.expanduser: `~` and `~/…` are $HOME (else the password database), `~user/…`
// that user's home; anything else, or an unknown user, is left as it is.
std::string expand_user(const std::string& text, const util::GetEnv& getenv) {
  if (text.empty() || text.front() != '~') {
    return text;
  }
  const std::size_t slash = text.find('/');
  const std::string user = text.substr(1, slash == std::string::npos ? slash : slash - 1);
  std::optional<std::string> home = user.empty() ? non_empty(getenv, "HOME") : std::nullopt;
  if (!home) {
    home = util::home_of_user(user);
  }
  if (!home) {
    return text;
  }
  while (!home->empty() && home->back() == '/') {
    home->pop_back();
  }
  const std::string expanded =
      *home + (slash == std::string::npos ? std::string() : text.substr(slash));
  return expanded.empty() ? "/" : expanded;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Python's os.path.expandvars: `$NAME` and `${NAME}` are replaced when set, left as they are when
// not.
std::string expand_vars(const std::string& text, const util::GetEnv& getenv) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::size_t end = i + 1;
    std::string name;
    if (end < text.size() && text[end] == '{') {
      const std::size_t close = text.find('}', end);
      if (close == std::string::npos) {
        out += text[i++];
        continue;
      }
      name = text.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < text.size() && is_name_char(text[end])) {
        ++end;
      }
      name = text.substr(i + 1, end - i - 1);
    }
    std::optional<std::string> value = name.empty() ? std::nullopt : getenv(name.c_str());
    if (value) {
      out += *value;
    } else {
      out.append(text, i, end - i);
    }
    i = end;
  }
  return out;
}

fs::path expand(const std::string& text, const util::GetEnv& getenv) {
  return expand_vars(expand_user(text, getenv), getenv);
}

} // namespace

// --- TempBlob -----------------------------------------------------------------------------------

TempBlob::TempBlob(File file) : m_path(file.path()), m_file(std::move(file)) {}

TempBlob::~TempBlob() {
  m_file = File();
  if (!m_path.empty()) {
    std::error_code ignored;
    fs::remove(m_path, ignored);
    fs::remove(record_path(), ignored);
  }
}

fs::path TempBlob::record_path() const {
  return m_path.empty() ? fs::path() : fs::path(m_path.string() + std::string(k_record_suffix));
}

TempBlob::TempBlob(TempBlob&& other) noexcept
    : m_path(std::exchange(other.m_path, {})), m_file(std::move(other.m_file)) {}

fs::path TempBlob::release() {
  // close() is where NFS reports a failed write-back; the path is kept on failure so the
  // destructor removes the damaged file.
  m_file.close();
  return std::exchange(m_path, {});
}

// --- HubCache paths -----------------------------------------------------------------------------

HubCache::HubCache(fs::path root)
    : m_root(std::move(root)), m_file_mode(0666 & ~util::file_mode_mask()) {}

fs::path HubCache::repo_dir(const hub::RepoRef& repo) const {
  hub::validate_repo_id(repo.id);
  return m_root / hub::cache_folder_name(repo);
}

fs::path HubCache::blob_path(const hub::RepoRef& repo, const hub::BlobId& etag) const {
  return repo_dir(repo) / "blobs" / etag.str();
}

fs::path HubCache::snapshot_dir(const hub::RepoRef& repo, const hub::CommitId& commit) const {
  return repo_dir(repo) / "snapshots" / commit.str();
}

fs::path HubCache::snapshot_path(const hub::RepoRef& repo, const hub::CommitId& commit,
                                 const hub::RepoPath& repo_path) const {
  return snapshot_dir(repo, commit) / repo_path.str();
}

fs::path HubCache::lock_path(const hub::RepoRef& repo, const hub::BlobId& etag) const {
  hub::validate_repo_id(repo.id);
  return m_root / ".locks" / hub::cache_folder_name(repo) / (etag.str() + ".lock");
}

// --- HubCache reads -----------------------------------------------------------------------------

bool HubCache::has_file(const hub::RepoRef& repo, const hub::CommitId& commit,
                        const hub::RepoPath& repo_path, std::uint64_t size) const {
  return is_file_of_size(stat_path(snapshot_path(repo, commit, repo_path), Follow::links), size);
}

bool HubCache::has_blob(const hub::RepoRef& repo, const hub::BlobId& etag,
                        std::uint64_t size) const {
  return is_file_of_size(stat_path(blob_path(repo, etag), Follow::links), size);
}

std::vector<bool> HubCache::files_present(const hub::RepoRef& repo, const hub::CommitId& commit,
                                          const std::vector<SnapshotFile>& files,
                                          const std::stop_token& stop) const {
  const auto states = presence(repo, commit, files, stop);
  std::vector<bool> present(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) {
    present[i] = states[i] == Presence::present;
  }
  return present;
}

std::vector<HubCache::Presence> HubCache::presence(const hub::RepoRef& repo,
                                                   const hub::CommitId& commit,
                                                   const std::vector<SnapshotFile>& files,
                                                   const std::stop_token& stop) const {
  std::vector<Presence> found(files.size(), Presence::missing);
  const std::optional<Dir> dir = Dir::open_existing(snapshot_dir(repo, commit));
  if (!dir) {
    return found; // no snapshot yet: nothing is there
  }
  // The lookups are system calls that wait on the kernel, not on each other: a block of files
  // per core halves the time of a large lockfile on two cores.
  constexpr std::size_t k_block = 4096;
  const std::size_t blocks = (files.size() + k_block - 1) / k_block;
  const auto failures = util::run_parallel(
      std::thread::hardware_concurrency(), blocks, [&](std::size_t, std::size_t block) {
        util::throw_if_stopped(stop);
        const std::size_t end = std::min(files.size(), (block + 1) * k_block);
        for (std::size_t i = block * k_block; i < end; ++i) {
          const auto entry = dir->stat(files[i].path->str(), Follow::links);
          found[i] = is_file_of_size(entry, files[i].size)        ? Presence::present
                     : entry && entry->type == EntryType::regular ? Presence::wrong_size
                                                                  : Presence::missing;
        }
      });
  for (const auto& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
  return found;
}

std::optional<hub::CommitId> HubCache::read_ref(const hub::RepoRef& repo,
                                                std::string_view revision) const {
  revision_segments(revision);
  const fs::path path = repo_dir(repo) / "refs" / std::string(revision);
  const std::optional<Entry> entry = stat_path(path, Follow::links);
  if (!entry || entry->type != EntryType::regular) {
    return std::nullopt;
  }
  // Trimmed: other tools may end the line with a newline (docs/hub-and-cache.md §5.7). A ref that
  // does not hold a commit is as good as no ref: nothing can be looked up through it.
  const std::string content = util::read_file(path);
  const std::string_view commit = util::trim(content);
  if (!hub::CommitId::is_valid(commit)) {
    return std::nullopt;
  }
  return hub::CommitId(commit);
}

// --- HubCache writes ----------------------------------------------------------------------------

bool HubCache::create_ref(const hub::RepoRef& repo, std::string_view revision,
                          const hub::CommitId& commit) const {
  std::vector<std::string> folders = revision_segments(revision);
  if (hub::is_commit_hash(revision)) {
    return false;
  }
  // A ref that names a snapshot is ours already, or another client's, perhaps newer: never
  // moved. One that names nothing (or is no ref) is replaced; where none is, one is created
  // only if nobody else creates it first.
  Replace replace = Replace::if_missing;
  const fs::path ref = repo_dir(repo) / "refs" / std::string(revision);
  if (stat_path(ref, Follow::no)) {
    const auto existing = read_ref(repo, revision);
    const auto snapshot =
        existing ? stat_path(repo_dir(repo) / "snapshots" / existing->str(), Follow::links)
                 : std::nullopt;
    if (snapshot && snapshot->type == EntryType::directory) {
      return false;
    }
    replace = Replace::always;
  }
  // Python's scan_cache_dir rejects the whole repo if a ref names a commit without a snapshot
  // folder (§5.7), so the folder comes first.
  Dir::open(repo_dir(repo), {"snapshots", commit.str()});
  const std::string name = std::move(folders.back());
  folders.pop_back();
  folders.insert(folders.begin(), "refs");
  const Dir dir = Dir::open(repo_dir(repo), folders);
  // No trailing newline: Python compares the raw content with commit hashes.
  return write_atomic_at(dir, name, commit.str(), replace);
}

TempBlob HubCache::create_temp_blob(const hub::RepoRef& repo, const hub::BlobId& etag) const {
  const Dir dir = Dir::open(repo_dir(repo), {"blobs"});
  // Unique per attempt, so two processes racing on one blob never write into the same file.
  return TempBlob(dir.create_new([&] { return temp_name(etag.str(), ".incomplete"); }, 0644));
}

TempBlob HubCache::open_partial_blob(const hub::RepoRef& repo, const hub::BlobId& etag,
                                     std::uint64_t max_size) const {
  const Dir dir = Dir::open(repo_dir(repo), {"blobs"});
  const std::string suffix(k_partial_suffix);
  const std::string parked = etag.str() + suffix;
  const std::string prefix = etag.str() + ".";

  // One pass over blobs/: the candidates for this blob, and stray temporaries to clean up.
  std::vector<std::pair<std::uint64_t, std::string>> candidates;
  const auto now = std::chrono::system_clock::now();
  for (const std::string& name : dir.list()) {
    const bool temporary =
        name.ends_with(suffix) || name.ends_with(".part") || name.ends_with(k_record_suffix);
    const std::optional<Entry> entry = temporary ? dir.stat(name, Follow::no) : std::nullopt;
    if (!entry || entry->type != EntryType::regular) {
      continue;
    }
    const auto age = now - entry->modified;
    const bool of_this_blob =
        name == parked || (name.starts_with(prefix) && name.ends_with(suffix));
    if (name.starts_with(prefix) && name.ends_with(k_record_suffix)) {
      continue; // a record of this blob's partials: it goes where its partial goes
    }
    if (of_this_blob && entry->size <= max_size) {
      const std::string_view owner =
          name == parked ? std::string_view()
                         : std::string_view(name).substr(
                               prefix.size(), name.size() - prefix.size() - suffix.size());
      if (abandoned(owner, age)) {
        candidates.emplace_back(entry->size, name);
      }
    } else if (age > k_stale_temporary_age) {
      // A temporary nobody has written to for a day was left by a crash; the space is worth
      // more than the bytes. Best effort: another process may remove it first.
      dir.remove(name);
    }
  }
  // The longest partial saves the most; ties don't matter.
  std::sort(candidates.begin(), candidates.end(), std::greater<>());

  for (const auto& [size, name] : candidates) {
    // Renaming it to a name of this process is the claim: of several processes trying, exactly
    // one succeeds, the others get ENOENT and look further.
    const std::string claimed = prefix + owner_tag() + suffix;
    if (dir.rename(name, claimed)) {
      continue;
    }
    // Its record, if it has one, comes along (a record left behind just means the bytes are
    // taken as a prefix and checked by the hash).
    const std::string claimed_record = claimed + std::string(k_record_suffix);
    static_cast<void>(dir.rename(name + std::string(k_record_suffix), claimed_record));
    std::optional<File> file = dir.open_file(claimed);
    // Never written through: a hard link planted to another file (writing would change that
    // file), or another user's file.
    if (!file || file->link_count() != 1 || !file->owned_by_this_user()) {
      file.reset();
      dir.remove(claimed); // only this name goes, not what it links to
      dir.remove(claimed_record);
      continue;
    }
    return TempBlob(std::move(*file));
  }
  return TempBlob(dir.create_new([&] { return prefix + owner_tag() + suffix; }, 0644));
}

std::uint64_t HubCache::partial_bytes(const hub::RepoRef& repo, const hub::BlobId& etag) const {
  const std::optional<Dir> blobs = Dir::open_existing(blob_path(repo, etag).parent_path());
  if (!blobs) {
    return 0;
  }
  const std::string prefix = etag.str() + ".";
  std::uint64_t largest = 0;
  for (const std::string& name : blobs->list()) {
    if (name.starts_with(prefix) && name.ends_with(k_partial_suffix)) {
      const std::optional<Entry> entry = blobs->stat(name, Follow::no);
      if (entry && entry->type == EntryType::regular) {
        largest = std::max(largest, entry->allocated);
      }
    }
  }
  return largest;
}

void HubCache::park_partial_blob(const hub::RepoRef& repo, const hub::BlobId& etag, TempBlob&& temp,
                                 bool prefix_only) const noexcept {
  try {
    TempBlob owned = std::move(temp);
    if (owned.path().empty() || owned.size() == 0) {
      return; // nothing worth keeping; the destructor removes it
    }
    const fs::path blob = blob_path(repo, etag);
    if (owned.path().parent_path() != blob.parent_path()) {
      return;
    }
    const Dir dir = Dir::open(repo_dir(repo), {"blobs"});
    const std::string name = owned.path().filename().string();
    const std::string record = name + std::string(k_record_suffix);
    owned.release();
    if (!prefix_only) {
      // Bytes with holes between them get a name of their own, with their record, which the
      // next fetch (open_partial_blob) claims at once; Python would take a file named like its
      // own for a prefix and append to it. If the rename fails they stay under this process's
      // name, claimed once it has ended.
      const std::string holes = etag.str() + "." + std::string(k_parked_owner) +
                                util::random_hex(8) + std::string(k_partial_suffix);
      if (!dir.rename(name, holes)) {
        static_cast<void>(dir.rename(record, holes + std::string(k_record_suffix)));
      }
      return;
    }
    // Under the name Python <= 1.17 resumes too, with its record, which keeps vouching for the
    // blocks hfmodels wrote should Python append more. If the rename fails the file stays under
    // its own name, where open_partial_blob finds it once this process has ended.
    const std::string parked = etag.str() + std::string(k_partial_suffix);
    if (!dir.rename(name, parked)) {
      const std::string parked_record = parked + std::string(k_record_suffix);
      if (dir.rename(record, parked_record)) {
        dir.remove(parked_record); // never an older one beside it
      }
    }
  } catch (...) {
    // Losing a partial download costs a re-download, never correctness.
  }
}

void HubCache::commit_blob(const hub::RepoRef& repo, const hub::BlobId& etag, TempBlob&& temp,
                           std::optional<std::uint64_t> size) const {
  const fs::path blob = blob_path(repo, etag);
  if (temp.path().parent_path() != blob.parent_path()) {
    throw Error(ErrorKind::failure, "cannot commit " + temp.path().string(),
                "it is not a temporary of " + blob.parent_path().string());
  }
  if (size && temp.size() != *size) {
    // The download checked every byte it wrote; this guards the file itself, whatever happened
    // to it on the way.
    throw Error(ErrorKind::integrity, "refusing to add a blob of the wrong size",
                temp.path().string() + " has " + std::to_string(temp.size()) + " bytes, not " +
                    std::to_string(*size),
                "Run the command again");
  }
  const Dir dir = Dir::open(repo_dir(repo), {"blobs"});
  // The temporary was created 0644 at most; a shared cache with umask 002 wants 0664, like every
  // other new file there (Python's _chmod_and_move).
  temp.file().set_mode(m_file_mode);
  const std::string name = temp.path().filename().string();
  // Complete: what the record said of its parts is of no use any more.
  dir.remove(name + std::string(k_record_suffix));
  temp.release();
  // Replacing an existing blob is harmless: a blob's name is the hash of its content, so a
  // concurrent writer put the same bytes there.
  if (const std::error_code error = dir.rename(name, etag.str())) {
    if (error == std::errc::no_such_file_or_directory) {
      // Only another process renames our temporaries: one that took the lock while this one
      // held it, which a filesystem whose locks do not work allows. It checks the bytes itself.
      throw Error(ErrorKind::failure, "another process took over the download of " + blob.string(),
                  "the cache's filesystem does not seem to lock files (flock)",
                  "Run the command again; avoid fetching into this cache from several machines at "
                  "once");
    }
    dir.remove(name);
    util::throw_io_error("cannot rename " + blob.parent_path().string() + "/" + name + " to", blob,
                         error.value());
  }
}

void HubCache::link_snapshot(const hub::RepoRef& repo, const hub::CommitId& commit,
                             const hub::RepoPath& repo_path, const hub::BlobId& etag) const {
  const fs::path link = snapshot_path(repo, commit, repo_path);
  auto [folders, name] = split_repo_path(repo_path);
  folders.insert(folders.begin(), {"snapshots", commit.str()});

  // Relative to the link's own folder, so the cache can be moved; from snapshots/<commit>/a/b/
  // that is four levels up to the repo folder.
  std::string target;
  for (std::size_t i = 0; i < folders.size(); ++i) {
    target += "../";
  }
  target += "blobs/" + etag.str();

  const Dir dir = Dir::open(repo_dir(repo), folders);
  if (dir.read_link(name) == target) {
    return; // already right, perhaps made by another process that won the race
  }

  // A link beside the destination, renamed over it: readers see the old entry or the new link.
  // Its name is random: a second taken in a row means something else is wrong.
  std::string temp = temp_name(name, ".tmp");
  std::error_code error = dir.symlink(target, temp);
  if (error == std::errc::file_exists) {
    temp = temp_name(name, ".tmp");
    error = dir.symlink(target, temp);
  }
  if (error) {
    util::throw_io_error("cannot create the link", link.parent_path() / temp, error.value());
  }
  if (const std::error_code renamed = dir.rename(temp, name)) {
    dir.remove(temp);
    util::throw_io_error("cannot create the link", link, renamed.value());
  }
}

FileLock HubCache::lock_blob(const hub::RepoRef& repo, const hub::BlobId& etag,
                             const std::stop_token& stop) const {
  const fs::path path = lock_path(repo, etag);
  const Dir dir = Dir::open(m_root, {".locks", hub::cache_folder_name(repo)});
  return FileLock(dir.open_lock_file(path.filename().string(), FileLock::k_file_mode), stop);
}

std::optional<FileLock> HubCache::try_lock_blob(const hub::RepoRef& repo,
                                                const hub::BlobId& etag) const {
  const fs::path path = lock_path(repo, etag);
  const Dir dir = Dir::open(m_root, {".locks", hub::cache_folder_name(repo)});
  return FileLock::try_take(dir.open_lock_file(path.filename().string(), FileLock::k_file_mode));
}

void HubCache::ensure_cachedir_tag() const {
  write_cachedir_tag(m_root);
}

void write_cachedir_tag(const fs::path& folder) {
  const fs::path tag = folder / "CACHEDIR.TAG";
  if (stat_path(tag, Follow::no)) {
    return; // whoever wrote it, it is not ours to rewrite
  }
  util::write_file_atomic(tag, k_cachedir_tag);
}

// --- Location -----------------------------------------------------------------------------------

fs::path default_hf_home(const util::GetEnv& getenv) {
  if (std::optional<std::string> home = non_empty(getenv, "HF_HOME")) {
    return expand(*home, getenv);
  }
  if (std::optional<std::string> xdg = non_empty(getenv, "XDG_CACHE_HOME")) {
    return expand(*xdg + "/huggingface", getenv);
  }
  std::optional<std::string> home = non_empty(getenv, "HOME");
  if (!home) {
    home = util::home_of_user("");
  }
  if (!home) {
    throw Error(ErrorKind::failure, "cannot locate the Hugging Face cache",
                "HOME is not set and the user has no home folder")
        .with_cause("cache:no-home");
  }
  return fs::path(*home) / ".cache" / "huggingface";
}

fs::path default_cache_dir(const util::GetEnv& getenv) {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    if (std::optional<std::string> value = non_empty(getenv, name)) {
      return expand(*value, getenv);
    }
  }
  return default_hf_home(getenv) / "hub";
}

} // namespace hfmodels::cache
