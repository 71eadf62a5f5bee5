#include "cloud/error.h"

#include <doctest/doctest.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>

namespace edgeid::cloud {

TEST_CASE("cloud errors: errc messages, mbedTLS text and verification reasons") {
  CHECK(std::error_code(errc::stream_truncated).message().find("close_notify") !=
        std::string::npos);
  CHECK(is_timeout(errc::read_timeout));
  CHECK_FALSE(is_timeout(errc::stream_truncated));

  const std::error_code tls = make_tls_error(MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION);
  CHECK(tls.category() == tls_category());
  CHECK(tls.message().find("SSL") != std::string::npos);

  const std::error_code verify =
      make_verify_error(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_CN_MISMATCH);
  CHECK(is_verify_failure(verify));
  const std::string text = verify.message();
  CHECK(text.find("certificate verification failed") == 0);
  CHECK(text.find("expired") != std::string::npos);
  CHECK(text.find("CN") != std::string::npos);
  CHECK(text.find('\n') == std::string::npos);  // one log line
}

}  // namespace edgeid::cloud
