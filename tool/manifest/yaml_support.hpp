// SPDX-License-Identifier: MIT
#pragma once

// Internal to manifest/: the YAML handling that models.yaml and models.lock share, on yaml-cpp:
// reading through its event parser into a small tree with lines for messages, writing through
// its emitter with the quoting rule below.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Emitter;
}

namespace hfmodels::manifest::yaml_support {

// A node of the document, with what the readers check: its kind, its line for messages and, for
// a scalar, its text and tag. Aliases never get here (load refuses them), so this is a tree.
struct Node {
  // null: an empty value, or a plain `~`, `null`, `Null` or `NULL`.
  enum class Type { null, scalar, sequence, map };
  struct Entry;

  Type type = Type::null;
  int line = 0; // 1-based
  // Scalars: "?" for a plain untagged scalar, "!" for a quoted or block one without a tag, else
  // the resolved tag ("tag:yaml.org,2002:str" for `!!str`). These are yaml-cpp's conventions,
  // which the readers were written against.
  std::string tag;
  std::string scalar;
  std::vector<Node> items;    // a sequence's
  std::vector<Entry> entries; // a map's, in file order

  bool is_null() const { return type == Type::null; }
  bool is_scalar() const { return type == Type::scalar; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_map() const { return type == Type::map; }
};

struct Node::Entry {
  Node key;
  Node value;
};

// "models.yaml:12 model tinyllama", "models.yaml:12", "models.yaml".
std::string location(const std::string& file, int line, std::string_view model = {});

// What a plain (unquoted, untagged) scalar means to a YAML reader that resolves types: "null",
// "a boolean", "a number" or "a date", or nothing for a string. The union of YAML 1.2's core
// schema and the YAML 1.1 forms PyYAML still resolves (`yes`, `0o17`, `1_000`, `1:20`,
// `2024-01-31`), so that what hfmodels reads as text no other tool reads as something else.
std::optional<std::string_view> plain_scalar_kind(std::string_view text);

// "a map", "a list", "a number", "empty", ... for messages that say what was found instead.
std::string describe(const Node& node);

// The text of `node` if it is a string: a quoted scalar, a `!!str` one, or a plain one that no
// YAML reader would take for a number, boolean or null.
std::optional<std::string> string_value(const Node& node);

// Emits `text` as a plain scalar only when it is unmistakably a string (a conservative
// character set with at least one letter or digit, never something plain_scalar_kind
// recognizes), else double-quoted, so that paths with spaces, `#`, `: `, a leading `-` or
// non-ASCII characters read back byte for byte everywhere.
void emit_scalar(YAML::Emitter& out, std::string_view text);

// Whether emit_scalar writes `text` as it is (plain), not quoted.
bool written_plain(std::string_view text);

// Parses one YAML document, after the checks a parser does not make: a size bound, valid UTF-8,
// a single document, no anchors or aliases, a bounded nesting depth. A problem throws
// Error(usage, `what`) located at `file`:line; `hint` replaces the default advice when not empty
// (models.lock says "re-create it"). Returns a null node for an empty document.
Node load(std::string_view text, const std::string& file, const std::string& what,
          const std::string& hint, std::size_t max_size);

} // namespace hfmodels::manifest::yaml_support
