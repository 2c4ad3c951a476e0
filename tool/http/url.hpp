// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// URLs through libcurl's own parser (curl_url, RFC 3986 with libcurl's handling of what
// servers really send), so that what hfmodels decides about a URL (its origin, where a
// redirect leads) is what libcurl then connects to.
namespace hfmodels::http {

// "scheme://host[:port]" of an absolute URL, lower-cased, with the scheme's default port
// removed and any userinfo dropped; "" when `url` is not absolute.
std::string origin_of(std::string_view url);

// The host of an absolute URL, lower-cased, without brackets around an IPv6 address; "" when
// `url` is not absolute.
std::string host_of(std::string_view url);

// `text` with every byte but the unreserved ones (letters, digits, `-._~`) as %XX in capitals:
// RFC 3986, and what AWS SigV4 expects of a query value (curl_easy_escape).
std::string percent_encoded(std::string_view text);

// The local path of a `file://` URL (`file:///path` or `file://localhost/path`), decoded; nothing
// for any other URL.
std::optional<std::string> local_path_of(std::string_view url);

// Where a Location header leads from the URL it was received at (fragment dropped, spaces
// around it ignored; an empty one leads back to `base_url`). Throws Error(network) for one that
// is no URL.
std::string resolve_location(std::string_view base_url, std::string_view location);

// A URL safe for messages: query, fragment and userinfo removed.
std::string redact_url(std::string_view url);

// The credentials written into `url` (`scheme://user:password@host` or, as proxy settings
// allow, `user:password@host`): the userinfo and the password alone, each as written and
// percent-decoded. Empty when it has none. For output to hide them.
std::vector<std::string> credentials_of(std::string_view url);

} // namespace hfmodels::http
