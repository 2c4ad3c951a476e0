// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace hfmodels::transfer {

// Bytes [begin, end) of a file.
struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::uint64_t size() const { return end - begin; }
  bool operator==(const ByteRange&) const = default;
};

// Which bytes of one file are on disk, which connection fetches which, and what a connection
// that comes free should fetch next. Bookkeeping only, no I/O: the engine asks and tells, and the
// unit tests drive it without a socket.
//
// A connection owns a segment and asks the server for it a request at a time, from the
// segment's start, each request no larger than the engine wants (so that a fast connection can
// later take over part of a slow one's segment). A connection that comes free takes the first
// bytes nobody owns, else half of the largest part of a segment that its owner has not asked for
// yet. So no byte is asked for twice, unless a request broke off before it arrived (docs/
// ARCHITECTURE.md, "The download engine").
class SegmentPlan {
public:
  using Connection = std::uint32_t;

  // `on_disk`: ranges already in the file (a resumed download), in any order. `piece`: segments
  // start at multiples of it (but where a missing range starts), and none is split below twice
  // its size, so each request stays worth its round trip.
  SegmentPlan(std::uint64_t size, const std::vector<ByteRange>& on_disk, std::uint64_t piece);

  // Gives `connection` (which owns no segment) one: the first bytes nobody owns, at most
  // `max_size` of them, else half of the largest unasked part of another's. False when there is
  // neither.
  bool take(Connection connection,
            std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max());
  // Whether take() would give a segment now.
  bool can_take() const;

  // The next request of `connection`: at most `max_size` bytes from where its earlier requests
  // stopped. Nothing when its whole segment has been asked for (take() another).
  std::optional<ByteRange> next_request(Connection connection, std::uint64_t max_size);
  // `count` more bytes of `connection`'s request are in the file, in order.
  void written(Connection connection, std::uint64_t count);
  // `connection`'s request ended. What it asked for and did not get will be asked again, by the
  // next request of the same segment.
  void request_ended(Connection connection);
  // `connection` gives up its segment: the bytes it did not write belong to nobody again.
  void release(Connection connection);

  // The byte of `connection`'s request that arrives next, if it has a request running.
  std::optional<std::uint64_t> position(Connection connection) const;
  // Where `connection`'s segment ends now (a steal moves it down), if it owns one.
  std::optional<std::uint64_t> segment_end(Connection connection) const;

  std::uint64_t size() const { return m_size; }
  // Bytes in the file.
  std::uint64_t done_bytes() const;
  // Every byte before it is in the file.
  std::uint64_t prefix() const;
  bool complete() const { return done_bytes() == m_size; }
  // The ranges in the file, sorted and merged.
  const std::vector<ByteRange>& done() const { return m_done; }

private:
  struct Segment {
    Connection owner = 0;
    std::uint64_t begin = 0;
    std::uint64_t asked_to = 0; // bytes from begin up to here were asked for
    std::uint64_t end = 0;
    std::optional<ByteRange> request; // running
    std::uint64_t request_written = 0;
  };

  Segment* segment_of(Connection connection);
  const Segment* segment_of(Connection connection) const;
  void add_done(ByteRange range);
  void add_free(ByteRange range);

  std::uint64_t m_size;
  std::uint64_t m_piece;
  std::vector<ByteRange> m_done; // sorted, merged
  std::vector<ByteRange> m_free; // sorted, merged: owned by no segment and not done
  std::vector<Segment> m_segments;
};

} // namespace hfmodels::transfer
