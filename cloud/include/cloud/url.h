#pragma once
/// @file
/// Absolute http(s) URLs as the cloud module uses them: Graph and token endpoints, nextLink and
/// deltaLink values, proxies, upstream sinks.
///
/// Parsing is strict on purpose: a bearer token goes only to the origin (scheme, host, port) it
/// was issued for, so the origin must be unambiguous. Userinfo ("user@host") and fragments are
/// refused; the host is lower-cased; the default port is filled in.
/// Errors: parse() returns std::nullopt (no exceptions). Thread safety: a value type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgeid::cloud {

struct Url {
  std::string scheme;  ///< "https" or "http", lower case
  std::string host;    ///< lower case; an IPv6 literal without its brackets
  std::uint16_t port = 0;
  std::string target;  ///< path and query as sent in the request line; "/" when empty

  /// Parses "scheme://host[:port][/path][?query]".
  static std::optional<Url> parse(std::string_view text);

  bool is_https() const noexcept { return scheme == "https"; }
  /// Same scheme, host and port: the test before a credential follows a link.
  bool same_origin(const Url& other) const noexcept {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
  /// "host" or "host:port" (port only when not the scheme's default), IPv6 in brackets: the
  /// value of the Host header.
  std::string authority() const;
  std::string to_string() const;
};

}  // namespace edgeid::cloud
