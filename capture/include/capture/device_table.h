#pragma once
/// @file
/// DeviceTable: per-MAC aggregation of decoded facts, with a memory cap, router detection and
/// change tracking for the agent.
///
/// Rules (DESIGN.md §1, §10):
/// - A device is a unicast, non-zero MAC. Frames from group or zero MACs are counted, never
///   devices. Facts name their subject MAC (DHCP chaddr, ARP sender, NDP link-layer option), so
///   a device may exist without having sent a frame (a relayed DHCP client).
/// - Host name precedence (lower wins, see NameSource): DHCPv4 option 12 > DHCPv4 option 81 >
///   DHCPv6 option 39 > mDNS > NBNS > LLDP system name > CDP device id. Every source's latest
///   value is kept in `names`; `hostname` is the best present one.
/// - Addresses: at most max_ipv4/max_ipv6 per device; when full, the least recently seen one
///   makes room. An address is "proven" when a protocol makes the device claim it for itself
///   (ARP sender, RARP reply, NDP, DHCP ACK/ciaddr, DHCPv6 Reply) and merely "seen" when it is a
///   packet source or an mDNS/NBNS announcement.
/// - Routers: a MAC that shows more than router_threshold distinct seen-only addresses that are
///   not link-local (IPv4 169.254/16, IPv6 fe80::/10) within router_window, or that sends an
///   IPv6 Router Advertisement (or an NA with the R flag), is marked `router`. From then on
///   seen-only addresses are neither bound nor counted for it and the ones it had are dropped;
///   proven addresses stay (a router's own address shows up in its ARP replies and NDP).
/// - VLANs: each distinct tag stack is kept, up to max_vlans; a MAC seen on more is marked
///   `multi_vlan` (a trunk port or router-on-a-stick) and its set stops growing.
/// - Memory cap: at most max_devices MACs; a new MAC beyond that evicts the least recently seen
///   one (counted in TableCounters::evicted).
///
/// Per-packet cost: one hash lookup (the MAC as a 48-bit integer, stored in the index bucket) and
/// a few integer compares for an already known fact; nothing is allocated unless a fact is new
/// (a new device, address, name or tag stack). The least-recently-seen order is a per-device
/// touch counter until max_devices is first reached; only then is the eviction list built.
/// Error policy: apply() is noexcept; malformed input never reaches it (the decoders drop it).
/// Allocation failure on a new device terminates (out of memory is fatal by design, §8).
/// Thread safety: none; a DeviceTable belongs to one capture thread. Hand Observations from
/// drain_changes() to other threads by value.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "capture/decode.h"
#include "platform/mac_address.h"
#include "platform/time.h"

namespace edgeid::capture {

class OuiTable;

struct TableOptions {
  std::size_t max_devices = 200'000;
  std::size_t max_ipv4 = 16;  ///< addresses kept per device
  std::size_t max_ipv6 = 16;
  std::size_t max_vlans = 16;  ///< distinct tag stacks before a MAC is marked multi_vlan
  /// More than this many distinct seen-only, non-link-local addresses within router_window
  /// mark a MAC as a router.
  std::size_t router_threshold = 8;
  std::chrono::seconds router_window{300};
  std::size_t max_text = 255;  ///< bytes kept of any string from the wire
  /// Whether drain_changes() is used. Off (offline ingest) skips the change bookkeeping.
  bool track_changes = true;
};

struct TableCounters {
  std::uint64_t devices_created = 0;
  std::uint64_t evicted = 0;               ///< devices dropped by the max_devices cap
  std::uint64_t evictions_unreported = 0;  ///< evictions not kept for drain_changes (not drained)
  std::uint64_t facts = 0;                 ///< facts applied
  std::uint64_t routers_detected = 0;
  std::uint64_t multi_vlan_detected = 0;
  std::uint64_t addresses_suppressed = 0;  ///< seen-only addresses not bound to a router
  std::uint64_t addresses_replaced = 0;    ///< addresses dropped because a device's set was full
};

/// Bits of Observation::changes.
enum Change : std::uint32_t {
  change_created = 1U << 0,   ///< first time this MAC is reported
  change_activity = 1U << 1,  ///< last_seen / packets / bytes / sources
  change_vlans = 1U << 2,
  change_ipv4 = 1U << 3,
  change_ipv6 = 1U << 4,
  change_names = 1U << 5,  ///< names / hostname
  change_dhcp = 1U << 6,   ///< DHCPv4 and DHCPv6 fingerprints
  change_lldp = 1U << 7,
  change_cdp = 1U << 8,
  change_flags = 1U << 9,     ///< router / multi_vlan
  change_evicted = 1U << 10,  ///< the table forgot this MAC (the cap); not that it left
};

struct LldpInfo {
  bool present = false;
  std::uint8_t chassis_id_subtype = 0;  ///< IEEE 802.1AB Table 8-2 (4 = MAC address, …)
  std::string chassis_id;               ///< raw bytes of the id
  std::uint8_t port_id_subtype = 0;     ///< Table 8-3 (3 = MAC address, 5 = interface name, …)
  std::string port_id;                  ///< raw bytes
  std::string port_description;
  std::string system_name;
  std::string system_description;
  std::optional<std::uint16_t> capabilities;          ///< system capabilities bit map
  std::optional<std::uint16_t> capabilities_enabled;  ///< enabled capabilities bit map
  std::uint8_t management_family = 0;  ///< IANA address family (1 IPv4, 2 IPv6, 6 802 MAC)
  std::string management_address;      ///< raw bytes
};

struct CdpInfo {
  bool present = false;
  std::string device_id;
  std::string port_id;
  std::string platform;
  std::string software;
  std::optional<std::array<std::uint8_t, 4>> address;  ///< first IPv4 address
  std::optional<std::uint32_t> capabilities;
  std::optional<std::uint16_t> native_vlan;
};

/// A device as the capture module knows it. A plain value: strings are raw bytes from the wire
/// (not necessarily UTF-8; escape them when printing).
struct DeviceRecord {
  platform::MacAddress mac;
  bool randomized = false;  ///< OuiTable::is_randomized() (false if no table was given)
  std::string vendor;       ///< IEEE registry name, "" when unknown
  bool router = false;
  bool multi_vlan = false;
  std::vector<VlanStack> vlans;                     ///< distinct stacks, sorted by key
  std::vector<std::array<std::uint8_t, 4>> ipv4;    ///< sorted
  std::vector<std::array<std::uint8_t, 16>> ipv6;   ///< sorted
  std::array<std::string, kNameSourceCount> names;  ///< indexed by NameSource; "" = none
  std::optional<NameSource> hostname_source;
  std::string hostname;
  std::string dhcp_vendor_class;  ///< option 60
  std::string dhcp_param_list;    ///< option 55, raw codes in wire order (format_param_list)
  std::string dhcp_client_id;     ///< option 61, raw
  std::string dhcpv6_duid;        ///< raw
  std::string dhcpv6_vendor_class;
  LldpInfo lldp;
  CdpInfo cdp;
  platform::Timestamp first_seen;
  platform::Timestamp last_seen;
  std::uint64_t packets = 0;  ///< frames this MAC sent
  std::uint64_t bytes = 0;    ///< their wire length
  SourceMask sources = 0;
};

/// What changed about one MAC since the previous drain. Only the groups named in `changes` are
/// filled in `record` (plus mac, timestamps, counters and sources, which are always current).
struct Observation {
  std::uint32_t changes = 0;
  DeviceRecord record;
};

/// Folds @p newer, a later observation of the same MAC, into @p into, as if both had been drained
/// at once: the change bits are combined, the fields always filled (timestamps, counters,
/// sources, vendor, flags) are taken from @p newer, and each group from @p newer only if
/// @p newer carries it (its change bit, or change_created). Whoever keeps observations across
/// drains must fold them this way: replacing one by the next would lose the groups that the
/// later one does not carry (an activity-only drain has no addresses or names).
void absorb(Observation& into, Observation&& newer);

/// "1,3,6,15": option 55 codes in decimal, wire order (the Fingerbank fingerprint format).
std::string format_param_list(std::string_view raw);
/// Bytes as lower-case hex with @p separator between bytes ('\0' for none).
std::string format_hex(std::string_view raw, char separator);

class DeviceTable {
 public:
  /// @p oui (optional, non-owning) must outlive the table; it supplies vendor and randomized.
  /// It is read only when records are rendered (find, snapshot, for_each_sorted,
  /// drain_changes), never by apply() or prefetch(): it may still be loading, on another thread,
  /// while frames are applied.
  explicit DeviceTable(TableOptions options = {}, const OuiTable* oui = nullptr);
  ~DeviceTable();
  DeviceTable(DeviceTable&&) noexcept;
  DeviceTable& operator=(DeviceTable&&) noexcept;
  DeviceTable(const DeviceTable&) = delete;
  DeviceTable& operator=(const DeviceTable&) = delete;

  /// Accounts one decoded frame seen at @p when: its source MAC (packets, bytes, VLAN stack)
  /// and every fact it carries.
  void apply(const FrameFacts& frame, platform::Timestamp when) noexcept;

  /// A hint, no effect on the table: starts loading what apply() touches for a frame from a
  /// known @p mac. Stage 0 loads the index bucket; stage 1, called once that has had time to
  /// arrive (a few frames later), looks the MAC up and loads its slot. A repeated address fact
  /// is settled in the slot, so a frame of a known device needs nothing else.
  void prefetch(const platform::MacAddress& mac, unsigned stage) const noexcept;

  std::size_t size() const noexcept;
  const TableCounters& counters() const noexcept;
  const TableOptions& options() const noexcept;

  std::optional<DeviceRecord> find(const platform::MacAddress& mac) const;
  /// Every device, sorted by MAC.
  std::vector<DeviceRecord> snapshot() const;
  /// Calls @p visit once per device, sorted by MAC, with a record that is only valid during the
  /// call (one record is refilled for each device). Same records as snapshot(), without holding
  /// them all at once: the way to print a large table.
  void for_each_sorted(const std::function<void(const DeviceRecord&)>& visit) const;
  /// The devices sorted by MAC, as opaque handles for for_each_of(): the order is computed once
  /// and parts of it can then be rendered by several threads at once. Handles are valid until
  /// the table next changes.
  std::vector<std::uint32_t> sorted_handles() const;
  /// Calls @p visit for the devices of @p handles (from sorted_handles()), in that order, with a
  /// record valid only during the call. Only reads the table: threads may visit parts of the
  /// same handles concurrently as long as nothing applies frames meanwhile.
  void for_each_of(std::span<const std::uint32_t> handles,
                   const std::function<void(const DeviceRecord&)>& visit) const;
  /// Appends one Observation per MAC that changed since the previous call (evictions included)
  /// and forgets those changes. Does nothing useful when track_changes is off.
  void drain_changes(std::vector<Observation>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeid::capture
