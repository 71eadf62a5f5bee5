#pragma once
/// @file
/// TLS client configuration shared by every HTTPS connection of the process.
///
/// A TlsContext owns the mbedTLS configuration: the trusted CA chain, one CTR-DRBG seeded once
/// from the platform entropy source, and an optional client certificate and key (mutual TLS).
/// Policy is fixed, not configurable: TLS 1.2 is the minimum version, the server certificate
/// chain is always verified (VERIFY_REQUIRED) and the server name is always checked and sent as
/// SNI. There is deliberately no way to turn verification off.
///
/// Ownership and lifetime: created once (agent start-up or per test), held by
/// std::shared_ptr<const TlsContext>; every TLS stream keeps a reference, so the context
/// outlives all connections that use it. Not copyable, not movable (mbedTLS keeps pointers into
/// it).
/// Thread safety: immutable after create(); streams on different threads may share it (the DRBG
/// is guarded by mbedTLS's own mutex, Debian builds mbedTLS with MBEDTLS_THREADING_PTHREAD).
/// Errors: create() reports a bad CA file, certificate or key as a std::error_code (start-up
/// callers usually turn that into a thrown configuration error).

#include <memory>
#include <string>
#include <system_error>

#include "platform/log.h"

namespace edgeid::cloud {

struct TlsOptions {
  /// PEM bundle of trusted CA certificates; ignored when ca_pem is set.
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  /// PEM text of trusted CA certificates (e.g. a private CA shipped with the configuration).
  std::string ca_pem;
  /// Optional client certificate chain (PEM file) for mutual TLS; needs client_key_file.
  std::string client_certificate_file;
  /// Private key of the client certificate (PEM file, unencrypted).
  std::string client_key_file;
};

class TlsContext {
 public:
  /// Loads the CA chain (and client credentials) and seeds the DRBG. On failure returns nullptr
  /// and sets @p ec (tls_category() for mbedTLS parse errors, errc::invalid_request when a
  /// bundle holds no usable certificate).
  static std::shared_ptr<const TlsContext> create(const TlsOptions& options, std::error_code& ec);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// Number of CA certificates loaded (a bundle may contain some mbedTLS cannot parse; those
  /// are skipped, as long as at least one loads).
  int ca_count() const noexcept;

  struct Impl;  ///< mbedTLS state; defined in cloud/src, used by the TLS stream only.
  const Impl& impl() const noexcept { return *impl_; }

 private:
  TlsContext();
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeid::cloud
