// SPDX-License-Identifier: MIT
#include "util/glob.hpp"

#include <cstddef>
#include <vector>

namespace hfmodels::util {

namespace {

// Matching works on code points, so that `?` and `[é]` consume one character of a non-ASCII
// name rather than one byte. Malformed bytes decode to themselves; they can only match literally.
std::u32string decode(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80    ? 1
                         : lead >= 0xF0 ? 4
                         : lead >= 0xE0 ? 3
                         : lead >= 0xC0 ? 2
                                        : 0;
    bool valid = length > 0 && i + length <= text.size();
    char32_t code = length == 1   ? lead
                    : length == 2 ? lead & 0x1F
                    : length == 3 ? lead & 0x0F
                                  : lead & 0x07;
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      valid = (c & 0xC0) == 0x80;
      code = (code << 6) | (c & 0x3F);
    }
    if (!valid) {
      out.push_back(lead);
      ++i;
      continue;
    }
    out.push_back(code);
    i += length;
  }
  return out;
}

// Python's fnmatch negates a class with `!` only (`[^a]` is `^` or `a`); the segment rule of
// older lockfiles also took `^`.
enum class Negation { bang, bang_or_caret };

bool negates(char32_t c, Negation negation) {
  return c == U'!' || (negation == Negation::bang_or_caret && c == U'^');
}

// The end of the bracket expression that opens at `open` (the index of its `]`), or npos when it
// is unclosed and the `[` is therefore literal. A `]` right after `[` or `[!` is a member.
std::size_t class_end(const std::u32string& pattern, std::size_t open, Negation negation) {
  std::size_t i = open + 1;
  if (i < pattern.size() && negates(pattern[i], negation)) {
    ++i;
  }
  if (i < pattern.size() && pattern[i] == U']') {
    ++i;
  }
  while (i < pattern.size() && pattern[i] != U']') {
    ++i;
  }
  return i < pattern.size() ? i : std::u32string::npos;
}

bool class_matches(const std::u32string& pattern, std::size_t open, std::size_t close, char32_t c,
                   Negation negation) {
  std::size_t i = open + 1;
  bool negated = false;
  if (negates(pattern[i], negation)) {
    negated = true;
    ++i;
  }
  bool found = false;
  while (i < close) {
    // `-` is a range only between two members; first or last it is literal.
    if (i + 2 < close && pattern[i + 1] == U'-') {
      if (pattern[i] <= c && c <= pattern[i + 2]) {
        found = true;
      }
      i += 3;
    } else {
      if (pattern[i] == c) {
        found = true;
      }
      ++i;
    }
  }
  return found != negated;
}

// The whole text against the whole pattern, `/` being a character like any other: `*`
// backtracks to its last position, which is enough because a later `*` can absorb anything an
// earlier one could (no recursion, no blow-up).
bool wildcard_matches(const std::u32string& pattern, const std::u32string& text,
                      Negation negation) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::u32string::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char32_t c = pattern[p];
      if (c == U'*') {
        star = ++p;
        star_text = t;
        continue;
      }
      if (c == U'?') {
        ++p;
        ++t;
        continue;
      }
      if (c == U'[') {
        const std::size_t close = class_end(pattern, p, negation);
        if (close != std::u32string::npos) {
          if (class_matches(pattern, p, close, text[t], negation)) {
            p = close + 1;
            ++t;
            continue;
          }
        } else if (text[t] == U'[') {
          ++p;
          ++t;
          continue;
        }
      } else if (c == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star == std::u32string::npos) {
      return false;
    }
    p = star;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == U'*') {
    ++p;
  }
  return p == pattern.size();
}

std::vector<std::string_view> segments(std::string_view text) {
  std::vector<std::string_view> pieces;
  for (;;) {
    const auto at = text.find('/');
    pieces.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return pieces;
    }
    text.remove_prefix(at + 1);
  }
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  // huggingface_hub's filter_repo_objects: a folder pattern means everything below it.
  std::u32string whole = decode(pattern);
  if (!whole.empty() && whole.back() == U'/') {
    whole.push_back(U'*');
  }
  return wildcard_matches(whole, decode(path), Negation::bang);
}

bool segment_glob_match(std::string_view pattern, std::string_view path) {
  const auto pattern_parts = segments(pattern);
  const auto path_parts = segments(path);
  std::vector<std::u32string> patterns;
  std::vector<std::u32string> texts;
  for (const auto part : pattern_parts) {
    patterns.push_back(decode(part));
  }
  for (const auto part : path_parts) {
    texts.push_back(decode(part));
  }
  const std::size_t n = patterns.size();
  const std::size_t m = texts.size();
  // matches[i][j]: pattern segments i.. match path segments j..; a table rather than recursion so
  // that many `**` cannot make matching exponential.
  std::vector<std::vector<char>> matches(n + 1, std::vector<char>(m + 1, 0));
  matches[n][m] = 1;
  for (std::size_t i = n; i-- > 0;) {
    const bool globstar = pattern_parts[i] == "**";
    for (std::size_t j = m + 1; j-- > 0;) {
      if (globstar && i + 1 == n) {
        // A trailing `**` means "everything below": at least one more segment.
        matches[i][j] = j < m;
      } else if (globstar) {
        matches[i][j] = matches[i + 1][j] || (j < m && matches[i][j + 1]);
      } else {
        matches[i][j] = j < m && matches[i + 1][j + 1] &&
                        wildcard_matches(patterns[i], texts[j], Negation::bang_or_caret);
      }
    }
  }
  return matches[0][0] != 0;
}

std::optional<std::string> glob_syntax_error(std::string_view pattern) {
  if (pattern.empty()) {
    return "the pattern is empty";
  }
  for (const char c : pattern) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return "it contains a control character";
    }
  }
  if (pattern.front() == '/') {
    return "it starts with `/`, and repository paths never do; patterns are relative to the "
           "repository root";
  }
  return std::nullopt;
}

} // namespace hfmodels::util
