// SPDX-License-Identifier: MIT
// hfmodels::Options: the public face of ops::Settings, resolved from the environment as the
// command line resolves it (ops/settings.cpp), so a program and the tool agree on the cache.
#include "api/internal.hpp"
#include "util/env.hpp"

#include <hfmodels/hfmodels.hpp>

namespace hfmodels {

const char* version() noexcept {
  return HFMODELS_VERSION;
}

Options::Options() : m_settings(std::make_unique<Settings>()) {
  m_settings->value = ops::resolve_settings({});
}
Options::~Options() = default;
Options::Options(const Options& other)
    : m_settings(std::make_unique<Settings>(*other.m_settings)) {}
Options& Options::operator=(const Options& other) {
  if (this != &other) {
    m_settings = std::make_unique<Settings>(*other.m_settings);
  }
  return *this;
}
Options::Options(Options&&) noexcept = default;
Options& Options::operator=(Options&&) noexcept = default;

Options& Options::cache_dir(std::filesystem::path dir) {
  if (dir.empty()) {
    // As an empty HF_HUB_CACHE is no setting: never the working directory by accident.
    throw Error(ErrorKind::usage, "invalid cache folder", "the path is empty");
  }
  m_settings->value.cache_dir = std::move(dir);
  return *this;
}
const std::filesystem::path& Options::cache_dir() const {
  return m_settings->value.cache_dir;
}
Options& Options::endpoint(std::string url) {
  m_settings->value.endpoint = ops::checked_endpoint(std::move(url));
  return *this;
}
const std::string& Options::endpoint() const {
  return m_settings->value.endpoint;
}
Options& Options::token(std::string token) {
  m_settings->value.token_error = ops::token_error(token, "Options::token");
  m_settings->value.token = m_settings->value.token_error ? std::string() : std::move(token);
  return *this;
}
Options& Options::offline(bool offline) {
  m_settings->value.offline = offline;
  return *this;
}
bool Options::offline() const {
  return m_settings->value.offline;
}
Options& Options::mirrors(const std::vector<std::string>& urls) {
  std::vector<mirror::Mirror> parsed;
  for (const std::string& url : urls) {
    parsed.push_back(mirror::parse_mirror(url, util::process_getenv));
  }
  m_settings->value.mirrors = std::move(parsed);
  return *this;
}
std::vector<std::string> Options::mirrors() const {
  std::vector<std::string> urls;
  for (const auto& mirror : m_settings->value.mirrors) {
    urls.push_back(mirror.text);
  }
  return urls;
}
Options& Options::no_origin(bool no_origin) {
  m_settings->value.no_origin = no_origin;
  return *this;
}
bool Options::no_origin() const {
  return m_settings->value.no_origin;
}
Options& Options::jobs(unsigned jobs) {
  if (jobs == 0 || jobs > 64) {
    throw Error(ErrorKind::usage, "invalid number of jobs", "it must be between 1 and 64");
  }
  m_settings->value.jobs = jobs;
  return *this;
}
unsigned Options::jobs() const {
  return m_settings->value.jobs;
}
const Options::Settings& Options::settings() const {
  return *m_settings;
}

} // namespace hfmodels
