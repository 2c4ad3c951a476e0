// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::util {

// Edit distance for "did you mean" suggestions: Levenshtein, with a swap of two adjacent
// characters counting as one edit (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo (distance at most
// a third of the word's length, at least 1), else nothing.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// True if `text` is exactly `length` lowercase hex digits.
bool is_lower_hex(std::string_view text, std::size_t length);

std::string to_lower(std::string_view text);
std::string_view trim(std::string_view text);
// Every piece between separators, empty ones included: split("a,,b", ',') is {"a", "", "b"} and
// split("", ',') is {""}.
std::vector<std::string> split(std::string_view text, char separator);

// Byte offset of the first byte of `text` that is not part of well-formed UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF count as malformed), or nothing if it is all valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// a + b, for sizes of files: throws Error(usage) when they add up to more than 2^64 - 1 bytes,
// which only a hand-made lockfile or listing can make them do.
std::uint64_t add_sizes(std::uint64_t a, std::uint64_t b);

// "1.5 GiB", "512 B": binary units, one decimal.
std::string format_bytes(std::uint64_t bytes);
// "1m05s", "3.2s", "45ms".
std::string format_duration(double seconds);

} // namespace hfmodels::util
