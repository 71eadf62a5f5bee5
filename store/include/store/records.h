#pragma once
/// @file
/// The values store/ keeps, and their compact binary codecs.
///
/// These are store/'s own plain aggregates: agent/ translates its merged view into them. The
/// numeric codes (hostname_source, state, match_by, kind, ...) belong to agent/; the store keeps
/// them opaque.
///
/// Encoding: one format-version byte, then tagged fields — a varint key (field number << 1 |
/// wire type: 0 varint, 1 length-prefixed bytes) and the payload. Fields at their default value
/// are omitted; unknown fields are skipped, so a newer edgeid may add fields without a migration.
/// Strings that repeat across devices (vendor, OS, model, DHCP vendor class and fingerprint, ...)
/// are interned: the value holds a small id from the StringTable. Times are whole seconds.
/// Decoding checks every length; bad bytes give errc::corrupt_value, never a crash.
/// Thread safety: the codecs are pure functions; StringTable is not synchronised (the store
/// serialises access to it).

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "platform/guid.h"
#include "platform/mac_address.h"
#include "platform/time.h"
#include "store/lmdb_env.h"

namespace edgeid::store {

/// A MAC seen on the wire, with what was learned about it and how it was merged.
struct DeviceRecord {
  platform::MacAddress mac;  ///< the key; not repeated in the value
  bool randomized = false;
  bool router = false;
  std::string vendor;
  std::vector<std::uint16_t> vlans;
  std::vector<std::array<std::uint8_t, 4>> ipv4;
  std::vector<std::array<std::uint8_t, 16>> ipv6;
  std::string hostname;
  std::uint8_t hostname_source = 0;
  std::string dhcp_vendor_class;
  std::string dhcp_param_list;
  std::string dhcp_client_id;
  platform::Timestamp first_seen;
  platform::Timestamp last_seen;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint32_t sources = 0;
  std::uint8_t state = 0;
  platform::Guid intune_id;  ///< nil when unmatched
  platform::Guid entra_device_id;
  std::uint8_t match_by = 0;
  std::uint16_t match_confidence_permille = 0;
  std::vector<platform::Guid> conflicts;
  std::uint64_t version = 0;

  friend bool operator==(const DeviceRecord&, const DeviceRecord&) = default;
};

/// A device identity from Intune and/or Entra ID.
struct IdentityRecord {
  platform::Guid intune_id;  ///< the key of the `intune` table
  platform::Guid entra_device_id;
  platform::Guid entra_object_id;
  std::string device_name;
  std::string os;
  std::string os_version;
  std::string enrollment_type;
  std::string user_principal_name;
  std::string email;
  std::string model;
  std::string manufacturer;
  std::string serial_number;
  std::string compliance_state;
  std::string management_agent;
  std::string ownership;
  std::string trust_type;
  platform::Timestamp last_sync;
  platform::MacAddress wifi_mac;
  platform::MacAddress ethernet_mac;

  friend bool operator==(const IdentityRecord&, const IdentityRecord&) = default;
};

/// One pending upstream item. The payload is opaque to the store.
struct OutboxItem {
  std::uint64_t seq = 0;  ///< assigned by the store on append; strictly increasing
  std::uint8_t kind = 0;
  /// 0: may be shed when the outbox is over its bound and a newer item for the same entity is
  /// queued; 1: never shed (identity and compliance changes).
  std::uint8_t priority = 0;
  std::string entity;  ///< what the item is about (e.g. MAC bytes); newer items supersede older
  std::uint64_t entity_version = 0;
  platform::Timestamp created;
  std::string payload;

  friend bool operator==(const OutboxItem&, const OutboxItem&) = default;
};

/// Interned strings: id <-> text. Id 0 is the empty string. New ids are staged until the write
/// transaction that stores them commits (commit_pending) or fails (rollback_pending).
class StringTable {
 public:
  /// The id of @p text, staging a new one when unknown.
  std::uint32_t intern(std::string_view text);
  /// std::nullopt for an unknown id (a corrupt value).
  std::optional<std::string_view> lookup(std::uint32_t id) const;
  /// Adds an entry loaded from disk.
  void load(std::uint32_t id, std::string text);
  /// Entries staged since the last commit/rollback: (id, text).
  std::vector<std::pair<std::uint32_t, std::string_view>> pending() const;
  void commit_pending() noexcept { committed_ = by_id_.size(); }
  void rollback_pending();
  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  // Transparent hashing: looking up a string_view allocates nothing.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  std::vector<std::string> by_id_{std::string()};
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> by_text_{
      {std::string(), 0}};
  std::size_t committed_ = 1;
};

inline constexpr std::uint8_t kDeviceFormat = 1;
inline constexpr std::uint8_t kIdentityFormat = 1;
inline constexpr std::uint8_t kOutboxFormat = 1;

std::vector<std::uint8_t> encode(const DeviceRecord& record, StringTable& strings);
std::vector<std::uint8_t> encode(const IdentityRecord& record, StringTable& strings);
std::vector<std::uint8_t> encode(const OutboxItem& item);

/// Decode into @p out, replacing everything but its key field (mac, intune_id, seq), which the
/// caller sets from the LMDB key.
std::error_code decode(Bytes value, const StringTable& strings, DeviceRecord& out);
std::error_code decode(Bytes value, const StringTable& strings, IdentityRecord& out);
std::error_code decode(Bytes value, OutboxItem& out);

}  // namespace edgeid::store
