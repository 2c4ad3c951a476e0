// SPDX-License-Identifier: MIT
#include "transfer/plan.hpp"

#include <algorithm>

namespace hfmodels::transfer {

namespace {

// Inserts `range` into sorted, merged `ranges`, merging it with its neighbours.
void insert_merged(std::vector<ByteRange>& ranges, ByteRange range) {
  if (range.size() == 0) {
    return;
  }
  auto it =
      std::lower_bound(ranges.begin(), ranges.end(), range,
                       [](const ByteRange& a, const ByteRange& b) { return a.end < b.begin; });
  // `it` is the first range that ends at or after `range` begins: it and the ones after it that
  // begin by `range`'s end touch it.
  auto last = it;
  while (last != ranges.end() && last->begin <= range.end) {
    range.begin = std::min(range.begin, last->begin);
    range.end = std::max(range.end, last->end);
    ++last;
  }
  it = ranges.erase(it, last);
  ranges.insert(it, range);
}

} // namespace

SegmentPlan::SegmentPlan(std::uint64_t size, const std::vector<ByteRange>& on_disk,
                         std::uint64_t piece)
    : m_size(size), m_piece(std::max<std::uint64_t>(piece, 1)) {
  for (ByteRange range : on_disk) {
    range.end = std::min(range.end, m_size);
    if (range.begin < range.end) {
      insert_merged(m_done, range);
    }
  }
  std::uint64_t at = 0;
  for (const ByteRange& done : m_done) {
    if (done.begin > at) {
      m_free.push_back({at, done.begin});
    }
    at = done.end;
  }
  if (at < m_size) {
    m_free.push_back({at, m_size});
  }
}

SegmentPlan::Segment* SegmentPlan::segment_of(Connection connection) {
  const auto it = std::find_if(m_segments.begin(), m_segments.end(),
                               [&](const Segment& segment) { return segment.owner == connection; });
  return it == m_segments.end() ? nullptr : &*it;
}

const SegmentPlan::Segment* SegmentPlan::segment_of(Connection connection) const {
  return const_cast<SegmentPlan*>(this)->segment_of(connection);
}

void SegmentPlan::add_done(ByteRange range) {
  insert_merged(m_done, range);
}

void SegmentPlan::add_free(ByteRange range) {
  insert_merged(m_free, range);
}

bool SegmentPlan::can_take() const {
  if (!m_free.empty()) {
    return true;
  }
  return std::any_of(m_segments.begin(), m_segments.end(), [&](const Segment& segment) {
    return segment.end - segment.asked_to >= 2 * m_piece;
  });
}

bool SegmentPlan::take(Connection connection, std::uint64_t max_size) {
  if (segment_of(connection) != nullptr) {
    return true;
  }
  if (!m_free.empty()) {
    ByteRange& first = m_free.front();
    const std::uint64_t end = first.size() > std::max<std::uint64_t>(max_size, 1)
                                  ? first.begin + std::max<std::uint64_t>(max_size, 1)
                                  : first.end;
    m_segments.push_back({connection, first.begin, first.begin, end, std::nullopt, 0});
    first.begin = end;
    if (first.size() == 0) {
      m_free.erase(m_free.begin());
    }
    return true;
  }
  // Half of the largest part not asked for yet, cut at a piece boundary: its owner keeps the
  // first half (it reads it next), the taker starts at the second.
  Segment* donor = nullptr;
  for (Segment& segment : m_segments) {
    if (segment.end - segment.asked_to >= 2 * m_piece &&
        (donor == nullptr || segment.end - segment.asked_to > donor->end - donor->asked_to)) {
      donor = &segment;
    }
  }
  if (donor == nullptr) {
    return false;
  }
  const std::uint64_t middle =
      (donor->asked_to + (donor->end - donor->asked_to) / 2 + m_piece - 1) / m_piece * m_piece;
  if (middle <= donor->asked_to || middle >= donor->end) {
    return false;
  }
  const std::uint64_t end = donor->end;
  donor->end = middle;
  m_segments.push_back({connection, middle, middle, end, std::nullopt, 0});
  return true;
}

std::optional<ByteRange> SegmentPlan::next_request(Connection connection, std::uint64_t max_size) {
  Segment* segment = segment_of(connection);
  if (segment == nullptr || segment->request || segment->asked_to >= segment->end) {
    return std::nullopt;
  }
  const ByteRange request{
      segment->asked_to,
      std::min(segment->end, segment->asked_to + std::max<std::uint64_t>(max_size, 1))};
  segment->asked_to = request.end;
  segment->request = request;
  segment->request_written = 0;
  return request;
}

void SegmentPlan::written(Connection connection, std::uint64_t count) {
  Segment* segment = segment_of(connection);
  if (segment == nullptr || !segment->request || count == 0) {
    return;
  }
  const std::uint64_t from = segment->request->begin + segment->request_written;
  const std::uint64_t to = std::min(segment->request->end, from + count);
  add_done({from, to});
  segment->request_written = to - segment->request->begin;
}

void SegmentPlan::request_ended(Connection connection) {
  Segment* segment = segment_of(connection);
  if (segment == nullptr || !segment->request) {
    return;
  }
  // What did not arrive is asked again, first thing, by the segment's next request.
  segment->asked_to = segment->request->begin + segment->request_written;
  segment->request.reset();
  if (segment->asked_to >= segment->end) {
    m_segments.erase(m_segments.begin() + (segment - m_segments.data()));
  }
}

void SegmentPlan::release(Connection connection) {
  request_ended(connection);
  Segment* segment = segment_of(connection);
  if (segment == nullptr) {
    return;
  }
  add_free({segment->asked_to, segment->end});
  m_segments.erase(m_segments.begin() + (segment - m_segments.data()));
}

std::optional<std::uint64_t> SegmentPlan::position(Connection connection) const {
  const Segment* segment = segment_of(connection);
  if (segment == nullptr || !segment->request) {
    return std::nullopt;
  }
  return segment->request->begin + segment->request_written;
}

std::optional<std::uint64_t> SegmentPlan::segment_end(Connection connection) const {
  const Segment* segment = segment_of(connection);
  return segment == nullptr ? std::nullopt : std::optional(segment->end);
}

std::uint64_t SegmentPlan::done_bytes() const {
  std::uint64_t total = 0;
  for (const ByteRange& range : m_done) {
    total += range.size();
  }
  return total;
}

std::uint64_t SegmentPlan::prefix() const {
  return !m_done.empty() && m_done.front().begin == 0 ? m_done.front().end : 0;
}

} // namespace hfmodels::transfer
