#pragma once
/// @file
/// Correlation and merge (DESIGN.md §3): observed devices (MACs seen on the wire) and device
/// identities (Intune/Entra) become the merged inventory, with versions and the store Batch that
/// persists a round of changes. A pure engine: no I/O, no clock (the time comes in MergeOptions).
///
/// Rules, strongest first:
///  1. exact MAC: an identity whose Wi-Fi MAC (match.by wifi_mac) or Ethernet MAC (ethernet_mac)
///     is the device's MAC; confidence 1.0. Several identities with that MAC (a re-enrolment):
///     the latest last_sync wins (ties: the smaller id), the others are `conflicts`, most recent
///     first.
///  2. host name: the device's DHCP host name or client FQDN (DHCPv4 option 12/81, DHCPv6
///     option 39) — first label, case-insensitive — equals an identity's device name (Intune
///     deviceName, Entra displayName for Entra-only devices), and that name is unique among the
///     devices with a DHCP name AND among the identities; confidence 0.6 (kHostnameConfidence).
///     This is how a randomized MAC finds its owner. mDNS/NBNS names are not used: anyone can
///     announce them.
///  3. otherwise the MAC is `unmanaged`.
/// Intune-backed identities that no device matched (nor lists as a conflict) become records of
/// their own, state `identity_only`, keyed by the Intune id. Entra-only identities are kept (they
/// can match by name) but never become identity_only records (they have no Intune id).
///
/// Versions: a record's version starts at 1 and increases by one exactly when its content (what
/// the store keeps of it, or its identity) changed in a round; only changed records get an
/// outbox item. Items whose identity, match or state changed have priority 1 (never shed).
/// Thread safety: functions are reentrant; MergeState is a plain value.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/flat_map.h"
#include "capture/device_table.h"
#include "cloud/identity.h"
#include "platform/guid.h"
#include "platform/mac_address.h"
#include "platform/time.h"
#include "store/store.h"

namespace edgeid::agent {

/// store::DeviceRecord::state codes (the store keeps them opaque).
enum class RecordState : std::uint8_t { none = 0, managed = 1, unmanaged = 2, identity_only = 3 };
/// store::DeviceRecord::match_by codes.
enum class MatchBy : std::uint8_t { none = 0, wifi_mac = 1, ethernet_mac = 2, hostname = 3 };

inline constexpr std::uint16_t kMacConfidence = 1000;      ///< permille: 1.0
inline constexpr std::uint16_t kHostnameConfidence = 600;  ///< permille: 0.6

/// Outbox item kinds.
inline constexpr std::uint8_t kOutboxDevice = 1;        ///< payload: a §10 record of a MAC
inline constexpr std::uint8_t kOutboxIdentityOnly = 2;  ///< payload: an identity_only record
                                                        ///< (or {"removed":true,...})
inline constexpr std::uint8_t kOutboxEvent = 3;         ///< payload: an event object (below)

std::string_view to_string(RecordState state) noexcept;
std::string_view to_string(MatchBy by) noexcept;

/// How host names compare (rule 2, and `device NAME`): by the first DNS label, ignoring case,
/// so "LAPTOP-1.corp.example" and "laptop-1" are the same name.
bool same_host_name(std::string_view a, std::string_view b) noexcept;
/// The outbox entity of a MAC's record (superseded items are found by it).
std::string mac_entity(const platform::MacAddress& mac);

/// "Windows", "macOS", "iOS", "iPadOS", "Android", "Linux", "ChromeOS" or "other" (also for an
/// empty OS) from Graph's free-text operatingSystem.
std::string_view os_group(std::string_view os) noexcept;

/// The store form of an identity. Entra-only identities (nil intune_id) are keyed by their Entra
/// object id: see identity_key().
store::IdentityRecord to_identity_record(const cloud::Identity& identity);
/// The key an identity has in the store's `intune` table and in DeviceRecord::intune_id: its
/// Intune id, or for an Entra-only identity its Entra object id.
platform::Guid identity_key(const store::IdentityRecord& identity) noexcept;
/// Whether @p identity (as stored: intune_id == entra_object_id) is Entra-only.
bool is_entra_only(const store::IdentityRecord& identity) noexcept;

/// The observed part of a capture record in the store's form (the merge fields left empty).
/// VLANs keep the innermost tag of each stack; hostname_source is NameSource + 1 (0: none).
store::DeviceRecord observed_record(const capture::DeviceRecord& device);

/// Completes @p record, an observation in the store's form that carries only the
/// capture::Change groups in @p carried (its timestamps, counters and flags are always current),
/// with the observed fields of every other group from @p known (what the store holds for that
/// MAC): VLANs, IPv4, IPv6, host name, DHCP. Does nothing when @p carried has change_created.
void complete_observed(store::DeviceRecord& record, std::uint32_t carried,
                       const store::DeviceRecord& known);

/// How a host name is hashed for rule 2: its first DNS label, lower-cased (FNV-1a, 64 bits);
/// names that same_host_name() finds equal hash equal.
std::uint64_t host_name_hash(std::string_view name) noexcept;

/// A digest of every field of @p identity: what tells a changed identity from an unchanged one
/// in a round. Two different records share it only by a 64-bit collision.
std::uint64_t identity_digest(const store::IdentityRecord& identity) noexcept;

/// What the merge state keeps of an identity for the agent's whole life: the keys and the facts
/// correlation reads (MACs, last sync, name, compliance) and a digest of the whole record. The
/// texts stay in the store's `intune` table; a round reads a full record back only for the
/// records it writes (MergeOptions::identity). ~100 bytes and no allocation per identity, where
/// a copy of the texts cost ~250 bytes and a heap block: a tenant's 100 k identities live in the
/// agent from start to stop.
/// The device name is kept as its host_name_hash(): two different names with the same 64-bit
/// hash would count as one (for 100 k names, a chance of about 3e-10).
struct IdentitySummary {
  IdentitySummary() = default;
  explicit IdentitySummary(const store::IdentityRecord& record) noexcept;

  platform::Guid intune_id;  ///< identity_key()
  platform::Guid entra_device_id;
  platform::Guid entra_object_id;
  platform::Timestamp last_sync;
  platform::MacAddress wifi_mac;
  platform::MacAddress ethernet_mac;
  bool noncompliant = false;    ///< compliance_state is "noncompliant" (any case)
  std::uint64_t name_hash = 0;  ///< host_name_hash(device_name); 0 when there is no name
  std::uint64_t digest = 0;     ///< identity_digest() of the record

  /// is_entra_only() of the record.
  bool entra_only() const noexcept {
    return !entra_object_id.is_nil() && intune_id == entra_object_id;
  }
  /// The record with only what the summary holds (keys, MACs, last sync; the compliance state
  /// when noncompliant): what a round writes when the full record cannot be read back.
  store::IdentityRecord partial_record() const;

  friend bool operator==(const IdentitySummary&, const IdentitySummary&) = default;
};

/// Whether a record's hostname_source (NameSource + 1; 0: none) is a DHCP name, the only names
/// rule 2 uses.
bool is_dhcp_name_source(std::uint8_t hostname_source) noexcept;

/// A digest of the observed fields of @p record (everything but the merge fields and the
/// version): what tells a changed observation from an unchanged one in a round.
std::uint64_t observed_digest(const store::DeviceRecord& record) noexcept;

/// What the merge state keeps of a device (a MAC's record) for the agent's whole life: the merge
/// fields as they are, of the observed fields only what correlation, retention and the control
/// filters read, and a digest of the rest. The record itself is in the store's `devices` table
/// (and the capture table holds the facts again); a round reads it back only to write a record
/// whose observation it did not receive (MergeOptions::device). ~100 bytes per device instead
/// of a second copy of its observed facts.
/// The DHCP host name is kept as its host_name_hash(), with IdentitySummary's caveat.
struct DeviceSummary {
  DeviceSummary() = default;
  /// Every field of @p record, merge fields included.
  explicit DeviceSummary(const store::DeviceRecord& record);
  /// Replaces the observed part by that of @p record (its merge fields are ignored).
  void set_observed(const store::DeviceRecord& record) noexcept;
  /// The record with only what the summary holds (the MAC, times, flags, merge fields): what a
  /// round writes when the full record cannot be read back.
  store::DeviceRecord partial_record(const platform::MacAddress& mac) const;
  /// Sets the merge fields and the version of @p record to the summary's.
  void copy_merge_fields(store::DeviceRecord& record) const;

  platform::Timestamp first_seen;
  platform::Timestamp last_seen;
  std::uint64_t digest = 0;     ///< observed_digest() of the record
  std::uint64_t name_hash = 0;  ///< host_name_hash() of a DHCP host name; 0: none
  bool randomized = false;

  // The merge fields, as in store::DeviceRecord.
  std::uint8_t state = 0;
  std::uint8_t match_by = 0;
  std::uint16_t match_confidence_permille = 0;
  platform::Guid intune_id;
  platform::Guid entra_device_id;
  std::vector<platform::Guid> conflicts;
  std::uint64_t version = 0;

  friend bool operator==(const DeviceSummary&, const DeviceSummary&) = default;
};

/// What a round starts from: everything persisted (loaded from the store at start-up).
struct MergeState {
  FlatMap<platform::MacAddress, DeviceSummary> devices;
  FlatMap<platform::Guid, IdentitySummary> identities;  ///< by identity_key()
  struct IdentityOnly {
    std::uint64_t version = 0;
    bool active = false;  ///< false: the record went away (seen on the wire, or deleted)
    friend bool operator==(const IdentityOnly&, const IdentityOnly&) = default;
  };
  FlatMap<platform::Guid, IdentityOnly> identity_only;  ///< by Intune id
};

struct MergeInput {
  /// Devices observed in this round (their observed fields; merge fields are ignored). Devices of
  /// the state not listed here keep their observed part.
  std::vector<store::DeviceRecord> observed;
  /// The complete identity set after a sync; nullopt keeps the state's identities.
  std::optional<std::vector<store::IdentityRecord>> identities;
};

struct MergeOptions {
  std::string sensor_id;
  platform::Timestamp now;
  /// When set, the round hands its batch to @p spill whenever it holds spill_items items or more
  /// (devices, identities, removals and outbox items together) and goes on with an empty one;
  /// the result's batch is what is left at the end. A large round (start-up, a full identity
  /// sync) then never holds all its records and payloads at once. Each part is consistent on its
  /// own: a record's outbox items and cache entries travel in the part that carries the record.
  std::function<void(store::Batch&&)> spill;
  std::size_t spill_items = 2000;
  /// The full record of an identity the state holds in summary, from wherever the earlier
  /// rounds' batches went (the store, or batches still waiting to be written). A round asks only
  /// for identities it did not receive itself, and only for the records it writes (payloads and
  /// events). Unset or nullopt: the record is written with IdentitySummary::partial_record() and
  /// counted in MergeResult::identity_misses. With a spill, a round hands over its changed
  /// identities before it asks for any, so that they can be read back.
  std::function<std::optional<store::IdentityRecord>(const platform::Guid&)> identity;
  /// The same for a device: its stored record (only the observed fields are used), asked for
  /// a device whose record the round writes without having received its observation (its
  /// identity or match changed). Unset or nullopt: DeviceSummary::partial_record(), counted in
  /// MergeResult::device_misses.
  std::function<std::optional<store::DeviceRecord>(const platform::MacAddress&)> device;
};

struct MergeResult {
  MergeState next;     ///< the state after the round (adopt it once the batch is durable)
  store::Batch batch;  ///< changed devices and identities, removed identities, outbox items
  std::size_t managed = 0, unmanaged = 0, identity_only = 0;
  std::size_t changed_records = 0;
  std::size_t identity_misses = 0;  ///< full identity records MergeOptions::identity lacked
  std::size_t device_misses = 0;    ///< device records MergeOptions::device lacked
};

/// Events (outbox kind kOutboxEvent, docs/UPSTREAM.md), emitted by a round for a MAC record:
///   device.new                a MAC never seen before;
///   device.identity_changed   an existing record gained, lost or switched its identity;
///   device.noncompliant_seen  a record on the wire whose identity is noncompliant, when that
///                             becomes true (new device, new match, or compliance turned);
///   device.unmanaged_seen     a record that becomes unmanaged (new, or lost its identity);
///   device.randomized_matched a randomized MAC that gains an identity.
/// identity_changed, noncompliant_seen and randomized_matched are priority 1 (never shed).
/// One round of correlation. Deterministic: the same state and input give the same result.
MergeResult merge(const MergeState& state, MergeInput input, const MergeOptions& options);
/// The same round in place: @p state becomes the next state (the result's `next` stays empty).
/// What the daemon uses: no copy of the whole inventory per round. If the batch then fails to
/// commit, the state is ahead of the store; the caller keeps the batch and commits it later.
MergeResult merge_into(MergeState& state, MergeInput input, const MergeOptions& options);

/// The cache key holding an identity_only record's version ("identity_only/<guid>") and its
/// value codec, used by the store adapter.
std::string identity_only_cache_key(const platform::Guid& intune_id);
std::string encode_identity_only(const MergeState::IdentityOnly& value);
std::optional<MergeState::IdentityOnly> decode_identity_only(std::string_view value);

}  // namespace edgeid::agent
