// The fake Graph + token service. JSON is written by hand and read by string search: the fake
// must not share the client's JSON code, and the shapes it reads are the client's own.

#include "fakes/fake_graph.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

namespace edgeid::fakes {

namespace {

void check(int ret, const char* what) {
  if (ret != 0) throw std::runtime_error(std::string("fake graph: ") + what + " failed");
}

std::string b64url_decode(const std::string& in) {
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
    if (v < 0) return {};
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// "key":"value" or "key":number in a flat JSON object written by the client.
std::string json_field(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  auto p = json.find(k);
  if (p == std::string::npos) return {};
  p += k.size();
  if (p < json.size() && json[p] == '"') {
    const auto e = json.find('"', p + 1);
    return json.substr(p + 1, e - p - 1);
  }
  const auto e = json.find_first_of(",}", p);
  return json.substr(p, e - p);
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    const std::string pair = body.substr(pos, amp - pos);
    const auto eq = pair.find('=');
    if (eq != std::string::npos) {
      out[url_decode(pair.substr(0, eq))] = url_decode(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return out;
}

std::string query_param(const std::string& target, const std::string& name) {
  auto p = target.find(name + "=");
  if (p == std::string::npos) return {};
  p += name.size() + 1;
  const auto e = target.find('&', p);
  return target.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

// Opaque-looking tokens: the offset, scrambled and hex-encoded.
std::string encode_token(std::uint64_t v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "Rv%016llxQ",
                static_cast<unsigned long long>(v ^ 0x5eedf00dcafe1234ULL));
  return buf;
}
std::uint64_t decode_token(const std::string& t) {
  if (t.size() < 18) return 0;
  return std::stoull(t.substr(2, 16), nullptr, 16) ^ 0x5eedf00dcafe1234ULL;
}

FakeResponse json_response(int status, std::string body) {
  FakeResponse r;
  r.status = status;
  r.reason = status == 200 ? "OK" : "Error";
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

FakeResponse graph_error(int status, const std::string& code, const std::string& message) {
  return json_response(status, "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message +
                                   "\",\"innerError\":{\"date\":\"2026-11-23T19:00:00\","
                                   "\"request-id\":\"fake-request\"}}}");
}

std::string make_guid(unsigned prefix, std::size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", prefix,
                static_cast<unsigned long long>(i & 0xffffffffffffULL));
  return buf;
}

}  // namespace

RsaCredential make_rsa_credential(const std::string& common_name) {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context key;
  mbedtls_x509write_cert crt;
  mbedtls_mpi sn;
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_pk_init(&key);
  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&sn);
  RsaCredential out;
  std::array<unsigned char, 8192> buf{};
  try {
    check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0), "seed");
    check(mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), "pk_setup");
    check(mbedtls_rsa_gen_key(mbedtls_pk_rsa(key), mbedtls_ctr_drbg_random, &drbg, 2048, 65537),
          "rsa_gen_key");
    check(mbedtls_pk_write_key_pem(&key, buf.data(), buf.size()), "write key");
    out.key_pem = reinterpret_cast<const char*>(buf.data());
    const std::string name = "CN=" + common_name + ",O=edgeid tests";
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    check(mbedtls_mpi_lset(&sn, 7), "serial");
    check(mbedtls_x509write_crt_set_serial(&crt, &sn), "set serial");
    check(mbedtls_x509write_crt_set_subject_name(&crt, name.c_str()), "subject");
    check(mbedtls_x509write_crt_set_issuer_name(&crt, name.c_str()), "issuer");
    check(mbedtls_x509write_crt_set_validity(&crt, "20200101000000", "20991231235959"), "validity");
    buf.fill(0);
    check(mbedtls_x509write_crt_pem(&crt, buf.data(), buf.size(), mbedtls_ctr_drbg_random, &drbg),
          "write certificate");
    out.cert_pem = reinterpret_cast<const char*>(buf.data());
  } catch (...) {
    mbedtls_mpi_free(&sn);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    throw;
  }
  mbedtls_mpi_free(&sn);
  mbedtls_x509write_crt_free(&crt);
  mbedtls_pk_free(&key);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return out;
}

std::string verify_client_assertion(const std::string& jwt, const std::string& cert_pem,
                                    const std::string& audience, const std::string& client_id,
                                    long long now_unix) {
  const auto d1 = jwt.find('.');
  const auto d2 = jwt.find('.', d1 + 1);
  if (d1 == std::string::npos || d2 == std::string::npos) return "not a JWS compact token";
  const std::string header = b64url_decode(jwt.substr(0, d1));
  const std::string claims = b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1));
  const std::string sig = b64url_decode(jwt.substr(d2 + 1));
  const std::string alg = json_field(header, "alg");
  if (json_field(header, "typ") != "JWT") return "typ is not JWT";
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  std::string why;
  if (mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(cert_pem.c_str()),
                             cert_pem.size() + 1) != 0) {
    mbedtls_x509_crt_free(&crt);
    return "bad registered certificate";
  }
  std::array<unsigned char, 32> hash{};
  const std::string input = jwt.substr(0, d2);
  mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     hash.data(), 0);
  std::array<unsigned char, 32> thumb256{};
  mbedtls_sha256_ret(crt.raw.p, crt.raw.len, thumb256.data(), 0);
  mbedtls_rsa_context* rsa = mbedtls_pk_rsa(crt.pk);
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  if (alg == "RS256") {
    if (json_field(header, "x5t").empty()) why = "x5t missing";
    if (why.empty() &&
        mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash.data(), 32, s, sig.size()) != 0) {
      why = "RS256 signature invalid";
    }
  } else if (alg == "PS256") {
    const std::string x5t = b64url_decode(json_field(header, "x5t#S256"));
    if (x5t != std::string(reinterpret_cast<const char*>(thumb256.data()), 32)) {
      why = "x5t#S256 does not match the certificate";
    }
    if (why.empty() && (sig.size() != mbedtls_rsa_get_len(rsa) ||
                        mbedtls_rsa_rsassa_pss_verify_ext(rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC,
                                                          MBEDTLS_MD_SHA256, 32, hash.data(),
                                                          MBEDTLS_MD_SHA256, 32, s) != 0)) {
      why = "PS256 signature invalid";
    }
  } else {
    why = "unsupported alg " + alg;
  }
  mbedtls_x509_crt_free(&crt);
  if (!why.empty()) return why;
  if (json_field(claims, "aud") != audience) return "aud mismatch";
  if (json_field(claims, "iss") != client_id) return "iss mismatch";
  if (json_field(claims, "sub") != client_id) return "sub mismatch";
  if (json_field(claims, "jti").size() != 36) return "jti missing";
  const long long exp = std::stoll("0" + json_field(claims, "exp"));
  const long long nbf = std::stoll("0" + json_field(claims, "nbf"));
  if (exp <= now_unix - 300 || nbf > now_unix + 300 || exp - nbf > 3600) return "time claims";
  return {};
}

FakeGraph::FakeGraph() {
  TestCa ca;
  ca_pem_ = ca.cert_pem();
  const Credential leaf = ca.issue();
  FakeServerOptions options;
  options.cert_pem = leaf.cert_pem;
  options.key_pem = leaf.key_pem;
  options.handler = [this](const FakeRequest& req) { return handle(req); };
  server_ = std::make_unique<FakeHttpServer>(std::move(options));
}

FakeGraph::~FakeGraph() {
  server_.reset();  // joins the server threads before the tenant goes away
}

std::string FakeGraph::url() const {
  std::string u = server_->url("/");
  u.pop_back();
  return u;
}

std::string FakeGraph::intune_id(std::size_t i) {
  return make_guid(0x1a7e0000, i);
}
std::string FakeGraph::device_id(std::size_t i) {
  return make_guid(0xde71ce00, i);
}
std::string FakeGraph::entra_id(std::size_t i) {
  return make_guid(0xe7a00000, i);
}

void FakeGraph::add_intune(const std::string& id, std::string item_json, std::string mac) {
  std::lock_guard lock(mutex_);
  intune_.emplace_back(id, std::move(item_json));
  if (!mac.empty()) ethernet_[id] = std::move(mac);
}

void FakeGraph::add_entra(const std::string& id, std::string item_json) {
  std::lock_guard lock(mutex_);
  entra_order_.push_back(id);
  entra_[id] = Entra{std::move(item_json), version_++, false};
}

void FakeGraph::update_entra(const std::string& id, std::string item_json) {
  std::lock_guard lock(mutex_);
  if (!entra_.count(id)) entra_order_.push_back(id);
  entra_[id] = Entra{std::move(item_json), version_++, false};
}

void FakeGraph::remove_entra(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto& e = entra_[id];
  e.removed = true;
  e.version = version_++;
}

void FakeGraph::generate(std::size_t intune, std::size_t entra) {
  char buf[2048];
  for (std::size_t i = 0; i < intune; ++i) {
    std::snprintf(
        buf, sizeof buf,
        "{\"id\":\"%s\",\"deviceName\":\"DEV-%06zu\",\"operatingSystem\":\"Windows\","
        "\"osVersion\":\"10.0.19045.2965\",\"deviceEnrollmentType\":\"windowsAzureADJoin\","
        "\"userPrincipalName\":\"user%zu@contoso.example\",\"emailAddress\":"
        "\"user%zu@contoso.example\",\"model\":\"Surface Laptop 5\",\"manufacturer\":"
        "\"Microsoft Corporation\",\"serialNumber\":\"SN%08zu\",\"complianceState\":\"compliant\","
        "\"managementAgent\":\"mdm\",\"managedDeviceOwnerType\":\"company\",\"wiFiMacAddress\":"
        "\"3C22FB%06zX\",\"ethernetMacAddress\":null,\"azureADDeviceId\":\"%s\","
        "\"lastSyncDateTime\":\"2026-11-23T19:00:00Z\"}",
        intune_id(i).c_str(), i, i, i, i, i & 0xffffff, device_id(i).c_str());
    char mac[32];
    std::snprintf(mac, sizeof mac, "0a1b2c%06zx", i & 0xffffff);
    add_intune(intune_id(i), buf, mac);
  }
  for (std::size_t i = 0; i < entra; ++i) {
    std::snprintf(buf, sizeof buf,
                  "{\"id\":\"%s\",\"deviceId\":\"%s\",\"displayName\":\"DEV-%06zu\","
                  "\"operatingSystem\":\"Windows\",\"operatingSystemVersion\":\"10.0.19045.2965\","
                  "\"trustType\":\"AzureAd\",\"accountEnabled\":true,\"isCompliant\":true,"
                  "\"isManaged\":true,\"approximateLastSignInDateTime\":\"2026-11-23T18:00:00Z\"}",
                  entra_id(i).c_str(), device_id(i).c_str(), i);
    add_entra(entra_id(i), buf);
  }
}

void FakeGraph::add_fault(ScriptedFault f) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(f));
}

bool FakeGraph::take_fault(Fault f, const std::string& target, std::string* retry_after,
                           bool named_only) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->fault != f || target.rfind(it->path_prefix, 0) != 0) continue;
    if (named_only && it->path_prefix.empty()) continue;
    if (retry_after != nullptr) *retry_after = it->retry_after;
    if (--it->times <= 0) faults_.erase(it);
    return true;
  }
  return false;
}

int FakeGraph::token_requests() const {
  std::lock_guard lock(mutex_);
  return token_requests_;
}
int FakeGraph::graph_requests() const {
  std::lock_guard lock(mutex_);
  return graph_requests_;
}
int FakeGraph::batch_requests() const {
  std::lock_guard lock(mutex_);
  return batch_requests_;
}
int FakeGraph::inner_batch_requests() const {
  std::lock_guard lock(mutex_);
  return inner_batch_requests_;
}
std::vector<std::string> FakeGraph::issued_tokens() const {
  std::lock_guard lock(mutex_);
  return issued_;
}

FakeResponse FakeGraph::handle(const FakeRequest& req) {
  std::lock_guard lock(mutex_);
  if (req.method == "POST" && req.target == "/" + tenant + "/oauth2/v2.0/token") {
    return token(req);
  }
  if (req.target.rfind("/v1.0/", 0) != 0) return graph_error(404, "ResourceNotFound", "no route");
  ++graph_requests_;
  std::string retry_after;
  if (take_fault(Fault::unauthorized_401, req.target)) valid_tokens_.clear();
  const auto auth = req.header("Authorization").value_or("");
  if (auth.rfind("Bearer ", 0) != 0 || valid_tokens_.count(auth.substr(7)) == 0) {
    return graph_error(401, "InvalidAuthenticationToken",
                       "Access token has expired or is not yet valid.");
  }
  if (take_fault(Fault::throttle_429, req.target, &retry_after)) {
    FakeResponse r = graph_error(429, "TooManyRequests", "Please retry again later.");
    if (!retry_after.empty()) r.headers.push_back({"Retry-After", retry_after});
    return r;
  }
  if (take_fault(Fault::unavailable_503, req.target)) {
    return graph_error(503, "serviceNotAvailable", "The service is temporarily unavailable.");
  }
  if (take_fault(Fault::invalid_json, req.target)) {
    return json_response(200, "{\"value\":[{\"id\":\"broken");
  }
  FakeResponse r;
  if (req.method == "POST" && req.target == "/v1.0/$batch") {
    r = batch(req);
  } else if (req.target.rfind("/v1.0/deviceManagement/managedDevices", 0) == 0) {
    r = managed_devices(req);
  } else if (req.target.rfind("/v1.0/devices/delta", 0) == 0) {
    r = delta(req);
  } else {
    r = graph_error(404, "ResourceNotFound", "no route");
  }
  if (take_fault(Fault::truncated_body, req.target)) r.fault = ResponseFault::close_mid_body;
  return r;
}

FakeResponse FakeGraph::token(const FakeRequest& req) {
  ++token_requests_;
  // The identity platform's answer when it is overloaded or down: an OAuth error body with a
  // 429 (and Retry-After) or a 5xx status.
  std::string retry_after;
  if (take_fault(Fault::throttle_429, req.target, &retry_after, true)) {
    FakeResponse r = json_response(
        429,
        "{\"error\":\"temporarily_unavailable\",\"error_description\":\"Too many requests.\"}");
    if (!retry_after.empty()) r.headers.push_back({"Retry-After", retry_after});
    return r;
  }
  if (take_fault(Fault::unavailable_503, req.target, nullptr, true)) {
    return json_response(503,
                         "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                         "\"The service is temporarily unavailable.\"}");
  }
  auto form = parse_form(req.body);
  const auto invalid = [](const std::string& error, int code, const std::string& text) {
    return json_response(400, "{\"error\":\"" + error + "\",\"error_description\":\"AADSTS" +
                                  std::to_string(code) + ": " + text +
                                  "\\r\\nTrace ID: fake\",\"error_codes\":[" +
                                  std::to_string(code) + "]}");
  };
  if (form["grant_type"] != "client_credentials") {
    return invalid("unsupported_grant_type", 70003, "grant_type must be client_credentials.");
  }
  if (form["client_id"] != client_id) {
    return invalid("unauthorized_client", 700016, "Application not found in the directory.");
  }
  if (form["scope"] != url() + "/.default") {
    return invalid("invalid_scope", 70011,
                   "The provided value for the input parameter 'scope' is not valid.");
  }
  if (form.count("client_assertion") != 0) {
    if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return invalid("invalid_request", 900144, "client_assertion_type is wrong.");
    }
    const std::string why = verify_client_assertion(
        form["client_assertion"], certificate_pem, url() + "/" + tenant + "/oauth2/v2.0/token",
        client_id, static_cast<long long>(std::time(nullptr)));
    if (!why.empty()) return invalid("invalid_client", 700027, "Client assertion failed: " + why);
  } else if (form["client_secret"] != client_secret) {
    return invalid("invalid_client", 7000215, "Invalid client secret provided.");
  }
  const std::string tok = "fake-access-token-" + std::to_string(token_requests_) + "-" +
                          std::to_string(static_cast<long long>(std::time(nullptr)) % 100000);
  valid_tokens_.insert(tok);
  issued_.push_back(tok);
  return json_response(
      200, "{\"token_type\":\"Bearer\",\"expires_in\":" + std::to_string(token_lifetime_s) +
               ",\"ext_expires_in\":" + std::to_string(token_lifetime_s) + ",\"access_token\":\"" +
               tok + "\"}");
}

FakeResponse FakeGraph::managed_devices(const FakeRequest& req) {
  const std::string skip = query_param(req.target, "$skiptoken");
  std::size_t offset = skip.empty() ? 0 : static_cast<std::size_t>(decode_token(skip));
  const std::size_t end = std::min(intune_.size(), offset + intune_page_size);
  if (offset > 0 && take_fault(Fault::duplicate_ids, req.target)) --offset;
  std::string body =
      "{\"@odata.context\":\"" + url() + "/v1.0/$metadata#deviceManagement/managedDevices\"";
  if (include_count && skip.empty()) body += ",\"@odata.count\":" + std::to_string(intune_.size());
  if (end < intune_.size() && !take_fault(Fault::drop_next_link, req.target)) {
    std::string base = req.target.substr(0, req.target.find("&$skiptoken"));
    const std::string host =
        take_fault(Fault::foreign_next_link, req.target) ? "https://graph.evil.example" : url();
    body += ",\"@odata.nextLink\":\"" + host + base + "&$skiptoken=" + encode_token(end) + "\"";
  }
  body += ",\"value\":[";
  for (std::size_t i = offset; i < end; ++i) {
    if (i != offset) body += ',';
    body += intune_[i].second;
  }
  body += "]}";
  return json_response(200, std::move(body));
}

FakeResponse FakeGraph::batch(const FakeRequest& req) {
  ++batch_requests_;
  std::string out = "{\"responses\":[";
  std::size_t pos = 0;
  bool first = true;
  int n = 0;
  while ((pos = req.body.find("{\"id\":\"", pos)) != std::string::npos) {
    const auto obj_end = req.body.find('}', pos);
    const std::string obj = req.body.substr(pos, obj_end - pos + 1);
    pos = obj_end;
    const std::string id = json_field(obj, "id");
    const std::string u = json_field(obj, "url");
    ++inner_batch_requests_;
    if (++n > 20) return graph_error(400, "BadRequest", "more than 20 requests in a batch");
    if (!first) out += ',';
    first = false;
    std::string retry_after;
    const std::string prefix = "/deviceManagement/managedDevices/";
    if (take_fault(Fault::batch_item_429, "/v1.0/$batch", &retry_after)) {
      out += "{\"id\":\"";
      out += id;
      out += "\",\"status\":429,\"headers\":{\"Retry-After\":\"";
      out += retry_after;
      out +=
          "\"},\"body\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":"
          "\"Too many requests\"}}}";
      continue;
    }
    if (u.rfind(prefix, 0) != 0 || u.find("?$select=ethernetMacAddress") == std::string::npos) {
      out +=
          "{\"id\":\"" + id + "\",\"status\":400,\"body\":{\"error\":{\"code\":\"BadRequest\"}}}";
      continue;
    }
    const std::string device = u.substr(prefix.size(), 36);
    const bool known = std::any_of(intune_.begin(), intune_.end(),
                                   [&](const auto& d) { return d.first == device; });
    if (!known) {
      out += "{\"id\":\"" + id +
             "\",\"status\":404,\"body\":{\"error\":{\"code\":\"ResourceNotFound\"}}}";
      continue;
    }
    auto mac = ethernet_.find(device);
    out += "{\"id\":\"" + id +
           "\",\"status\":200,\"headers\":{\"Content-Type\":\"application/json\"},\"body\":{"
           "\"@odata.context\":\"x\",\"ethernetMacAddress\":" +
           (mac == ethernet_.end() ? std::string("null") : "\"" + mac->second + "\"") + "}}";
  }
  out += "]}";
  return json_response(200, std::move(out));
}

FakeResponse FakeGraph::delta(const FakeRequest& req) {
  const std::string token = query_param(req.target, "$deltatoken");
  if (!token.empty()) {
    if (take_fault(Fault::delta_gone_410, req.target)) {
      FakeResponse r = graph_error(410, "resyncRequired", "The delta token is no longer valid.");
      r.headers.push_back({"Location", url() + "/v1.0/devices/delta?$deltatoken="});
      return r;
    }
    if (take_fault(Fault::sync_state_not_found, req.target)) {
      return graph_error(400, "syncStateNotFound", "The sync state generation is not found.");
    }
    const std::uint64_t since = decode_token(token);
    std::string body = "{\"@odata.context\":\"" + url() + "/v1.0/$metadata#devices\",\"value\":[";
    bool first = true;
    for (const auto& id : entra_order_) {
      const Entra& e = entra_.at(id);
      if (e.version < since) continue;
      if (!first) body += ',';
      first = false;
      body += e.removed ? "{\"id\":\"" + id + "\",\"@removed\":{\"reason\":\"deleted\"}}" : e.json;
    }
    body += "],\"@odata.deltaLink\":\"" + url() +
            "/v1.0/devices/delta?$deltatoken=" + encode_token(version_) + "\"}";
    return json_response(200, std::move(body));
  }
  // A full round: the current devices, paged; the skiptoken carries the offset.
  const std::string skip = query_param(req.target, "$skiptoken");
  const std::size_t offset = skip.empty() ? 0 : static_cast<std::size_t>(decode_token(skip));
  std::vector<const std::string*> live;
  for (const auto& id : entra_order_) {
    if (!entra_.at(id).removed) live.push_back(&entra_.at(id).json);
  }
  const std::size_t end = std::min(live.size(), offset + entra_page_size);
  std::string body = "{\"@odata.context\":\"" + url() + "/v1.0/$metadata#devices\"";
  if (end < live.size()) {
    body += ",\"@odata.nextLink\":\"" + url() +
            "/v1.0/devices/delta?$skiptoken=" + encode_token(end) + "\"";
  } else {
    body += ",\"@odata.deltaLink\":\"" + url() +
            "/v1.0/devices/delta?$deltatoken=" + encode_token(version_) + "\"";
  }
  body += ",\"value\":[";
  for (std::size_t i = offset; i < end; ++i) {
    if (i != offset) body += ',';
    body += *live[i];
  }
  body += "]}";
  return json_response(200, std::move(body));
}

}  // namespace edgeid::fakes
