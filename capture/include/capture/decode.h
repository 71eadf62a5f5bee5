#pragma once
/// @file
/// Frame decoders: from the bytes of one captured frame to the facts it proves about devices.
///
/// Error policy (DESIGN.md §8, capture hot path): every function here is `noexcept`, allocates
/// nothing and never reads outside the span it is given. A frame that cannot be decoded is
/// counted in DecodeCounters (malformed per decoder, or truncated when the capture cut it short)
/// and whatever was proved before the fault is kept; nothing else happens.
///
/// Ownership and lifetime: FrameFacts holds views (`std::span`) into the packet buffer and into
/// its own scratch area; it is only valid while the packet buffer is (for libpcap: inside the
/// callback) and must not be copied out of it. Apply it to a DeviceTable immediately.
/// Thread safety: the functions are reentrant; a FrameFacts/DecodeCounters pair belongs to one
/// thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "platform/mac_address.h"

namespace edgeid::capture {

using platform::MacAddress;

/// The link-layer header types we decode (libpcap DLT_/LINKTYPE_ values).
enum class LinkType : int {
  ethernet = 1,      ///< DLT_EN10MB: Ethernet II and 802.3/LLC, with 802.1Q/802.1ad tags
  linux_sll = 113,   ///< DLT_LINUX_SLL: Linux "cooked" v1 (capture on "any")
  linux_sll2 = 276,  ///< DLT_LINUX_SLL2: Linux "cooked" v2
};

/// Whether libpcap's link type @p dlt is one of ours.
constexpr bool is_supported_link_type(int dlt) noexcept {
  return dlt == 1 || dlt == 113 || dlt == 276;
}

/// Where a fact came from. Also the bits of a device's `sources` mask.
enum class Source : std::uint16_t {
  arp = 1U << 0,     ///< ARP/RARP sender or RARP reply target
  dhcp = 1U << 1,    ///< DHCPv4 (BOOTP) client message or ACK, keyed by chaddr
  ipv4 = 1U << 2,    ///< IPv4 source address of a frame
  ipv6 = 1U << 3,    ///< IPv6 source address of a frame
  ndp = 1U << 4,     ///< ICMPv6 neighbour discovery (RS/RA/NS/NA/redirect)
  mdns = 1U << 5,    ///< multicast DNS response
  nbns = 1U << 6,    ///< NetBIOS name service registration/response
  dhcpv6 = 1U << 7,  ///< DHCPv6 client message or Reply
  lldp = 1U << 8,    ///< IEEE 802.1AB LLDPDU
  cdp = 1U << 9,     ///< Cisco Discovery Protocol
};
inline constexpr std::size_t kSourceCount = 10;
using SourceMask = std::uint16_t;
/// "arp", "dhcp", … (the names used in the JSON `sources` array).
std::string_view to_string(Source source) noexcept;

/// Decoders that count their own malformed frames.
enum class Decoder : std::uint8_t {
  link,  ///< Ethernet/802.3/LLC/SNAP, Linux cooked v1/v2
  vlan,  ///< 802.1Q/802.1ad tag stack
  arp,
  ipv4,
  ipv6,  ///< IPv6 header and extension-header chain
  ndp,
  dhcp,
  dhcpv6,
  mdns,
  nbns,
  lldp,
  cdp,
};
inline constexpr std::size_t kDecoderCount = 12;
std::string_view to_string(Decoder decoder) noexcept;

/// Per-thread decode statistics. Plain counters: read them from the decoding thread, or copy.
struct DecodeCounters {
  std::uint64_t frames = 0;            ///< frames handed to decode_frame()
  std::uint64_t bytes = 0;             ///< their wire length
  std::uint64_t truncated = 0;         ///< decoding stopped at the capture's snaplen cut
  std::uint64_t ignored = 0;           ///< frames whose source is no device (group/zero MAC, no L2)
  std::uint64_t facts_dropped = 0;     ///< facts beyond FrameFacts::kMaxFacts in one frame
  std::uint64_t unsupported_link = 0;  ///< frames of a link type we do not decode
  std::array<std::uint64_t, kDecoderCount> malformed{};  ///< indexed by Decoder

  std::uint64_t malformed_total() const noexcept {
    std::uint64_t n = 0;
    for (auto v : malformed) n += v;
    return n;
  }
};

/// The 802.1Q/802.1ad tag stack of a frame, outermost first. A priority tag has id 0.
struct VlanStack {
  static constexpr std::size_t kMaxDepth = 4;  ///< more tags than this: the frame is malformed
  std::array<std::uint16_t, kMaxDepth> ids{};
  std::uint8_t depth = 0;

  /// A value that identifies the whole stack (depth and ids), for cheap comparison and sets.
  constexpr std::uint64_t key() const noexcept {
    std::uint64_t k = depth;
    for (std::size_t i = 0; i < depth; ++i) k |= std::uint64_t{ids[i]} << (4 + 12 * i);
    return k;
  }
  static constexpr VlanStack from_key(std::uint64_t k) noexcept {
    VlanStack v;
    v.depth = static_cast<std::uint8_t>(k & 0xf);
    if (v.depth > kMaxDepth) v.depth = 0;
    for (std::size_t i = 0; i < v.depth; ++i) {
      v.ids[i] = static_cast<std::uint16_t>((k >> (4 + 12 * i)) & 0xfff);
    }
    return v;
  }
  friend constexpr bool operator==(const VlanStack& a, const VlanStack& b) noexcept {
    return a.key() == b.key();
  }
};

/// Which host-name source a FactKind::host_name fact is. The order is the precedence used to
/// choose a device's host name (lower wins); see DeviceTable.
enum class NameSource : std::uint8_t {
  dhcp = 0,     ///< DHCPv4 option 12 (host name)
  dhcp_fqdn,    ///< DHCPv4 option 81 (client FQDN)
  dhcpv6_fqdn,  ///< DHCPv6 option 39 (client FQDN)
  mdns,         ///< mDNS A/AAAA owner, reverse-PTR target or SRV target (".local" stripped)
  nbns,         ///< NetBIOS unique name, suffix <00> or <20>, padding stripped
  lldp,         ///< LLDP system name
  cdp,          ///< CDP device id
};
inline constexpr std::size_t kNameSourceCount = 7;
/// "dhcp", "dhcp_fqdn", "dhcpv6_fqdn", "mdns", "nbns", "lldp", "cdp".
std::string_view to_string(NameSource source) noexcept;
/// The §10 `hostname_source` value: both DHCPv4 options report "dhcp", the FQDN of DHCPv6
/// reports "dhcpv6".
std::string_view hostname_source_name(NameSource source) noexcept;

/// What one fact says about its subject MAC.
enum class FactKind : std::uint8_t {
  ipv4,                 ///< addr[0..4): an IPv4 address of the subject
  ipv6,                 ///< addr: an IPv6 address of the subject
  host_name,            ///< text; `name` says which source
  router,               ///< the subject announced itself as an IPv6 router (RA, NA R-flag)
  dhcp_vendor_class,    ///< text: option 60
  dhcp_param_list,      ///< text: option 55 raw codes, wire order
  dhcp_client_id,       ///< text: option 61 raw bytes
  dhcpv6_duid,          ///< text: client DUID raw bytes
  dhcpv6_vendor_class,  ///< text: first vendor-class-data of option 16
  lldp_chassis_id,      ///< text: value; number: subtype
  lldp_port_id,         ///< text: value; number: subtype
  lldp_port_desc,       ///< text
  lldp_system_name,     ///< text
  lldp_system_desc,     ///< text
  lldp_capabilities,    ///< number: (system caps << 16) | enabled caps
  lldp_mgmt_addr,       ///< text: address; number: IANA address family
  cdp_device_id,        ///< text
  cdp_port_id,          ///< text
  cdp_platform,         ///< text
  cdp_software,         ///< text
  cdp_address,          ///< addr[0..4): first IPv4 address
  cdp_capabilities,     ///< number
  cdp_native_vlan,      ///< number
};

/// One fact about one MAC.
struct Fact {
  MacAddress mac;  ///< the subject (not necessarily the frame's source: DHCP chaddr, ARP sender)
  FactKind kind = FactKind::ipv4;
  Source source = Source::arp;
  /// For addresses: true when the protocol makes the subject claim it for itself (ARP sender,
  /// NDP, DHCP ACK/ciaddr, DHCPv6 Reply); false for addresses merely seen as a packet source or
  /// announced (mDNS, NBNS), which a router also shows for everybody it forwards.
  bool proven = false;
  NameSource name = NameSource::dhcp;  ///< for host_name
  std::array<std::uint8_t, 16> addr{};
  std::uint32_t number = 0;
  std::span<const std::uint8_t> text;  ///< view into the packet or FrameFacts::scratch

  std::string_view text_view() const noexcept {
    return {reinterpret_cast<const char*>(text.data()), text.size()};
  }
};

/// Everything one frame proves. Reused across frames: decode_frame() resets it.
struct FrameFacts {
  static constexpr std::size_t kMaxFacts = 24;
  static constexpr std::size_t kScratchSize = 1024;  ///< decompressed DNS/NBNS names

  MacAddress src;  ///< link-layer source (Ethernet or cooked), valid if has_src
  MacAddress dst;  ///< Ethernet destination, valid if has_dst (cooked captures have none)
  bool has_src = false;
  bool has_dst = false;
  VlanStack vlans;
  std::uint32_t wire_length = 0;
  std::uint8_t fact_count = 0;
  std::array<Fact, kMaxFacts> facts;
  std::array<std::uint8_t, kScratchSize> scratch;
  std::size_t scratch_used = 0;

  std::span<const Fact> view() const noexcept { return {facts.data(), fact_count}; }
  void reset() noexcept {
    has_src = has_dst = false;
    vlans = VlanStack{};
    wire_length = 0;
    fact_count = 0;
    scratch_used = 0;
  }
};

/// Decodes one captured frame of link type @p link. @p data is the captured part, @p wire_length
/// the original length (pcap `len`; at least data.size()). Resets @p out first.
void decode_frame(LinkType link, std::span<const std::uint8_t> data, std::uint32_t wire_length,
                  FrameFacts& out, DecodeCounters& counters) noexcept;

/// Context the L4 decoders need from the layers below them.
struct L3Context {
  MacAddress eth_src;  ///< frame source (valid if has_eth_src)
  MacAddress eth_dst;  ///< frame destination (valid if has_eth_dst)
  bool has_eth_src = false;
  bool has_eth_dst = false;
  bool truncated = false;                 ///< the capture cut the frame: count faults as truncation
  std::array<std::uint8_t, 16> ip_src{};  ///< IPv4 in the first 4 bytes
  bool ipv6 = false;
};

// Protocol decoders below the link layer. decode_frame() calls them; they are public so that
// unit tests and fuzzers can reach each one directly. @p payload is the UDP payload (or the
// LLDPDU / CDP PDU); facts are appended to @p out.
void decode_dhcpv4(std::span<const std::uint8_t> payload, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& counters) noexcept;
void decode_dhcpv6(std::span<const std::uint8_t> payload, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& counters) noexcept;
void decode_mdns(std::span<const std::uint8_t> msg, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& counters) noexcept;
void decode_nbns(std::span<const std::uint8_t> msg, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& counters) noexcept;
void decode_lldp(std::span<const std::uint8_t> pdu, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& counters) noexcept;
void decode_cdp(std::span<const std::uint8_t> pdu, const L3Context& ctx, FrameFacts& out,
                DecodeCounters& counters) noexcept;

}  // namespace edgeid::capture
