#include "cloud/error.h"

#include <string>

#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

#include "platform/error.h"

namespace edgeid::cloud {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edgeid.cloud.tls"; }
  std::string message(int value) const override {
    char text[256];
    mbedtls_strerror(value, text, sizeof text);
    return text;
  }
};

class VerifyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "edgeid.cloud.x509"; }
  std::string message(int value) const override {
    char text[1024];
    // verify_info writes one reason per line; one log line must stay one line.
    const int n = mbedtls_x509_crt_verify_info(text, sizeof text, "", static_cast<uint32_t>(value));
    std::string reasons = n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string();
    while (!reasons.empty() && reasons.back() == '\n') reasons.pop_back();
    for (std::size_t pos = 0; (pos = reasons.find('\n', pos)) != std::string::npos;) {
      reasons.replace(pos, 1, "; ");
    }
    if (reasons.empty()) reasons = "flags " + std::to_string(value);
    return "certificate verification failed: " + reasons;
  }
};

}  // namespace

const std::error_category& cloud_category() noexcept {
  static constexpr const char* kMessages[] = {
      "success",
      "name resolution timed out",
      "connect timed out",
      "TLS handshake timed out",
      "sending the request timed out",
      "reading the response timed out",
      "stream truncated: connection closed without TLS close_notify",
      "connection closed before a complete response",
      "response header too large",
      "response body too large",
      "proxy refused CONNECT",
      "HTTP protocol error",
      "unsupported URL scheme",
      "https requested but no TLS context configured",
      "invalid request",
      "request cancelled",
  };
  static const platform::TableCategory category("edgeid.cloud", kMessages,
                                                static_cast<int>(std::size(kMessages)));
  return category;
}

const std::error_category& tls_category() noexcept {
  static const TlsCategory category;
  return category;
}

const std::error_category& x509_verify_category() noexcept {
  static const VerifyCategory category;
  return category;
}

bool is_timeout(const std::error_code& ec) noexcept {
  if (ec.category() != cloud_category()) return false;
  switch (static_cast<errc>(ec.value())) {
    case errc::resolve_timeout:
    case errc::connect_timeout:
    case errc::handshake_timeout:
    case errc::write_timeout:
    case errc::read_timeout: return true;
    default: return false;
  }
}

}  // namespace edgeid::cloud
