// OAuth pieces without the network: credential files, the JWT client assertion (verified with
// mbedTLS here and in the fake token service), the cloud table.

#include "cloud/oauth.h"

#include <unistd.h>

#include <fstream>
#include <sys/stat.h>

#include <doctest/doctest.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "cloud/graph_error.h"
#include "encoding.h"
#include "fakes/fake_graph.h"
#include "fakes/test_pki.h"
#include "jwt_util.h"

using namespace edgeid;
using namespace edgeid::cloud;

TEST_CASE("secret file: 0600 accepted, group/world access refused with a clear error") {
  const std::string path = fakes::TestCa::write_temp_file("s3cr3t-value\n", "secret");
  ::chmod(path.c_str(), 0600);
  platform::Secret secret;
  std::string detail;
  REQUIRE_FALSE(read_secret_file(path, secret, detail));
  CHECK(secret.reveal() == "s3cr3t-value");
  for (mode_t mode : {0640, 0604, 0644, 0660}) {
    ::chmod(path.c_str(), mode);
    CHECK(read_secret_file(path, secret, detail) == graph_errc::insecure_secret_file);
    CHECK(detail.find(path) != std::string::npos);
    CHECK(detail.find("chmod 0600") != std::string::npos);
    CHECK(detail.find("s3cr3t") == std::string::npos);
  }
  ::unlink(path.c_str());
  CHECK(read_secret_file(path, secret, detail) == graph_errc::unreadable_file);
}

TEST_CASE("clouds: national endpoints and custom") {
  CHECK(cloud_endpoints(CloudKind::global)->graph_url == "https://graph.microsoft.com");
  CHECK(cloud_endpoints(CloudKind::usgov)->authority_url == "https://login.microsoftonline.us");
  CHECK(cloud_endpoints(CloudKind::dod)->graph_url == "https://dod-graph.microsoft.us");
  CHECK(cloud_endpoints(CloudKind::china)->graph_url == "https://microsoftgraph.chinacloudapi.cn");
  CHECK_FALSE(cloud_endpoints(CloudKind::custom));
  CHECK(parse_cloud("usgov") == CloudKind::usgov);
  CHECK_FALSE(parse_cloud("germany"));
  CHECK(form_encode("a b/+=&") == "a%20b%2F%2B%3D%26");
}

TEST_CASE("JWT client assertion: header, claims and signature verified with mbedTLS") {
  const auto cred = fakes::make_rsa_credential();
  const std::string aud = "https://login.example/tenant/oauth2/v2.0/token";
  const std::string client = "11111111-2222-3333-4444-555555555555";
  const auto now = platform::Timestamp::from_unix_seconds(1'800'000'000);
  for (auto alg : {AssertionAlgorithm::rs256_x5t, AssertionAlgorithm::ps256_x5t_s256}) {
    ClientCertificate cert{cred.cert_pem, platform::Secret(cred.key_pem), alg};
    platform::Secret jwt;
    std::string detail;
    REQUIRE_FALSE(make_client_assertion(cert, client, aud, now, jwt, detail));
    const std::string& t = jwt.reveal();
    const auto d1 = t.find('.');
    const auto d2 = t.find('.', d1 + 1);
    const std::string header = *base64url_decode(t.substr(0, d1));
    const std::string claims = *base64url_decode(t.substr(d1 + 1, d2 - d1 - 1));
    const bool pss = alg == AssertionAlgorithm::ps256_x5t_s256;
    CHECK(header.find(pss ? "\"alg\":\"PS256\"" : "\"alg\":\"RS256\"") != std::string::npos);
    CHECK(header.find(pss ? "\"x5t#S256\":" : "\"x5t\":") != std::string::npos);
    CHECK(claims.find("\"aud\":\"" + aud + "\"") != std::string::npos);
    CHECK(claims.find("\"iss\":\"" + client + "\"") != std::string::npos);
    CHECK(claims.find("\"sub\":\"" + client + "\"") != std::string::npos);
    CHECK(claims.find("\"nbf\":1800000000") != std::string::npos);
    CHECK(claims.find("\"iat\":1800000000") != std::string::npos);
    CHECK(claims.find("\"exp\":1800000600") != std::string::npos);
    CHECK(claims.find("\"jti\":\"") != std::string::npos);
    // Independent verification: signature over "header.claims" with the certificate's key.
    CHECK(fakes::verify_client_assertion(t, cred.cert_pem, aud, client, 1'800'000'000) == "");
    // Tampering breaks it.
    std::string bad = t;
    bad[d1 + 5] = bad[d1 + 5] == 'A' ? 'B' : 'A';
    CHECK(fakes::verify_client_assertion(bad, cred.cert_pem, aud, client, 1'800'000'000) != "");
    // A fresh assertion per request: jti differs.
    platform::Secret jwt2;
    REQUIRE_FALSE(make_client_assertion(cert, client, aud, now, jwt2, detail));
    CHECK(jwt2.reveal() != t);
  }
}

TEST_CASE("JWT: x5t is the SHA-1 / x5t#S256 the SHA-256 of the certificate DER") {
  const auto cred = fakes::make_rsa_credential();
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  REQUIRE(mbedtls_x509_crt_parse(&crt,
                                 reinterpret_cast<const unsigned char*>(cred.cert_pem.c_str()),
                                 cred.cert_pem.size() + 1) == 0);
  unsigned char h[32];
  mbedtls_sha256_ret(crt.raw.p, crt.raw.len, h, 0);
  const std::string expected = base64url(std::string(reinterpret_cast<char*>(h), 32));
  mbedtls_x509_crt_free(&crt);
  ClientCertificate cert{cred.cert_pem, platform::Secret(cred.key_pem),
                         AssertionAlgorithm::ps256_x5t_s256};
  platform::Secret jwt;
  std::string detail;
  REQUIRE_FALSE(make_client_assertion(cert, "c", "a", platform::Timestamp(), jwt, detail));
  const std::string header = *base64url_decode(jwt.reveal().substr(0, jwt.reveal().find('.')));
  CHECK(header.find("\"x5t#S256\":\"" + expected + "\"") != std::string::npos);
}

TEST_CASE("JWT: a key that does not match the certificate, or garbage, is refused") {
  const auto a = fakes::make_rsa_credential("a");
  const auto b = fakes::make_rsa_credential("b");
  platform::Secret jwt;
  std::string detail;
  ClientCertificate mismatched{a.cert_pem, platform::Secret(b.key_pem),
                               AssertionAlgorithm::rs256_x5t};
  CHECK(make_client_assertion(mismatched, "c", "a", {}, jwt, detail) ==
        graph_errc::bad_credentials);
  CHECK(detail.find("does not match") != std::string::npos);
  ClientCertificate garbage{"not a cert", platform::Secret("nor a key"),
                            AssertionAlgorithm::rs256_x5t};
  CHECK(make_client_assertion(garbage, "c", "a", {}, jwt, detail) == graph_errc::bad_credentials);
  fakes::TestCa ca;  // ECDSA keys cannot make RS256/PS256
  const auto ec = ca.issue();
  ClientCertificate ecdsa{ec.cert_pem, platform::Secret(ec.key_pem), AssertionAlgorithm::rs256_x5t};
  CHECK(make_client_assertion(ecdsa, "c", "a", {}, jwt, detail) == graph_errc::bad_credentials);
}

TEST_CASE("base64 and base64url: the RFC 4648 test vectors and the two alphabets") {
  const std::vector<std::pair<std::string, std::string>> vectors{{"", ""},
                                                                 {"f", "Zg=="},
                                                                 {"fo", "Zm8="},
                                                                 {"foo", "Zm9v"},
                                                                 {"foob", "Zm9vYg=="},
                                                                 {"fooba", "Zm9vYmE="},
                                                                 {"foobar", "Zm9vYmFy"}};
  for (const auto& [in, out] : vectors) {
    CHECK(detail::base64(in) == out);
    const std::string unpadded = out.substr(0, out.find('='));
    CHECK(base64url(in) == unpadded);
    CHECK(base64url_decode(unpadded) == in);
  }
  CHECK(detail::base64("\xfb\xff") == "+/8=");
  CHECK(base64url("\xfb\xff") == "-_8");
  CHECK(detail::basic_credentials("user", "pa55") == "Basic dXNlcjpwYTU1");
}
