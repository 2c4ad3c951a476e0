// SPDX-License-Identifier: MIT
// `hfmodels sbom`: the lockfile as a CycloneDX 1.6 bill of materials.
#include "hash/sha256.hpp"
#include "ops/operations.hpp"
#include "ops/project.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace hfmodels::ops {

namespace {

// The Hub's licence ids (the `license:` of model cards) that are SPDX ids, with SPDX's spelling.
// Others (llama3, openrail, other, ...) are names, not ids; GPL family ids are left as names too,
// since the card does not say "only" or "or later" and SPDX needs to.
std::optional<std::string> spdx_id(std::string_view hub_id) {
  static constexpr std::array<std::string_view, 45> k_ids = {"Apache-2.0",
                                                             "MIT",
                                                             "CC-BY-4.0",
                                                             "CC-BY-NC-4.0",
                                                             "CC-BY-SA-4.0",
                                                             "CC-BY-NC-SA-4.0",
                                                             "CC-BY-NC-ND-4.0",
                                                             "CC0-1.0",
                                                             "BSD-2-Clause",
                                                             "BSD-3-Clause",
                                                             "BSD-3-Clause-Clear",
                                                             "MPL-2.0",
                                                             "Unlicense",
                                                             "WTFPL",
                                                             "Artistic-2.0",
                                                             "BSL-1.0",
                                                             "ECL-2.0",
                                                             "EPL-2.0",
                                                             "EPL-1.0",
                                                             "AFL-3.0",
                                                             "ISC",
                                                             "Zlib",
                                                             "ODbL-1.0",
                                                             "PDDL-1.0",
                                                             "ODC-By-1.0",
                                                             "EUPL-1.1",
                                                             "CC-BY-3.0",
                                                             "CC-BY-SA-3.0",
                                                             "CC-BY-NC-3.0",
                                                             "CC-BY-NC-SA-3.0",
                                                             "CC-BY-NC-ND-3.0",
                                                             "CC-BY-2.0",
                                                             "CC-BY-NC-2.0",
                                                             "CC-BY-2.5",
                                                             "OSL-3.0",
                                                             "LPPL-1.3c",
                                                             "MS-PL",
                                                             "C-UDA-1.0",
                                                             "CDLA-Sharing-1.0",
                                                             "CDLA-Permissive-1.0",
                                                             "CDLA-Permissive-2.0",
                                                             "PostgreSQL",
                                                             "NCSA",
                                                             "Unicode-DFS-2016",
                                                             "OFL-1.1"};
  // The Hub writes them in lower case, some without their version ("odbl" for ODbL-1.0).
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> k_short = {
      {{"odbl", "ODbL-1.0"},
       {"pddl", "PDDL-1.0"},
       {"odc-by", "ODC-By-1.0"},
       {"c-uda", "C-UDA-1.0"}}};
  const std::string wanted = util::to_lower(hub_id);
  for (const auto& [hub_name, id] : k_short) {
    if (wanted == hub_name) {
      return std::string(id);
    }
  }
  for (const auto id : k_ids) {
    if (util::to_lower(id) == wanted) {
      return std::string(id);
    }
  }
  return std::nullopt;
}

// CycloneDX `licenses`: one SPDX expression when every id is one, else a licence per id, by
// name where it is no SPDX id.
nlohmann::json licenses(const std::string& expression) {
  std::vector<std::string> ids;
  for (std::size_t start = 0;;) {
    const auto end = expression.find(" OR ", start);
    ids.push_back(expression.substr(start, end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 4;
  }
  std::vector<std::string> spdx;
  for (const auto& id : ids) {
    if (const auto known = spdx_id(id)) {
      spdx.push_back(*known);
    }
  }
  if (ids.size() > 1 && spdx.size() == ids.size()) {
    std::string joined;
    for (const auto& id : spdx) {
      joined += (joined.empty() ? "" : " OR ") + id;
    }
    return nlohmann::json::array({{{"expression", joined}}});
  }
  auto list = nlohmann::json::array();
  for (const auto& id : ids) {
    const auto known = spdx_id(id);
    list.push_back(
        {{"license", known ? nlohmann::json{{"id", *known}} : nlohmann::json{{"name", id}}}});
  }
  return list;
}

// A version-5-shaped UUID from a digest: the same lockfile gives the same serial number, so an
// SBOM regenerated from an unchanged lockfile is byte-identical.
std::string serial_number(const std::string& digest) {
  std::string hex = digest.substr(0, 32);
  hex[12] = '5';
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
  return "urn:uuid:" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string purl(const manifest::LockedModel& model) {
  // purl-spec's huggingface type: pkg:huggingface/<namespace>/<name>@<commit>; datasets are not
  // at the default repository URL.
  std::string text = "pkg:huggingface/" + model.repo.id + "@" + model.commit.str();
  if (model.repo.type == hub::RepoType::dataset) {
    text += "?repository_url=https://huggingface.co/datasets";
  }
  return text;
}

} // namespace

std::string sbom(const Settings& settings, const std::vector<std::string>& names,
                 const std::stop_token& stop) {
  const auto project = load_project(settings, stop);
  const auto models = select_models(project.lockfile, names);
  // What ships is what fetch fetches, and fetch refuses a stale lockfile.
  require_fresh(project, models, names.empty());
  auto components = nlohmann::json::array();
  std::string all_hashes;
  for (const auto* model : models) {
    auto files = nlohmann::json::array();
    for (const auto& file : model->files) {
      files.push_back({{"type", "file"},
                       {"bom-ref", "model:" + model->name + "/" + file.path.str()},
                       {"name", file.path.str()},
                       {"hashes", {{{"alg", "SHA-256"}, {"content", file.sha256}}}},
                       {"properties",
                        {{{"name", "hfmodels:size"}, {"value", std::to_string(file.size)}},
                         {{"name", "hfmodels:etag"}, {"value", file.etag.str()}}}}});
      all_hashes += file.sha256;
    }
    const bool dataset = model->repo.type == hub::RepoType::dataset;
    nlohmann::json component = {
        {"type", dataset ? "data" : "machine-learning-model"},
        {"bom-ref", "model:" + model->name},
        {"name", model->repo.id},
        {"version", model->commit.str()},
        {"purl", purl(*model)},
        {"externalReferences",
         {{{"type", "distribution"},
           {"url", settings.endpoint + (dataset ? "/datasets/" : "/") + model->repo.id}}}},
        {"properties",
         {{{"name", "hfmodels:model"}, {"value", model->name}},
          {{"name", "hfmodels:revision"}, {"value", model->revision}}}},
        {"components", files}};
    if (!model->license.empty()) {
      component["licenses"] = licenses(model->license);
    }
    components.push_back(std::move(component));
    all_hashes += model->commit.str();
  }
  const nlohmann::json document = {
      {"$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json"},
      {"bomFormat", "CycloneDX"},
      {"specVersion", "1.6"},
      {"serialNumber", serial_number(hash::sha256_hex(all_hashes))},
      {"version", 1},
      {"metadata",
       {{"tools",
         {{"components",
           {{{"type", "application"}, {"name", "hfmodels"}, {"version", HFMODELS_VERSION}}}}}},
        {"component",
         {{"type", "application"},
          {"bom-ref", "project"},
          {"name", settings.lockfile_path.filename().string()}}}}},
      {"components", components}};
  return document.dump(2) + "\n";
}

} // namespace hfmodels::ops
