#pragma once
/// @file
/// Identity: one device as Microsoft Intune and/or Entra ID describe it, in a compact value type,
/// and the parsers that turn Graph response bodies into such values.
///
/// Why compact: a tenant can hold 100 k+ Intune and 100 k+ Entra devices and the agent keeps
/// them all in memory next to the capture tables. Ids and MACs are fixed-size values. The text
/// fields live in two immutable, reference-counted blocks instead of a std::string each: one for
/// the texts that tell devices apart (name, UPN, e-mail, serial number) and one for the texts
/// that many devices share (OS, version, model, manufacturer, enrollment, compliance, agent,
/// ownership, trust type). Identities assigned through one IdentityTextPool point at a single
/// copy of each distinct combination of the shared texts; copying an Identity copies no text.
///
/// Parsing is streaming: a page body is read by a SAX parser (Boost.JSON basic_parser, kept out
/// of this header) straight into Identity values; no JSON tree of the page or of the tenant is
/// ever built. Values Graph uses for "nothing" are normalised here, once:
///  - MAC addresses: null, "" → absent; any letter case, with or without ':' / '-' / '.'
///    separators → 6 bytes; anything else (e.g. the doc's "Wi Fi Mac Address value", all-zero)
///    → absent and counted in PageStats::bad_macs.
///  - GUIDs: the all-zero azureADDeviceId means "no Entra registration" → nil Guid.
///  - Dates: "0001-01-01T00:00:00Z" (Graph's "never") → absent.
/// Thread safety: value types (copies may be used and destroyed on different threads: the text
/// blocks' counts are atomic); an IdentityTextPool is used by one thread at a time; parse
/// functions are reentrant.
/// Errors: parse functions return std::error_code (graph_category()), never throw.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
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

class IdentityTextPool;

/// The thirteen texts of an identity in two immutable, reference-counted heap blocks: the four
/// that tell devices apart (device_name, user_principal_name, email, serial_number) and the
/// nine that fleets share. A value type: copies share the blocks, a change builds new ones.
/// Each block holds at most 64 KiB of text (longer values are cut; Graph's are far shorter).
class IdentityTexts {
 public:
  std::string_view get(IdentityText field) const noexcept;
  /// Replaces all texts. With a @p pool, the shared block is looked up there first and stored
  /// there when new; a block whose content is unchanged is kept either way. @p values may view
  /// this object's own texts.
  void assign(const std::array<std::string_view, kIdentityTextCount>& values,
              IdentityTextPool* pool = nullptr);
  /// Heap bytes of the two blocks (a shared block counts in full for every holder).
  std::size_t bytes() const noexcept { return own_.bytes() + shared_.bytes(); }
  friend bool operator==(const IdentityTexts& a, const IdentityTexts& b) noexcept {
    return a.own_.serialised() == b.own_.serialised() &&
           a.shared_.serialised() == b.shared_.serialised();
  }

  /// An immutable run of N texts in one heap block [count][N end offsets][bytes]; copies share
  /// the block. Empty when every text is empty (no block). Public for IdentityTextPool only.
  template <std::size_t N>
  class Run {
   public:
    Run() noexcept = default;
    Run(const Run& o) noexcept;
    Run(Run&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
    Run& operator=(Run o) noexcept {
      std::swap(block_, o.block_);
      return *this;
    }
    ~Run() { release(block_); }
    /// The serialised form of @p values (ends then bytes) into @p out: the pool's key.
    static void serialise(const std::array<std::string_view, N>& values, std::string& out);
    /// A block holding @p serialised (as serialise() wrote it); empty texts → no block.
    static Run from_serialised(std::string_view serialised);
    std::string_view get(std::size_t i) const noexcept;
    /// The serialised content (what from_serialised() was given); "" when empty.
    std::string_view serialised() const noexcept;
    std::size_t bytes() const noexcept;

   private:
    static void release(char* block) noexcept;
    char* block_ = nullptr;
  };
  static constexpr std::size_t kOwn = 4;
  static constexpr std::size_t kShared = kIdentityTextCount - kOwn;

 private:
  Run<kOwn> own_;        // device_name, user_principal_name, email, serial_number
  Run<kShared> shared_;  // the other nine, in IdentityText order
};

extern template class IdentityTexts::Run<IdentityTexts::kOwn>;
extern template class IdentityTexts::Run<IdentityTexts::kShared>;

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

  std::string_view text(IdentityText field) const noexcept { return texts_.get(field); }
  /// Replaces one text field (see IdentityTexts for the size limit).
  void set_text(IdentityText field, std::string_view value);
  /// Replaces all text fields at once: what the parsers use (IdentityTexts::assign).
  void assign_texts(const std::array<std::string_view, kIdentityTextCount>& values,
                    IdentityTextPool* pool = nullptr) {
    texts_.assign(values, pool);
  }
  /// Heap bytes of the text blocks (a shared block counts in full for every holder).
  std::size_t text_capacity() const noexcept { return texts_.bytes(); }

  /// "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS" or "" from the free-text os.
  std::string_view os_group() const noexcept;

  friend bool operator==(const Identity&, const Identity&) = default;

 private:
  IdentityTexts texts_;
};

/// Interns the shared text blocks of the identities one parse or join builds, so that 100 k
/// devices of a few hundred models hold a few hundred copies of those texts, not 100 k. Holds at
/// most a few thousand distinct blocks (further ones are not interned, a hostile or very
/// diverse source costs no more than no pool). Not thread-safe; blocks outlive the pool.
class IdentityTextPool {
 public:
  IdentityTextPool();
  ~IdentityTextPool();
  IdentityTextPool(const IdentityTextPool&) = delete;
  IdentityTextPool& operator=(const IdentityTextPool&) = delete;

 private:
  friend class IdentityTexts;
  struct Impl;
  std::unique_ptr<Impl> impl_;
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
/// object, and graph_errc::error_body when the body is a Graph error object. Shared texts are
/// interned in @p pool (one pool across the pages of a sync shares them between pages too).
std::error_code parse_page(std::string_view body, PageKind kind, Page& out,
                           IdentityTextPool* pool = nullptr);

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
