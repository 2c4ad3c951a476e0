// SPDX-License-Identifier: MIT
#include "http/curl_api.hpp"

#include "util/error.hpp"

#include <dlfcn.h>

#include <string>

namespace hfmodels::http::curl {

namespace {

// The SONAME of the OpenSSL flavour of libcurl, which the build's headers come from.
constexpr const char* k_library = "libcurl.so.4";
constexpr const char* k_install_hint =
    "Install libcurl 7.88 or later (Debian and Ubuntu: apt-get install libcurl4)";
// CURLOPT_PROTOCOLS_STR and the other options set here are all there in 7.88, the version the
// build requires (CMakeLists.txt).
constexpr unsigned k_min_version = 0x075800;

std::string last_dl_error() {
  const char* message = dlerror();
  return message != nullptr ? message : "unknown error";
}

Api load() {
  // Never closed: handles and the global state live until the process exits.
  void* library = dlopen(k_library, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    throw Error(ExitCode::failure, "cannot load libcurl", last_dl_error(), k_install_hint);
  }
  const auto resolve = [&](auto& function, const char* name) {
    void* symbol = dlsym(library, name);
    if (symbol == nullptr) {
      throw Error(ExitCode::failure, "cannot load libcurl",
                  std::string(k_library) + " has no " + name + ": " + last_dl_error(),
                  k_install_hint);
    }
    // POSIX guarantees that a function's address survives the round trip through void*.
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(symbol);
  };
  Api api{};
  resolve(api.global_init, "curl_global_init");
  resolve(api.global_cleanup, "curl_global_cleanup");
  resolve(api.version_info, "curl_version_info");
  resolve(api.easy_init, "curl_easy_init");
  resolve(api.easy_cleanup, "curl_easy_cleanup");
  resolve(api.easy_setopt, "curl_easy_setopt");
  resolve(api.easy_getinfo, "curl_easy_getinfo");
  resolve(api.easy_perform, "curl_easy_perform");
  resolve(api.easy_strerror, "curl_easy_strerror");
  resolve(api.slist_append, "curl_slist_append");
  resolve(api.slist_free_all, "curl_slist_free_all");

  const curl_version_info_data* info = api.version_info(CURLVERSION_NOW);
  if (info == nullptr || info->version_num < k_min_version) {
    throw Error(ExitCode::failure, "cannot use libcurl",
                std::string(k_library) + " is version " +
                    (info != nullptr && info->version != nullptr ? info->version : "unknown") +
                    "; hfmodels needs 7.88 or later",
                k_install_hint);
  }
  return api;
}

} // namespace

const Api& api() {
  static const Api loaded = load();
  return loaded;
}

} // namespace hfmodels::http::curl
