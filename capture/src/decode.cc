// Link layer, VLAN tags, ARP/RARP, IPv4, IPv6 and NDP. The DHCP, DNS and LLDP/CDP decoders live
// in their own files; this one dispatches to them.
#include "capture/decode.h"

#include <cstring>

#include "wire.h"

namespace edgeid::capture {

using detail::Bytes;
using detail::Reader;

std::string_view to_string(Source source) noexcept {
  switch (source) {
    case Source::arp: return "arp";
    case Source::dhcp: return "dhcp";
    case Source::ipv4: return "ipv4";
    case Source::ipv6: return "ipv6";
    case Source::ndp: return "ndp";
    case Source::mdns: return "mdns";
    case Source::nbns: return "nbns";
    case Source::dhcpv6: return "dhcpv6";
    case Source::lldp: return "lldp";
    case Source::cdp: return "cdp";
  }
  return "?";
}

std::string_view to_string(Decoder decoder) noexcept {
  static constexpr std::string_view kNames[kDecoderCount] = {"link", "vlan", "arp",  "ipv4",
                                                             "ipv6", "ndp",  "dhcp", "dhcpv6",
                                                             "mdns", "nbns", "lldp", "cdp"};
  const auto i = static_cast<std::size_t>(decoder);
  return i < kDecoderCount ? kNames[i] : "?";
}

std::string_view to_string(NameSource source) noexcept {
  static constexpr std::string_view kNames[kNameSourceCount] = {
      "dhcp", "dhcp_fqdn", "dhcpv6_fqdn", "mdns", "nbns", "lldp", "cdp"};
  const auto i = static_cast<std::size_t>(source);
  return i < kNameSourceCount ? kNames[i] : "?";
}

std::string_view hostname_source_name(NameSource source) noexcept {
  switch (source) {
    case NameSource::dhcp:
    case NameSource::dhcp_fqdn: return "dhcp";
    case NameSource::dhcpv6_fqdn: return "dhcpv6";
    case NameSource::mdns: return "mdns";
    case NameSource::nbns: return "nbns";
    case NameSource::lldp: return "lldp";
    case NameSource::cdp: return "cdp";
  }
  return "?";
}

namespace {

// The 6 bytes at @p p (the caller checked the length) as one copy: MacAddress::from_wire's
// byte loop and optional cost store-forwarding stalls on every frame.
MacAddress mac_at(const std::uint8_t* p) noexcept {
  MacAddress::Bytes b;
  std::memcpy(b.data(), p, b.size());
  return MacAddress(b);
}

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherRarp = 0x8035;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherLldp = 0x88cc;
constexpr std::uint16_t kTpidDot1q = 0x8100;
constexpr std::uint16_t kTpidDot1ad = 0x88a8;
constexpr std::uint16_t kTpidQinqLegacy = 0x9100;
// Tags beyond VlanStack::kMaxDepth are still skipped up to this many so that an odd but valid
// frame decodes; more is no real network, just a parser-stressing input.
constexpr std::size_t kMaxTags = 8;

constexpr bool is_tpid(std::uint16_t t) noexcept {
  return t == kTpidDot1q || t == kTpidDot1ad || t == kTpidQinqLegacy;
}

void decode_arp(Bytes arp, const L3Context& ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  Reader r(arp);
  const std::uint16_t htype = r.u16();
  const std::uint16_t ptype = r.u16();
  const std::uint8_t hlen = r.u8();
  const std::uint8_t plen = r.u8();
  const std::uint16_t op = r.u16();
  if (!r.ok()) return detail::count_fault(c, Decoder::arp, ctx.truncated);
  // Only Ethernet/IPv4 ARP names stations; other hardware/protocol pairs are not ours.
  if (htype != 1 || ptype != kEtherIpv4) return;
  if (hlen != 6 || plen != 4) return detail::count_fault(c, Decoder::arp, false);
  const Bytes sha = r.bytes(6);
  const Bytes spa = r.bytes(4);
  const Bytes tha = r.bytes(6);
  const Bytes tpa = r.bytes(4);
  if (!r.ok()) return detail::count_fault(c, Decoder::arp, ctx.truncated);
  switch (op) {
    case 1:    // request
    case 2: {  // reply
      // The sender's pair is what every peer's ARP cache will store, so it is bound even when
      // the Ethernet source differs (proxy ARP, bridges). An ARP probe (RFC 5227) has sender
      // 0.0.0.0: the target address is only tentative, so it binds nothing.
      const auto mac = *MacAddress::from_wire(sha);
      if (detail::is_host_ipv4(spa)) detail::add_ipv4(out, c, mac, Source::arp, spa, true);
      break;
    }
    case 4: {  // RARP reply: the server tells the target its address
      const auto mac = *MacAddress::from_wire(tha);
      if (detail::is_host_ipv4(tpa)) detail::add_ipv4(out, c, mac, Source::arp, tpa, true);
      break;
    }
    default: break;  // RARP request and others carry no binding
  }
}

void decode_ipv4(Bytes ip, L3Context ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  if (ip.size() < 20) return detail::count_fault(c, Decoder::ipv4, ctx.truncated);
  const std::uint8_t vihl = ip[0];
  const std::size_t ihl = std::size_t{vihl & 0x0fU} * 4;
  const std::size_t total = detail::load_u16(ip, 2);
  if ((vihl >> 4) != 4 || ihl < 20 || total < ihl) {
    return detail::count_fault(c, Decoder::ipv4, false);
  }
  if (ihl > ip.size()) return detail::count_fault(c, Decoder::ipv4, ctx.truncated);
  const Bytes src = ip.subspan(12, 4);
  if (ctx.has_eth_src && detail::is_host_ipv4(src)) {
    detail::add_ipv4(out, c, ctx.eth_src, Source::ipv4, src, false);
  }
  std::copy(src.begin(), src.end(), ctx.ip_src.begin());
  ctx.ipv6 = false;
  // Ethernet pads short frames: the IPv4 total length bounds the payload. A total beyond the
  // captured bytes is either snaplen (truncated) or a lie.
  if (total > ip.size()) {
    if (!ctx.truncated) return detail::count_fault(c, Decoder::ipv4, false);
  } else {
    ip = ip.first(total);
  }
  const std::uint16_t frag = detail::load_u16(ip, 6);
  if ((frag & 0x1fffU) != 0) return;  // not the first fragment: no UDP header here
  if (ip[9] == 17) detail::decode_udp(ip.subspan(ihl), ctx, out, c);
}

void decode_ipv6(Bytes ip, L3Context ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  if (ip.size() < 40) return detail::count_fault(c, Decoder::ipv6, ctx.truncated);
  if ((ip[0] >> 4) != 6) return detail::count_fault(c, Decoder::ipv6, false);
  const std::size_t payload_len = detail::load_u16(ip, 4);
  const Bytes src = ip.subspan(8, 16);
  if (ctx.has_eth_src && detail::is_host_ipv6(src)) {
    detail::add_ipv6(out, c, ctx.eth_src, Source::ipv6, src, false);
  }
  std::copy(src.begin(), src.end(), ctx.ip_src.begin());
  ctx.ipv6 = true;
  Bytes payload = ip.subspan(40);
  if (payload_len > payload.size()) {
    if (!ctx.truncated) return detail::count_fault(c, Decoder::ipv6, false);
  } else if (payload_len != 0) {  // 0 = jumbogram; keep what we have
    payload = payload.first(payload_len);
  }
  std::uint8_t next = ip[6];
  // Walk the extension headers NDP and DHCPv6 may sit behind; each one advances by at least 8
  // bytes, so the walk ends.
  for (int hops = 0; hops < 8; ++hops) {
    switch (next) {
      case 0:     // hop-by-hop
      case 43:    // routing
      case 60: {  // destination options
        if (payload.size() < 8) return detail::count_fault(c, Decoder::ipv6, ctx.truncated);
        const std::size_t len = (std::size_t{payload[1]} + 1) * 8;
        if (len > payload.size()) return detail::count_fault(c, Decoder::ipv6, ctx.truncated);
        next = payload[0];
        payload = payload.subspan(len);
        continue;
      }
      case 44: {  // fragment: only the first fragment carries the upper-layer header
        if (payload.size() < 8) return detail::count_fault(c, Decoder::ipv6, ctx.truncated);
        if ((detail::load_u16(payload, 2) & 0xfff8U) != 0) return;
        next = payload[0];
        payload = payload.subspan(8);
        continue;
      }
      case 17: return detail::decode_udp(payload, ctx, out, c);
      case 58: return detail::decode_icmpv6(payload, src, ctx, out, c);
      default: return;
    }
  }
  detail::count_fault(c, Decoder::ipv6, false);
}

void decode_ethertype(std::uint16_t type, Bytes payload, const L3Context& ctx, FrameFacts& out,
                      DecodeCounters& c) noexcept {
  switch (type) {
    case kEtherIpv4: return decode_ipv4(payload, ctx, out, c);
    case kEtherIpv6: return decode_ipv6(payload, ctx, out, c);
    case kEtherArp:
    case kEtherRarp: return decode_arp(payload, ctx, out, c);
    case kEtherLldp: return decode_lldp(payload, ctx, out, c);
    default: return;
  }
}

// 802.3 length frames: LLC, and SNAP for CDP (OUI 00-00-0C, PID 0x2000).
void decode_llc(Bytes llc, const L3Context& ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  if (llc.size() < 3) return detail::count_fault(c, Decoder::link, ctx.truncated);
  if (llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03) return;  // not SNAP: STP, IPX, …
  if (llc.size() < 8) return detail::count_fault(c, Decoder::link, ctx.truncated);
  const std::uint32_t oui = (std::uint32_t{llc[3]} << 16) | (std::uint32_t{llc[4]} << 8) | llc[5];
  const std::uint16_t pid = detail::load_u16(llc, 6);
  const Bytes payload = llc.subspan(8);
  if (oui == 0x00000c && pid == 0x2000) return decode_cdp(payload, ctx, out, c);
  // RFC 1042 encapsulation carries an EtherType.
  if (oui == 0) decode_ethertype(pid, payload, ctx, out, c);
}

void decode_ethernet(Bytes frame, L3Context& ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  if (frame.size() < 14) return detail::count_fault(c, Decoder::link, ctx.truncated);
  out.dst = mac_at(frame.data());
  out.src = mac_at(frame.data() + 6);
  out.has_dst = out.has_src = true;
  ctx.eth_dst = out.dst;
  ctx.eth_src = out.src;
  ctx.has_eth_dst = ctx.has_eth_src = true;
  Reader r(frame.subspan(12));
  std::uint16_t type = r.u16();
  for (std::size_t tags = 0; is_tpid(type); ++tags) {
    if (tags == kMaxTags) return detail::count_fault(c, Decoder::vlan, false);
    const std::uint16_t tci = r.u16();
    type = r.u16();
    if (!r.ok()) return detail::count_fault(c, Decoder::vlan, ctx.truncated);
    if (out.vlans.depth < VlanStack::kMaxDepth) {
      out.vlans.ids[out.vlans.depth++] = static_cast<std::uint16_t>(tci & 0x0fffU);
    }
  }
  Bytes payload = r.rest();
  if (type <= 1500) {  // 802.3 length field
    if (type <= payload.size()) payload = payload.first(type);
    return decode_llc(payload, ctx, out, c);
  }
  if (type < 0x0600) return detail::count_fault(c, Decoder::link, false);
  decode_ethertype(type, payload, ctx, out, c);
}

// Linux cooked v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
// Linux cooked v2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8).
void decode_sll(LinkType link, Bytes frame, L3Context& ctx, FrameFacts& out,
                DecodeCounters& c) noexcept {
  const std::size_t header = link == LinkType::linux_sll ? 16 : 20;
  if (frame.size() < header) return detail::count_fault(c, Decoder::link, ctx.truncated);
  std::uint16_t hatype = 0;
  std::uint16_t protocol = 0;
  std::size_t halen = 0;
  Bytes addr;
  if (link == LinkType::linux_sll) {
    hatype = detail::load_u16(frame, 2);
    halen = detail::load_u16(frame, 4);
    addr = frame.subspan(6, 8);
    protocol = detail::load_u16(frame, 14);
  } else {
    protocol = detail::load_u16(frame, 0);
    hatype = detail::load_u16(frame, 8);
    halen = frame[11];
    addr = frame.subspan(12, 8);
  }
  // Only an Ethernet-like hardware address (ARPHRD_ETHER = 1, 6 bytes) names a station; a
  // frame from a tunnel or loopback still counts, but has no device.
  if (hatype == 1 && halen == 6) {
    out.src = *MacAddress::from_wire(addr);
    out.has_src = true;
    ctx.eth_src = out.src;
    ctx.has_eth_src = true;
  }
  Bytes payload = frame.subspan(header);
  // The cooked header may carry 802.1Q tags in the payload when VLAN offload is off.
  for (std::size_t tags = 0; is_tpid(protocol); ++tags) {
    if (tags == kMaxTags) return detail::count_fault(c, Decoder::vlan, false);
    if (payload.size() < 4) return detail::count_fault(c, Decoder::vlan, ctx.truncated);
    if (out.vlans.depth < VlanStack::kMaxDepth) {
      out.vlans.ids[out.vlans.depth++] =
          static_cast<std::uint16_t>(detail::load_u16(payload, 0) & 0x0fffU);
    }
    protocol = detail::load_u16(payload, 2);
    payload = payload.subspan(4);
  }
  if (protocol == 0x0004) return decode_llc(payload, ctx, out, c);  // ETH_P_802_2
  decode_ethertype(protocol, payload, ctx, out, c);
}

}  // namespace

void decode_frame(LinkType link, std::span<const std::uint8_t> data, std::uint32_t wire_length,
                  FrameFacts& out, DecodeCounters& counters) noexcept {
  out.reset();
  if (wire_length < data.size()) wire_length = static_cast<std::uint32_t>(data.size());
  out.wire_length = wire_length;
  ++counters.frames;
  counters.bytes += wire_length;
  L3Context ctx;
  ctx.truncated = data.size() < wire_length;
  switch (link) {
    case LinkType::ethernet: decode_ethernet(data, ctx, out, counters); break;
    case LinkType::linux_sll:
    case LinkType::linux_sll2: decode_sll(link, data, ctx, out, counters); break;
    default: ++counters.unsupported_link; return;
  }
  if (!out.has_src || !out.src.is_unicast_station()) ++counters.ignored;
}

namespace detail {

void decode_udp(Bytes udp, const L3Context& ctx, FrameFacts& out, DecodeCounters& c) noexcept {
  if (udp.size() < 8) {
    // Which decoder would have run is unknown without ports; count it on the IP layer.
    return count_fault(c, ctx.ipv6 ? Decoder::ipv6 : Decoder::ipv4, ctx.truncated);
  }
  const std::uint16_t sport = load_u16(udp, 0);
  const std::uint16_t dport = load_u16(udp, 2);
  const std::size_t len = load_u16(udp, 4);
  Bytes payload = udp.subspan(8);
  if (len >= 8 && len - 8 <= payload.size()) payload = payload.first(len - 8);
  const auto either = [&](std::uint16_t p) { return sport == p || dport == p; };
  if (!ctx.ipv6 && (either(67) || either(68))) return decode_dhcpv4(payload, ctx, out, c);
  if (ctx.ipv6 && (either(546) || either(547))) return decode_dhcpv6(payload, ctx, out, c);
  if (sport == 5353) return decode_mdns(payload, ctx, out, c);  // responses come from 5353
  if (!ctx.ipv6 && sport == 137) return decode_nbns(payload, ctx, out, c);
}

void decode_icmpv6(Bytes icmp, Bytes ip6_src, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& c) noexcept {
  if (icmp.size() < 4) return count_fault(c, Decoder::ndp, ctx.truncated);
  const std::uint8_t type = icmp[0];
  if (type < 133 || type > 137) return;
  // Fixed part after the 4-byte ICMPv6 header: RS 4, RA 12, NS 20, NA 20, redirect 36.
  static constexpr std::size_t kFixed[] = {4, 12, 20, 20, 36};
  const std::size_t fixed = 4 + kFixed[type - 133];
  if (icmp.size() < fixed) return count_fault(c, Decoder::ndp, ctx.truncated);
  Bytes slla;
  Bytes tlla;
  Reader opts(icmp.subspan(fixed));
  while (!opts.empty()) {
    const std::uint8_t opt = opts.u8();
    const std::size_t units = opts.u8();
    // RFC 4861 §4.6: a zero length is invalid and would loop for ever.
    if (!opts.ok() || units == 0) return count_fault(c, Decoder::ndp, ctx.truncated && !opts.ok());
    const Bytes body = opts.bytes(units * 8 - 2);
    if (!opts.ok()) return count_fault(c, Decoder::ndp, ctx.truncated);
    if (opt == 1 && body.size() >= 6) slla = body.first(6);
    if (opt == 2 && body.size() >= 6) tlla = body.first(6);
  }
  const bool src_unspecified = !is_host_ipv6(ip6_src);
  if (!ctx.has_eth_src && slla.empty()) return;
  const MacAddress sender = !slla.empty() ? *MacAddress::from_wire(slla) : ctx.eth_src;
  if (!src_unspecified) {
    add_ipv6(out, c, sender, Source::ndp, ip6_src, true);
  }
  // From :: (DAD, RFC 4862) the target is only tentative: nothing is bound until it is used.
  if (type == 134 && !src_unspecified) add_fact(out, c, sender, FactKind::router, Source::ndp);
  if (type == 136) {
    const Bytes target = icmp.subspan(8, 16);
    const bool router_flag = (icmp[4] & 0x80U) != 0;
    const MacAddress owner = !tlla.empty() ? *MacAddress::from_wire(tlla) : sender;
    if (is_host_ipv6(target)) add_ipv6(out, c, owner, Source::ndp, target, true);
    if (router_flag) add_fact(out, c, owner, FactKind::router, Source::ndp);
  }
}

int read_dns_name(Bytes message, std::size_t offset, bool allow_compression,
                  std::span<std::uint8_t> dst, std::size_t& end_offset) noexcept {
  constexpr int kMaxJumps = 16;
  constexpr std::size_t kMaxName = 255;
  std::size_t pos = offset;
  std::size_t written = 0;
  int jumps = 0;
  bool jumped = false;
  // The lowest offset visited so far: a pointer must go strictly below it, so no loop can form.
  std::size_t floor = offset;
  for (;;) {
    if (pos >= message.size()) return -1;
    const std::uint8_t len = message[pos];
    if ((len & 0xc0U) == 0xc0U) {
      if (!allow_compression || pos + 1 >= message.size()) return -1;
      const std::size_t target = (std::size_t{len & 0x3fU} << 8) | message[pos + 1];
      if (!jumped) end_offset = pos + 2;
      jumped = true;
      if (target >= floor || ++jumps > kMaxJumps) return -1;
      floor = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0U) != 0) return -1;  // 0x40/0x80: extended label types, not in use
    if (len == 0) {
      if (!jumped) end_offset = pos + 1;
      return static_cast<int>(written);
    }
    if (pos + 1 + len > message.size()) return -1;
    const std::size_t need = len + (written > 0 ? 1 : 0);
    if (written + need > kMaxName || written + need > dst.size()) return -1;
    if (written > 0) dst[written++] = '.';
    for (std::size_t i = 0; i < len; ++i) dst[written++] = message[pos + 1 + i];
    pos += 1 + len;
  }
}

}  // namespace detail
}  // namespace edgeid::capture
