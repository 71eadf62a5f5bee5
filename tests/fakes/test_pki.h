#pragma once
/// @file
/// A throw-away PKI for TLS tests, generated in memory at test time with mbedTLS's x509write
/// API (no files, no openssl CLI): a CA and leaf certificates with chosen DNS names and
/// validity. Keys are ECDSA P-256 (generation takes milliseconds).
///
/// Errors: generation failures throw std::runtime_error (test set-up, not I/O).
/// Thread safety: a TestCa may issue from one thread at a time.

#include <memory>
#include <string>
#include <vector>

namespace edgeid::fakes {

struct Credential {
  std::string cert_pem;  ///< leaf certificate (PEM)
  std::string key_pem;   ///< its private key (PEM)
};

struct LeafOptions {
  std::vector<std::string> dns_names{"localhost"};  ///< subjectAltName dNSName entries
  std::string not_before = "20200101000000";        ///< YYYYMMDDhhmmss, UTC
  std::string not_after = "20991231235959";
};

class TestCa {
 public:
  explicit TestCa(const std::string& common_name = "edgeid test CA");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const noexcept { return ca_.cert_pem; }
  /// A leaf certificate for a TLS server, signed by this CA.
  Credential issue(const LeafOptions& options = {});

  /// Writes @p text to a fresh file under $TMPDIR and returns its path (for ca_file options).
  static std::string write_temp_file(const std::string& text, const std::string& stem);

 private:
  struct State;
  std::unique_ptr<State> state_;
  Credential ca_;
  int serial_ = 1;
};

}  // namespace edgeid::fakes
