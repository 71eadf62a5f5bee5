#pragma once
// base64url (RFC 4648 §5, no padding) for JWTs; private to cloud/ and its tests.

#include <optional>
#include <string>
#include <string_view>

namespace edgeid::cloud {

/// Defined next to base64 (encoding.cc): the same encoder, the other alphabet, no padding.
std::string base64url(std::string_view in);
/// nullopt on a character outside the base64url alphabet (padding is not accepted).
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace edgeid::cloud
