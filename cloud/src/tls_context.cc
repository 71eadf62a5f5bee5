#include "cloud/tls_context.h"

#include "cloud/error.h"
#include "tls_context_impl.h"

namespace edgeid::cloud {

TlsContext::Impl::Impl() {
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_x509_crt_init(&ca_chain);
  mbedtls_x509_crt_init(&own_cert);
  mbedtls_pk_init(&own_key);
  mbedtls_ssl_config_init(&config);
}

TlsContext::Impl::~Impl() {
  mbedtls_ssl_config_free(&config);
  mbedtls_pk_free(&own_key);
  mbedtls_x509_crt_free(&own_cert);
  mbedtls_x509_crt_free(&ca_chain);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
}

TlsContext::TlsContext() : impl_(std::make_unique<Impl>()) {}
TlsContext::~TlsContext() = default;

int TlsContext::ca_count() const noexcept {
  return impl_->ca_count;
}

namespace {

int chain_length(const mbedtls_x509_crt& chain) {
  int n = 0;
  for (const mbedtls_x509_crt* c = &chain; c != nullptr && c->raw.len > 0; c = c->next) ++n;
  return n;
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::create(const TlsOptions& options,
                                                     std::error_code& ec) {
  ec.clear();
  std::shared_ptr<TlsContext> context(new TlsContext());
  Impl& s = *context->impl_;

  static constexpr unsigned char kPersonalisation[] = "edgeid.cloud.tls";
  int ret = mbedtls_ctr_drbg_seed(&s.drbg, mbedtls_entropy_func, &s.entropy, kPersonalisation,
                                  sizeof kPersonalisation - 1);
  if (ret != 0) {
    ec = make_tls_error(ret);
    return nullptr;
  }

  // A positive return is the number of certificates that failed to parse: system bundles carry
  // a few that 2.28 cannot read, which is fine as long as the others load.
  if (!options.ca_pem.empty()) {
    ret = mbedtls_x509_crt_parse(&s.ca_chain,
                                 reinterpret_cast<const unsigned char*>(options.ca_pem.c_str()),
                                 options.ca_pem.size() + 1);  // PEM length includes the NUL
  } else {
    ret = mbedtls_x509_crt_parse_file(&s.ca_chain, options.ca_file.c_str());
  }
  if (ret < 0) {
    ec = make_tls_error(ret);
    return nullptr;
  }
  s.ca_count = chain_length(s.ca_chain);
  if (s.ca_count == 0) {
    ec = errc::invalid_request;
    return nullptr;
  }

  ret = mbedtls_ssl_config_defaults(&s.config, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) {
    ec = make_tls_error(ret);
    return nullptr;
  }
  // 2.28 still compiles in TLS 1.0/1.1; and the policy must not depend on library defaults, so
  // both the version floor and mandatory verification are stated explicitly.
  mbedtls_ssl_conf_min_version(&s.config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_authmode(&s.config, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&s.config, &s.ca_chain, nullptr);
  mbedtls_ssl_conf_rng(&s.config, mbedtls_ctr_drbg_random, &s.drbg);
  mbedtls_ssl_conf_renegotiation(&s.config, MBEDTLS_SSL_RENEGOTIATION_DISABLED);

  if (!options.client_certificate_file.empty() || !options.client_key_file.empty()) {
    ret = mbedtls_x509_crt_parse_file(&s.own_cert, options.client_certificate_file.c_str());
    if (ret != 0) {
      ec = make_tls_error(ret < 0 ? ret : MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT);
      return nullptr;
    }
    ret = mbedtls_pk_parse_keyfile(&s.own_key, options.client_key_file.c_str(), nullptr);
    if (ret == 0) ret = mbedtls_ssl_conf_own_cert(&s.config, &s.own_cert, &s.own_key);
    if (ret != 0) {
      ec = make_tls_error(ret);
      return nullptr;
    }
  }
  return context;
}

}  // namespace edgeid::cloud
