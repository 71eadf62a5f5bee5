// OAuth2 client credentials: cloud table, credential files, JWT client assertion (mbedTLS),
// token caching.

#include "cloud/oauth.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <sys/stat.h>
#include <utility>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "cloud/graph_error.h"
#include "jwt_util.h"
#include "platform/error.h"
#include "platform/files.h"

namespace edgeid::cloud {

std::optional<CloudKind> parse_cloud(std::string_view name) noexcept {
  if (name == "global") return CloudKind::global;
  if (name == "usgov") return CloudKind::usgov;
  if (name == "dod") return CloudKind::dod;
  if (name == "china") return CloudKind::china;
  if (name == "custom") return CloudKind::custom;
  return std::nullopt;
}

std::optional<CloudEndpoints> cloud_endpoints(CloudKind kind) {
  switch (kind) {
    case CloudKind::global:
      return CloudEndpoints{"https://login.microsoftonline.com", "https://graph.microsoft.com"};
    case CloudKind::usgov:
      return CloudEndpoints{"https://login.microsoftonline.us", "https://graph.microsoft.us"};
    case CloudKind::dod:
      return CloudEndpoints{"https://login.microsoftonline.us", "https://dod-graph.microsoft.us"};
    case CloudKind::china:
      return CloudEndpoints{"https://login.chinacloudapi.cn",
                            "https://microsoftgraph.chinacloudapi.cn"};
    case CloudKind::custom: break;
  }
  return std::nullopt;
}

std::error_code read_secret_file(const std::string& path, platform::Secret& out,
                                 std::string& detail) {
  // open first, then fstat the descriptor: the checks apply to the file actually read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    detail = path + ": " + std::generic_category().message(errno);
    return graph_errc::unreadable_file;
  }
  if (const auto ec = platform::check_secret_fd(fd, path, ::geteuid(), detail)) {
    ::close(fd);
    return ec == platform::errc::permission_denied ? graph_errc::insecure_secret_file
                                                   : graph_errc::unreadable_file;
  }
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      detail = path + ": " + std::generic_category().message(errno);
      ::close(fd);
      return graph_errc::unreadable_file;
    }
    if (n == 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  out = platform::Secret(std::move(text));
  return {};
}

// ---------------------------------------------------------------------------------------------
// JWT client assertion

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

namespace {

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
      out += esc;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// One DRBG per assertion: an assertion is made once per token (about hourly).
struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  bool seed() {
    static constexpr unsigned char kPers[] = "edgeid-jwt";
    return mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, kPers, sizeof kPers - 1) ==
           0;
  }
};

std::string random_guid(Rng& rng) {
  std::array<unsigned char, 16> b{};
  mbedtls_ctr_drbg_random(&rng.drbg, b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return text;
}

std::string mbedtls_text(int ret) {
  char buf[128];
  mbedtls_strerror(ret, buf, sizeof buf);
  return buf;
}

}  // namespace

std::error_code make_client_assertion(const ClientCertificate& cert, std::string_view client_id,
                                      std::string_view audience, platform::Timestamp now,
                                      platform::Secret& out, std::string& detail) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  struct Cleanup {
    mbedtls_x509_crt* c;
    mbedtls_pk_context* k;
    ~Cleanup() {
      mbedtls_x509_crt_free(c);
      mbedtls_pk_free(k);
    }
  } cleanup{&crt, &key};

  // mbedTLS wants PEM input NUL-terminated, with the terminator counted.
  int ret = mbedtls_x509_crt_parse(
      &crt, reinterpret_cast<const unsigned char*>(cert.certificate_pem.c_str()),
      cert.certificate_pem.size() + 1);
  if (ret != 0) {
    detail = "certificate: " + mbedtls_text(ret);
    return graph_errc::bad_credentials;
  }
  const std::string& key_pem = cert.key_pem.reveal();
  ret = mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(key_pem.c_str()),
                             key_pem.size() + 1, nullptr, 0);
  if (ret != 0) {
    detail = "private key: " + mbedtls_text(ret);
    return graph_errc::bad_credentials;
  }
  if (mbedtls_pk_get_type(&key) != MBEDTLS_PK_RSA) {
    detail = "private key: RS256/PS256 need an RSA key";
    return graph_errc::bad_credentials;
  }
  if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
    detail = "private key does not match the certificate";
    return graph_errc::bad_credentials;
  }
  Rng rng;
  if (!rng.seed()) {
    detail = "random generator could not be seeded";
    return graph_errc::bad_credentials;
  }

  const bool pss = cert.algorithm == AssertionAlgorithm::ps256_x5t_s256;
  std::string thumb;
  if (pss) {
    std::array<unsigned char, 32> h{};
    mbedtls_sha256_ret(crt.raw.p, crt.raw.len, h.data(), 0);
    thumb.assign(reinterpret_cast<const char*>(h.data()), h.size());
  } else {
    std::array<unsigned char, 20> h{};
    mbedtls_sha1_ret(crt.raw.p, crt.raw.len, h.data());
    thumb.assign(reinterpret_cast<const char*>(h.data()), h.size());
  }
  const std::string header = std::string("{\"alg\":\"") + (pss ? "PS256" : "RS256") +
                             "\",\"typ\":\"JWT\",\"" + (pss ? "x5t#S256" : "x5t") + "\":\"" +
                             base64url(thumb) + "\"}";
  const std::int64_t t = now.unix_seconds();
  const std::string claims =
      "{\"aud\":" + json_quote(audience) + ",\"iss\":" + json_quote(client_id) +
      ",\"sub\":" + json_quote(client_id) + ",\"jti\":" + json_quote(random_guid(rng)) +
      ",\"nbf\":" + std::to_string(t) + ",\"iat\":" + std::to_string(t) +
      ",\"exp\":" + std::to_string(t + 600) + "}";
  const std::string signing_input = base64url(header) + "." + base64url(claims);

  std::array<unsigned char, 32> hash{};
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size(), hash.data(), 0);
  std::array<unsigned char, MBEDTLS_MPI_MAX_SIZE> sig{};
  std::size_t sig_len = 0;
  mbedtls_rsa_context* rsa = mbedtls_pk_rsa(key);
  if (pss) {
    // RFC 7518 §3.5: PS256 = RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32.
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
    ret = mbedtls_rsa_rsassa_pss_sign_ext(rsa, mbedtls_ctr_drbg_random, &rng.drbg,
                                          MBEDTLS_MD_SHA256, 32, hash.data(), 32, sig.data());
    sig_len = mbedtls_rsa_get_len(rsa);
  } else {
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    ret = mbedtls_pk_sign(&key, MBEDTLS_MD_SHA256, hash.data(), hash.size(), sig.data(), &sig_len,
                          mbedtls_ctr_drbg_random, &rng.drbg);
  }
  if (ret != 0) {
    detail = "signing the client assertion: " + mbedtls_text(ret);
    return graph_errc::bad_credentials;
  }
  out = platform::Secret(
      signing_input + "." +
      base64url(std::string_view(reinterpret_cast<const char*>(sig.data()), sig_len)));
  return {};
}

// ---------------------------------------------------------------------------------------------
// TokenProvider

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

TokenProvider::TokenProvider(HttpClient& http, const platform::Clock& clock,
                             const platform::Logger& log, OAuthOptions options)
    : http_(http), clock_(clock), log_(log), options_(std::move(options)) {
  token_url_ = options_.authority_url + "/" + options_.tenant + "/oauth2/v2.0/token";
}

void TokenProvider::invalidate() noexcept {
  valid_ = false;
}

void TokenProvider::async_ensure(Callback done) {
  if (valid_ && clock_.monotonic() < refresh_at_) {
    done({}, {});
    return;
  }
  waiters_.push_back(std::move(done));
  if (!in_flight_) fetch();
}

void TokenProvider::fetch() {
  in_flight_ = true;
  valid_ = false;
  retry_after_.reset();
  auto url = Url::parse(token_url_);
  if (!url) {
    finish(graph_errc::token_error, "invalid token endpoint URL " + token_url_);
    return;
  }
  // The body holds the secret or the assertion: it lives in a Secret until the request takes it.
  std::string body = "grant_type=client_credentials&client_id=" + form_encode(options_.client_id) +
                     "&scope=" + form_encode(options_.graph_url + "/.default");
  if (options_.certificate) {
    platform::Secret assertion;
    std::string detail;
    if (auto ec = make_client_assertion(*options_.certificate, options_.client_id, token_url_,
                                        clock_.now(), assertion, detail)) {
      finish(ec, detail);
      return;
    }
    body +=
        "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        "&client_assertion=" +
        form_encode(assertion.reveal());
  } else {
    body += "&client_secret=" + form_encode(options_.client_secret.reveal());
  }
  HttpRequest req;
  req.method = "POST";
  req.url = *url;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"Accept", "application/json"});
  req.body = std::move(body);
  ++requests_;
  const auto started = clock_.monotonic();
  log_.debug("oauth.token_request", platform::kv("tenant", options_.tenant),
             platform::kv("client_id", options_.client_id));
  http_.async_request(std::move(req), [this, started](std::error_code ec, const HttpResponse& res) {
    if (ec) {
      finish(ec, "token endpoint: " + ec.message());
      return;
    }
    if (res.status != 200) {
      std::string detail = "token endpoint HTTP " + std::to_string(res.status);
      if (auto err = parse_token_error(res.body)) detail += ": " + err->summary();
      // Throttling and server errors pass (the caller retries with backoff); anything else is
      // a refusal that retrying would only repeat (bad secret, unknown tenant or client).
      const bool transient = res.status == 429 || (res.status >= 500 && res.status <= 599);
      if (transient) {
        if (auto value = res.header("Retry-After")) {
          const double now = std::chrono::duration<double>(clock_.now().since_epoch()).count();
          retry_after_ = parse_retry_after(*value, now);
        }
      }
      finish(transient ? graph_errc::token_unavailable : graph_errc::token_error, detail);
      return;
    }
    auto parsed = parse_token_response(res.body);
    if (!parsed || (!parsed->token_type.empty() && parsed->token_type != "Bearer" &&
                    parsed->token_type != "bearer")) {
      finish(graph_errc::token_error, "token endpoint: unexpected token response");
      return;
    }
    const auto lifetime =
        parsed->expires_in.count() > 0 ? parsed->expires_in : std::chrono::seconds(3599);
    // Refresh margin: at most half the lifetime, so a short-lived token is still used.
    const auto margin = std::min<std::chrono::seconds>(options_.refresh_margin, lifetime / 2);
    token_ = platform::Secret(std::move(parsed->access_token));
    refresh_at_ = started + lifetime - margin;
    valid_ = true;
    log_.info("oauth.token", platform::kv("expires_in_s", lifetime.count()));
    finish({}, {});
  });
}

void TokenProvider::finish(std::error_code ec, const std::string& detail) {
  in_flight_ = false;
  if (ec) log_.warning("oauth.token_failed", platform::kv("error", detail));
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) w(ec, detail);
}

}  // namespace edgeid::cloud
