// SPDX-License-Identifier: MIT
#pragma once

#include <hfmodels/export.hpp>
#include <memory>
#include <stdexcept>
#include <string>

namespace hfmodels {

// What kind of failure an Error is. Each value is the exit code the command line gives for it
// (README.md, "Commands"), so a program and a script see the same classification.
enum class ErrorKind : int {
  failure = 1,         // anything else: disk full, a file the cache cannot hold
  usage = 2,           // bad usage, a bad manifest or lockfile, an unknown model
  network = 3,         // the network or the Hub failed
  integrity = 4,       // bytes that do not match their size or hash
  offline_missing = 5, // offline, and something is not in the cache
  stale = 6,           // the lockfile is stale against models.yaml
  cancelled = 130,     // stopped through the std::stop_token (or Ctrl-C in the tool)
};

// The one error type of hfmodels, thrown by every function of the library. what() is the whole
// message: `<summary> (<subject>): <why>. <hint>`; the parts are there too, for programs that
// word things their own way.
class HFMODELS_EXPORT Error : public std::runtime_error {
public:
  Error(ErrorKind kind, std::string summary, std::string why = {}, std::string hint = {},
        std::string subject = {});

  ErrorKind kind() const noexcept;
  // What failed ("download failed").
  const std::string& summary() const noexcept;
  // Why, as facts ("HTTP 404 from huggingface.co"); may be empty.
  const std::string& why() const noexcept;
  // What to do about it; may be empty.
  const std::string& hint() const noexcept;
  // What it is about: "model/file", "model" or a file name; may be empty.
  const std::string& subject() const noexcept;
  // A short key for the cause, without the details that differ from one request to the next
  // ("http:404:EntryNotFound", "transport:7", "io:13"): failures of many files that share it
  // share a cause. May be empty.
  const std::string& cause() const noexcept;

  // Copies with one part replaced: lower layers state facts, the caller that knows more adds
  // the subject or the advice.
  Error with_subject(std::string subject) const;
  Error with_cause(std::string cause) const;
  Error with_hint(std::string hint) const;

protected:
  void set_cause(std::string cause);

private:
  struct Parts;
  // Shared and immutable once thrown, so copying an Error (as exceptions are) cannot throw.
  std::shared_ptr<Parts> m_parts;
};

} // namespace hfmodels
