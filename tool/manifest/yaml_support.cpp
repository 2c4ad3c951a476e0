// SPDX-License-Identifier: MIT
#include "manifest/yaml_support.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <regex.h>
#include <yaml.h>

#include <algorithm>
#include <new>

namespace hfmodels::manifest::yaml_support {

namespace {

// Far deeper than either file needs, shallow enough that no recursive walk of the tree (its
// destructor included) can run out of stack. yaml-cpp, used before, stopped at about 500 too.
constexpr std::size_t k_max_depth = 500;

int line_at_offset(std::string_view text, std::size_t offset) {
  const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size()));
  return 1 + static_cast<int>(std::count(text.begin(), end, '\n'));
}

// The length of `text` as libyaml's marks count it: in characters, without a leading byte order
// mark. `text` is valid UTF-8.
std::size_t character_count(std::string_view text) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) == 0x80; };
  const std::size_t count =
      text.size() - static_cast<std::size_t>(std::count_if(text.begin(), text.end(), continuation));
  return text.starts_with("\xEF\xBB\xBF") ? count - 1 : count;
}

// Owns a libyaml parser reading `text` (which must outlive it).
class Parser {
public:
  explicit Parser(std::string_view text) {
    if (yaml_parser_initialize(&m_parser) == 0) {
      throw std::bad_alloc();
    }
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&m_parser); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // The next event; false when libyaml found an error, which `state()` then describes.
  bool next(yaml_event_t& event) { return yaml_parser_parse(&m_parser, &event) != 0; }
  const yaml_parser_t& state() const { return m_parser; }

private:
  yaml_parser_t m_parser{};
};

class Event {
public:
  yaml_event_t event{};
  Event() = default;
  ~Event() { yaml_event_delete(&event); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

std::string text_of(const yaml_char_t* text) {
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

// Builds the tree of one document from libyaml's events. Anchors and aliases are refused, which
// keeps it a tree: an alias shares a node, so a "billion laughs" document is cheap to parse but
// exponential to walk. Refusing them outright is simpler to explain than a size bound, and
// neither file has a use for them.
class TreeBuilder {
public:
  TreeBuilder(std::string_view text, const std::string& file, const std::string& what,
              const std::string& hint)
      : m_text(text), m_file(file), m_what(what), m_hint(hint) {}

  Node build() {
    Parser parser(m_text);
    for (;;) {
      Event event;
      if (!parser.next(event.event)) {
        syntax_error(parser.state());
      }
      const yaml_event_t& e = event.event;
      const int line = static_cast<int>(e.start_mark.line) + 1;
      switch (e.type) {
      case YAML_STREAM_END_EVENT:
        return std::move(m_root);
      case YAML_DOCUMENT_START_EVENT:
        ++m_documents;
        break;
      case YAML_DOCUMENT_END_EVENT:
        // Checked once the document is complete, so a syntax error in it is reported first.
        if (m_anchor_line) {
          fail(*m_anchor_line, "YAML anchors and aliases (`&name`, `*name`) are not allowed",
               "Write every entry out in full");
        }
        if (m_documents > 1) {
          fail(0, "it holds more than one YAML document", "Remove the `---` separators");
        }
        break;
      case YAML_ALIAS_EVENT:
        note_anchor(line);
        add(Node{Node::Type::null, line, {}, {}, {}, {}});
        break;
      case YAML_SCALAR_EVENT:
        note_anchor(e.data.scalar.anchor, line);
        add(scalar(e, line));
        break;
      case YAML_SEQUENCE_START_EVENT:
        note_anchor(e.data.sequence_start.anchor, line);
        open(Node{Node::Type::sequence, line, {}, {}, {}, {}}, e);
        break;
      case YAML_MAPPING_START_EVENT:
        note_anchor(e.data.mapping_start.anchor, line);
        open(Node{Node::Type::map, line, {}, {}, {}, {}}, e);
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        m_open.pop_back();
        break;
      case YAML_STREAM_START_EVENT:
      case YAML_NO_EVENT:
        break;
      }
    }
  }

private:
  struct Open {
    Node* node;
    bool has_key = false; // a map whose last entry still waits for its value
  };

  [[noreturn]] void fail(int line, std::string why, const std::string& default_hint) const {
    throw Error(ExitCode::usage, m_what, std::move(why), m_hint.empty() ? default_hint : m_hint,
                location(m_file, line));
  }

  [[noreturn]] void syntax_error(const yaml_parser_t& parser) const {
    if (parser.error == YAML_MEMORY_ERROR) {
      throw std::bad_alloc();
    }
    const std::string problem = parser.problem != nullptr ? parser.problem : "malformed input";
    if (parser.error == YAML_READER_ERROR) {
      // Characters YAML does not allow in a stream at all, such as control characters.
      fail(line_at_offset(m_text, parser.problem_offset),
           "YAML syntax error: " + problem + " (byte " + std::to_string(parser.problem_offset + 1) +
               ")",
           "Fix the YAML at that line");
    }
    const auto column = [](const yaml_mark_t& mark) {
      return " (column " + std::to_string(mark.column + 1) + ")";
    };
    // Something left open at the end of the file (a quote, a bracket) is reported where it
    // starts: the end of the file says nothing about where the mistake is.
    const bool at_end = parser.problem_mark.index >= character_count(m_text);
    const bool has_context = parser.context != nullptr;
    std::string why = "YAML syntax error: " + problem;
    if (!at_end) {
      why += column(parser.problem_mark);
    }
    if (has_context) {
      why += ", " + std::string(parser.context) + " that starts on line " +
             std::to_string(parser.context_mark.line + 1) + column(parser.context_mark);
    }
    const yaml_mark_t& at = at_end && has_context ? parser.context_mark : parser.problem_mark;
    fail(static_cast<int>(at.line) + 1, std::move(why), "Fix the YAML at that line");
  }

  void note_anchor(int line) {
    if (!m_anchor_line) {
      m_anchor_line = line;
    }
  }
  void note_anchor(const yaml_char_t* anchor, int line) {
    if (anchor != nullptr) {
      note_anchor(line);
    }
  }

  static Node scalar(const yaml_event_t& e, int line) {
    const auto& data = e.data.scalar;
    Node node{Node::Type::scalar, line, {}, {}, {}, {}};
    node.scalar.assign(reinterpret_cast<const char*>(data.value), data.length);
    if (data.tag != nullptr) {
      node.tag = text_of(data.tag);
    } else {
      node.tag.assign(1, data.style == YAML_PLAIN_SCALAR_STYLE ? '?' : '!');
    }
    // What YAML 1.2's core schema and yaml-cpp (which the readers were written against) read as
    // null: a plain, untagged empty value, `~` or `null`. Nothing else is resolved here.
    const std::string& text = node.scalar;
    if (node.tag == "?" &&
        (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")) {
      node.type = Node::Type::null;
      node.scalar.clear();
    }
    return node;
  }

  // Places a complete node: into the collection being built, or as the document's root.
  Node& add(Node node) {
    if (m_open.empty()) {
      // Only the first document is kept; a later one is parsed to be refused.
      Node& root = m_documents == 1 ? m_root : m_discarded;
      root = std::move(node);
      return root;
    }
    Open& parent = m_open.back();
    if (parent.node->is_sequence()) {
      return parent.node->items.emplace_back(std::move(node));
    }
    auto& entries = parent.node->entries;
    if (parent.has_key) {
      parent.has_key = false;
      return entries.back().value = std::move(node);
    }
    parent.has_key = true;
    entries.push_back({std::move(node), Node{}});
    return entries.back().key;
  }

  void open(Node node, const yaml_event_t& e) {
    if (m_open.size() >= k_max_depth) {
      fail(static_cast<int>(e.start_mark.line) + 1,
           "YAML syntax error: lists and maps nested more than " + std::to_string(k_max_depth) +
               " deep (column " + std::to_string(e.start_mark.column + 1) + ")",
           "Fix the YAML at that line");
    }
    // The parent's vector does not grow while this node is open: only this node's own does.
    m_open.push_back({&add(std::move(node))});
  }

  std::string_view m_text;
  const std::string& m_file;
  const std::string& m_what;
  const std::string& m_hint;
  Node m_root;
  Node m_discarded;
  std::vector<Open> m_open;
  int m_documents = 0;
  std::optional<int> m_anchor_line;
};

// The code point at `at`, advancing past it. Malformed UTF-8, which the writer never gets from
// the Hub's JSON or from a checked manifest, becomes U+FFFD as it did with yaml-cpp: decoding
// resumes at the first byte that does not continue the sequence.
char32_t next_code_point(std::string_view text, std::size_t& at) {
  const auto lead = static_cast<unsigned char>(text[at++]);
  int trailing = 0;
  char32_t code = lead;
  if (lead >= 0xF0) {
    trailing = 3;
    code = lead & 0x07U;
  } else if (lead >= 0xE0) {
    trailing = 2;
    code = lead & 0x0FU;
  } else if (lead >= 0xC0) {
    trailing = 1;
    code = lead & 0x1FU;
  } else if (lead >= 0x80) {
    return 0xFFFD;
  }
  for (; trailing > 0; --trailing) {
    const auto next = at < text.size() ? static_cast<unsigned char>(text[at]) : 0U;
    if ((next & 0xC0U) != 0x80) {
      return 0xFFFD;
    }
    code = (code << 6U) | (next & 0x3FU);
    ++at;
  }
  return code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) ? 0xFFFD : code;
}

void append_utf8(std::string& out, char32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0U | (code >> 6U));
    out += static_cast<char>(0x80U | (code & 0x3FU));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0U | (code >> 12U));
    out += static_cast<char>(0x80U | ((code >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (code & 0x3FU));
  } else {
    out += static_cast<char>(0xF0U | (code >> 18U));
    out += static_cast<char>(0x80U | ((code >> 12U) & 0x3FU));
    out += static_cast<char>(0x80U | ((code >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (code & 0x3FU));
  }
}

// `\xHH`, `\uHHHH` or `\UHHHHHHHH`, the shortest that holds `code`.
void append_escape(std::string& out, char32_t code) {
  static constexpr char k_hex[] = "0123456789abcdef";
  int digits = 8;
  if (code < 0xFF) {
    out += "\\x";
    digits = 2;
  } else if (code < 0xFFFF) {
    out += "\\u";
    digits = 4;
  } else {
    out += "\\U";
  }
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out += k_hex[(code >> static_cast<unsigned>(shift)) & 0xFU];
  }
}

// The double-quoted form lockfiles have always had (yaml-cpp's): escapes for quotes,
// backslashes, control characters, U+0080..U+00A0 and byte order marks, and for all non-ASCII
// text when `escape_non_ascii`. Noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) are escaped
// too: YAML does not allow U+FFFE and U+FFFF unescaped, and yaml-cpp replaced them all with
// U+FFFD, writing a path that is not the file's.
void append_double_quoted(std::string& out, std::string_view text, bool escape_non_ascii) {
  out += '"';
  for (std::size_t at = 0; at < text.size();) {
    const char32_t code = next_code_point(text, at);
    switch (code) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (code < 0x20 || (code >= 0x80 && code <= 0xA0) || code == 0xFEFF ||
          (code & 0xFFFEU) == 0xFFFE || (code >= 0xFDD0 && code <= 0xFDEF) ||
          (escape_non_ascii && code > 0x7E)) {
        append_escape(out, code);
      } else {
        append_utf8(out, code);
      }
    }
  }
  out += '"';
}

// A POSIX extended regular expression that must match a whole string. glibc's regcomp compiles
// the patterns of plain_scalar_kind in a fifth of the time libstdc++'s std::regex takes (about
// 1 ms, a tenth of a no-op `fetch`), and matches them twice as fast.
class Pattern {
public:
  explicit Pattern(const std::string& expression) {
    if (regcomp(&m_regex, ("^(" + expression + ")$").c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
      throw Error(ExitCode::failure, "internal error: cannot compile a pattern", expression);
    }
  }
  ~Pattern() { regfree(&m_regex); }
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  bool matches(std::string_view text) const {
    // regexec reads a C string; no pattern here matches a NUL.
    if (text.find('\0') != std::string_view::npos) {
      return false;
    }
    return regexec(&m_regex, std::string(text).c_str(), 0, nullptr, 0) == 0;
  }

private:
  regex_t m_regex{};
};

} // namespace

std::string location(const std::string& file, int line, std::string_view model) {
  std::string text = file;
  if (line > 0) {
    text += ':';
    text += std::to_string(line);
  }
  if (!model.empty()) {
    text += " model ";
    text += model;
  }
  return text;
}

std::optional<std::string_view> plain_scalar_kind(std::string_view text) {
  if (text.empty()) {
    return "null";
  }
  // Every form below starts with one of these characters; most strings (paths, names, hashes
  // starting with a letter) are settled here without running a regular expression.
  constexpr std::string_view k_first = "~nNtTfFyYoO0123456789+-.";
  if (k_first.find(text.front()) == std::string_view::npos) {
    return std::nullopt;
  }
  static const Pattern null_form("~|null|Null|NULL");
  static const Pattern bool_form(
      "true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF");
  static const Pattern number_form(
      "[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|[1-9][0-9_]*(:[0-5]?[0-9])+)"
      "|[-+]?([.][0-9_]+|[0-9][0-9_]*([.][0-9_]*)?)([eE][-+]?[0-9]+)?"
      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+[.][0-9_]*"
      "|[-+]?[.](inf|Inf|INF)|[.](nan|NaN|NAN)");
  // YAML 1.1 timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5.
  static const Pattern date_form("[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                                 "([Tt]|[ \t]+)?([0-9]{1,2}:[0-9]{2}:[0-9]{2}([.][0-9]*)?)?"
                                 "([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?");
  if (null_form.matches(text)) {
    return "null";
  }
  if (bool_form.matches(text)) {
    return "a boolean";
  }
  if (number_form.matches(text)) {
    return "a number";
  }
  if (date_form.matches(text)) {
    return "a date";
  }
  return std::nullopt;
}

std::string describe(const Node& node) {
  switch (node.type) {
  case Node::Type::map:
    return "a map";
  case Node::Type::sequence:
    return "a list";
  case Node::Type::null:
    return "empty";
  case Node::Type::scalar:
    break;
  }
  if (node.tag == "?") {
    if (const auto kind = plain_scalar_kind(node.scalar)) {
      return std::string(*kind);
    }
  }
  return "a string";
}

std::optional<std::string> string_value(const Node& node) {
  if (!node.is_scalar()) {
    return std::nullopt;
  }
  if (node.tag == "!" || node.tag == "tag:yaml.org,2002:str") {
    return node.scalar;
  }
  if (node.tag == "?" && !plain_scalar_kind(node.scalar)) {
    return node.scalar;
  }
  return std::nullopt;
}

bool written_plain(std::string_view text) {
  const auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  const auto safe_first = [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '/'; };
  const auto safe = [&](char c) { return safe_first(c) || c == '-' || c == '+' || c == '='; };
  bool plain = !text.empty() && safe_first(text.front()) && text.back() != ':' &&
               std::any_of(text.begin(), text.end(), alnum);
  for (std::size_t i = 0; plain && i < text.size(); ++i) {
    plain = safe(text[i]) || (text[i] == ':' && i > 0);
  }
  return plain && !plain_scalar_kind(text);
}

void append_scalar(std::string& out, std::string_view text) {
  if (written_plain(text)) {
    out += text;
    return;
  }
  // U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 readers and U+FEFF is a byte order
  // mark: escape them (with the rest of the non-ASCII text of that value) so that no reader
  // folds or drops them. Other non-ASCII text stays readable.
  const bool has_break_like = text.find("\xC2\x85") != std::string_view::npos ||
                              text.find("\xE2\x80\xA8") != std::string_view::npos ||
                              text.find("\xE2\x80\xA9") != std::string_view::npos ||
                              text.find("\xEF\xBB\xBF") != std::string_view::npos;
  append_double_quoted(out, text, has_break_like);
}

Node load(std::string_view text, const std::string& file, const std::string& what,
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
    fail(line_at_offset(text, *bad),
         "it is not valid UTF-8 (byte " + std::to_string(*bad + 1) + ")", "Save it as UTF-8");
  }
  return TreeBuilder(text, file, what, hint).build();
}

} // namespace hfmodels::manifest::yaml_support
