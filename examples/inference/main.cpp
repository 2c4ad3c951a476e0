// SPDX-License-Identifier: MIT
// Prints what the locked models hold. The folders come from the HFModels::encoder and
// HFModels::chat targets as compile definitions; nothing is looked up at run time.
#include "model_formats.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>

int main() {
  namespace fs = std::filesystem;
  try {
    int found = 0;
    for (const auto& entry : fs::recursive_directory_iterator(HFMODELS_ENCODER_DIR)) {
      if (entry.path().extension() == ".safetensors") {
        const auto summary = read_safetensors(entry.path());
        std::printf("encoder: %s: %zu tensors, %llu parameters\n", entry.path().filename().c_str(),
                    summary.tensors, static_cast<unsigned long long>(summary.parameters));
        for (const auto& [dtype, count] : summary.tensors_per_dtype) {
          std::printf("  %s: %zu tensors\n", dtype.c_str(), count);
        }
        ++found;
      }
    }
    for (const auto& entry : fs::recursive_directory_iterator(HFMODELS_CHAT_DIR)) {
      if (entry.path().extension() == ".gguf") {
        const auto summary = read_gguf(entry.path());
        std::printf("chat: %s: GGUF v%u, %llu tensors, %zu metadata keys\n",
                    entry.path().filename().c_str(), summary.version,
                    static_cast<unsigned long long>(summary.tensors), summary.metadata_keys.size());
        for (const auto& [key, value] : summary.strings) {
          std::printf("  %s = %s\n", key.c_str(), value.c_str());
        }
        ++found;
      }
    }
    if (found == 0) {
      std::fprintf(stderr, "inspect: no model files found\n");
      return 1;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "inspect: %s\n", error.what());
    return 1;
  }
  return 0;
}
