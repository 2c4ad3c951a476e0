// SPDX-License-Identifier: MIT
#include "cli/advice.hpp"

#include <string>
#include <string_view>

namespace hfmodels::cli {

namespace {

constexpr std::string_view k_set_token = "set HF_TOKEN (or write a token to $HF_HOME/token)";

// The advice for a cause, or nothing. Causes are "<layer>:<detail>" keys: "http:401:GatedRepo",
// "transport:7", "io:28" (util/error.hpp lists the layers' keys).
std::string advice_for(std::string_view cause) {
  const auto ends_with = [&](std::string_view suffix) { return cause.ends_with(suffix); };
  if (cause == "hub:invalid-answer") {
    return "Check that HF_ENDPOINT (or --endpoint) points at a Hugging Face Hub and that no "
           "proxy alters its answers";
  }
  if (ends_with(":EntryNotFound")) {
    return "`hfmodels lock` lists what the commit holds";
  }
  if (ends_with(":RevisionNotFound")) {
    return "Check the revision (in models.yaml, or after `@`): a branch, a tag, refs/pr/N or a "
           "40-hex commit";
  }
  if (cause == "http:401:GatedRepo") {
    return "Once access is granted, " + std::string(k_set_token);
  }
  if (cause == "http:401:bad-token") {
    return "The token comes from HF_TOKEN (or the token file $HF_HOME/token)";
  }
  if (cause.starts_with("http:401") || ends_with(":RepoNotFound")) {
    return "If the repo is private or gated, " + std::string(k_set_token);
  }
  if (cause.starts_with("http:429")) {
    return "Sending a token (HF_TOKEN) raises the limits";
  }
  if (cause == "token:plain-http") {
    return "Use an https:// endpoint, unset HF_TOKEN, or set HFMODELS_ALLOW_HTTP_TOKEN=1 if the "
           "network is trusted";
  }
  if (cause == "token:plain-http:mirror" || cause == "token:plain-http-proxy:mirror") {
    return "Use an https:// mirror, unset HFMODELS_MIRROR_TOKEN (or drop its ~/.netrc entry), "
           "or set HFMODELS_ALLOW_HTTP_TOKEN=1 if the network is trusted";
  }
  if (cause.starts_with("source:transport:")) {
    return "Check that the mirror is up and its URL (--mirror, HFMODELS_MIRRORS), or the proxy "
           "settings (https_proxy, no_proxy)";
  }
  if (cause == "token:plain-http-proxy") {
    return "Add the endpoint's host to no_proxy, use an https:// endpoint, or set "
           "HFMODELS_ALLOW_HTTP_TOKEN=1 if the network is trusted";
  }
  if (cause.starts_with("transport:")) {
    return "Check the connection, or the proxy settings (https_proxy, no_proxy) and HF_ENDPOINT";
  }
  if (cause == "offline:resolve") {
    return "Unset HF_HUB_OFFLINE (and HFMODELS_OFFLINE), or drop --offline";
  }
  if (cause == "cache:planted-link") {
    return "Remove it; `hfmodels fetch` recreates it as a folder";
  }
  if (cause == "cache:no-home") {
    return "Set HF_HOME or HF_HUB_CACHE, or pass --cache-dir";
  }
  if (cause == "io:28" || cause == "io:122") { // ENOSPC, EDQUOT
    return "Free some disk space, or point HF_HUB_CACHE or --cache-dir to a larger disk";
  }
  if (cause == "lockfile:invalid") {
    return "Fix it, or re-create it with `hfmodels lock --update` (every model resolved again)";
  }
  if (cause == "manifest:missing") {
    return "Create it with `hfmodels add org/name`, or give its path with --manifest";
  }
  if (cause == "lockfile:missing") {
    return "Run `hfmodels lock` to create it from models.yaml";
  }
  return {};
}

} // namespace

Error advised(const Error& error) {
  const std::string advice = advice_for(error.cause());
  if (advice.empty() || error.hint().find(advice) != std::string::npos) {
    return error;
  }
  if (error.hint().empty()) {
    return error.with_hint(advice);
  }
  const char last = error.hint().back();
  const bool sentence_ended = last == '.' || last == '!' || last == '?';
  return error.with_hint(error.hint() + (sentence_ended ? " " : ". ") + advice);
}

} // namespace hfmodels::cli
