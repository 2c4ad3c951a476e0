// SPDX-License-Identifier: MIT
#include "manifest/model_ref.hpp"
#include "ops/operations.hpp"
#include "ops/resolve.hpp"
#include "util/error.hpp"
#include "util/memory.hpp"

namespace hfmodels::ops {

MemoryBudget memory_budget(std::optional<std::uint64_t> vram) {
  MemoryBudget budget;
  if (vram) {
    budget.bytes = *vram;
    budget.from_vram = true;
    return budget;
  }
  const auto limits = util::memory_limits();
  budget.memory = limits.usable();
  budget.cgroup_limited = limits.cgroup_limit && *limits.cgroup_limit < limits.physical;
  // What the rest of the machine keeps: the system, the app around the model, its context.
  const std::uint64_t reserve = std::max<std::uint64_t>(std::uint64_t{2} << 30, budget.memory / 5);
  budget.bytes = budget.memory > reserve ? budget.memory - reserve : 0;
  return budget;
}

RepoInfo repo_info(const Settings& settings, std::string_view ref,
                   std::optional<std::uint64_t> vram, const std::stop_token& stop) {
  const auto spec = manifest::parse_model_ref(ref);
  if (!spec.files.empty() || spec.quant) {
    throw Error(ErrorKind::usage, "invalid repository",
                "`" + std::string(ref) + "` names a file or a quantization; give the repository",
                "Write it as `org/name` or `org/name@revision`");
  }
  HubAccess hub(settings, stop);
  // One call: the commit, the card's licence, gating, and every file with its size.
  auto answer = hub.get(spec.name).revision_info(spec.repo, spec.revision, true);
  RepoInfo info;
  info.repo = spec.repo.id;
  info.revision = spec.revision;
  info.commit = answer.commit.str();
  info.license = answer.license;
  info.gated = answer.gated;
  info.files = std::move(answer.files);
  std::vector<std::string_view> paths;
  std::vector<std::uint64_t> sizes;
  for (const auto& file : info.files) {
    paths.push_back(file.path.str());
    sizes.push_back(file.size);
  }
  info.gguf = manifest::gguf_inventory(paths, sizes);
  info.budget = memory_budget(vram);
  return info;
}

const manifest::Quantization* largest_fitting(const manifest::GgufInventory& gguf,
                                              std::uint64_t budget) {
  const manifest::Quantization* best = nullptr;
  for (const auto& quant : gguf.quants) {
    if (quant.bytes <= budget && (!best || quant.bytes > best->bytes)) {
      best = &quant;
    }
  }
  return best;
}

} // namespace hfmodels::ops
