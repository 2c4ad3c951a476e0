// SPDX-License-Identifier: MIT
#include "cli/console.hpp"

#include "cli/advice.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <limits>

namespace hfmodels::cli {

namespace {

// JSON consumers get whole values, but not without bound: a hostile 10 MB repo id is cut here.
constexpr std::size_t k_max_json_string = 64u << 10;

void write(std::FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

void clean_strings(nlohmann::json& value, const util::Redactor& redactor) {
  if (value.is_string()) {
    // No escaping: JSON escapes every control character itself (see event()).
    value =
        util::shortened(redactor.redact(value.get_ref<const std::string&>()), k_max_json_string);
  } else if (value.is_structured()) {
    for (auto& item : value) {
      clean_strings(item, redactor);
    }
  }
}

} // namespace

std::string Console::clean(std::string_view text) const {
  return util::printable(m_redactor.redact(text));
}

std::string Console::clean_line(std::string_view text) const {
  return util::printable_inline(m_redactor.redact(text), util::k_max_line);
}

void Console::out(std::string_view text) {
  const std::string line =
      util::printable(m_redactor.redact(text), std::numeric_limits<std::size_t>::max()) + "\n";
  const std::lock_guard lock(m_mutex);
  write(stdout, line);
}

void Console::err(std::string_view text) {
  const std::string line = clean(text) + "\n";
  const std::lock_guard lock(m_mutex);
  write(stderr, line);
}

void Console::error(const Error& error) {
  err(std::string("hfmodels: error: ") + advised(error).what());
}

void Console::warning(std::string_view message) {
  err("hfmodels: warning: " + std::string(message));
}

void Console::event(const nlohmann::json& event) {
  nlohmann::json cleaned = event;
  clean_strings(cleaned, m_redactor);
  const std::string line =
      cleaned.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace) + "\n";
  const std::lock_guard lock(m_mutex);
  write(stdout, line);
}

void Console::raw_err(std::string_view bytes) {
  const std::lock_guard lock(m_mutex);
  write(stderr, std::string(bytes));
}

} // namespace hfmodels::cli
