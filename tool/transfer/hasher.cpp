// SPDX-License-Identifier: MIT
#include "transfer/hasher.hpp"

#include "hash/sha256.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <memory>

namespace hfmodels::transfer {

namespace {

// The hasher reads back in blocks of this size.
constexpr std::size_t k_read_size = 1u << 20;
// How soon the hasher's thread looks again when a notification was missed (it is sent without
// the mutex held).
constexpr std::chrono::milliseconds k_recheck{20};

} // namespace

struct FileHasher::State {
  hash::Sha256 sha256;
  std::optional<hash::GitBlobSha1> git_sha1;
};

FileHasher::FileHasher(const cache::TempBlob& file, std::uint64_t size, bool git_blob,
                       Hashing hashing, std::function<void()> wake)
    : m_file(file), m_size(size), m_hashing(hashing), m_wake(std::move(wake)),
      m_state(std::make_unique<State>()) {
  if (git_blob) {
    m_state->git_sha1.emplace(size);
  }
  if (m_size == 0) {
    const std::lock_guard lock(m_mutex);
    finish_locked();
  }
}

FileHasher::~FileHasher() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_more.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void FileHasher::hash_locked(const char* data, std::size_t size) {
  m_state->sha256.update(data, size);
  if (m_state->git_sha1) {
    m_state->git_sha1->update(data, size);
  }
  m_hashed_to += size;
  m_hashed.store(m_hashed_to, std::memory_order_release);
  if (m_hashed_to == m_size) {
    finish_locked();
  }
}

void FileHasher::finish_locked() {
  Digests digests;
  digests.sha256 = m_state->sha256.hex_digest();
  if (m_state->git_sha1) {
    digests.git_sha1 = m_state->git_sha1->hex_digest();
  }
  m_digests = std::move(digests);
  m_done.store(true, std::memory_order_release);
}

void FileHasher::written(std::uint64_t at, const char* data, std::size_t size,
                         std::uint64_t prefix) {
  if (m_hashing == Hashing::in_order_on_caller) {
    // From memory when these bytes continue the hash and the read-back is not running; never
    // waiting for it (the engine's loop must not stall).
    std::unique_lock lock(m_mutex, std::try_to_lock);
    if (lock.owns_lock() && at == m_hashed_to && !m_done.load(std::memory_order_relaxed)) {
      hash_locked(data, size);
      if (m_done.load(std::memory_order_relaxed)) {
        return; // the engine's own thread finished it: no wake needed
      }
    }
  }
  reached(prefix);
}

void FileHasher::reached(std::uint64_t prefix) {
  if (prefix <= m_prefix.load(std::memory_order_relaxed)) {
    return;
  }
  m_prefix.store(prefix, std::memory_order_release);
  if (m_done.load(std::memory_order_acquire) ||
      prefix <= m_hashed.load(std::memory_order_acquire)) {
    return; // hashed from memory as far as the prefix goes: nothing to read back
  }
  // Only this thread starts the read-back, so no lock is needed for it.
  if (!m_thread.joinable()) {
    m_thread = std::thread([this] { read_back(); });
  }
  m_more.notify_one();
}

void FileHasher::read_back() {
  const auto buffer = std::make_unique_for_overwrite<char[]>(k_read_size);
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_more.wait_for(lock, k_recheck, [&] {
      return m_stop || m_prefix.load(std::memory_order_acquire) > m_hashed_to;
    });
    if (m_stop) {
      return;
    }
    const std::uint64_t prefix = m_prefix.load(std::memory_order_acquire);
    if (prefix <= m_hashed_to || m_done.load(std::memory_order_relaxed)) {
      continue;
    }
    // The mutex stays held while reading: the engine's thread then leaves these bytes to this
    // one rather than wait for it.
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(k_read_size, prefix - m_hashed_to));
    try {
      const std::size_t got = m_file.read_at(buffer.get(), want, m_hashed_to);
      if (got == 0) {
        throw Error(ErrorKind::failure, "cannot read back " + m_file.path().string(),
                    "it is shorter than the bytes written to it");
      }
      hash_locked(buffer.get(), got);
    } catch (...) {
      m_failure = std::current_exception();
      m_done.store(true, std::memory_order_release);
    }
    if (m_done.load(std::memory_order_relaxed)) {
      lock.unlock();
      if (m_wake) {
        m_wake();
      }
      return;
    }
  }
}

FileHasher::Digests FileHasher::digests() {
  const std::lock_guard lock(m_mutex);
  if (m_failure) {
    std::rethrow_exception(m_failure);
  }
  if (!m_digests) {
    throw Error(ErrorKind::failure, "the hash of " + m_file.path().string() + " is not finished");
  }
  return *m_digests;
}

} // namespace hfmodels::transfer
