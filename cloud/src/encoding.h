#pragma once
// Text encodings the HTTP side of cloud/ needs in more than one place (private to cloud/).
#include <string>
#include <string_view>

namespace edgeid::cloud::detail {

/// RFC 4648 base64 with padding.
std::string base64(std::string_view in);

/// The value of an HTTP Basic Authorization (or Proxy-Authorization) header: "Basic " + base64
/// of "user:password" (RFC 7617).
std::string basic_credentials(std::string_view user, std::string_view password);

}  // namespace edgeid::cloud::detail
