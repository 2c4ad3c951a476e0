// SPDX-License-Identifier: MIT
#include "manifest/quants.hpp"
#include "manifest/selection.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using hfmodels::manifest::gguf_inventory;
using hfmodels::manifest::matches_quant;

TEST(Quants, ShardsAreSummedAndProjectorsKeptApart) {
  const std::vector<std::string_view> paths = {"README.md",
                                               "model-Q8_0.gguf",
                                               "Q4_K_M/model-Q4_K_M-00001-of-00002.gguf",
                                               "Q4_K_M/model-Q4_K_M-00002-of-00002.gguf",
                                               "model-Q4_K.gguf",
                                               "mmproj-model-f16.gguf",
                                               "BF16/model-bf16-00001-of-00001.gguf",
                                               "model.gguf"};
  const std::vector<std::uint64_t> sizes = {1, 800, 300, 200, 450, 60, 1600, 7};
  const auto inventory = gguf_inventory(paths, sizes);
  ASSERT_EQ(inventory.quants.size(), 4u);
  EXPECT_EQ(inventory.quants[0].name, "BF16");
  EXPECT_EQ(inventory.quants[1].name, "Q4_K");
  EXPECT_EQ(inventory.quants[1].bytes, 450u);
  EXPECT_EQ(inventory.quants[2].name, "Q4_K_M");
  EXPECT_EQ(inventory.quants[2].bytes, 500u);
  EXPECT_EQ(inventory.quants[2].files, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(inventory.quants[3].name, "Q8_0");
  EXPECT_EQ(inventory.projectors, (std::vector<std::size_t>{5}));
  EXPECT_EQ(inventory.projector_bytes, 60u);
  EXPECT_EQ(inventory.unnamed, (std::vector<std::size_t>{7}));
  // `quant: <name>` selects exactly the files of its group.
  for (const auto& quant : inventory.quants) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const bool in_group =
          std::find(quant.files.begin(), quant.files.end(), i) != quant.files.end();
      EXPECT_EQ(matches_quant(paths[i], quant.name), in_group) << quant.name << " " << paths[i];
    }
  }
}

TEST(Quants, AQuantNamedOnlyByItsFolder) {
  const auto inventory = gguf_inventory({"IQ2_XXS/model-00001-of-00002.gguf"}, {5});
  ASSERT_EQ(inventory.quants.size(), 1u);
  EXPECT_EQ(inventory.quants[0].name, "IQ2_XXS");
  EXPECT_TRUE(matches_quant("IQ2_XXS/model-00001-of-00002.gguf", "iq2_xxs"));
}
