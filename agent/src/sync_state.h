#pragma once
// cloud::SyncStateStore over store::Store: the Entra deltaLink and the last full sync times in
// the store's `meta` table, the Ethernet-MAC cache in its `cache` table ("emac/<intune id>").
//
// Writes are not committed one by one: they collect in memory (reads see them at once) and
// take_pending() moves them into the Batch of the merge round the sync fed, so the identities
// and the sync state that produced them become durable in one transaction — a crash can never
// persist a deltaLink without the changes it acknowledged.
//
// Lifetime: the Store must outlive this object. Thread safety: the agent's io thread only.
// Errors: a store read that fails is logged and reads as "nothing cached" (a full sync follows,
// which costs time but never correctness).

#include <map>
#include <optional>
#include <string>

#include "cloud/graph_client.h"
#include "platform/log.h"
#include "store/store.h"

namespace edgeid::agent {

class StoreSyncState final : public cloud::SyncStateStore {
 public:
  StoreSyncState(store::Store& store, const platform::Logger& log);

  std::string entra_delta_link() override;
  void set_entra_delta_link(const std::string& link) override;
  std::optional<platform::Timestamp> last_full_sync(const std::string& what) override;
  void set_last_full_sync(const std::string& what, platform::Timestamp at) override;
  std::optional<MacCacheEntry> ethernet_mac(const platform::Guid& intune_id) override;
  void put_ethernet_mac(const platform::Guid& intune_id, const MacCacheEntry& entry) override;

  /// Moves every write since the last call into @p batch (meta and cache entries).
  void take_pending(store::Batch& batch);
  std::size_t pending() const noexcept { return meta_.size() + cache_.size(); }

  /// The cache value codec ("<last sync unix seconds|-> <mac|->"), public for tests.
  static std::string encode(const MacCacheEntry& entry);
  static std::optional<MacCacheEntry> decode(std::string_view value);

 private:
  std::optional<std::string> read_meta(const std::string& key);

  store::Store& store_;
  platform::Logger log_;
  std::map<std::string, std::string> meta_;   ///< pending meta writes
  std::map<std::string, std::string> cache_;  ///< pending cache writes
};

/// Meta keys of the sync state.
inline constexpr std::string_view kMetaEntraDeltaLink = "entra_delta_link";
inline constexpr std::string_view kMetaLastFullSyncPrefix = "last_full_sync/";
inline constexpr std::string_view kCacheEthernetMacPrefix = "emac/";

}  // namespace edgeid::agent
