#pragma once
/// @file
/// The store adapter of the merged inventory: loading the merge state from store::Store, applying
/// a round's Batch, and reading the inventory back as §10 records (for `edgeid inventory`).
///
/// Ownership: functions borrow the Store for the duration of the call.
/// Thread safety: like store::Store (one thread at a time per Store object).
/// Errors: std::error_code from the store, with a detail line naming what failed.

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "agent/merge.h"
#include "store/store.h"

namespace edgeid::agent {

/// Meta keys the agent writes.
inline constexpr std::string_view kMetaSensorId = "sensor_id";
inline constexpr std::string_view kMetaLastIdentitySync = "last_identity_sync";
inline constexpr std::string_view kMetaIdentitySource = "identity_source";

/// Store options for @p data_dir; read_only for readers beside a running agent.
store::StoreOptions store_options(const std::filesystem::path& data_dir, bool read_only,
                                  std::size_t max_map_bytes = std::size_t{4} << 30);

/// The first outbox sequence number of a new store created at @p now: its creation time in
/// microseconds. A store wiped and created again starts above every number the old one issued
/// (unless it issued more than a million a second), so collectors' idempotency keys and
/// ClickHouse's ReplacingMergeTree(seq) stay right. Fits a JSON number exactly until 2255.
std::uint64_t first_outbox_seq(platform::Timestamp now);

/// Everything persisted that a merge round starts from.
std::error_code load_merge_state(store::Store& store, MergeState& out, std::string& detail);

/// One record of the merged inventory, as read back.
struct InventoryRecord {
  RecordState state = RecordState::none;
  std::optional<store::DeviceRecord> device;      ///< a MAC's record (absent for identity_only)
  std::optional<store::IdentityRecord> identity;  ///< its identity, if any
  std::uint64_t version = 0;
  std::string json;  ///< the §10 object, one line
};

/// The inventory: records of MACs sorted by MAC, then identity_only records sorted by Intune id.
std::error_code read_inventory(store::Store& store, std::vector<InventoryRecord>& out,
                               std::string& detail);

}  // namespace edgeid::agent
