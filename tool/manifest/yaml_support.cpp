// SPDX-License-Identifier: MIT
#include "manifest/yaml_support.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <yaml-cpp/emitter.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <istream>
#include <streambuf>

namespace hfmodels::manifest::yaml_support {

namespace {

// Far deeper than either file needs, shallow enough that no recursive walk of the tree (its
// destructor included) can run out of stack. yaml-cpp, used before, stopped at about 500 too.
constexpr std::size_t k_max_depth = 500;

int line_at_offset(std::string_view text, std::size_t offset) {
  const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size()));
  return 1 + static_cast<int>(std::count(text.begin(), end, '\n'));
}

// Builds the tree of one document from yaml-cpp's events (its event parser, not YAML::Load,
// whose node graph cannot refuse aliases before expanding them). Anchors and aliases are refused,
// which keeps it a tree: an alias shares a node, so a "billion laughs" document is cheap to
// parse but exponential to walk. Refusing them outright is simpler to explain than a size
// bound, and neither file has a use for them.
class TreeBuilder final : public YAML::EventHandler {
public:
  TreeBuilder(std::string_view text, const std::string& file, const std::string& what,
              const std::string& hint)
      : m_text(text), m_file(file), m_what(what), m_hint(hint) {}

  Node build() {
    // yaml-cpp reads a stream; a view of the text avoids copying it.
    ViewBuffer buffer(m_text);
    std::istream stream(&buffer);
    try {
      YAML::Parser parser(stream);
      while (parser.HandleNextDocument(*this)) {
        if (m_anchor_line) {
          fail(*m_anchor_line, "YAML anchors and aliases (`&name`, `*name`) are not allowed",
               "Write every entry out in full");
        }
        if (m_documents > 1) {
          fail(0, "it holds more than one YAML document", "Remove the `---` separators");
        }
      }
    } catch (const YAML::ParserException& error) {
      syntax_error(error);
    }
    return std::move(m_root);
  }

  void OnDocumentStart(const YAML::Mark&) override { ++m_documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    note_anchor(anchor, mark);
    add(Node{Node::Type::null, line_of(mark), {}, {}, {}, {}});
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    note_anchor(1, mark);
    add(Node{Node::Type::null, line_of(mark), {}, {}, {}, {}});
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    note_anchor(anchor, mark);
    add(scalar(line_of(mark), tag, value));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    note_anchor(anchor, mark);
    open(Node{Node::Type::sequence, line_of(mark), {}, {}, {}, {}}, mark);
  }
  void OnSequenceEnd() override { m_open.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    note_anchor(anchor, mark);
    open(Node{Node::Type::map, line_of(mark), {}, {}, {}, {}}, mark);
  }
  void OnMapEnd() override { m_open.pop_back(); }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override { note_anchor(1, mark); }

private:
  struct Open {
    Node* node;
    bool has_key = false; // a map whose last entry still waits for its value
  };

  // A read-only std::streambuf over the text, so that yaml-cpp's stream reads it in place.
  class ViewBuffer : public std::streambuf {
  public:
    explicit ViewBuffer(std::string_view text) {
      // streambuf's interface takes char*; nothing writes through it (no put area).
      char* begin = const_cast<char*>(text.data());
      setg(begin, begin, begin + text.size());
    }
  };

  static int line_of(const YAML::Mark& mark) { return mark.line + 1; }

  [[noreturn]] void fail(int line, std::string why, const std::string& default_hint) const {
    throw Error(ErrorKind::usage, m_what, std::move(why), m_hint.empty() ? default_hint : m_hint,
                location(m_file, line));
  }

  [[noreturn]] void syntax_error(const YAML::ParserException& error) const {
    if (error.mark.is_null()) {
      fail(0, "YAML syntax error: " + error.msg, "Fix the YAML at that line");
    }
    fail(line_of(error.mark),
         "YAML syntax error: " + error.msg + " (column " + std::to_string(error.mark.column + 1) +
             ")",
         "Fix the YAML at that line");
  }

  void note_anchor(YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (anchor != YAML::NullAnchor && !m_anchor_line) {
      m_anchor_line = line_of(mark);
    }
  }

  static Node scalar(int line, const std::string& tag, const std::string& value) {
    // yaml-cpp's tags: "?" for a plain untagged scalar, "!" for a quoted or block one.
    Node node{Node::Type::scalar, line, tag, value, {}, {}};
    // What YAML 1.2's core schema and yaml-cpp read as null: a plain, untagged empty value, `~`
    // or `null`. Nothing else is resolved here.
    if (tag == "?" &&
        (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")) {
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

  void open(Node node, const YAML::Mark& mark) {
    if (m_open.size() >= k_max_depth) {
      fail(line_of(mark),
           "YAML syntax error: lists and maps nested more than " + std::to_string(k_max_depth) +
               " deep (column " + std::to_string(mark.column + 1) + ")",
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

// The first character YAML does not allow in a stream (C0 controls other than tab and line
// breaks, DEL, C1 controls other than NEL), as a byte offset. yaml-cpp reads them as text;
// libyaml and PyYAML refuse the file, and so do we.
std::optional<std::size_t> find_forbidden_character(std::string_view text) {
  for (std::size_t at = 0; at < text.size(); ++at) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7F) {
      return at;
    }
    // U+0080..U+009F are C2 80..C2 9F in UTF-8 (already checked valid); U+0085 is allowed.
    if (byte == 0xC2 && at + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[at + 1]);
      if (next >= 0x80 && next <= 0x9F && next != 0x85) {
        return at;
      }
    }
  }
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Whether `text` is one of YAML's number forms (YAML 1.2 core and the 1.1 forms PyYAML still
// resolves: `0o17`, `0b101`, `1_000`, `1:20` sexagesimal, `.inf`, `.nan`). Written out because
// std::regex costs about 1 ms to compile these (a tenth of a no-op fetch).
bool is_number(std::string_view text) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return true;
  }
  std::string_view body = text;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    return true;
  }
  if (body.empty()) {
    return false;
  }
  const auto all_of = [](std::string_view digits, auto allowed) {
    return !digits.empty() && std::all_of(digits.begin(), digits.end(), allowed);
  };
  const auto digit_ = [](char c) { return is_digit(c) || c == '_'; };
  if (body.size() > 2 && body[0] == '0') {
    const std::string_view rest = body.substr(2);
    if (body[1] == 'b') {
      return all_of(rest, [](char c) { return c == '0' || c == '1' || c == '_'; });
    }
    if (body[1] == 'x') {
      return all_of(rest, [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '_';
      });
    }
    if (body[1] == 'o') {
      return all_of(rest, [](char c) { return (c >= '0' && c <= '7') || c == '_'; });
    }
  }
  // Sexagesimal (YAML 1.1): an integer [1-9][0-9_]*(:[0-5]?[0-9])+, or a float
  // [0-9][0-9_]*(:[0-5]?[0-9])+[.][0-9_]*; `00:30` is a string.
  if (const auto colon = body.find(':'); colon != std::string_view::npos) {
    const bool fraction = body.find('.') != std::string_view::npos;
    if (!is_digit(body[0]) || (body[0] == '0' && !fraction) ||
        !all_of(body.substr(0, colon), digit_)) {
      return false;
    }
    std::string_view rest = body.substr(colon);
    while (!rest.empty() && rest[0] == ':') {
      rest.remove_prefix(1);
      std::size_t digits = 0;
      while (digits < rest.size() && digits < 2 && is_digit(rest[digits])) {
        ++digits;
      }
      if (digits == 0 || (digits == 2 && rest[0] > '5')) {
        return false;
      }
      rest.remove_prefix(digits);
    }
    return rest.empty() || (rest[0] == '.' && std::all_of(rest.begin() + 1, rest.end(), digit_));
  }
  // Decimal: ([.][0-9_]+ | [0-9][0-9_]*([.][0-9_]*)?)([eE][-+]?[0-9]+)?
  std::size_t at = 0;
  const auto run = [&](auto allowed) {
    const std::size_t from = at;
    while (at < body.size() && allowed(body[at])) {
      ++at;
    }
    return at - from;
  };
  if (body[0] == '.') {
    ++at;
    if (run(digit_) == 0) {
      return false;
    }
  } else {
    if (!is_digit(body[0])) {
      return false;
    }
    run(digit_);
    if (at < body.size() && body[at] == '.') {
      ++at;
      run(digit_);
    }
  }
  if (at < body.size() && (body[at] == 'e' || body[at] == 'E')) {
    ++at;
    if (at < body.size() && (body[at] == '+' || body[at] == '-')) {
      ++at;
    }
    if (run(is_digit) == 0) {
      return false;
    }
  }
  return at == body.size();
}

// YAML 1.1 timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5.
bool is_date(std::string_view text) {
  std::size_t at = 0;
  const auto digits = [&](std::size_t least, std::size_t most) {
    std::size_t count = 0;
    while (at < text.size() && count < most && is_digit(text[at])) {
      ++at;
      ++count;
    }
    return count >= least;
  };
  const auto literal = [&](char c) {
    if (at < text.size() && text[at] == c) {
      ++at;
      return true;
    }
    return false;
  };
  const auto blanks = [&] {
    std::size_t count = 0;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) {
      ++at;
      ++count;
    }
    return count;
  };
  if (!digits(4, 4) || !literal('-') || !digits(1, 2) || !literal('-') || !digits(1, 2)) {
    return false;
  }
  if (at == text.size()) {
    return true;
  }
  if (!literal('T') && !literal('t')) {
    blanks();
  }
  if (!digits(1, 2) || !literal(':') || !digits(2, 2) || !literal(':') || !digits(2, 2)) {
    return false;
  }
  if (literal('.')) {
    digits(0, std::string_view::npos);
  }
  blanks();
  if (at == text.size() || literal('Z')) {
    return at == text.size();
  }
  if (!literal('+') && !literal('-')) {
    return false;
  }
  if (!digits(1, 2)) {
    return false;
  }
  if (literal(':') && !digits(2, 2)) {
    return false;
  }
  return at == text.size();
}

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
  constexpr std::array<std::string_view, 4> k_nulls = {"~", "null", "Null", "NULL"};
  constexpr std::array<std::string_view, 18> k_booleans = {
      "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES",
      "no",   "No",   "NO",   "on",    "On",    "ON",    "off", "Off", "OFF"};
  if (std::find(k_nulls.begin(), k_nulls.end(), text) != k_nulls.end()) {
    return "null";
  }
  if (std::find(k_booleans.begin(), k_booleans.end(), text) != k_booleans.end()) {
    return "a boolean";
  }
  if (is_number(text)) {
    return "a number";
  }
  if (is_date(text)) {
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

void emit_scalar(YAML::Emitter& out, std::string_view text) {
  if (written_plain(text)) {
    out << std::string(text);
    return;
  }
  // U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 readers and U+FEFF is a byte order
  // mark: escape them (with the rest of the non-ASCII text of that value) so that no reader
  // folds or drops them. Other non-ASCII text stays readable.
  const bool has_break_like = text.find("\xC2\x85") != std::string_view::npos ||
                              text.find("\xE2\x80\xA8") != std::string_view::npos ||
                              text.find("\xE2\x80\xA9") != std::string_view::npos ||
                              text.find("\xEF\xBB\xBF") != std::string_view::npos;
  out << YAML::DoubleQuoted;
  if (has_break_like) {
    out << YAML::EscapeNonAscii;
  }
  out << std::string(text);
  if (has_break_like) {
    out << YAML::EmitNonAscii;
  }
}

Node load(std::string_view text, const std::string& file, const std::string& what,
          const std::string& hint, std::size_t max_size) {
  const auto fail = [&](int line, std::string why, const std::string& default_hint) {
    throw Error(ErrorKind::usage, what, std::move(why), hint.empty() ? default_hint : hint,
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
  if (const auto bad = find_forbidden_character(text)) {
    fail(line_at_offset(text, *bad),
         "YAML syntax error: control characters are not allowed (byte " + std::to_string(*bad + 1) +
             ")",
         "Fix the YAML at that line");
  }
  return TreeBuilder(text, file, what, hint).build();
}

} // namespace hfmodels::manifest::yaml_support
