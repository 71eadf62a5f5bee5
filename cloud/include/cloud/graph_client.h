#pragma once
/// @file
/// The Microsoft Graph client of the identity side: Intune managed devices (full list, paged),
/// their Ethernet MACs (per-device GET with $select, 20 per JSON $batch, only for new or
/// changed devices), Entra devices (delta query), and the Intune↔Entra join.
///
/// Rules it keeps (graph-api.md): nextLink/deltaLink are followed verbatim but only to the
/// origin of graph_url — the bearer token is never sent anywhere else; ids repeated across
/// pages are dropped (and counted); @odata.count is compared with what arrived; 429/503/504
/// honour Retry-After (seconds, fractional, or an HTTP date; capped), otherwise exponential
/// backoff with jitter; a token endpoint that answers 429/5xx or cannot be reached delays the
/// request the same way (its Retry-After honoured; the token request counts as one of the
/// request's attempts), while one that refuses the credentials fails it at once; a 401
/// triggers one token refresh and one retry; requests stay under a
/// token-bucket budget (Intune allows 2000 requests / 20 s per app and tenant; the default
/// budget is half of it); a delta token that expired (410 Gone, syncStateNotFound,
/// resyncRequired) restarts the Entra round from scratch.
///
/// Time: every wait goes through the Scheduler and every time decision through the Clock, so
/// tests run retries and budgets without sleeping and assert the computed waits.
/// Persistence: through SyncStateStore (declared here; agent/ adapts store/ to it).
/// Thread safety: io_context thread only. Lifetime: every reference passed to the constructor
/// must outlive the client (destroying the client drops pending callbacks: Done is not called).
/// One sync at a time: an async_* call while one runs completes at once with graph_errc::cancelled.
/// Errors: the Done callback's SyncOutcome carries a std::error_code and a detail line naming
/// the Graph error code and message (never a token or secret).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "cloud/http_client.h"
#include "cloud/identity.h"
#include "cloud/oauth.h"
#include "platform/log.h"
#include "platform/time.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace edgeid::cloud {

/// Runs a callback after a delay. The production implementation is an Asio steady_timer; tests
/// record the delays and advance a ManualClock instead of sleeping.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  /// @p fn runs once, on the io_context thread, never inside this call.
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

/// Scheduler on an io_context's steady timers. @p scale multiplies every delay (1.0 in
/// production; tests may pass 0 to run waits at once). Lifetime: the io_context must outlive it;
/// pending callbacks still run (as cancelled no-ops are not needed: they hold no references to
/// the scheduler).
class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io, double scale = 1.0) noexcept
      : io_(io), scale_(scale) {}
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
  double scale_;
};

/// What the client needs persisted between runs.
/// Thread safety: called on the io_context thread only.
class SyncStateStore {
 public:
  virtual ~SyncStateStore() = default;
  /// The Entra devices deltaLink of the last complete round ("" = none).
  virtual std::string entra_delta_link() = 0;
  virtual void set_entra_delta_link(const std::string& link) = 0;
  /// Completion time of the last full sync of @p what ("intune", "entra").
  virtual std::optional<platform::Timestamp> last_full_sync(const std::string& what) = 0;
  virtual void set_last_full_sync(const std::string& what, platform::Timestamp at) = 0;

  struct MacCacheEntry {
    std::optional<platform::Timestamp> last_sync;  ///< lastSyncDateTime the lookup was for
    std::optional<platform::MacAddress> ethernet;  ///< nullopt: the device has none
  };
  /// Ethernet-MAC cache keyed by Intune id; valid while lastSyncDateTime is unchanged.
  virtual std::optional<MacCacheEntry> ethernet_mac(const platform::Guid& intune_id) = 0;
  virtual void put_ethernet_mac(const platform::Guid& intune_id, const MacCacheEntry& entry) = 0;
};

/// SyncStateStore in memory (tests, `edgeid identities`, and until agent/ wires store/).
class MemorySyncStateStore final : public SyncStateStore {
 public:
  std::string entra_delta_link() override { return delta_link_; }
  void set_entra_delta_link(const std::string& link) override { delta_link_ = link; }
  std::optional<platform::Timestamp> last_full_sync(const std::string& what) override;
  void set_last_full_sync(const std::string& what, platform::Timestamp at) override;
  std::optional<MacCacheEntry> ethernet_mac(const platform::Guid& intune_id) override;
  void put_ethernet_mac(const platform::Guid& intune_id, const MacCacheEntry& entry) override;
  std::size_t mac_cache_size() const noexcept { return macs_.size(); }

 private:
  std::string delta_link_;
  std::unordered_map<std::string, platform::Timestamp> full_syncs_;
  std::unordered_map<platform::Guid, MacCacheEntry> macs_;
};

struct RetryPolicy {
  int max_attempts = 6;                                ///< per request, the first one included
  std::chrono::milliseconds base_backoff{1000};        ///< wait before retry n: base·2^(n-1) …
  std::chrono::milliseconds max_backoff{60'000};       ///< … capped here
  std::chrono::milliseconds max_retry_after{180'000};  ///< cap on a server's Retry-After
  /// Jitter: the backoff is multiplied by a uniform factor in [1 - jitter, 1]. 0 in tests.
  double jitter = 0.5;
};

struct GraphOptions {
  std::string graph_url = "https://graph.microsoft.com";  ///< no trailing '/'
  std::string api_version = "v1.0";
  /// Request budget: at most budget_requests per budget_window (token bucket). Each inner
  /// request of a $batch counts.
  std::size_t budget_requests = 1000;
  std::chrono::milliseconds budget_window{20'000};
  RetryPolicy retry;
  bool enrich_ethernet = true;    ///< per-device $select=ethernetMacAddress lookups
  std::size_t batch_size = 20;    ///< JSON $batch limit is 20
  std::uint64_t jitter_seed = 0;  ///< 0: seeded from std::random_device
};

/// What a sync saw, for logs and `edgeid identities`.
struct SyncReport {
  std::size_t intune_devices = 0;
  std::size_t intune_pages = 0;
  std::size_t duplicates = 0;                   ///< ids repeated across pages (dropped)
  std::vector<std::string> duplicate_ids;       ///< the first few of them
  std::optional<std::uint64_t> expected_count;  ///< @odata.count of the first page
  bool intune_incomplete = false;               ///< fewer devices than @odata.count
  std::size_t ethernet_lookups = 0;             ///< per-device GETs sent (inside $batch)
  std::size_t ethernet_cached = 0;              ///< devices answered from the cache
  std::size_t ethernet_found = 0;
  std::size_t batch_item_failures = 0;  ///< inner responses given up on
  std::size_t entra_devices = 0;        ///< Entra devices held after the round
  std::size_t entra_changes = 0;
  std::size_t entra_removed = 0;
  bool entra_full_round = false;  ///< started without a deltaLink
  bool entra_resynced = false;    ///< the deltaLink had expired
  std::size_t requests = 0;       ///< HTTP requests to Graph (retries included)
  std::size_t retries = 0;
  std::vector<std::chrono::milliseconds> waits;  ///< every retry/budget wait, in order
  PageStats stats;
};

struct SyncOutcome {
  std::error_code ec;
  std::string detail;  ///< why it failed, with Graph's error code and message
  SyncReport report;
};

class GraphClient {
 public:
  using Done = std::function<void(SyncOutcome)>;

  GraphClient(HttpClient& http, TokenProvider& tokens, Scheduler& scheduler,
              const platform::Clock& clock, SyncStateStore& state, const platform::Logger& log,
              GraphOptions options);
  GraphClient(const GraphClient&) = delete;
  GraphClient& operator=(const GraphClient&) = delete;
  ~GraphClient();

  /// Lists all Intune managed devices and enriches their Ethernet MACs. On success the list
  /// replaces intune_devices(); on failure the previous list stays.
  void async_sync_intune(Done done);
  /// One Entra delta round (a full round without a usable deltaLink). The deltaLink is kept in
  /// the SyncStateStore; but it is only used when this client holds the device set it applies
  /// to (seeded by seed_entra() or by an earlier round), otherwise a full round is made.
  void async_sync_entra(Done done);
  /// Intune then Entra.
  void async_sync_all(Done done);

  const std::vector<Identity>& intune_devices() const noexcept;
  std::vector<Identity> entra_devices() const;
  /// Gives back the Entra device set the stored deltaLink applies to (agent restart).
  void seed_entra(std::vector<Identity> devices);
  /// join_identities(intune_devices(), entra_devices()).
  std::vector<Identity> identities() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Select lists the client sends (the fields Identity keeps).
extern const char* const kIntuneSelect;
extern const char* const kEntraSelect;

}  // namespace edgeid::cloud
