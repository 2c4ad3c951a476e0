// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hfmodels::manifest {

// The GGUF quantizations of a repo, as `info`, `add --quant auto` and the lock's warning show
// them: split shards (`-00001-of-00003`) summed into their quantization, multimodal projectors
// (`mmproj*.gguf`) kept apart because they go with every quantization.
struct Quantization {
  std::string name;               // upper case, as written in the manifest: "Q4_K_M"
  std::vector<std::size_t> files; // indices into the listing, in listing order
  std::uint64_t bytes = 0;
};

struct GgufInventory {
  std::vector<Quantization> quants; // by name
  std::vector<std::size_t> projectors;
  std::uint64_t projector_bytes = 0;
  std::vector<std::size_t> unnamed; // .gguf files whose name holds no quantization
};

// `paths` and `sizes` are parallel (`sizes` may be empty: every total is then 0). A file belongs to
// the quantization named by the last quantization-like token of its file name (else of its
// folders): Q4_K_M, IQ2_XXS, F16, BF16, TQ1_0, MXFP4, as llama.cpp's `-hf` and the Hub's GGUF
// viewer name them. The names match `matches_quant`, so `quant: <name>` selects exactly the files
// of that group.
GgufInventory gguf_inventory(const std::vector<std::string_view>& paths,
                             const std::vector<std::uint64_t>& sizes);

bool is_gguf(std::string_view path);

} // namespace hfmodels::manifest
