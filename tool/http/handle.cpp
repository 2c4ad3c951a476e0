// SPDX-License-Identifier: MIT
#include "http/handle.hpp"

#include "util/display.hpp"
#include "util/strings.hpp"

#include <new>
#include <string_view>

namespace hfmodels::http {

namespace {

// The most libcurl 7.88 accepts is 512 KiB (CURL_MAX_READ_SIZE). libcurl's default of 16 KiB
// costs a recv() per 16 KiB: at a GB/s that is 60,000 system calls a second; 256 KiB cut the
// CPU of a loopback download by 9% (bench/ANALYSIS.md).
constexpr long k_receive_buffer = 256L << 10;

void free_slist(curl_slist* list) {
  curl_slist_free_all(list);
}

void append(std::unique_ptr<curl_slist, void (*)(curl_slist*)>& list, const std::string& header) {
  curl_slist* extended = curl_slist_append(list.get(), header.c_str());
  if (extended == nullptr) {
    throw std::bad_alloc();
  }
  static_cast<void>(list.release());
  list.reset(extended);
}

std::string default_user_agent() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return std::string("hfmodels/") + HFMODELS_VERSION + "; hf_hub/none; cpp/libcurl-" +
         (info != nullptr && info->version != nullptr ? info->version : "unknown");
}

// Failures that another try moments later will not fix: the name does not resolve, nothing
// listens, the URL or the certificate is wrong. Everything else (resets, timeouts, a body cut
// short, a TLS handshake broken off) is worth retrying.
bool is_retryable(CURLcode code) {
  switch (code) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_OUT_OF_MEMORY:
    return false;
  default:
    return true;
  }
}

} // namespace

// What the trace callback needs: where lines go, and what they must not show.
struct Handle::Trace {
  TraceSink sink;
  util::Redactor redactor;

  // Hands curl's header traffic to the sink like `curl -v` shows it, redacted here already (the
  // token, Authorization values, URL credentials, also in libcurl's own text lines such as
  // HTTP/2's "h2h3 [authorization: ...]"): the sink (the command line's output, which redacts
  // again, or an application's log) never holds a credential.
  static int callback(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size,
                      void* user) {
    const auto& trace = *static_cast<const Trace*>(user);
    try {
      const char* prefix = nullptr;
      switch (type) {
      case CURLINFO_TEXT:
        prefix = "* ";
        break;
      case CURLINFO_HEADER_IN:
        prefix = "< ";
        break;
      case CURLINFO_HEADER_OUT:
        prefix = "> ";
        break;
      default:
        return 0; // bodies and TLS data are not shown
      }
      for (std::string_view block(data, size); !block.empty();) {
        const auto newline = block.find('\n');
        std::string_view line = block.substr(0, newline);
        block = newline == std::string_view::npos ? std::string_view{} : block.substr(newline + 1);
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        if (!line.empty()) {
          trace.sink(trace.redactor.redact(std::string(prefix) + std::string(line)));
        }
      }
    } catch (...) {
      // Tracing is best effort; never let it disturb the transfer.
    }
    return 0;
  }
};

Handle::Handle(const ClientOptions& options) : m_options(options), m_headers(nullptr, &free_slist) {
  static_cast<void>(global_init());
  m_handle = curl_easy_init();
  if (m_handle == nullptr) {
    throw Error(ErrorKind::failure, "cannot initialise libcurl");
  }
  curl_easy_setopt(m_handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(m_handle, CURLOPT_ERRORBUFFER, m_error);
  // libcurl copies strings it is given.
  const std::string agent = options.user_agent.empty() ? default_user_agent() : options.user_agent;
  curl_easy_setopt(m_handle, CURLOPT_USERAGENT, agent.c_str());
  // Redirects are followed by the caller so the token policy applies to every hop (§3.5).
  curl_easy_setopt(m_handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(m_handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(m_handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  // HF_HUB_DOWNLOAD_TIMEOUT is an idle timeout, not a total one (§7.2): a multi-GB transfer
  // may take hours, but one that stalls for N seconds is dead.
  curl_easy_setopt(m_handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(m_handle, CURLOPT_LOW_SPEED_TIME, options.idle_timeout_seconds);
  curl_easy_setopt(m_handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(m_handle, CURLOPT_BUFFERSIZE, k_receive_buffer);
  // HTTP/2 where TLS offers it (ALPN); plain http stays HTTP/1.1, which needs no upgrade dance.
  curl_easy_setopt(m_handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (!options.ca_bundle.empty()) {
    curl_easy_setopt(m_handle, CURLOPT_CAINFO, options.ca_bundle.c_str());
  }
  if (options.trace) {
    m_trace = std::make_unique<Trace>();
    m_trace->sink = options.trace;
    m_trace->redactor.add_secret(options.token);
    curl_easy_setopt(m_handle, CURLOPT_DEBUGFUNCTION, &Trace::callback);
    curl_easy_setopt(m_handle, CURLOPT_DEBUGDATA, m_trace.get());
    curl_easy_setopt(m_handle, CURLOPT_VERBOSE, 1L);
  }
}

Handle::~Handle() {
  curl_easy_cleanup(m_handle);
}

void Handle::prepare(const std::string& url, const std::optional<ByteRangeRequest>& range,
                     bool compressed, const SourceAccess* source,
                     const std::string& payload_sha256) {
  // Decided here, not by libcurl from the environment, so that the token check below knows
  // whether the request leaves this machine (http/proxy.hpp). "" means none.
  m_proxy = m_options.proxies.proxy_for(url);
  curl_easy_setopt(m_handle, CURLOPT_PROXY, m_proxy.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, &free_slist);
  const bool local_file = source != nullptr && source->scheme == SourceAccess::Scheme::file;
  curl_easy_setopt(m_handle, CURLOPT_PROTOCOLS_STR, local_file ? "file" : "http,https");
  curl_easy_setopt(m_handle, CURLOPT_AWS_SIGV4, nullptr);
  curl_easy_setopt(m_handle, CURLOPT_USERNAME, nullptr);
  curl_easy_setopt(m_handle, CURLOPT_PASSWORD, nullptr);
  curl_easy_setopt(m_handle, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
  curl_easy_setopt(m_handle, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  if (source == nullptr) {
    // The token goes to the endpoint's origin only: never to a CDN on another host or port,
    // even when the Hub itself redirects there (§3.5, pitfall 7 of §9).
    if (!m_options.token.empty() && !m_options.token_origin.empty() &&
        origin_of(url) == m_options.token_origin) {
      check_token_transport(m_options, url); // before connecting
      append(headers, "Authorization: Bearer " + m_options.token);
    }
  } else if (!local_file && origin_of(url) == source->origin) {
    add_source_credentials(*source, url, payload_sha256, headers);
  }
  // A local file has no Range header: libcurl reads the range it is given.
  curl_easy_setopt(m_handle, CURLOPT_RANGE, nullptr);
  if (range && local_file) {
    const std::string bytes = std::to_string(range->first) + "-" +
                              (range->last ? std::to_string(*range->last) : std::string());
    curl_easy_setopt(m_handle, CURLOPT_RANGE, bytes.c_str());
  } else if (range) {
    append(headers, "Range: bytes=" + std::to_string(range->first) + "-" +
                        (range->last ? std::to_string(*range->last) : std::string()));
  }
  curl_easy_setopt(m_handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(m_handle, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(m_handle, CURLOPT_HTTPHEADER, headers.get());
  // "": every encoding this libcurl decodes. Null: no Accept-Encoding header at all, so bodies
  // arrive as identity and Content-Length and Range count real bytes (§3.6, pitfall 3 of §9).
  curl_easy_setopt(m_handle, CURLOPT_ACCEPT_ENCODING, compressed ? "" : nullptr);
  m_headers = std::move(headers); // libcurl reads the list until the next prepare
  m_error[0] = '\0';
}

void Handle::add_source_credentials(const SourceAccess& source, const std::string& url,
                                    const std::string& payload_sha256,
                                    std::unique_ptr<curl_slist, void (*)(curl_slist*)>& headers) {
  if (m_trace) {
    // Authorization values are masked in the trace anyway; these travel in other headers.
    m_trace->redactor.add_secret(source.bearer);
    if (source.aws) {
      m_trace->redactor.add_secret(source.aws->session_token);
    }
  }
  if (!source.bearer.empty()) {
    check_secret_transport(source.origin, m_options, url, SecretOwner::mirror); // before connecting
    append(headers, "Authorization: Bearer " + source.bearer);
  } else if (source.aws) {
    // libcurl 7.88 signs every header of the list, and takes the payload's hash from
    // x-amz-content-sha256 when it is there; S3 refuses a signed request without that header,
    // which this libcurl does not add by itself (docs/mirrors.md).
    const AwsSigning& aws = *source.aws;
    const std::string scope = "aws:amz:" + aws.region + ":s3";
    curl_easy_setopt(m_handle, CURLOPT_AWS_SIGV4, scope.c_str());
    curl_easy_setopt(m_handle, CURLOPT_USERNAME, aws.access_key.c_str());
    curl_easy_setopt(m_handle, CURLOPT_PASSWORD, aws.secret_key.c_str());
    append(headers, "x-amz-content-sha256: " + payload_sha256);
    if (!aws.session_token.empty()) {
      append(headers, "x-amz-security-token: " + aws.session_token);
    }
  } else if (source.netrc) {
    curl_easy_setopt(m_handle, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
  }
}

std::string Handle::error_text(CURLcode code) const {
  return std::string(util::trim(m_error[0] != '\0' ? std::string_view(m_error)
                                                   : std::string_view(curl_easy_strerror(code))));
}

long Handle::status() const {
  long status = 0;
  curl_easy_getinfo(m_handle, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

TransportError transport_error(CURLcode code, const std::string& url, const std::string& text) {
  return TransportError(static_cast<int>(code), is_retryable(code), "network error",
                        redact_url(url) + ": " + text);
}

} // namespace hfmodels::http
