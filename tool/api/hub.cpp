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
  const ops::Settings& settings = m_options->settings().value;
  // Resolving downloads the regular files to hash them: their failures, grouped by cause, come
  // back in the Error (no events: a resolve is a step, not a fetch the program shows).
  const EventCallback no_events;
  api::EventReporter reporter(no_events);
  try {
    const auto models =
        ops::resolve_models(settings, {manifest::parse_model_ref(spec)}, reporter, stop);
    return api::to_public(models.front());
  } catch (const Error& error) {
    throw api::without_secrets(reporter.explained(error), settings);
  }
}

} // namespace hfmodels
