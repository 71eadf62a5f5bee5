#include "sync_state.h"

#include <charconv>

namespace edgeid::agent {

StoreSyncState::StoreSyncState(store::Store& store, const platform::Logger& log)
    : store_(store), log_(log) {}

std::optional<std::string> StoreSyncState::read_meta(const std::string& key) {
  if (const auto p = meta_.find(key); p != meta_.end()) return p->second;
  std::error_code ec;
  auto value = store_.meta(key, ec);
  if (ec) {
    log_.warning("state.unreadable", platform::kv("key", key), platform::kv("error", ec.message()));
    return std::nullopt;
  }
  return value;
}

std::string StoreSyncState::entra_delta_link() {
  return read_meta(std::string(kMetaEntraDeltaLink)).value_or("");
}

void StoreSyncState::set_entra_delta_link(const std::string& link) {
  // An empty value deletes the key when the batch commits (store::Batch::meta).
  meta_[std::string(kMetaEntraDeltaLink)] = link;
}

std::optional<platform::Timestamp> StoreSyncState::last_full_sync(const std::string& what) {
  const auto text = read_meta(std::string(kMetaLastFullSyncPrefix) + what);
  if (!text || text->empty()) return std::nullopt;
  return platform::Timestamp::parse_rfc3339(*text);
}

void StoreSyncState::set_last_full_sync(const std::string& what, platform::Timestamp at) {
  meta_[std::string(kMetaLastFullSyncPrefix) + what] = at.to_rfc3339();
}

std::optional<cloud::SyncStateStore::MacCacheEntry> StoreSyncState::ethernet_mac(
    const platform::Guid& intune_id) {
  const std::string key = std::string(kCacheEthernetMacPrefix) + intune_id.to_string();
  if (const auto p = cache_.find(key); p != cache_.end()) return decode(p->second);
  std::error_code ec;
  const auto value = store_.cache(key, ec);
  if (ec) {
    log_.warning("state.unreadable", platform::kv("key", key), platform::kv("error", ec.message()));
    return std::nullopt;
  }
  if (!value) return std::nullopt;
  auto entry = decode(*value);
  if (!entry) log_.warning("state.corrupt_mac_cache_entry", platform::kv("key", key));
  return entry;
}

void StoreSyncState::put_ethernet_mac(const platform::Guid& intune_id, const MacCacheEntry& entry) {
  cache_[std::string(kCacheEthernetMacPrefix) + intune_id.to_string()] = encode(entry);
}

void StoreSyncState::take_pending(store::Batch& batch) {
  for (auto& [k, v] : meta_) batch.meta.emplace_back(k, std::move(v));
  for (auto& [k, v] : cache_) batch.cache.emplace_back(k, std::move(v));
  meta_.clear();
  cache_.clear();
}

std::string StoreSyncState::encode(const MacCacheEntry& entry) {
  std::string out = entry.last_sync ? std::to_string(entry.last_sync->unix_seconds()) : "-";
  out += ' ';
  out += entry.ethernet ? entry.ethernet->to_string() : "-";
  return out;
}

std::optional<cloud::SyncStateStore::MacCacheEntry> StoreSyncState::decode(std::string_view value) {
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  MacCacheEntry out;
  const auto time = value.substr(0, space);
  const auto mac = value.substr(space + 1);
  if (time != "-") {
    std::int64_t seconds = 0;
    const auto r = std::from_chars(time.data(), time.data() + time.size(), seconds);
    if (r.ec != std::errc() || r.ptr != time.data() + time.size()) return std::nullopt;
    out.last_sync = platform::Timestamp::from_unix_seconds(seconds);
  }
  if (mac != "-") {
    out.ethernet = platform::MacAddress::parse(mac);
    if (!out.ethernet) return std::nullopt;
  }
  return out;
}

}  // namespace edgeid::agent
