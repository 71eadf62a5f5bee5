#pragma once
/// @file
/// cloud/'s error codes.
///
/// Policy (DESIGN.md §8): every I/O entry point of cloud/ reports failure as a std::error_code,
/// never by throwing. Three categories can appear:
///  - cloud_category(): the module's own `errc` (timeouts per step, truncation, limits, proxy).
///  - tls_category(): an mbedTLS error code (negative, as mbedTLS returns it); the message is
///    mbedtls_strerror()'s text. Foreign codes keep their own category so that no information is
///    lost by squeezing them into errc.
///  - x509_verify_category(): the server certificate failed verification; the value is
///    mbedTLS's verification flag set (MBEDTLS_X509_BADCERT_*) and the message lists every
///    reason (mbedtls_x509_crt_verify_info), e.g. "certificate verification failed: The
///    certificate validity has expired".
/// OS errors (connection refused, reset) arrive in std::system_category().
/// Categories are immutable function-local statics: safe to use from any thread.

#include <system_error>

namespace edgeid::cloud {

enum class errc {
  ok = 0,
  resolve_timeout,       ///< name resolution did not finish in Timeouts::resolve
  connect_timeout,       ///< TCP connect did not finish in Timeouts::connect
  handshake_timeout,     ///< TLS handshake (or proxy CONNECT exchange) exceeded its timeout
  write_timeout,         ///< sending the request exceeded Timeouts::write
  read_timeout,          ///< the complete response did not arrive within Timeouts::read
  stream_truncated,      ///< the peer closed TCP without a TLS close_notify (possible attack)
  connection_closed,     ///< the peer closed the connection before a complete response
  header_too_large,      ///< response header exceeded Limits::header_bytes
  body_too_large,        ///< response body exceeded Limits::body_bytes
  proxy_connect_failed,  ///< the proxy answered CONNECT with a non-2xx status
  protocol_error,        ///< malformed HTTP from the peer or proxy
  unsupported_scheme,    ///< URL scheme is neither http nor https
  tls_not_configured,    ///< an https URL but the client has no TlsContext
  invalid_request,       ///< a request the client refuses to send (e.g. CR/LF in a header)
  cancelled,             ///< the client was destroyed or close() was called while in flight
};

const std::error_category& cloud_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), cloud_category()};
}

/// mbedTLS error codes (negative ints); message() is mbedtls_strerror's text.
const std::error_category& tls_category() noexcept;
inline std::error_code make_tls_error(int mbedtls_ret) noexcept {
  return {mbedtls_ret, tls_category()};
}

/// Certificate verification failures; the value is the MBEDTLS_X509_BADCERT_* flag set.
const std::error_category& x509_verify_category() noexcept;
inline std::error_code make_verify_error(unsigned flags) noexcept {
  return {static_cast<int>(flags), x509_verify_category()};
}

/// True for any error of x509_verify_category(): the peer's certificate was not accepted.
inline bool is_verify_failure(const std::error_code& ec) noexcept {
  return ec.category() == x509_verify_category();
}

/// True for the per-step timeouts of errc.
bool is_timeout(const std::error_code& ec) noexcept;

}  // namespace edgeid::cloud

template <>
struct std::is_error_code_enum<edgeid::cloud::errc> : std::true_type {};
