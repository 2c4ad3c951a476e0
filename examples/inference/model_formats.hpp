// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// Just enough of the two weight formats to prove the right bytes arrived.

struct SafetensorsSummary {
  std::size_t tensors = 0;
  std::uint64_t parameters = 0;
  std::map<std::string, std::size_t> tensors_per_dtype;
};

// Reads the 8-byte little-endian header length and the JSON tensor table after it.
SafetensorsSummary read_safetensors(const std::filesystem::path& path);

struct GgufSummary {
  std::uint32_t version = 0;
  std::uint64_t tensors = 0;
  std::vector<std::string> metadata_keys;
  std::map<std::string, std::string> strings; // string-valued metadata
};

// Reads the magic, version, tensor count and every metadata key-value pair.
GgufSummary read_gguf(const std::filesystem::path& path);
