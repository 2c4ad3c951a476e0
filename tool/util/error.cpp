// SPDX-License-Identifier: MIT
#include "util/error.hpp"

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

Error::Error(ExitCode code, std::string what, std::string why, std::string hint,
             std::string subject)
    : std::runtime_error(format_error(what, subject, why, hint)), m_code(code),
      m_what(std::move(what)), m_why(std::move(why)), m_hint(std::move(hint)),
      m_subject(std::move(subject)) {}

Error Error::with_subject(std::string subject) const {
  Error copy(m_code, m_what, m_why, m_hint, std::move(subject));
  copy.m_cause = m_cause;
  return copy;
}

Error Error::with_hint(std::string hint) const {
  Error copy(m_code, m_what, m_why, std::move(hint), m_subject);
  copy.m_cause = m_cause;
  return copy;
}

Error Error::with_cause(std::string cause) const {
  Error copy = *this;
  copy.m_cause = std::move(cause);
  return copy;
}

} // namespace hfmodels
