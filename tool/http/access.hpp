// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>

// How a request to a source other than the Hub is made: a mirror (README, "Teams and CI
// fleets"). The Hub's token is never part of it; a mirror's own credentials go only to the
// mirror's origin, never to a host one of its redirects names.
namespace hfmodels::http {

// AWS Signature Version 4, computed by libcurl (CURLOPT_AWS_SIGV4) for every request.
struct AwsSigning {
  std::string access_key;
  std::string secret_key;
  std::string session_token; // sent as x-amz-security-token when set
  std::string region;
};

struct SourceAccess {
  // The protocols a request and every hop of its redirects may use: a web mirror cannot send
  // a client to a local file.
  enum class Scheme { web, file } scheme = Scheme::web;
  // Where the credentials below may go (scheme://host[:port]).
  std::string origin;
  // `Authorization: Bearer` (HFMODELS_MIRROR_TOKEN); empty: none.
  std::string bearer;
  // Credentials from ~/.netrc for the mirror's host, when no bearer is set.
  bool netrc = false;
  std::optional<AwsSigning> aws;
};

// The SHA-256 of an empty body, which a signed GET declares as its payload's.
inline constexpr const char* k_empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

} // namespace hfmodels::http
