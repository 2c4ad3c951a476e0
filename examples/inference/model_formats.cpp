// SPDX-License-Identifier: MIT
#include "model_formats.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

namespace {

template<typename T>
T read_le(std::ifstream& in) {
  T value{};
  in.read(reinterpret_cast<char*>(&value), sizeof value); // x86 and ARM are little-endian
  if (!in) {
    throw std::runtime_error("truncated file");
  }
  return value;
}

std::string read_gguf_string(std::ifstream& in) {
  const auto length = read_le<std::uint64_t>(in);
  if (length > (1u << 20)) {
    throw std::runtime_error("GGUF string too long");
  }
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  return text;
}

// Skips a GGUF value of `type`, returning it as text when it is a string.
std::string read_gguf_value(std::ifstream& in, std::uint32_t type) {
  static const std::size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  if (type == 8) {
    return read_gguf_string(in);
  }
  if (type == 9) {
    const auto element_type = read_le<std::uint32_t>(in);
    const auto count = read_le<std::uint64_t>(in);
    for (std::uint64_t i = 0; i < count; ++i) {
      read_gguf_value(in, element_type);
    }
    return {};
  }
  if (type >= std::size(sizes)) {
    throw std::runtime_error("unknown GGUF value type " + std::to_string(type));
  }
  in.seekg(static_cast<std::streamoff>(sizes[type]), std::ios::cur);
  return {};
}

} // namespace

SafetensorsSummary read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const auto header_size = read_le<std::uint64_t>(in);
  if (header_size > (100u << 20)) {
    throw std::runtime_error("safetensors header too large");
  }
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  SafetensorsSummary summary;
  // A named object: items() of a temporary would dangle inside the loop.
  const auto table = nlohmann::json::parse(header);
  for (const auto& [name, tensor] : table.items()) {
    if (name == "__metadata__") {
      continue;
    }
    std::uint64_t elements = 1;
    for (const auto& dimension : tensor.at("shape")) {
      elements *= dimension.get<std::uint64_t>();
    }
    ++summary.tensors;
    summary.parameters += elements;
    ++summary.tensors_per_dtype[tensor.at("dtype").get<std::string>()];
  }
  return summary;
}

GgufSummary read_gguf(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (read_le<std::uint32_t>(in) != 0x46554747) { // "GGUF" read little-endian
    throw std::runtime_error(path.string() + " is not a GGUF file");
  }
  GgufSummary summary;
  summary.version = read_le<std::uint32_t>(in);
  summary.tensors = read_le<std::uint64_t>(in);
  const auto metadata_count = read_le<std::uint64_t>(in);
  for (std::uint64_t i = 0; i < metadata_count; ++i) {
    auto key = read_gguf_string(in);
    const auto type = read_le<std::uint32_t>(in);
    auto value = read_gguf_value(in, type);
    if (type == 8) {
      summary.strings[key] = std::move(value);
    }
    summary.metadata_keys.push_back(std::move(key));
  }
  return summary;
}
