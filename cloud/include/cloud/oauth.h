#pragma once
/// @file
/// OAuth2 client credentials for Microsoft Graph (Microsoft identity platform v2.0 endpoint):
/// national-cloud endpoints, the client secret file, the certificate JWT client assertion and a
/// TokenProvider that keeps the access token in memory and refreshes it before it expires.
///
/// Token request: POST {authority_url}/{tenant}/oauth2/v2.0/token with grant_type
/// client_credentials, scope {graph_url}/.default and either client_secret or a client
/// assertion (a JWT signed with the certificate's private key; a fresh one per request because
/// it expires minutes after it was made).
///
/// Secrets: the client secret, the private key and the access token live in platform::Secret
/// only; error details carry the endpoint's error code and description, never a credential.
/// Errors: std::error_code (graph_errc, or a transport code of cloud/error.h) plus a detail
/// string for the one-line report.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cloud/http_client.h"
#include "platform/log.h"
#include "platform/time.h"

namespace edgeid::cloud {

/// Microsoft's cloud deployments (graph-api.md §3.5). M365 "GCC" (moderate) uses global.
enum class CloudKind { global, usgov, dod, china, custom };

/// "global", "usgov" (GCC High), "dod", "china", "custom"; nullopt otherwise.
std::optional<CloudKind> parse_cloud(std::string_view name) noexcept;

struct CloudEndpoints {
  std::string authority_url;  ///< e.g. "https://login.microsoftonline.com" (no trailing '/')
  std::string graph_url;      ///< e.g. "https://graph.microsoft.com" (no trailing '/')
};
/// The endpoints of a known cloud; nullopt for custom (the caller gives both URLs).
std::optional<CloudEndpoints> cloud_endpoints(CloudKind kind);

/// Reads a credential file (client secret, private key). Refuses, with
/// graph_errc::insecure_secret_file, a file that is not a regular file, is readable or
/// writable by group or others, or is owned by anyone but the current user or root; the
/// content's trailing newline(s) are stripped. @p detail names the file and the reason.
std::error_code read_secret_file(const std::string& path, platform::Secret& out,
                                 std::string& detail);

/// How the client assertion is signed (graph-api.md §3.2: the 2024 doc says RS256 + x5t, the
/// 2025 doc PS256 + x5t#S256; Entra accepted both at the time of writing).
enum class AssertionAlgorithm { rs256_x5t, ps256_x5t_s256 };

struct ClientCertificate {
  std::string certificate_pem;  ///< the certificate registered with the app (public)
  platform::Secret key_pem;     ///< its RSA private key, PEM, unencrypted
  AssertionAlgorithm algorithm = AssertionAlgorithm::ps256_x5t_s256;
};

/// Builds a signed client assertion: header {alg, typ, x5t | x5t#S256}, claims aud (the token
/// endpoint URL), iss = sub = client id, jti (random GUID), nbf = iat = now, exp = now + 10 min.
/// Returns graph_errc::bad_credentials (detail says why) for an unusable certificate or key.
std::error_code make_client_assertion(const ClientCertificate& cert, std::string_view client_id,
                                      std::string_view audience, platform::Timestamp now,
                                      platform::Secret& out, std::string& detail);

struct OAuthOptions {
  std::string authority_url;  ///< see CloudEndpoints
  std::string graph_url;      ///< the scope is graph_url + "/.default"
  std::string tenant;         ///< tenant GUID or domain
  std::string client_id;
  platform::Secret client_secret;                ///< either this …
  std::optional<ClientCertificate> certificate;  ///< … or this (wins when both are set)
  /// Refresh when less than this is left (tokens live 60–90 minutes, randomised).
  std::chrono::seconds refresh_margin{300};
};

/// Fetches and caches the access token.
/// Thread safety: io_context thread only (like HttpClient). Lifetime: @p http, @p clock and the
/// logger's sink must outlive the provider; destroy it only after its requests completed (the
/// owner closes the HttpClient first).
class TokenProvider {
 public:
  using Callback = std::function<void(std::error_code, std::string detail)>;

  TokenProvider(HttpClient& http, const platform::Clock& clock, const platform::Logger& log,
                OAuthOptions options);
  TokenProvider(const TokenProvider&) = delete;
  TokenProvider& operator=(const TokenProvider&) = delete;

  /// Calls @p done once a valid token is available (at once, inline, when the cached one is
  /// still fresh; otherwise after a token request, on the io_context thread). Concurrent calls
  /// share one request.
  void async_ensure(Callback done);
  /// The current token; valid after async_ensure succeeded.
  const platform::Secret& token() const noexcept { return token_; }
  /// After a failed request: the wait the endpoint asked for (its Retry-After), if it did.
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }
  /// Forgets the token (Graph answered 401): the next async_ensure fetches a new one.
  void invalidate() noexcept;
  /// Token requests sent so far.
  std::size_t requests() const noexcept { return requests_; }
  /// The token endpoint URL, which is also the assertion's audience.
  const std::string& token_url() const noexcept { return token_url_; }

 private:
  void fetch();
  void finish(std::error_code ec, const std::string& detail);

  HttpClient& http_;
  const platform::Clock& clock_;
  platform::Logger log_;
  OAuthOptions options_;
  std::string token_url_;
  platform::Secret token_;
  platform::Clock::MonotonicTime refresh_at_{};
  std::optional<std::chrono::milliseconds> retry_after_;
  bool valid_ = false;
  bool in_flight_ = false;
  std::vector<Callback> waiters_;
  std::size_t requests_ = 0;
};

/// application/x-www-form-urlencoded value encoding (RFC 3986 unreserved kept).
std::string form_encode(std::string_view value);

}  // namespace edgeid::cloud
