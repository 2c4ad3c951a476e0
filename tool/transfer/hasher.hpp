// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hfmodels::transfer {

// The sha256 of a file, and its git blob id for a regular one, over its bytes in order while
// they arrive in any order. The engine hands over each write: bytes that continue the hash are
// hashed from memory at once, on the engine's thread; the others are read back later by the
// hasher's own thread, once the file's complete prefix reaches them. So a file that arrives in
// order (every file of one connection) never needs that thread, and a file fetched in segments
// has at most one: the only thread besides the engine's loop.
//
// A large file is hashed on its own thread however its bytes arrive (`Hashing::own_thread`):
// hashing costs more CPU than receiving, so on the engine's thread it would make one core do
// both for every file of the run, while the bytes read back come from the page cache.
class FileHasher {
public:
  enum class Hashing {
    in_order_on_caller, // bytes that continue the hash are hashed at once by written()
    own_thread,         // every byte is read back and hashed by the hasher's thread
  };

  // `file` must outlive the hasher. `wake` is called (on the hasher's thread) when the last
  // byte has been hashed, so the engine's loop can notice without polling.
  FileHasher(const cache::TempBlob& file, std::uint64_t size, bool git_blob, Hashing hashing,
             std::function<void()> wake);
  ~FileHasher();
  FileHasher(const FileHasher&) = delete;
  FileHasher& operator=(const FileHasher&) = delete;

  // Bytes [at, at + size) are in the file now, and `data` holds them. `prefix`: every byte
  // before it is in the file. Never waits for the hasher's thread. Called by one thread only.
  void written(std::uint64_t at, const char* data, std::size_t size, std::uint64_t prefix);
  // Every byte before `prefix` is in the file (bytes that were there when the download began).
  // Called by the same thread as written().
  void reached(std::uint64_t prefix);

  // Every byte hashed (or reading one back failed: digests() then throws).
  bool done() const { return m_done.load(std::memory_order_acquire); }

  struct Digests {
    std::string sha256;
    std::string git_sha1; // empty unless asked for
  };
  // Once done(); rethrows a failure to read the file back.
  Digests digests();

private:
  struct State;

  void hash_locked(const char* data, std::size_t size);
  void read_back();
  void finish_locked();

  const cache::TempBlob& m_file;
  const std::uint64_t m_size;
  const Hashing m_hashing;
  std::function<void()> m_wake;
  std::unique_ptr<State> m_state; // the hashes, with m_mutex
  std::mutex m_mutex;             // the hashes and m_hashed_to
  std::condition_variable m_more; // the prefix moved, or stop
  std::uint64_t m_hashed_to = 0;
  // m_hashed_to, for the engine's thread to read without the mutex: whether a prefix needs the
  // read-back at all.
  std::atomic<std::uint64_t> m_hashed{0};
  // Set without the mutex, so that the engine never waits for the hasher; the hasher's thread
  // wakes on a notification, or on its own shortly after one is missed.
  std::atomic<std::uint64_t> m_prefix{0};
  bool m_stop = false; // with m_mutex
  std::atomic<bool> m_done{false};
  std::exception_ptr m_failure;
  std::optional<Digests> m_digests;
  std::thread m_thread; // started when a byte must be read back
};

} // namespace hfmodels::transfer
