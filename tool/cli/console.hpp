// SPDX-License-Identifier: MIT
#pragma once

#include "util/display.hpp"
#include "util/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <mutex>
#include <string>
#include <string_view>

namespace hfmodels::cli {

// The one place where text leaves the program. Every line, whatever produced it (an error
// message quoting a server, a table of models, libcurl's -v trace, a JSON event), is redacted
// (the token, URL credentials, Authorization values) and made safe for a terminal (escapes,
// over-long lines cut) here and nowhere else, so no message can forget to. Thread-safe once the
// secrets are registered; writes are whole lines, never interleaved.
class Console {
public:
  // Registers a value never to show (see util::Redactor). Call before any thread writes.
  void add_secret(std::string_view secret) { m_redactor.add_secret(secret); }

  // `text` redacted and escaped, as err() would write it, without writing it.
  std::string clean(std::string_view text) const;
  // The same on one line, however many it had (for lines composed with cursor controls).
  std::string clean_line(std::string_view text) const;

  // A line of data on stdout (paths, tables): `text` plus a newline, never cut (a path that
  // scripts read must stay whole); only what a terminal would act on is escaped.
  void out(std::string_view text);
  // A line for people on stderr: `text` plus a newline.
  void err(std::string_view text);
  // `hfmodels: error: <message>` on stderr.
  void error(const Error& error);
  // `hfmodels: warning: <message>` on stderr.
  void warning(std::string_view message);
  // One JSON event per line on stdout, ASCII only (every other character escaped by JSON), with
  // every string value redacted and cut to a bounded size.
  void event(const nlohmann::json& event);
  // Bytes to stderr as they are: a terminal bar's own cursor controls around lines that went
  // through clean().
  void raw_err(std::string_view bytes);

private:
  util::Redactor m_redactor;
  std::mutex m_mutex;
};

} // namespace hfmodels::cli
