// SPDX-License-Identifier: MIT
#include "manifest/quants.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <map>
#include <regex>

namespace hfmodels::manifest {

namespace {

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return out;
}

// The last quantization-like token of `text`: tokens are separated by anything but letters,
// digits and `_`, as matches_quant separates them.
std::string last_quant_token(std::string_view text) {
  // Compiled on first use only: commands that never list quantizations never pay for it.
  static const std::regex quant_form(
      "(I?Q[0-9]+(_[A-Z0-9]+)*|TQ[0-9]_[0-9]|B?F(16|32)|FP(8|16|32)|MXFP4(_MOE)?)",
      std::regex::icase);
  std::string found;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && is_token_char(text[i])) {
      continue;
    }
    const std::string token(text.substr(start, i - start));
    if (!token.empty() && std::regex_match(token, quant_form)) {
      found = upper(token);
    }
    start = i + 1;
  }
  return found;
}

} // namespace

bool is_gguf(std::string_view path) {
  return path.size() >= 5 && util::to_lower(path.substr(path.size() - 5)) == ".gguf";
}

GgufInventory gguf_inventory(const std::vector<std::string_view>& paths,
                             const std::vector<std::uint64_t>& sizes) {
  GgufInventory inventory;
  std::map<std::string, Quantization> by_name;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string_view path = paths[i];
    if (!is_gguf(path)) {
      continue;
    }
    const auto slash = path.rfind('/');
    const std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::string_view stem = file.substr(0, file.size() - 5);
    if (util::to_lower(stem).starts_with("mmproj")) {
      inventory.projectors.push_back(i);
      inventory.projector_bytes += sizes.empty() ? 0 : sizes[i];
      continue;
    }
    std::string name = last_quant_token(stem);
    if (name.empty() && slash != std::string_view::npos) {
      name = last_quant_token(path.substr(0, slash));
    }
    if (name.empty()) {
      inventory.unnamed.push_back(i);
      continue;
    }
    auto& quant = by_name[name];
    quant.name = name;
    quant.files.push_back(i);
    quant.bytes += sizes.empty() ? 0 : sizes[i];
  }
  for (auto& [name, quant] : by_name) {
    inventory.quants.push_back(std::move(quant));
  }
  return inventory;
}

} // namespace hfmodels::manifest
