// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace hfmodels {

// Exit codes are part of the command-line contract (README.md, "Commands": exit codes).
enum class ExitCode : int {
  ok = 0,
  failure = 1,
  usage = 2,           // bad usage, bad manifest or bad lockfile
  network = 3,         // network or Hub error
  integrity = 4,       // hash or size mismatch
  offline_missing = 5, // offline and something is missing
  stale_lock = 6,      // lockfile stale against the manifest
  cancelled = 130,     // stopped on request (the command line: 130 for SIGINT, 143 for SIGTERM)
};

// The one error type of the code base. Every layer throws it; cli::run catches it once and
// prints `hfmodels: error: <what> (<subject>): <why>. <hint>` to stderr, then exits with `code()`.
// `subject` is "model/file", "model" or a file name; `why` and `hint` may be empty.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, std::string what, std::string why = {}, std::string hint = {},
        std::string subject = {});

  ExitCode code() const { return m_code; }
  const std::string& summary() const { return m_what; }
  const std::string& why() const { return m_why; }
  const std::string& hint() const { return m_hint; }
  const std::string& subject() const { return m_subject; }

  // What went wrong, as a short key that leaves out the wording and the details that differ
  // from one request to the next (request ids, URLs, retry counts): "http:404:EntryNotFound",
  // "transport:7", "io:13", "integrity". Failures of many files that share it share a cause.
  // Empty when the thrower gave none.
  const std::string& cause() const { return m_cause; }

  // A copy with the subject set, for callers that know which model/file failed.
  Error with_subject(std::string subject) const;
  // A copy with the cause set.
  Error with_cause(std::string cause) const;
  // A copy with the hint set: lower layers report what happened, the operation that called
  // them says what to do about it.
  Error with_hint(std::string hint) const;

protected:
  void set_cause(std::string cause) { m_cause = std::move(cause); }

private:
  ExitCode m_code;
  std::string m_what;
  std::string m_why;
  std::string m_hint;
  std::string m_subject;
  std::string m_cause;
};

// Formats the message without the "hfmodels: error: " prefix.
std::string format_error(const std::string& what, const std::string& subject,
                         const std::string& why, const std::string& hint);

} // namespace hfmodels
