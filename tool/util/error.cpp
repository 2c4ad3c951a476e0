// SPDX-License-Identifier: MIT
#include "util/error.hpp"

#include <memory>

namespace hfmodels {

std::string format_error(const std::string& what, const std::string& subject,
                         const std::string& why, const std::string& hint) {
  std::string message = what;
  if (!subject.empty()) {
    message += " (" + subject + ")";
  }
  if (!why.empty()) {
    message += ": " + why;
  }
  if (!hint.empty()) {
    if (message.back() == '\n') {
      // A `why` that ends with a list: the hint goes on its own line.
      message += hint;
    } else {
      if (message.back() != '.' && message.back() != '?' && message.back() != '!') {
        message += '.';
      }
      message += " " + hint;
    }
  }
  return message;
}

struct Error::Parts {
  ErrorKind kind;
  std::string summary;
  std::string why;
  std::string hint;
  std::string subject;
  std::string cause;
};

Error::Error(ErrorKind kind, std::string summary, std::string why, std::string hint,
             std::string subject)
    : std::runtime_error(format_error(summary, subject, why, hint)),
      m_parts(std::make_shared<Parts>(Parts{
          kind, std::move(summary), std::move(why), std::move(hint), std::move(subject), {}})) {}

ErrorKind Error::kind() const noexcept {
  return m_parts->kind;
}
const std::string& Error::summary() const noexcept {
  return m_parts->summary;
}
const std::string& Error::why() const noexcept {
  return m_parts->why;
}
const std::string& Error::hint() const noexcept {
  return m_parts->hint;
}
const std::string& Error::subject() const noexcept {
  return m_parts->subject;
}
const std::string& Error::cause() const noexcept {
  return m_parts->cause;
}

void Error::set_cause(std::string cause) {
  // Only constructors of derived errors call this, before the Error is shared.
  m_parts->cause = std::move(cause);
}

Error Error::with_subject(std::string subject) const {
  Error copy(kind(), summary(), why(), hint(), std::move(subject));
  copy.set_cause(cause());
  return copy;
}

Error Error::with_hint(std::string hint) const {
  Error copy(kind(), summary(), why(), std::move(hint), subject());
  copy.set_cause(cause());
  return copy;
}

Error Error::with_cause(std::string cause) const {
  Error copy(kind(), summary(), why(), hint(), subject());
  copy.set_cause(std::move(cause));
  return copy;
}

} // namespace hfmodels
