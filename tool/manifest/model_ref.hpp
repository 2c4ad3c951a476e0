// SPDX-License-Identifier: MIT
#pragma once

#include "manifest/manifest.hpp"

#include <string>
#include <string_view>

namespace hfmodels::manifest {

// A model as people write it on a command line or in code, llama.cpp's and rbee's way:
// `org/name[@revision][:selector]`. A selector with a `.` or `/` is one file's path
// (`org/x:path/file.gguf`), else a quantization (`org/x-GGUF:Q4_K_M`). Repo ids hold neither `@`
// nor `:`, and git refuses `:` in a ref name, so the split is unambiguous. The spec's name is
// made from the repo's (model_name_for). Throws Error(usage) naming `text`.
ModelSpec parse_model_ref(std::string_view text);

// A model name (`[A-Za-z][A-Za-z0-9_]*`) made from a repo id's name: "org/x-GGUF" -> "x_GGUF".
std::string model_name_for(std::string_view repo_id);

} // namespace hfmodels::manifest
