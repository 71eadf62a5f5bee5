#pragma once
/// @file
/// store::Store — the agent's on-box memory: devices, identities, the outbox and sync state in
/// one LMDB environment (DESIGN.md §4).
///
/// Databases: `devices` MAC(6) -> DeviceRecord · `intune` GUID(16) -> IdentityRecord ·
/// `mac_index` MAC(6) -> Intune GUIDs (dupsort) · `outbox` seq(be64) -> OutboxItem · `deadletter`
/// seq(be64) -> OutboxItem · `meta` name -> bytes (schema version, sensor id, deltaLink, sync
/// times, counters) · `strings` id(be32) -> interned text · `cache` name -> bytes (e.g.
/// Ethernet-MAC cache entries).
///
/// Writes: apply() takes a whole Batch and commits it in ONE write transaction, so a record and
/// the outbox items describing it become durable together or not at all. When LMDB reports the
/// map full, the transaction is aborted, the map grown (up to the configured maximum) and the
/// batch retried; past the maximum the batch fails with errc::map_full and nothing of it is
/// visible. A failing disk (ENOSPC, EIO) fails the batch the same way.
///
/// Outbox: items get increasing sequence numbers on append; peek() returns the oldest; ack()
/// deletes after the upstream confirmed. Over `outbox_max_items`, the store sheds, in order:
/// priority-0 items superseded by a newer item of the same entity, then the oldest priority-0
/// items; priority-1 items are never shed (the bound is then exceeded and counted). Every shed
/// item is counted in meta (outbox_shed_superseded, outbox_shed_oldest, outbox_over_bound).
///
/// Dead letters: items the upstream refused for good (a 4xx other than 408/429) are moved, with
/// their seq, to the `deadletter` table so that they stop blocking the items behind them;
/// deadletter_requeue() moves them all back to the outbox (same seq, so they go first). The
/// table holds at most `outbox_max_items`; past that the oldest dead letters are dropped and
/// counted (deadletter_dropped).
///
/// Thread safety: one Store per process, used from one thread at a time (the agent thread);
/// `edgeid inventory` may read the same environment from another process at any time.
/// Errors: std::error_code (store/error.h), never exceptions (except std::bad_alloc).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "platform/guid.h"
#include "platform/mac_address.h"
#include "platform/time.h"
#include "store/lmdb_env.h"
#include "store/records.h"

namespace edgeid::store {

inline constexpr std::uint32_t kSchemaVersion = 1;

struct StoreOptions {
  EnvironmentOptions environment;
  std::size_t outbox_max_items = 1'000'000;
  /// The first sequence number of a store that has never issued one. The agent starts a new
  /// store above every number an earlier store of the same sensor can have issued (see
  /// docs/UPSTREAM.md), so that a wiped store never repeats an idempotency key.
  std::uint64_t first_seq = 1;
  /// Called inside the opening write transaction when the database's schema version is older
  /// than kSchemaVersion; returns an error to refuse the open.
  std::function<std::error_code(std::uint32_t from_version, WriteTxn& txn)> migrate;
};

/// Everything one flush changes, committed atomically.
struct Batch {
  std::vector<DeviceRecord> devices;  ///< upserted
  std::vector<platform::MacAddress> removed_devices;
  std::vector<IdentityRecord> identities;  ///< upserted (also updates mac_index)
  std::vector<platform::Guid> removed_identities;
  std::vector<OutboxItem> outbox;                          ///< appended; seq assigned by the store
  std::vector<std::pair<std::string, std::string>> meta;   ///< set; empty value deletes
  std::vector<std::pair<std::string, std::string>> cache;  ///< set; empty value deletes

  bool empty() const noexcept {
    return devices.empty() && removed_devices.empty() && identities.empty() &&
           removed_identities.empty() && outbox.empty() && meta.empty() && cache.empty();
  }
};

struct BatchResult {
  std::uint64_t first_seq = 0;  ///< of the appended outbox items (0 when none)
  std::uint64_t last_seq = 0;
  std::size_t shed = 0;      ///< outbox items shed by this batch
  unsigned map_growths = 0;  ///< how often the map grew to fit this batch
};

struct StoreStats {
  std::uint64_t devices = 0;
  std::uint64_t identities = 0;
  std::uint64_t outbox_items = 0;
  std::optional<platform::Timestamp> outbox_oldest;
  std::uint64_t outbox_shed_superseded = 0;
  std::uint64_t outbox_shed_oldest = 0;
  std::uint64_t outbox_over_bound = 0;
  std::uint64_t deadletter_items = 0;
  std::uint64_t deadletter_parked = 0;   ///< items ever parked
  std::uint64_t deadletter_dropped = 0;  ///< dead letters dropped over the bound
  std::string deadletter_reason;         ///< why the last batch was parked
  std::uint64_t map_size = 0;
  std::uint64_t used_bytes = 0;        ///< pages in use * page size
  std::uint64_t file_bytes = 0;        ///< size of data.mdb
  std::uint64_t devices_bytes = 0;     ///< pages of the devices table * page size
  std::uint64_t identities_bytes = 0;  ///< pages of the intune table and the MAC index
  std::uint32_t schema_version = 0;
  int stale_readers_cleared = 0;
};

/// Called for a stored value that does not decode: the key and the error. Iteration goes on.
using CorruptFn = std::function<void(Bytes key, std::error_code)>;

class Store {
 public:
  Store();
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::error_code open(const StoreOptions& options);
  void close() noexcept;
  bool is_open() const noexcept { return env_.is_open(); }

  /// One write transaction for the whole batch (see the file comment).
  std::error_code apply(const Batch& batch, BatchResult* result = nullptr);

  std::optional<DeviceRecord> device(const platform::MacAddress& mac, std::error_code& ec);
  std::optional<IdentityRecord> identity(const platform::Guid& intune_id, std::error_code& ec);
  /// Intune ids whose Wi-Fi or Ethernet MAC is @p mac.
  std::vector<platform::Guid> identities_for_mac(const platform::MacAddress& mac,
                                                 std::error_code& ec);

  /// Visits every device in MAC order. Values that do not decode are reported to @p on_corrupt
  /// and skipped. Stops early when @p fn returns false.
  std::error_code for_each_device(const std::function<bool(const DeviceRecord&)>& fn,
                                  const CorruptFn& on_corrupt = {});
  std::error_code for_each_identity(const std::function<bool(const IdentityRecord&)>& fn,
                                    const CorruptFn& on_corrupt = {});

  /// Up to @p max oldest outbox items with a seq above @p after, in seq order. Corrupt items
  /// are reported and returned with an empty payload so they can still be acknowledged.
  std::error_code outbox_peek(std::size_t max, std::vector<OutboxItem>& out,
                              const CorruptFn& on_corrupt = {}, std::uint64_t after = 0);
  /// Deletes the given items (after the upstream acknowledged them).
  std::error_code outbox_ack(std::span<const std::uint64_t> seqs);
  /// Moves the given outbox items to the dead-letter table in one transaction; @p reason (the
  /// upstream's answer, short) is kept in meta for `status`.
  std::error_code outbox_park(std::span<const std::uint64_t> seqs, std::string_view reason);
  /// Moves every dead letter back to the outbox; @p moved receives the count.
  std::error_code deadletter_requeue(std::size_t& moved);
  /// Up to @p max oldest dead letters, in seq order (for inspection).
  std::error_code deadletter_peek(std::size_t max, std::vector<OutboxItem>& out);

  std::optional<std::string> meta(std::string_view name, std::error_code& ec);
  std::optional<std::string> cache(std::string_view name, std::error_code& ec);

  /// Removes devices whose last_seen is before @p cutoff; @p removed receives the count.
  std::error_code remove_devices_not_seen_since(platform::Timestamp cutoff, std::size_t& removed);

  std::error_code stats(StoreStats& out);
  /// Flushes to disk (for no_sync environments, called periodically by the agent).
  std::error_code sync() { return env_.sync(true); }
  /// Environment::release_mapped_pages(): after a large transaction or a scan, so that the
  /// pages it read stop counting in the process's resident size.
  std::error_code release_mapped_pages() { return env_.release_mapped_pages(); }

  /// Rebuilds the environment into @p directory/.compact — every table copied in key order
  /// with MDB_APPEND, so pages are full and free pages are gone — fsyncs it and renames it over
  /// data.mdb. Refuses (errc::environment_in_use) when another process holds
  /// the environment (a writer would lose later commits). The store must be closed.
  static std::error_code compact(const std::filesystem::path& directory);

 private:
  /// Runs @p body in a write transaction: commits, or aborts and rolls back staged strings;
  /// on MDB_MAP_FULL grows the map and runs the body again.
  std::error_code write(const std::function<std::error_code(WriteTxn&)>& body,
                        unsigned* growths = nullptr);
  std::error_code apply_in(WriteTxn& txn, const Batch& batch, std::uint64_t& seq, BatchResult& r);
  std::error_code read_begin();
  std::error_code enforce_outbox_bound(WriteTxn& txn, std::size_t appended, std::size_t& shed);
  std::error_code load_strings();
  std::error_code check_schema(const StoreOptions& options);

  std::unique_ptr<struct StoreLock> lock_;  ///< held first, released last
  Environment env_;
  StoreOptions options_;
  ReadTxn reader_;
  StringTable strings_;
  unsigned devices_ = 0, intune_ = 0, mac_index_ = 0, outbox_ = 0, deadletter_ = 0, meta_ = 0,
           strings_db_ = 0, cache_ = 0;
  std::uint64_t next_seq_ = 1;
  int stale_readers_ = 0;
};

}  // namespace edgeid::store
