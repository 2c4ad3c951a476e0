// SPDX-License-Identifier: MIT
#include "util/strings.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace hfmodels::util {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the most common typo
  // ("modle" for "model" is one edit, not two). Three rolling rows keep memory linear.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    previous[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

bool is_lower_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return lower;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view whitespace = " \t\n\r\f\v";
  const auto first = text.find_first_not_of(whitespace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(whitespace);
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> pieces;
  for (;;) {
    const auto at = text.find(separator);
    pieces.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return pieces;
    }
    text.remove_prefix(at + 1);
  }
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    // The allowed range of the second byte excludes overlong forms, surrogates (ED A0..BF) and
    // code points past U+10FFFF (F4 90..BF), per the table in RFC 3629 section 4.
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    if (i + length > text.size()) {
      return i;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      const unsigned char min = k == 1 ? low : 0x80;
      const unsigned char max = k == 1 ? high : 0xBF;
      if (c < min || c > max) {
        return i;
      }
    }
    i += length;
  }
  return std::nullopt;
}

std::uint64_t add_sizes(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    throw Error(ErrorKind::usage, "sizes too large", "they add up to more than 2^64 bytes");
  }
  return sum;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  static constexpr std::array<const char*, 6> units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  // Compare the rounded value, so that 1048575 bytes reads "1.0 MiB", not "1024.0 KiB".
  while (std::round(value * 10.0) >= 1024.0 * 10.0 && unit + 1 < units.size()) {
    value /= 1024.0;
    ++unit;
  }
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.1f %s", value, units[unit]);
  return buffer.data();
}

std::string format_duration(double seconds) {
  if (std::isnan(seconds) || seconds < 0) {
    seconds = 0;
  }
  std::array<char, 32> buffer{};
  const double milliseconds = std::round(seconds * 1000.0);
  if (milliseconds < 1000.0) {
    std::snprintf(buffer.data(), buffer.size(), "%.0fms", milliseconds);
    return buffer.data();
  }
  if (std::round(seconds * 10.0) < 600.0) {
    std::snprintf(buffer.data(), buffer.size(), "%.1fs", std::round(seconds * 10.0) / 10.0);
    return buffer.data();
  }
  // Saturate rather than overflow for absurd estimates (an ETA at a stalled transfer rate).
  const double whole = std::min(std::round(seconds), 1e15);
  const auto total = static_cast<std::uint64_t>(whole);
  if (total < 3600) {
    std::snprintf(buffer.data(), buffer.size(), "%um%02us", static_cast<unsigned>(total / 60),
                  static_cast<unsigned>(total % 60));
    return buffer.data();
  }
  const std::uint64_t minutes = (total + 30) / 60;
  std::snprintf(buffer.data(), buffer.size(), "%lluh%02um",
                static_cast<unsigned long long>(minutes / 60), static_cast<unsigned>(minutes % 60));
  return buffer.data();
}

} // namespace hfmodels::util
