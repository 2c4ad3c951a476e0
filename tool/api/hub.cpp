// SPDX-License-Identifier: MIT
// hfmodels::Hub: a model chosen at run time, resolved as `hfmodels lock` resolves an entry of
// models.yaml (ops::resolve_models).
#include "api/internal.hpp"
#include "hub/repo.hpp"
#include "manifest/model_ref.hpp"
#include "ops/operations.hpp"

namespace hfmodels {

Hub::Hub(const Options& options) : m_options(std::make_unique<Options>(options)) {}
Hub::~Hub() = default;
Hub::Hub(Hub&&) noexcept = default;
Hub& Hub::operator=(Hub&&) noexcept = default;

LockedModel Hub::resolve(std::string_view spec, const std::stop_token& stop) const {
  ops::SilentReporter quiet;
  const auto models = ops::resolve_models(m_options->settings().value,
                                          {manifest::parse_model_ref(spec)}, quiet, stop);
  return api::to_public(models.front());
}

} // namespace hfmodels
