// SPDX-License-Identifier: MIT
// hfmodels::Hub: a model chosen at run time, resolved as `hfmodels lock` resolves an entry of
// models.yaml (ops::resolve_models).
#include "api/internal.hpp"
#include "hub/repo.hpp"
#include "manifest/manifest.hpp"
#include "ops/operations.hpp"

namespace hfmodels {

namespace {

// A model name (`[A-Za-z][A-Za-z0-9_]*`) made from the repo's name: "x-GGUF" -> "x_GGUF".
std::string name_for(std::string_view repo_id) {
  std::string_view base = repo_id.substr(repo_id.rfind('/') + 1);
  std::string name;
  for (const char c : base) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    name += alnum ? c : '_';
  }
  if (name.empty() || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    name.insert(0, "m_");
  }
  return name;
}

// `org/name[@revision][:selector]`: a selector with a `.` or `/` is a file's path, else a
// quantization. Repo ids hold neither `@` nor `:`, and git refuses `:` in a ref name.
manifest::ModelSpec parse_spec(std::string_view text) {
  manifest::ModelSpec spec;
  std::string_view head = text;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    head = text.substr(0, colon);
    const std::string selector(text.substr(colon + 1));
    if (selector.empty()) {
      throw Error(ErrorKind::usage, "invalid model", "nothing follows `:`", {}, std::string(text));
    }
    if (selector.find_first_of("./") != std::string::npos) {
      spec.files.push_back(selector);
    } else {
      spec.quant = selector;
    }
  }
  if (const auto at = head.find('@'); at != std::string_view::npos) {
    spec.revision = std::string(head.substr(at + 1));
    head = head.substr(0, at);
    if (const auto problem = manifest::revision_error(spec.revision)) {
      throw Error(ErrorKind::usage, "invalid revision", "`" + spec.revision + "` " + *problem, {},
                  std::string(text));
    }
  }
  hub::validate_repo_id(head);
  spec.repo = {hub::RepoType::model, std::string(head)};
  spec.name = name_for(head);
  return spec;
}

} // namespace

Hub::Hub(const Options& options) : m_options(std::make_unique<Options>(options)) {}
Hub::~Hub() = default;
Hub::Hub(Hub&&) noexcept = default;
Hub& Hub::operator=(Hub&&) noexcept = default;

LockedModel Hub::resolve(std::string_view spec, const std::stop_token& stop) const {
  ops::SilentReporter quiet;
  const auto models =
      ops::resolve_models(m_options->settings().value, {parse_spec(spec)}, quiet, stop);
  return api::to_public(models.front());
}

} // namespace hfmodels
