#pragma once
/// @file
/// A fake Microsoft Graph + token service over real TLS (FakeHttpServer with a certificate for
/// "localhost" from a TestCa generated at construction). Serves one tenant:
///  - POST /{tenant}/oauth2/v2.0/token: client_credentials with client_secret, or a JWT client
///    assertion verified against the registered certificate (RS256/PS256 signature, aud, iss,
///    sub, exp, nbf); issues opaque bearer tokens it later checks.
///  - GET  /v1.0/deviceManagement/managedDevices: paged with opaque $skiptoken, @odata.count.
///  - POST /v1.0/$batch: GET managedDevices/{id}?$select=ethernetMacAddress inner requests.
///  - GET  /v1.0/devices/delta: paged full round ending in a deltaLink ($deltatoken), then the
///    changes (updates, "@removed") made since the token.
/// Faults are scripted (Fault); counters and the recorded requests let tests assert behaviour.
/// Thread safety: tenant edits and faults may be made between syncs (a mutex guards state).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fakes/fake_http_server.h"
#include "fakes/test_pki.h"

namespace edgeid::fakes {

/// An RSA key and a self-signed certificate for client-assertion tests.
struct RsaCredential {
  std::string cert_pem;
  std::string key_pem;
};
RsaCredential make_rsa_credential(const std::string& common_name = "edgeid test app");

/// Verifies a JWT client assertion; returns "" when valid, else the reason.
std::string verify_client_assertion(const std::string& jwt, const std::string& cert_pem,
                                    const std::string& audience, const std::string& client_id,
                                    long long now_unix);

enum class Fault {
  throttle_429,          ///< 429 with Retry-After (fault.retry_after, e.g. "0.25")
  unavailable_503,       ///< 503 without Retry-After
  truncated_body,        ///< half the body, then FIN without close_notify
  invalid_json,          ///< 200 with a broken JSON body
  drop_next_link,        ///< the page omits @odata.nextLink although more pages exist
  duplicate_ids,         ///< the next page repeats the previous page's last device
  unauthorized_401,      ///< all issued tokens expire: 401 until a new token is fetched
  delta_gone_410,        ///< a $deltatoken request answers 410 Gone
  sync_state_not_found,  ///< a $deltatoken request answers 400 syncStateNotFound
  foreign_next_link,     ///< the nextLink points to another host
  batch_item_429,        ///< inside a $batch, the first inner request answers 429
};

struct ScriptedFault {
  Fault fault;
  /// Matches request targets starting with it ("" = any Graph call). The token endpoint takes
  /// throttle_429 and unavailable_503 only when named: "/{tenant}/oauth2".
  std::string path_prefix;
  int times = 1;
  std::string retry_after;  ///< for throttle_429 / batch_item_429
};

class FakeGraph {
 public:
  FakeGraph();
  ~FakeGraph();
  FakeGraph(const FakeGraph&) = delete;
  FakeGraph& operator=(const FakeGraph&) = delete;

  std::string url() const;  ///< "https://localhost:PORT"
  const std::string& ca_pem() const noexcept { return ca_pem_; }

  // Tenant and app registration.
  std::string tenant = "contoso-tenant";
  std::string client_id = "11111111-2222-3333-4444-555555555555";
  std::string client_secret = "fake-client-secret-value";
  std::string certificate_pem;  ///< accepted for client assertions when set
  long long token_lifetime_s = 3599;
  std::size_t intune_page_size = 1000;
  std::size_t entra_page_size = 999;
  bool include_count = true;

  void add_intune(const std::string& id, std::string item_json, std::string ethernet_mac = "");
  void add_entra(const std::string& id, std::string item_json);
  /// Generated devices: Intune i has azureADDeviceId == Entra i's deviceId for i < min(n, m).
  void generate(std::size_t intune, std::size_t entra);
  void update_entra(const std::string& id, std::string item_json);
  void remove_entra(const std::string& id);
  static std::string intune_id(std::size_t i);
  static std::string entra_id(std::size_t i);
  static std::string device_id(std::size_t i);

  void add_fault(ScriptedFault f);

  int token_requests() const;
  int graph_requests() const;
  int batch_requests() const;
  int inner_batch_requests() const;
  std::vector<std::string> issued_tokens() const;
  std::vector<FakeRequest> requests() const { return server_->requests(); }

 private:
  FakeResponse handle(const FakeRequest& req);
  FakeResponse token(const FakeRequest& req);
  FakeResponse managed_devices(const FakeRequest& req);
  FakeResponse batch(const FakeRequest& req);
  FakeResponse delta(const FakeRequest& req);
  bool take_fault(Fault f, const std::string& target, std::string* retry_after = nullptr,
                  bool named_only = false);

  struct Entra {
    std::string json;
    std::uint64_t version = 0;
    bool removed = false;
  };

  std::string ca_pem_;
  std::unique_ptr<FakeHttpServer> server_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> intune_;  // id, json
  std::map<std::string, std::string> ethernet_;              // intune id -> mac
  std::vector<std::string> entra_order_;
  std::map<std::string, Entra> entra_;
  std::uint64_t version_ = 1;
  std::deque<ScriptedFault> faults_;
  std::set<std::string> valid_tokens_;
  std::vector<std::string> issued_;
  int token_requests_ = 0;
  int graph_requests_ = 0;
  int batch_requests_ = 0;
  int inner_batch_requests_ = 0;
};

}  // namespace edgeid::fakes
