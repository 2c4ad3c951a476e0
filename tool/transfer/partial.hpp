// SPDX-License-Identifier: MIT
#pragma once

#include "cache/cache.hpp"
#include "transfer/plan.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <vector>

// What of a partial download can be trusted, across Ctrl-C, `kill -9` and a power cut
// (docs/ARCHITECTURE.md, "Partial downloads"). Beside the temporary, a small control record
// (as aria2 keeps its `.aria2` file) lists the blocks that were written, each with a checksum of
// its bytes. On resume every listed block is read back and checked, and only those whose bytes
// match are kept: a block the kernel had not written when the power went, or that something
// changed, is fetched again. No fsync is needed for that.
//
// A temporary without a record (Python's `blobs/<etag>.incomplete`, or one left by an older
// hfmodels), and the bytes Python appended to a partial after hfmodels left it, are taken as a
// complete prefix up to the first hole, as Python writes them, and recorded from then on; the
// file's sha256 at the end is their check.
namespace hfmodels::transfer {

// Written bytes [offset, offset + length) and the XXH3-64 of them.
struct Block {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t checksum = 0;

  bool operator==(const Block&) const = default;
};

// A block is closed, and recorded, at this size, or where its stream of bytes stops.
inline constexpr std::uint64_t k_block_size = 1u << 20;

class ResumeRecord {
public:
  // The record of `temp` (cache::TempBlob::record_path), for a file of `size` bytes.
  ResumeRecord(cache::TempBlob& temp, std::uint64_t size);

  // The ranges of the temporary that can be trusted: the record's blocks whose bytes check out,
  // else (no record, or one for another size) its complete prefix. Reads the blocks back;
  // throws util::Cancelled when `stop` is requested meanwhile.
  std::vector<ByteRange> load(const std::stop_token& stop = {});

  // A block's bytes are in the temporary.
  void add(const Block& block);
  // Writes the record (a temporary and a rename) if a block was added since the last time and
  // at least `k_interval` has passed, or whenever `now` is true. `open`: blocks still growing
  // (BlockChecksummer::peek), recorded as far as they go now, so that a kill loses no more
  // than the last interval's bytes.
  void save(bool now = false, const std::vector<Block>& open = {});
  // Forgets every block: the temporary starts over from empty.
  void clear();
  // Removes the record (the download is complete, or its bytes are dropped).
  void remove();

  static constexpr std::chrono::milliseconds k_interval{250};

private:
  // The XXH3 of the temporary's bytes [offset, offset + length); nothing if it is shorter.
  std::optional<std::uint64_t> checksum_of(std::uint64_t offset, std::uint64_t length) const;
  // The end of the prefix the kept blocks cover without a hole; nothing if they have one.
  std::optional<std::uint64_t> covered_prefix() const;
  // The temporary was written to well after its record.
  bool continued_after_record() const;
  // Where the temporary's complete prefix ends, by its first hole.
  std::uint64_t prefix_end() const;

  cache::TempBlob& m_temp;
  std::uint64_t m_size;
  std::vector<Block> m_blocks;
  bool m_dirty = false;
  std::chrono::steady_clock::time_point m_saved;
};

// Checksums one stream of bytes written in order (a connection's segment) block by block.
class BlockChecksummer {
public:
  BlockChecksummer();
  ~BlockChecksummer();
  BlockChecksummer(const BlockChecksummer&) = delete;
  BlockChecksummer& operator=(const BlockChecksummer&) = delete;

  // Bytes written at `offset`, continuing the stream (or starting one there). Returns the
  // blocks they closed.
  std::vector<Block> add(std::uint64_t offset, const char* data, std::size_t size);
  // The stream stops (its request ended or broke off): the bytes since the last block, as one.
  std::optional<Block> close();
  // The bytes since the last block as one, without closing it: the stream goes on.
  std::optional<Block> peek() const;

private:
  struct State;
  State* m_state;
};

// XXH3-64 of `size` bytes.
std::uint64_t checksum(const char* data, std::size_t size);

} // namespace hfmodels::transfer
