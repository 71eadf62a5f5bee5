#pragma once
/// @file
/// Identity: one device as Microsoft Intune and/or Entra ID describe it, in a compact value type,
/// and the parsers that turn Graph response bodies into such values.
///
/// Why compact: a tenant can hold 100 k+ Intune and 100 k+ Entra devices and the agent keeps
/// them all in memory next to the capture tables. Ids and MACs are fixed-size values; every
/// text field shares ONE heap buffer per identity (end offsets in a small array) instead of a
/// std::string each (13 × 32 bytes of string headers saved per device).
///
/// Parsing is streaming: a page body is read by a SAX parser (Boost.JSON basic_parser, kept out
/// of this header) straight into Identity values; no JSON tree of the page or of the tenant is
/// ever built. Values Graph uses for "nothing" are normalised here, once:
///  - MAC addresses: null, "" → absent; any letter case, with or without ':' / '-' / '.'
///    separators → 6 bytes; anything else (e.g. the doc's "Wi Fi Mac Address value", all-zero)
///    → absent and counted in PageStats::bad_macs.
///  - GUIDs: the all-zero azureADDeviceId means "no Entra registration" → nil Guid.
///  - Dates: "0001-01-01T00:00:00Z" (Graph's "never") → absent.
/// Thread safety: value types; parse functions are reentrant.
/// Errors: parse functions return std::error_code (graph_category()), never throw.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "platform/guid.h"
#include "platform/mac_address.h"
#include "platform/time.h"

namespace edgeid::cloud {

/// The text fields of an identity (DESIGN.md §10 `identity` object).
enum class IdentityText : std::uint8_t {
  device_name,          ///< Intune deviceName, else Entra displayName
  os,                   ///< operatingSystem
  os_version,           ///< osVersion / operatingSystemVersion
  enrollment_type,      ///< Intune deviceEnrollmentType
  user_principal_name,  ///< Intune userPrincipalName
  email,                ///< Intune emailAddress
  model,                ///< model (Entra: model)
  manufacturer,         ///< manufacturer
  serial_number,        ///< Intune serialNumber
  compliance_state,     ///< Intune complianceState (enum text as Graph sends it)
  management_agent,     ///< Intune managementAgent
  ownership,            ///< Intune managedDeviceOwnerType / Entra deviceOwnership
  trust_type,           ///< Entra trustType (Workplace | AzureAd | ServerAd)
  count,                ///< number of fields, not a field (keep last)
};
inline constexpr std::size_t kIdentityTextCount = static_cast<std::size_t>(IdentityText::count);

/// Which directory an identity came from (bit set: a joined identity has both).
enum IdentitySource : std::uint8_t { kFromIntune = 1, kFromEntra = 2 };

class Identity {
 public:
  platform::Guid intune_id;        ///< Intune managedDevice.id; nil for Entra-only devices
  platform::Guid entra_object_id;  ///< Entra device.id (directory object id); nil if unknown
  platform::Guid
      azure_ad_device_id;  ///< managedDevice.azureADDeviceId == device.deviceId; nil = none
  std::optional<platform::MacAddress> wifi_mac;
  std::optional<platform::MacAddress> ethernet_mac;
  /// Intune lastSyncDateTime (Entra-only: approximateLastSignInDateTime).
  std::optional<platform::Timestamp> last_sync;
  std::optional<bool> account_enabled;  ///< Entra accountEnabled
  std::optional<bool> is_compliant;     ///< Entra isCompliant
  std::optional<bool> is_managed;       ///< Entra isManaged
  std::uint8_t sources = 0;             ///< IdentitySource bits

  std::string_view text(IdentityText field) const noexcept;
  /// Replaces one text field. Fields are capped so that all of them fit 64 KiB together
  /// (a longer value is truncated; Graph values are far shorter).
  void set_text(IdentityText field, std::string_view value);
  /// Replaces all text fields at once (one allocation): what the parsers use.
  void assign_texts(const std::array<std::string_view, kIdentityTextCount>& values);
  /// Bytes used on the heap by the text fields (for memory accounting).
  std::size_t text_capacity() const noexcept { return text_.capacity(); }

  /// "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS" or "" from the free-text os.
  std::string_view os_group() const noexcept;

  friend bool operator==(const Identity&, const Identity&) = default;

 private:
  std::string text_;
  std::array<std::uint16_t, kIdentityTextCount> end_{};
};

/// Counters a parse keeps about values it had to drop.
struct PageStats {
  std::size_t items = 0;      ///< elements of "value"
  std::size_t bad_macs = 0;   ///< MAC strings that are not a unicast station address
  std::size_t bad_ids = 0;    ///< elements without a usable id (dropped)
  std::size_t bad_times = 0;  ///< unparseable date-times (the Graph "never" value is not bad)
  PageStats& operator+=(const PageStats& o) noexcept {
    items += o.items;
    bad_macs += o.bad_macs;
    bad_ids += o.bad_ids;
    bad_times += o.bad_times;
    return *this;
  }
};

/// What a page describes.
enum class PageKind : std::uint8_t {
  intune,  ///< /deviceManagement/managedDevices (list, or a GET by id)
  entra,   ///< /devices, /devices/delta
};

/// One collection page (or a single-entity GET, which Microsoft's doc examples wrap in
/// {"value": {...}}; a real GET returns the entity at top level — both are accepted).
struct Page {
  std::vector<Identity> items;
  std::vector<platform::Guid> removed;  ///< ids carrying "@removed" (delta pages)
  std::string next_link;                ///< @odata.nextLink, verbatim
  std::string delta_link;               ///< @odata.deltaLink, verbatim
  std::optional<std::uint64_t> count;   ///< @odata.count
  PageStats stats;
};

/// Parses a 2xx page body into @p out (which is cleared first). Returns graph_errc::invalid_json
/// for malformed or truncated JSON, graph_errc::unexpected_shape when the top level is not an
/// object, and graph_errc::error_body when the body is a Graph error object.
std::error_code parse_page(std::string_view body, PageKind kind, Page& out);

/// Parses @p text into a MAC the way Graph values need it: separators optional, any case.
/// nullopt for anything that is not a 12-hex-digit unicast station address.
std::optional<platform::MacAddress> normalize_mac(std::string_view text) noexcept;

/// The all-zero GUID and unparseable text are both "none" (nil).
platform::Guid parse_guid_or_nil(std::string_view text) noexcept;

/// Joins Intune and Entra identities: an Intune identity whose azure_ad_device_id equals an
/// Entra identity's azure_ad_device_id (Entra deviceId) takes the Entra object id and trust
/// type (and Entra's fields where Intune has none); unmatched Entra identities are appended as
/// Entra-only. Ids are never joined on the nil GUID. Output is sorted: Intune-backed first by
/// intune_id, then Entra-only by entra_object_id.
std::vector<Identity> join_identities(std::vector<Identity> intune,
                                      const std::vector<Identity>& entra);

}  // namespace edgeid::cloud
