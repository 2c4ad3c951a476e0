// SPDX-License-Identifier: MIT
#pragma once

#include "hub/client.hpp"
#include "manifest/manifest.hpp"
#include "ops/settings.hpp"

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

// What resolving manifest entries against the Hub needs, shared by `lock` and `outdated`.
namespace hfmodels::ops {

// Whether an entry follows a ref that moves: a branch does, a commit never does, and a tag is a
// release the user chose to pin.
bool follows_moving_ref(hub::HubClient& hub, const manifest::ModelSpec& spec);

// What of the repo must be listed to resolve `spec`: only the folders of its exact files, or
// of its include patterns when every one of them names a folder; else the whole repo. A repo
// with more files than a listing may hold can still be locked this way.
std::vector<hub::ListingScope> listing_scopes(const manifest::ModelSpec& spec);

// The Hub client, made when a model first needs it: a lock that keeps every pin connects to
// nothing, so a token that cannot be sent, or a proxy that refuses it, does not stop it.
class HubAccess {
public:
  HubAccess(const Settings& settings, const std::stop_token& stop)
      : m_settings(settings), m_stop(stop) {}

  // Error(offline_missing) offline, naming `model`.
  hub::HubClient& get(const std::string& model);

private:
  const Settings& m_settings;
  std::stop_token m_stop;
  std::optional<http::Client> m_http;
  std::optional<hub::HubClient> m_hub;
};

} // namespace hfmodels::ops
