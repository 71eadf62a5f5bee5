#include "fakes/test_pki.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

namespace edgeid::fakes {
namespace {

void check(int ret, const char* what) {
  if (ret < 0) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

// subjectAltName: SEQUENCE OF [2] IA5String (dNSName); mbedTLS 2.28 has no writer for it.
std::string san_der(const std::vector<std::string>& names) {
  std::string inner;
  for (const std::string& n : names) {
    if (n.size() > 127) throw std::runtime_error("test PKI: DNS name too long");
    inner += static_cast<char>(0x82);
    inner += static_cast<char>(n.size());
    inner += n;
  }
  std::string out(1, '\x30');
  if (inner.size() < 128) {
    out += static_cast<char>(inner.size());
  } else {
    out += static_cast<char>(0x82);
    out += static_cast<char>(inner.size() >> 8);
    out += static_cast<char>(inner.size() & 0xff);
  }
  return out + inner;
}

}  // namespace

struct TestCa::State {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context ca_key;
  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&ca_key);
    check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0), "seed");
  }
  ~State() {
    mbedtls_pk_free(&ca_key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }

  void generate(mbedtls_pk_context& key) {
    check(mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "pk_setup");
    check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), mbedtls_ctr_drbg_random,
                              &drbg),
          "ecp_gen_key");
  }

  std::string key_pem(mbedtls_pk_context& key) {
    unsigned char buf[2048];
    check(mbedtls_pk_write_key_pem(&key, buf, sizeof buf), "write key");
    return reinterpret_cast<const char*>(buf);
  }

  std::string sign(mbedtls_pk_context& subject_key, const std::string& subject,
                   const std::string& issuer, int serial, bool is_ca,
                   const std::vector<std::string>& dns, const std::string& not_before,
                   const std::string& not_after) {
    mbedtls_x509write_cert crt;
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi sn;
    mbedtls_mpi_init(&sn);
    unsigned char buf[4096];
    try {
      mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
      mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
      mbedtls_x509write_crt_set_subject_key(&crt, &subject_key);
      mbedtls_x509write_crt_set_issuer_key(&crt, &ca_key);
      check(mbedtls_mpi_lset(&sn, serial), "serial");
      check(mbedtls_x509write_crt_set_serial(&crt, &sn), "set serial");
      check(mbedtls_x509write_crt_set_subject_name(&crt, subject.c_str()), "subject");
      check(mbedtls_x509write_crt_set_issuer_name(&crt, issuer.c_str()), "issuer");
      check(mbedtls_x509write_crt_set_validity(&crt, not_before.c_str(), not_after.c_str()),
            "validity");
      check(mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca ? 1 : 0, is_ca ? 0 : -1),
            "basic constraints");
      check(mbedtls_x509write_crt_set_subject_key_identifier(&crt), "ski");
      check(mbedtls_x509write_crt_set_authority_key_identifier(&crt), "aki");
      if (is_ca) {
        check(mbedtls_x509write_crt_set_key_usage(
                  &crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN),
              "key usage");
      }
      if (!dns.empty()) {
        const std::string der = san_der(dns);
        check(
            mbedtls_x509write_crt_set_extension(
                &crt, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                0, reinterpret_cast<const unsigned char*>(der.data()), der.size()),
            "subjectAltName");
      }
      check(mbedtls_x509write_crt_pem(&crt, buf, sizeof buf, mbedtls_ctr_drbg_random, &drbg),
            "write certificate");
    } catch (...) {
      mbedtls_mpi_free(&sn);
      mbedtls_x509write_crt_free(&crt);
      throw;
    }
    mbedtls_mpi_free(&sn);
    mbedtls_x509write_crt_free(&crt);
    return reinterpret_cast<const char*>(buf);
  }

  std::string issuer_name;
};

TestCa::TestCa(const std::string& common_name) : state_(std::make_unique<State>()) {
  state_->generate(state_->ca_key);
  state_->issuer_name = "CN=" + common_name + ",O=edgeid tests";
  ca_.key_pem = state_->key_pem(state_->ca_key);
  ca_.cert_pem = state_->sign(state_->ca_key, state_->issuer_name, state_->issuer_name, serial_++,
                              true, {}, "20200101000000", "20991231235959");
}

TestCa::~TestCa() = default;

Credential TestCa::issue(const LeafOptions& options) {
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  Credential out;
  try {
    state_->generate(key);
    const std::string cn = options.dns_names.empty() ? "no-name" : options.dns_names.front();
    out.cert_pem = state_->sign(key, "CN=" + cn + ",O=edgeid tests", state_->issuer_name, serial_++,
                                false, options.dns_names, options.not_before, options.not_after);
    out.key_pem = state_->key_pem(key);
  } catch (...) {
    mbedtls_pk_free(&key);
    throw;
  }
  mbedtls_pk_free(&key);
  return out;
}

std::string TestCa::write_temp_file(const std::string& text, const std::string& stem) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/edgeid-" + stem + "-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("test PKI: mkstemp failed");
  ::close(fd);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

}  // namespace edgeid::fakes
