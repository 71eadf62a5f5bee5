// DHCPv4 (RFC 2131/2132, BOOTP RFC 951) and DHCPv6 (RFC 8415).
//
// DHCPv4 facts are about the client hardware address (chaddr), never the frame source: a relayed
// packet's Ethernet source is the relay agent (giaddr != 0), and lease-query messages are sent
// by relays and servers about somebody else.
#include "capture/decode.h"
#include "wire.h"

namespace edgeid::capture {

using detail::Bytes;
using detail::Reader;

namespace {

constexpr std::size_t kBootpFixed = 236;
constexpr std::uint32_t kMagicCookie = 0x63825363;

// The options we keep, each the first occurrence (RFC 3396 concatenation is not applied: the
// ones we read are short enough never to be split by real clients).
struct DhcpOptions {
  int message_type = -1;
  int overload = 0;
  Bytes host_name;
  Bytes fqdn;  // option 81 payload (flags, rcode1, rcode2, name)
  Bytes client_id;
  Bytes vendor_class;
  Bytes param_list;
  bool malformed = false;
};

// Parses one option area. Pad is skipped, End stops; an area without End simply ends. An option
// whose length runs past the area is malformed: options before it are kept.
void parse_options(Bytes area, DhcpOptions& o) noexcept {
  Reader r(area);
  while (!r.empty()) {
    const std::uint8_t code = r.u8();
    if (code == 0) continue;
    if (code == 255) return;
    const std::uint8_t len = r.u8();
    const Bytes value = r.bytes(len);
    if (!r.ok()) {
      o.malformed = true;
      return;
    }
    const auto keep = [&](Bytes& slot) {
      if (slot.empty()) slot = value;
    };
    switch (code) {
      case 12: keep(o.host_name); break;
      case 52:
        if (len == 1 && o.overload == 0) o.overload = value[0];
        break;
      case 53:
        if (len == 1 && o.message_type < 0) o.message_type = value[0];
        break;
      case 55: keep(o.param_list); break;
      case 60: keep(o.vendor_class); break;
      case 61: keep(o.client_id); break;
      case 81: keep(o.fqdn); break;
      default: break;
    }
  }
}

// Writes the domain name of option 81 / DHCPv6 option 39 as text. With the E bit (or always in
// DHCPv6) the name is in DNS wire format without compression (RFC 4702 §2.1, RFC 4704 §4.2); a
// partial name simply lacks the terminating root label.
Bytes fqdn_text(Bytes name, bool wire_format, FrameFacts& out) noexcept {
  if (!wire_format) {
    // Deprecated ASCII form; some clients add a terminating NUL or dot.
    while (!name.empty() && (name.back() == 0 || name.back() == '.')) {
      name = name.first(name.size() - 1);
    }
    return name;
  }
  auto dst = detail::scratch_alloc(out, name.size());
  std::size_t written = 0;
  std::size_t pos = 0;
  while (pos < name.size() && dst.size() == name.size()) {
    const std::size_t len = name[pos];
    if (len == 0 || (len & 0xc0U) != 0 || pos + 1 + len > name.size()) break;
    if (written > 0) dst[written++] = '.';
    for (std::size_t i = 0; i < len; ++i) dst[written++] = name[pos + 1 + i];
    pos += 1 + len;
  }
  return Bytes(dst.data(), written);
}

}  // namespace

void decode_dhcpv4(std::span<const std::uint8_t> payload, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& c) noexcept {
  if (payload.size() < kBootpFixed) return detail::count_fault(c, Decoder::dhcp, ctx.truncated);
  Reader r(payload);
  const std::uint8_t op = r.u8();
  const std::uint8_t htype = r.u8();
  const std::uint8_t hlen = r.u8();
  if (op != 1 && op != 2) return detail::count_fault(c, Decoder::dhcp, false);
  // Only an Ethernet chaddr names a device we can key.
  if (htype != 1 || hlen != 6) return;
  const Bytes ciaddr = payload.subspan(12, 4);
  const Bytes yiaddr = payload.subspan(16, 4);
  const MacAddress chaddr = *MacAddress::from_wire(payload.subspan(28, 6));
  const Bytes sname = payload.subspan(44, 64);
  const Bytes file = payload.subspan(108, 128);

  DhcpOptions o;
  const bool has_cookie = payload.size() >= kBootpFixed + 4 &&
                          detail::load_u16(payload, 236) == (kMagicCookie >> 16) &&
                          detail::load_u16(payload, 238) == (kMagicCookie & 0xffffU);
  if (has_cookie) {
    parse_options(payload.subspan(kBootpFixed + 4), o);
    // Option overload (52): file, then sname, hold more options (RFC 2131 §4.1).
    if (o.overload == 1 || o.overload == 3) parse_options(file, o);
    if (o.overload == 2 || o.overload == 3) parse_options(sname, o);
  } else if (payload.size() > kBootpFixed + 4 && payload.size() < kBootpFixed + 4 + 64) {
    o.malformed = true;  // neither plain BOOTP (64-byte vend) nor a cookie
  }
  if (o.malformed) detail::count_fault(c, Decoder::dhcp, ctx.truncated);

  const int type = o.message_type;
  if (op == 1) {
    // Client messages: DISCOVER 1, REQUEST 3, DECLINE 4, RELEASE 7, INFORM 8, or plain BOOTP.
    // Lease query (10) comes from a relay or server and is about somebody else.
    const bool client = type < 0 || type == 1 || type == 3 || type == 4 || type == 7 || type == 8;
    if (!client) return;
    detail::add_name(out, c, chaddr, Source::dhcp, NameSource::dhcp, o.host_name);
    if (o.fqdn.size() > 3) {
      const bool wire = (o.fqdn[0] & 0x04U) != 0;
      const Bytes name = fqdn_text(o.fqdn.subspan(3), wire, out);
      detail::add_name(out, c, chaddr, Source::dhcp, NameSource::dhcp_fqdn, name);
    }
    detail::add_text(out, c, chaddr, FactKind::dhcp_vendor_class, Source::dhcp, o.vendor_class);
    detail::add_text(out, c, chaddr, FactKind::dhcp_param_list, Source::dhcp, o.param_list);
    detail::add_text(out, c, chaddr, FactKind::dhcp_client_id, Source::dhcp, o.client_id);
    // ciaddr is filled only by a client that already owns the address (RENEW/REBIND REQUEST,
    // RELEASE, INFORM, BOOTP).
    const bool owns = type < 0 || type == 3 || type == 7 || type == 8;
    if (owns && detail::is_host_ipv4(ciaddr)) {
      detail::add_ipv4(out, c, chaddr, Source::dhcp, ciaddr, true);
    }
  } else if (type == 5 || type < 0) {
    // DHCPACK, or a BOOTREPLY without option 53: yiaddr now belongs to chaddr.
    if (detail::is_host_ipv4(yiaddr)) detail::add_ipv4(out, c, chaddr, Source::dhcp, yiaddr, true);
  }
}

namespace {

// DHCPv6 message types (RFC 8415 §7.3).
constexpr bool is_v6_client_message(std::uint8_t t) noexcept {
  return t == 1 || t == 3 || t == 4 || t == 5 || t == 6 || t == 8 || t == 9 || t == 11;
}
constexpr std::uint8_t kReply = 7;
constexpr std::uint8_t kRelayForw = 12;
constexpr std::uint8_t kRelayRepl = 13;
constexpr int kMaxRelayDepth = 8;  // RFC 8415 HOP_COUNT_LIMIT is 8 (32 hops in theory)

// The link-layer address of a DUID-LLT (1) or DUID-LL (3) with hardware type Ethernet.
bool duid_mac(Bytes duid, MacAddress& mac) noexcept {
  if (duid.size() < 4) return false;
  const std::uint16_t type = detail::load_u16(duid, 0);
  const std::uint16_t hw = detail::load_u16(duid, 2);
  const std::size_t at = type == 1 ? 8 : type == 3 ? 4 : 0;
  if (at == 0 || hw != 1 || duid.size() != at + 6) return false;
  mac = *MacAddress::from_wire(duid.subspan(at, 6));
  return true;
}

void decode_v6_message(Bytes msg, const L3Context& ctx, bool relayed, int depth, FrameFacts& out,
                       DecodeCounters& c) noexcept {
  if (msg.empty()) return detail::count_fault(c, Decoder::dhcpv6, ctx.truncated);
  const std::uint8_t type = msg[0];
  if (type == kRelayForw || type == kRelayRepl) {
    if (depth >= kMaxRelayDepth) return detail::count_fault(c, Decoder::dhcpv6, false);
    if (msg.size() < 34) return detail::count_fault(c, Decoder::dhcpv6, ctx.truncated);
    Reader r(msg.subspan(34));
    while (!r.empty()) {
      const std::uint16_t code = r.u16();
      const std::uint16_t len = r.u16();
      const Bytes value = r.bytes(len);
      if (!r.ok()) return detail::count_fault(c, Decoder::dhcpv6, ctx.truncated);
      if (code == 9) return decode_v6_message(value, ctx, true, depth + 1, out, c);
    }
    return;
  }
  const bool client = is_v6_client_message(type);
  if (!client && type != kReply) return;
  if (msg.size() < 4) return detail::count_fault(c, Decoder::dhcpv6, ctx.truncated);
  Bytes duid;
  Bytes fqdn;
  Bytes vendor;
  // IA addresses of a Reply: at most this many are bound per message.
  constexpr std::size_t kMaxIa = 8;
  std::array<Bytes, kMaxIa> ia_addrs{};
  std::size_t ia_count = 0;
  bool bad = false;
  Reader r(msg.subspan(4));
  while (!r.empty()) {
    const std::uint16_t code = r.u16();
    const std::uint16_t len = r.u16();
    const Bytes value = r.bytes(len);
    if (!r.ok()) {
      bad = true;
      break;
    }
    switch (code) {
      case 1:
        if (duid.empty()) duid = value;
        break;
      case 39:
        if (fqdn.empty()) fqdn = value;
        break;
      case 16:
        if (vendor.empty()) vendor = value;
        break;
      case 3:    // IA_NA: IAID, T1, T2, options
      case 4: {  // IA_TA: IAID, options
        const std::size_t skip = code == 3 ? 12 : 4;
        if (value.size() < skip) {
          bad = true;
          break;
        }
        Reader ia(value.subspan(skip));
        while (!ia.empty()) {
          const std::uint16_t icode = ia.u16();
          const std::uint16_t ilen = ia.u16();
          const Bytes ivalue = ia.bytes(ilen);
          if (!ia.ok()) {
            bad = true;
            break;
          }
          if (icode == 5 && ivalue.size() >= 24 && ia_count < kMaxIa) {
            ia_addrs[ia_count++] = ivalue.first(16);
          }
        }
        break;
      }
      default: break;
    }
  }
  if (bad) detail::count_fault(c, Decoder::dhcpv6, ctx.truncated);

  // The subject: a relayed message names its client only through a DUID-LL/LLT; a direct one is
  // the frame's source (client) or destination (Reply). The DUID of a direct client is not used
  // for the key: a DUID-LLT keeps the MAC of whichever interface existed when it was made.
  MacAddress subject;
  bool have_subject = false;
  if (relayed) {
    have_subject = duid_mac(duid, subject);
  } else if (client && ctx.has_eth_src) {
    subject = ctx.eth_src;
    have_subject = true;
  } else if (!client && ctx.has_eth_dst) {
    subject = ctx.eth_dst;
    have_subject = ctx.eth_dst.is_unicast_station();
    if (!have_subject) have_subject = duid_mac(duid, subject);
  }
  if (!have_subject) return;
  if (client) {
    detail::add_text(out, c, subject, FactKind::dhcpv6_duid, Source::dhcpv6, duid);
    if (fqdn.size() > 1) {
      const Bytes name = fqdn_text(fqdn.subspan(1), true, out);
      detail::add_name(out, c, subject, Source::dhcpv6, NameSource::dhcpv6_fqdn, name);
    }
    // vendor-class: enterprise-number(4), then (len(2), data)*; the first data is the class.
    if (vendor.size() > 6) {
      const std::size_t len = detail::load_u16(vendor, 4);
      if (6 + len <= vendor.size()) {
        detail::add_text(out, c, subject, FactKind::dhcpv6_vendor_class, Source::dhcpv6,
                         vendor.subspan(6, len));
      }
    }
  } else {
    for (std::size_t i = 0; i < ia_count; ++i) {
      if (detail::is_host_ipv6(ia_addrs[i])) {
        detail::add_ipv6(out, c, subject, Source::dhcpv6, ia_addrs[i], true);
      }
    }
  }
}

}  // namespace

void decode_dhcpv6(std::span<const std::uint8_t> payload, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& c) noexcept {
  decode_v6_message(payload, ctx, false, 0, out, c);
}

}  // namespace edgeid::capture
