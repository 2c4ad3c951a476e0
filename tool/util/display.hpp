// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Text on its way out of the program (a terminal, a CI log, a JSON event) may hold a secret or
// bytes that a terminal takes for commands, whatever produced it: a server's error message, a
// repo id from a hand-edited lockfile, libcurl's own trace. The command line passes every line
// through these two steps, once, at the point where it leaves the program.
namespace hfmodels::util {

// Replaces secrets with `***`: every registered secret (the token, proxy passwords), the
// userinfo of any URL (`https://user:pass@host` becomes `https://***@host`), and the credentials
// of `Authorization:` and `Proxy-Authorization:` header lines (`Authorization: Bearer ***`).
class Redactor {
public:
  // Registers a secret. Secrets shorter than k_min_secret are ignored: replacing every "ab"
  // would garble the output and protect nothing.
  void add_secret(std::string_view secret);

  std::string redact(std::string_view text) const;

  static constexpr std::size_t k_min_secret = 6;

private:
  std::vector<std::string> m_secrets; // longest first, each also percent-encoded
};

// The longest line shown; a longer one keeps its beginning and end.
inline constexpr std::size_t k_max_line = 2048;

// `text` made safe for a terminal: control characters other than newline and tab, DEL, C1
// controls, Unicode bidirectional overrides and malformed UTF-8 become visible escapes (`\x1b`,
// `\u202e`), and every line over `max_line` bytes is cut in its middle ("[... 10485760 bytes
// ...]"). Valid printable UTF-8 is kept as it is.
std::string printable(std::string_view text, std::size_t max_line = k_max_line);

// `text` cut in its middle to at most about `max_size` bytes, at UTF-8 sequence boundaries; as
// it is when shorter.
std::string shortened(std::string_view text, std::size_t max_size);

// `text` on one line, for an untrusted value placed inside a message: as printable(), and
// newlines and tabs escaped too, cut to `max_size` bytes.
std::string printable_inline(std::string_view text, std::size_t max_size = 200);

} // namespace hfmodels::util
