// SPDX-License-Identifier: MIT
#include "transfer/partial.hpp"

#include "util/cancel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <system_error>

namespace hfmodels::transfer {

namespace {

constexpr std::string_view k_magic = "hfmodels-ranges 1";
// Reading back the blocks to check them.
constexpr std::size_t k_read_size = 1u << 20;

std::optional<std::uint64_t> number(std::string_view text, int base = 10) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// The record's blocks, or nothing when it is missing, unreadable or for another file size.
std::optional<std::vector<Block>> read_record(const std::filesystem::path& path,
                                              std::uint64_t size) {
  std::string text;
  try {
    text = util::read_file(path);
  } catch (const Error&) {
    return std::nullopt;
  }
  const std::vector<std::string> lines = util::split(text, '\n');
  if (lines.size() < 2 || lines[0] != k_magic || lines[1] != "size " + std::to_string(size)) {
    return std::nullopt;
  }
  std::vector<Block> blocks;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      continue;
    }
    const std::vector<std::string> fields = util::split(lines[i], ' ');
    if (fields.size() != 3) {
      return std::nullopt;
    }
    const auto offset = number(fields[0]);
    const auto length = number(fields[1]);
    const auto sum = number(fields[2], 16);
    if (!offset || !length || !sum || *length == 0 || *offset > size || *length > size - *offset) {
      return std::nullopt;
    }
    blocks.push_back({*offset, *length, *sum});
  }
  return blocks;
}

} // namespace

std::uint64_t checksum(const char* data, std::size_t size) {
  return XXH3_64bits(data, size);
}

ResumeRecord::ResumeRecord(cache::TempBlob& temp, std::uint64_t size)
    : m_temp(temp), m_size(size), m_saved(std::chrono::steady_clock::now()) {}

std::vector<ByteRange> ResumeRecord::load(const std::stop_token& stop) {
  m_blocks.clear();
  m_dirty = false;
  const auto recorded = read_record(m_temp.record_path(), m_size);
  if (recorded) {
    // Each block is trusted only if its bytes are still what was written.
    for (const Block& block : *recorded) {
      util::throw_if_stopped(stop);
      if (checksum_of(block.offset, block.length) == block.checksum) {
        m_blocks.push_back(block);
      } else {
        m_dirty = true;
      }
    }
  }
  const bool all_intact = !m_dirty;
  // Bytes past the record's, in a file someone continued after the record was last written
  // (Python resumes `blobs/<etag>.incomplete` by appending to it), or in a file that never had
  // a record, are taken as Python writes them: a prefix, up to its first hole. They are
  // checksummed now, so that from here on the record vouches for every byte it keeps.
  // (Not when a recorded block failed: its bytes would be trusted again.)
  const std::optional<std::uint64_t> covered = covered_prefix();
  if (covered && (!recorded || (all_intact && continued_after_record()))) {
    const std::uint64_t end = prefix_end();
    for (std::uint64_t offset = *covered; offset < end; offset += k_block_size) {
      util::throw_if_stopped(stop);
      const std::uint64_t length = std::min<std::uint64_t>(k_block_size, end - offset);
      const auto sum = checksum_of(offset, length);
      if (!sum) {
        break;
      }
      m_blocks.push_back({offset, length, *sum});
      m_dirty = true;
    }
  }
  std::vector<ByteRange> trusted;
  trusted.reserve(m_blocks.size());
  for (const Block& block : m_blocks) {
    trusted.push_back({block.offset, block.offset + block.length});
  }
  return trusted;
}

std::optional<std::uint64_t> ResumeRecord::checksum_of(std::uint64_t offset,
                                                       std::uint64_t length) const {
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) {
    throw std::bad_alloc();
  }
  XXH3_64bits_reset(state);
  const auto buffer = std::make_unique_for_overwrite<char[]>(k_read_size);
  std::uint64_t read = 0;
  while (read < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(k_read_size, length - read));
    const std::size_t got = m_temp.read_at(buffer.get(), want, offset + read);
    if (got == 0) {
      break; // the file is shorter
    }
    XXH3_64bits_update(state, buffer.get(), got);
    read += got;
  }
  const std::uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return read == length ? std::optional<std::uint64_t>(sum) : std::nullopt;
}

std::optional<std::uint64_t> ResumeRecord::covered_prefix() const {
  std::vector<ByteRange> ranges;
  ranges.reserve(m_blocks.size());
  for (const Block& block : m_blocks) {
    ranges.push_back({block.offset, block.offset + block.length});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  std::uint64_t end = 0;
  for (const ByteRange& range : ranges) {
    if (range.begin != end) {
      return std::nullopt; // a hole: the bytes of a segmented download, nobody else's
    }
    end = range.end;
  }
  return end;
}

bool ResumeRecord::continued_after_record() const {
  // The record is saved whenever the file is left (and every 250 ms before), so a file changed
  // more than a second after it was written by another hand.
  const auto file = m_temp.file().modified_seconds();
  const auto record = util::modified_seconds(m_temp.record_path());
  return file && record && *file > *record + 1.0;
}

std::uint64_t ResumeRecord::prefix_end() const {
  const std::uint64_t length = std::min(m_temp.size(), m_size);
  if (length == 0) {
    return 0;
  }
  // A partial of a segmented download killed before it wrote a record has holes: its prefix ends
  // at the first one. Only the block where a write stopped can hold unwritten zeros before it:
  // that block goes too (the sha256 at the end checks the rest).
  const cache::File::FirstHole hole = m_temp.file().first_hole();
  if (hole.offset >= length) {
    return length;
  }
  const std::uint64_t block = hole.block_size;
  const std::uint64_t keep = hole.offset / block * block;
  return keep > block ? keep - block : 0;
}

void ResumeRecord::add(const Block& block) {
  m_blocks.push_back(block);
  m_dirty = true;
}

void ResumeRecord::save(bool now, const std::vector<Block>& open) {
  const auto time = std::chrono::steady_clock::now();
  if ((!m_dirty && open.empty()) || (!now && time - m_saved < k_interval)) {
    return;
  }
  std::string text = std::string(k_magic) + "\nsize " + std::to_string(m_size) + "\n";
  std::vector<Block> blocks = m_blocks;
  blocks.insert(blocks.end(), open.begin(), open.end());
  for (const Block& block : blocks) {
    char sum[17];
    std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(block.checksum));
    text += std::to_string(block.offset) + " " + std::to_string(block.length) + " " + sum + "\n";
  }
  util::write_file_atomic(m_temp.record_path(), text);
  m_dirty = false;
  m_saved = time;
}

void ResumeRecord::clear() {
  m_blocks.clear();
  m_dirty = true;
}

void ResumeRecord::remove() {
  std::error_code error;
  std::filesystem::remove(m_temp.record_path(), error);
  m_blocks.clear();
  m_dirty = false;
}

struct BlockChecksummer::State {
  XXH3_state_t* xxh = XXH3_createState();
  bool open = false;
  std::uint64_t start = 0;  // of the block being summed
  std::uint64_t length = 0; // of it so far

  State() {
    if (xxh == nullptr) {
      throw std::bad_alloc();
    }
  }
  ~State() { XXH3_freeState(xxh); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

BlockChecksummer::BlockChecksummer() : m_state(new State) {}

BlockChecksummer::~BlockChecksummer() {
  delete m_state;
}

std::vector<Block> BlockChecksummer::add(std::uint64_t offset, const char* data, std::size_t size) {
  std::vector<Block> closed;
  State& state = *m_state;
  if (state.open && state.start + state.length != offset) {
    if (auto block = close()) {
      closed.push_back(*block); // not where the stream left off: a new one starts here
    }
  }
  while (size > 0) {
    if (!state.open) {
      XXH3_64bits_reset(state.xxh);
      state.open = true;
      state.start = offset;
      state.length = 0;
    }
    const auto take =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, k_block_size - state.length));
    XXH3_64bits_update(state.xxh, data, take);
    state.length += take;
    offset += take;
    data += take;
    size -= take;
    if (state.length == k_block_size) {
      closed.push_back(*close());
    }
  }
  return closed;
}

std::optional<Block> BlockChecksummer::peek() const {
  const State& state = *m_state;
  if (!state.open || state.length == 0) {
    return std::nullopt;
  }
  // XXH3's digest leaves the state as it was: the stream may go on.
  return Block{state.start, state.length, XXH3_64bits_digest(state.xxh)};
}

std::optional<Block> BlockChecksummer::close() {
  State& state = *m_state;
  if (!state.open || state.length == 0) {
    state.open = false;
    return std::nullopt;
  }
  state.open = false;
  return Block{state.start, state.length, XXH3_64bits_digest(state.xxh)};
}

} // namespace hfmodels::transfer
