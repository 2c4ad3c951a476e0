// SPDX-License-Identifier: MIT
#include "manifest/model_ref.hpp"

#include "hub/repo.hpp"
#include "util/error.hpp"

namespace hfmodels::manifest {

std::string model_name_for(std::string_view repo_id) {
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

ModelSpec parse_model_ref(std::string_view text) {
  ModelSpec spec;
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
    if (const auto problem = revision_error(spec.revision)) {
      throw Error(ErrorKind::usage, "invalid revision", "`" + spec.revision + "` " + *problem, {},
                  std::string(text));
    }
  }
  hub::validate_repo_id(head);
  spec.repo = {hub::RepoType::model, std::string(head)};
  spec.name = model_name_for(head);
  return spec;
}

} // namespace hfmodels::manifest
