// SPDX-License-Identifier: MIT
#pragma once

// libcurl's functions, loaded from libcurl.so.4 when first called rather than linked: loading
// libcurl and the ~30 libraries it needs (TLS, Kerberos, LDAP, SSH, ...) costs about 4 ms at
// every start, which commands that never connect (a no-op fetch, `path`, `status`) should not
// pay. <curl/curl.h> is used for its types and constants only.

#include <curl/curl.h>

#include <type_traits>

namespace hfmodels::http::curl {

// The libcurl functions hfmodels calls. Throws Error(failure), naming the library and its Debian
// package, if libcurl cannot be loaded or is older than 7.88.
struct Api {
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)();
  curl_version_info_data* (*version_info)(CURLversion version);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL* handle);
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  CURLcode (*easy_perform)(CURL* handle);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* text);
  void (*slist_free_all)(curl_slist* list);
};

// Loads libcurl on the first call (thread-safe); the library stays loaded for the process.
const Api& api();

inline CURLcode global_init(long flags) {
  return api().global_init(flags);
}
inline void global_cleanup() {
  api().global_cleanup();
}
inline const curl_version_info_data* version_info() {
  return api().version_info(CURLVERSION_NOW);
}
inline CURL* easy_init() {
  return api().easy_init();
}
inline void easy_cleanup(CURL* handle) {
  api().easy_cleanup(handle);
}
inline CURLcode easy_perform(CURL* handle) {
  return api().easy_perform(handle);
}
inline const char* easy_strerror(CURLcode code) {
  return api().easy_strerror(code);
}
inline curl_slist* slist_append(curl_slist* list, const char* text) {
  return api().slist_append(list, text);
}
inline void slist_free_all(curl_slist* list) {
  api().slist_free_all(list);
}

// curl_easy_setopt for the argument types libcurl reads: long, curl_off_t or a pointer (data or
// function). An int, which libcurl would read as a long, does not compile, as
// curl/typecheck-gcc.h ensured when the function was called directly.
template<typename T>
CURLcode easy_setopt(CURL* handle, CURLoption option, T value) {
  static_assert(std::is_same_v<T, long> || std::is_same_v<T, curl_off_t> || std::is_pointer_v<T>,
                "libcurl options take a long, a curl_off_t or a pointer");
  return api().easy_setopt(handle, option, value);
}

// curl_easy_getinfo: `out` points to the type that `info` documents.
template<typename T>
CURLcode easy_getinfo(CURL* handle, CURLINFO info, T* out) {
  return api().easy_getinfo(handle, info, out);
}

} // namespace hfmodels::http::curl
