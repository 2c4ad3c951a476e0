// SPDX-License-Identifier: MIT
#pragma once

// Internal to manifest/: the YAML handling that models.yaml and models.lock share. Header-only so
// that the module keeps its three translation units.

#include "util/error.hpp"
#include "util/strings.hpp"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>

namespace hfmodels::manifest::yaml_support {

// 1-based line of `node`, 0 when yaml-cpp has no position for it.
inline int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// "models.yaml:12 model tinyllama", "models.yaml:12", "models.yaml".
inline std::string location(const std::string& file, int line, std::string_view model = {}) {
  std::string text = file;
  if (line > 0) {
    text += ":" + std::to_string(line);
  }
  if (!model.empty()) {
    text += " model " + std::string(model);
  }
  return text;
}

// What a plain (unquoted, untagged) scalar means to a YAML reader other than yaml-cpp, which keeps
// every scalar as text: "null", "a boolean" or "a number", or nothing for a string. The union of
// YAML 1.2's core schema and the YAML 1.1 forms PyYAML still resolves (`yes`, `0o17`, `1_000`,
// `1:20`, `2024-01-31`), so that what hfmodels reads as text no other tool reads as something else.
inline std::optional<std::string_view> plain_scalar_kind(std::string_view text) {
  static const std::regex null_form("~|null|Null|NULL|");
  static const std::regex bool_form(
      "true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF");
  static const std::regex number_form(
      "[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|[1-9][0-9_]*(:[0-5]?[0-9])+)"
      "|[-+]?(\\.[0-9_]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?"
      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  // YAML 1.1 timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5.
  static const std::regex date_form("[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                                    "([Tt]|[ \\t]+)?([0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]*)?)?"
                                    "([ \\t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?");
  const std::string value(text);
  if (std::regex_match(value, null_form)) {
    return "null";
  }
  if (std::regex_match(value, bool_form)) {
    return "a boolean";
  }
  if (std::regex_match(value, number_form)) {
    return "a number";
  }
  if (std::regex_match(value, date_form)) {
    return "a date";
  }
  return std::nullopt;
}

// "a map", "a list", "a number", "null", ... for messages that say what was found instead.
inline std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map:
    return "a map";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    return "empty";
  case YAML::NodeType::Scalar:
    break;
  }
  if (node.Tag() == "?") {
    if (const auto kind = plain_scalar_kind(node.Scalar())) {
      return std::string(*kind);
    }
  }
  return "a string";
}

// The text of `node` if it is a string: a quoted scalar, a `!!str` one, or a plain one that no
// YAML reader would take for a number, boolean or null.
inline std::optional<std::string> string_value(const YAML::Node& node) {
  if (!node.IsScalar()) {
    return std::nullopt;
  }
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {
    return node.Scalar();
  }
  if (tag == "?" && !plain_scalar_kind(node.Scalar())) {
    return node.Scalar();
  }
  return std::nullopt;
}

// Writes `text` as a plain scalar only when it is unmistakably a string (a conservative character
// set with at least one letter or digit, never something plain_scalar_kind recognizes), else
// double-quoted, so that paths with spaces, `#`, `: `, a leading `-` or non-ASCII characters read
// back byte for byte everywhere.
inline void emit_string(YAML::Emitter& out, std::string_view text) {
  const auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  const auto safe_first = [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '/'; };
  const auto safe = [&](char c) { return safe_first(c) || c == '-' || c == '+' || c == '='; };
  bool plain = !text.empty() && safe_first(text.front()) && text.back() != ':' &&
               std::any_of(text.begin(), text.end(), alnum) && !plain_scalar_kind(text);
  for (std::size_t i = 0; plain && i < text.size(); ++i) {
    plain = safe(text[i]) || (text[i] == ':' && i > 0);
  }
  if (!plain) {
    // U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 readers and U+FEFF is a byte order
    // mark: escape them (with the rest of the non-ASCII text of that value) so that no reader
    // folds or drops them. Other non-ASCII text stays readable.
    const bool has_break_like = text.find("\xC2\x85") != std::string_view::npos ||
                                text.find("\xE2\x80\xA8") != std::string_view::npos ||
                                text.find("\xE2\x80\xA9") != std::string_view::npos ||
                                text.find("\xEF\xBB\xBF") != std::string_view::npos;
    if (has_break_like) {
      out << YAML::EscapeNonAscii;
    }
    out << YAML::DoubleQuoted;
  }
  out << std::string(text);
}

namespace detail {

// Looks at the event stream before any node is built: yaml-cpp shares aliased nodes, so a
// "billion laughs" document is cheap to load but exponential to walk. Refusing anchors outright is
// simpler to explain than a size bound, and neither file has a use for them.
class StructureCheck : public YAML::EventHandler {
public:
  int documents = 0;
  std::optional<YAML::Mark> anchor_at;

  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { check(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { found(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    check(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    check(mark, anchor);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    check(mark, anchor);
  }
  void OnMapEnd() override {}

private:
  void check(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      found(mark);
    }
  }
  void found(const YAML::Mark& mark) {
    if (!anchor_at) {
      anchor_at = mark;
    }
  }
};

inline int line_at_offset(std::string_view text, std::size_t offset) {
  int line = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    line += text[i] == '\n' ? 1 : 0;
  }
  return line;
}

} // namespace detail

// Parses one YAML document after the checks yaml-cpp does not make: a size bound, valid UTF-8, a
// single document, no anchors or aliases. A problem throws Error(usage, `what`) located at
// `file`:line; `hint` replaces the default advice when not empty (models.lock says "re-create it").
// Returns a null node for an empty document.
inline YAML::Node load(std::string_view text, const std::string& file, const std::string& what,
                       const std::string& hint, std::size_t max_size) {
  const auto fail = [&](int line, std::string why, const std::string& default_hint) {
    throw Error(ExitCode::usage, what, std::move(why), hint.empty() ? default_hint : hint,
                location(file, line));
  };
  if (text.size() > max_size) {
    fail(0,
         "the file is " + util::format_bytes(text.size()) + ", more than the " +
             util::format_bytes(max_size) + " it may have",
         "Check that this is the right file");
  }
  if (const auto bad = util::find_invalid_utf8(text)) {
    fail(detail::line_at_offset(text, *bad),
         "it is not valid UTF-8 (byte " + std::to_string(*bad + 1) + ")", "Save it as UTF-8");
  }
  const std::string buffer(text);
  try {
    std::istringstream stream(buffer);
    YAML::Parser parser(stream);
    detail::StructureCheck check;
    while (parser.HandleNextDocument(check)) {
      if (check.anchor_at) {
        fail(check.anchor_at->line + 1,
             "YAML anchors and aliases (`&name`, `*name`) are not allowed",
             "Write every entry out in full");
      }
      if (check.documents > 1) {
        fail(0, "it holds more than one YAML document", "Remove the `---` separators");
      }
    }
    return YAML::Load(buffer);
  } catch (const YAML::Exception& error) {
    const int line = error.mark.is_null() ? 0 : error.mark.line + 1;
    const std::string column =
        error.mark.is_null() ? "" : " (column " + std::to_string(error.mark.column + 1) + ")";
    fail(line, "YAML syntax error: " + error.msg + column, "Fix the YAML at that line");
  }
  return {};
}

} // namespace hfmodels::manifest::yaml_support
