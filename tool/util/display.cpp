// SPDX-License-Identifier: MIT
#include "util/display.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace hfmodels::util {

namespace {

constexpr std::string_view k_hidden = "***";

bool is_scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

// Where a URL's authority ends: at the path, query or fragment, or where the text around the
// URL resumes (space, quote, bracket, comma).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == ',' || c == ')' ||
         c == ']' || c == ';';
}

// `scheme://userinfo@host` → `scheme://***@host`, for every URL in `text`.
std::string hide_userinfo(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (std::size_t at = text.find("://"); at != std::string_view::npos;
       at = text.find("://", at + 3)) {
    if (at == 0 || !is_scheme_char(text[at - 1])) {
      continue;
    }
    const std::size_t start = at + 3;
    std::size_t end = start;
    while (end < text.size() && !ends_authority(text[end])) {
      ++end;
    }
    const std::size_t user_end = text.substr(start, end - start).rfind('@');
    if (user_end == std::string_view::npos) {
      continue;
    }
    out.append(text.substr(copied, start - copied));
    out.append(k_hidden);
    copied = start + user_end;
  }
  out.append(text.substr(copied));
  return out;
}

// The value of `Authorization:` and `Proxy-Authorization:` lines, wherever they appear: the
// scheme word stays ("Bearer ***") so that a trace still says what kind of credential went.
std::string hide_authorization(std::string_view text) {
  static constexpr std::string_view k_header = "authorization:";
  const std::string lower = to_lower(text);
  std::string out;
  std::size_t copied = 0;
  for (std::size_t at = lower.find(k_header); at != std::string::npos;
       at = lower.find(k_header, std::max(at + k_header.size(), copied))) {
    if (at < copied) {
      continue; // inside a value hidden already
    }
    std::size_t value = at + k_header.size();
    while (value < text.size() && text[value] == ' ') {
      ++value;
    }
    const std::size_t line_end = std::min(text.find_first_of("\r\n", value), text.size());
    std::string_view rest = text.substr(value, line_end - value);
    const std::size_t space = rest.find(' ');
    const std::size_t keep = space == std::string_view::npos ? 0 : space + 1;
    if (rest.size() == keep) {
      continue; // nothing after the scheme word to hide
    }
    out.append(text.substr(copied, value + keep - copied));
    out.append(k_hidden);
    copied = line_end;
  }
  out.append(text.substr(copied));
  return out;
}

// `text` with every byte but RFC 3986's unreserved ones as %XX, in upper- or lower-case hex.
std::string percent_encoded(std::string_view text, bool lower_case) {
  const char* hex = lower_case ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  return out;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

void append_hex_escape(std::string& out, unsigned char byte) {
  std::array<char, 5> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "\\x%02x", byte);
  out += buffer.data();
}

// Length of the well-formed UTF-8 sequence at `text[i]` (1 for ASCII), or 0 if malformed.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  return find_invalid_utf8(text.substr(i, length)) ? 0 : length;
}

std::uint32_t code_point(std::string_view sequence) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(sequence[k]); };
  switch (sequence.size()) {
  case 1:
    return byte(0);
  case 2:
    return (byte(0) & 0x1Fu) << 6 | (byte(1) & 0x3Fu);
  case 3:
    return (byte(0) & 0x0Fu) << 12 | (byte(1) & 0x3Fu) << 6 | (byte(2) & 0x3Fu);
  default:
    return (byte(0) & 0x07u) << 18 | (byte(1) & 0x3Fu) << 12 | (byte(2) & 0x3Fu) << 6 |
           (byte(3) & 0x3Fu);
  }
}

// C1 controls (a terminal may take U+009B for CSI) and the bidirectional overrides and isolates
// that reorder what is shown ("Trojan Source").
bool is_hidden_code_point(std::uint32_t point) {
  return (point >= 0x80 && point <= 0x9F) || point == 0x061C || point == 0x200E ||
         point == 0x200F || (point >= 0x202A && point <= 0x202E) ||
         (point >= 0x2066 && point <= 0x2069);
}

// Escapes one line (no newline in it unless `keep_layout` is false).
std::string escape(std::string_view text, bool keep_layout) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      const bool layout = byte == '\n' || byte == '\t';
      if (byte < 0x20 && !(keep_layout && layout)) {
        if (byte == '\n') {
          out += "\\n";
        } else if (byte == '\t') {
          out += "\\t";
        } else if (byte == '\r') {
          out += "\\r";
        } else {
          append_hex_escape(out, byte);
        }
      } else if (byte == 0x7F) {
        append_hex_escape(out, byte);
      } else {
        out += static_cast<char>(byte);
      }
      ++i;
      continue;
    }
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      append_hex_escape(out, byte);
      ++i;
      continue;
    }
    const std::string_view sequence = text.substr(i, length);
    if (const std::uint32_t point = code_point(sequence); is_hidden_code_point(point)) {
      std::array<char, 12> buffer{};
      std::snprintf(buffer.data(), buffer.size(), "\\u%04x", static_cast<unsigned>(point));
      out += buffer.data();
    } else {
      out.append(sequence);
    }
    i += length;
  }
  return out;
}

// Moves `at` back to the start of the UTF-8 sequence it falls in.
std::size_t sequence_start(std::string_view text, std::size_t at) {
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) {
    --at;
  }
  return at;
}

} // namespace

// Keeps the first two thirds and the last third of `max_size` bytes.
std::string shortened(std::string_view text, std::size_t max_size) {
  if (text.size() <= max_size) {
    return std::string(text);
  }
  const std::size_t head = sequence_start(text, max_size * 2 / 3);
  const std::size_t tail = sequence_start(text, text.size() - max_size / 3);
  return std::string(text.substr(0, head)) + "[... " + std::to_string(tail - head) + " bytes ...]" +
         std::string(text.substr(tail));
}

void Redactor::add_secret(std::string_view secret) {
  if (secret.size() < k_min_secret) {
    return;
  }
  for (std::string form :
       {std::string(secret), percent_encoded(secret, false), percent_encoded(secret, true)}) {
    if (std::find(m_secrets.begin(), m_secrets.end(), form) == m_secrets.end()) {
      m_secrets.push_back(std::move(form));
    }
  }
  // Longest first, so that a secret containing another is hidden whole.
  std::stable_sort(m_secrets.begin(), m_secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::redact(std::string_view text) const {
  std::string out = hide_authorization(hide_userinfo(text));
  for (const std::string& secret : m_secrets) {
    replace_all(out, secret, k_hidden);
  }
  return out;
}

std::string printable(std::string_view text, std::size_t max_line) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    out += shortened(escape(text.substr(start, end - start), true), max_line);
    if (newline == std::string_view::npos) {
      break;
    }
    out += '\n';
    start = newline + 1;
  }
  return out;
}

std::string printable_inline(std::string_view text, std::size_t max_size) {
  return shortened(escape(text, false), max_size);
}

} // namespace hfmodels::util
