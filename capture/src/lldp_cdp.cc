// LLDP (IEEE 802.1AB) and CDP (Cisco, published TLV list). Both describe the sending device, so
// every fact names the frame's source. Each TLV loop advances by at least the TLV header, so a
// crafted PDU ends when its bytes do; zero-length or overlong TLVs stop the walk.
#include "capture/decode.h"
#include "wire.h"

namespace edgeid::capture {

using detail::Bytes;
using detail::Reader;

void decode_lldp(std::span<const std::uint8_t> pdu, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& c) noexcept {
  if (!ctx.has_eth_src) return;
  const MacAddress& mac = ctx.eth_src;
  Reader r(pdu);
  while (!r.empty()) {
    const std::uint16_t header = r.u16();
    const unsigned type = header >> 9;
    const std::size_t len = header & 0x1ffU;
    const Bytes value = r.bytes(len);
    if (!r.ok()) return detail::count_fault(c, Decoder::lldp, ctx.truncated);
    if (type == 0) return;  // End of LLDPDU
    switch (type) {
      case 1:    // chassis id: subtype + id
      case 2: {  // port id: subtype + id
        if (value.size() < 2) return detail::count_fault(c, Decoder::lldp, false);
        const auto kind = type == 1 ? FactKind::lldp_chassis_id : FactKind::lldp_port_id;
        if (Fact* f = detail::add_fact(out, c, mac, kind, Source::lldp)) {
          f->number = value[0];
          f->text = value.subspan(1);
        }
        break;
      }
      case 4: detail::add_text(out, c, mac, FactKind::lldp_port_desc, Source::lldp, value); break;
      case 5:
        detail::add_text(out, c, mac, FactKind::lldp_system_name, Source::lldp, value);
        detail::add_name(out, c, mac, Source::lldp, NameSource::lldp, value);
        break;
      case 6: detail::add_text(out, c, mac, FactKind::lldp_system_desc, Source::lldp, value); break;
      case 7:
        if (value.size() != 4) return detail::count_fault(c, Decoder::lldp, false);
        if (Fact* f = detail::add_fact(out, c, mac, FactKind::lldp_capabilities, Source::lldp)) {
          f->number =
              (std::uint32_t{detail::load_u16(value, 0)} << 16) | detail::load_u16(value, 2);
        }
        break;
      case 8: {  // mgmt address: addr-string-length(1) = 1 + address, subtype(1), address, …
        if (value.size() < 2) return detail::count_fault(c, Decoder::lldp, false);
        const std::size_t alen = value[0];
        if (alen < 2 || 1 + alen > value.size()) {
          return detail::count_fault(c, Decoder::lldp, false);
        }
        if (Fact* f = detail::add_fact(out, c, mac, FactKind::lldp_mgmt_addr, Source::lldp)) {
          f->number = value[1];
          f->text = value.subspan(2, alen - 1);
        }
        break;
      }
      default: break;  // TTL, organisationally specific TLVs, …
    }
  }
}

void decode_cdp(std::span<const std::uint8_t> pdu, const L3Context& ctx, FrameFacts& out,
                DecodeCounters& c) noexcept {
  if (!ctx.has_eth_src) return;
  const MacAddress& mac = ctx.eth_src;
  if (pdu.size() < 4) return detail::count_fault(c, Decoder::cdp, ctx.truncated);
  if (pdu[0] != 1 && pdu[0] != 2) return detail::count_fault(c, Decoder::cdp, false);
  Reader r(pdu.subspan(4));  // version, ttl, checksum
  while (!r.empty()) {
    const std::uint16_t type = r.u16();
    const std::size_t len = r.u16();
    // The length includes the 4-byte header: anything shorter would not advance.
    if (!r.ok() || len < 4) return detail::count_fault(c, Decoder::cdp, ctx.truncated && !r.ok());
    const Bytes value = r.bytes(len - 4);
    if (!r.ok()) return detail::count_fault(c, Decoder::cdp, ctx.truncated);
    switch (type) {
      case 0x01:
        detail::add_text(out, c, mac, FactKind::cdp_device_id, Source::cdp, value);
        detail::add_name(out, c, mac, Source::cdp, NameSource::cdp, value);
        break;
      case 0x03: detail::add_text(out, c, mac, FactKind::cdp_port_id, Source::cdp, value); break;
      case 0x05: detail::add_text(out, c, mac, FactKind::cdp_software, Source::cdp, value); break;
      case 0x06: detail::add_text(out, c, mac, FactKind::cdp_platform, Source::cdp, value); break;
      case 0x04:
        if (value.size() != 4) return detail::count_fault(c, Decoder::cdp, false);
        if (Fact* f = detail::add_fact(out, c, mac, FactKind::cdp_capabilities, Source::cdp)) {
          f->number =
              (std::uint32_t{detail::load_u16(value, 0)} << 16) | detail::load_u16(value, 2);
        }
        break;
      case 0x0a:
        if (value.size() != 2) return detail::count_fault(c, Decoder::cdp, false);
        if (Fact* f = detail::add_fact(out, c, mac, FactKind::cdp_native_vlan, Source::cdp)) {
          f->number = detail::load_u16(value, 0);
        }
        break;
      case 0x02: {  // addresses: count(4), then {ptype(1) plen(1) proto(plen) alen(2) addr}
        Reader a(value);
        const std::uint32_t count = a.u32();
        for (std::uint32_t i = 0; i < count && a.ok() && !a.empty(); ++i) {
          const std::uint8_t ptype = a.u8();
          const std::uint8_t plen = a.u8();
          const Bytes proto = a.bytes(plen);
          const std::uint16_t alen = a.u16();
          const Bytes addr = a.bytes(alen);
          if (!a.ok()) break;
          // NLPID 0xcc = IPv4.
          if (ptype == 1 && plen == 1 && proto[0] == 0xcc && alen == 4) {
            if (Fact* f = detail::add_fact(out, c, mac, FactKind::cdp_address, Source::cdp)) {
              std::copy(addr.begin(), addr.end(), f->addr.begin());
            }
            break;  // the first IPv4 address is the management address
          }
        }
        if (!a.ok()) detail::count_fault(c, Decoder::cdp, false);
        break;
      }
      default: break;
    }
  }
}

}  // namespace edgeid::capture
