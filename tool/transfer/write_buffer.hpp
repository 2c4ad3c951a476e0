// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace hfmodels::transfer {

// Bytes go to the file in writes of this size. libcurl hands a body over in blocks of at most
// 16 KiB, and a write of 16 KiB costs about twice the CPU per byte of one of 64-256 KiB (bench/
// ANALYSIS.md: on a VM every new page-cache page may fault on the host; from 512 KiB on the
// kernel's large folios make it dearer again).
inline constexpr std::size_t k_write_block = 256u << 10;

// Gathers a download's received blocks into writes of k_write_block bytes. A slow download's
// bytes are written after at most k_max_age instead, so that they reach the file about as they
// arrive: what a killed run leaves, the next one resumes.
class WriteBuffer {
public:
  static constexpr std::chrono::milliseconds k_max_age{500};

  // Adds bytes; true when the buffer is due to be written.
  bool add(const char* data, std::size_t size) {
    const auto now = std::chrono::steady_clock::now();
    if (m_bytes.empty()) {
      m_bytes.reserve(k_write_block + (16u << 10));
      m_since = now;
    }
    m_bytes.insert(m_bytes.end(), data, data + size);
    return m_bytes.size() >= k_write_block || now - m_since >= k_max_age;
  }

  const char* data() const { return m_bytes.data(); }
  std::size_t size() const { return m_bytes.size(); }
  bool empty() const { return m_bytes.empty(); }
  void clear() { m_bytes.clear(); }

private:
  std::vector<char> m_bytes;
  std::chrono::steady_clock::time_point m_since;
};

} // namespace hfmodels::transfer
