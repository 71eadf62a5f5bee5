#include <memory>

#include <doctest/doctest.h>

#include "capture/decode.h"
#include "capture/frame_builder.h"

namespace edgeid::capture {
namespace {

using namespace test;

struct Fixture : PayloadDecoder {
  Fixture() {
    ctx.eth_src = kHost;
    ctx.has_eth_src = true;
    ctx.eth_dst = kOther;
    ctx.has_eth_dst = true;
  }
  FrameFacts& v4(const Frame& payload) { return run(decode_dhcpv4, payload); }
  FrameFacts& v6(const Frame& payload) { return run(decode_dhcpv6, payload); }
};

Frame opt(int code, std::string_view value) {
  Frame f;
  put(f, {code, static_cast<int>(value.size())});
  put(f, value);
  return f;
}

Frame cat(std::initializer_list<Frame> parts) {
  Frame f;
  for (const auto& p : parts) put(f, p);
  return f;
}

std::string name_of(const FrameFacts& f, const MacAddress& mac, NameSource source) {
  for (const auto& fact : f.view()) {
    if (fact.kind == FactKind::host_name && fact.mac == mac && fact.name == source) {
      return text_of(fact);
    }
  }
  return "<none>";
}

TEST_CASE("dhcpv4: client options are keyed by chaddr") {
  Fixture t;
  const Frame options = cat({opt(53, "\x03"), opt(12, "laptop-7"), opt(60, "MSFT 5.0"),
                             opt(55, std::string_view("\x01\x03\x06\x0f", 4)),
                             opt(61, std::string_view("\x01\x3c\x22\xfb\x00\x00\x01", 7)),
                             opt(50, std::string_view("\x0a\x00\x00\x05", 4)), Frame{255}});
  auto& out = t.v4(dhcp(1, kOther, options));
  CHECK(name_of(out, kOther, NameSource::dhcp) == "laptop-7");
  REQUIRE(facts_of(out, FactKind::dhcp_vendor_class, kOther).size() == 1);
  CHECK(text_of(facts_of(out, FactKind::dhcp_vendor_class, kOther)[0]) == "MSFT 5.0");
  const auto prl = facts_of(out, FactKind::dhcp_param_list, kOther);
  REQUIRE(prl.size() == 1);
  CHECK(prl[0].text.size() == 4);
  CHECK(facts_of(out, FactKind::dhcp_client_id, kOther).size() == 1);
  // The requested address (50) is only a wish: nothing is bound.
  CHECK(facts_of(out, FactKind::ipv4, kOther).empty());
  // Nothing is attributed to the frame's source.
  CHECK(facts_of(out, FactKind::host_name, kHost).empty());
}

TEST_CASE("dhcpv4: relayed REQUEST keys by chaddr, not by the relay") {
  Fixture t;
  t.ctx.eth_src = kRelay;
  const Frame options = cat({opt(53, "\x03"), opt(12, "pi"), Frame{255}});
  auto& out = t.v4(dhcp(1, kHost, options, {0, 0, 0, 0}, {0, 0, 0, 0}, {10, 1, 0, 1}));
  CHECK(name_of(out, kHost, NameSource::dhcp) == "pi");
  CHECK(name_of(out, kRelay, NameSource::dhcp) == "<none>");
}

TEST_CASE("dhcpv4: ACK binds yiaddr, BOOTREPLY without option 53 too, OFFER does not") {
  Fixture t;
  auto& ack = t.v4(dhcp(2, kHost, cat({opt(53, "\x05"), Frame{255}}), {0, 0, 0, 0}, {10, 0, 0, 9}));
  auto ips = facts_of(ack, FactKind::ipv4, kHost);
  REQUIRE(ips.size() == 1);
  CHECK(ips[0].proven);
  CHECK(ips[0].addr[3] == 9);
  auto& bootp = t.v4(dhcp(2, kHost, {}, {0, 0, 0, 0}, {10, 0, 0, 10}, {0, 0, 0, 0}, false));
  CHECK(facts_of(bootp, FactKind::ipv4, kHost).size() == 1);
  auto& offer =
      t.v4(dhcp(2, kHost, cat({opt(53, "\x02"), Frame{255}}), {0, 0, 0, 0}, {10, 0, 0, 9}));
  CHECK(facts_of(offer, FactKind::ipv4, kHost).empty());
}

TEST_CASE("dhcpv4: ciaddr of REQUEST and INFORM is bound, of DISCOVER not; lease query ignored") {
  Fixture t;
  auto& inform = t.v4(dhcp(1, kHost, cat({opt(53, "\x08"), Frame{255}}), {10, 0, 0, 4}));
  CHECK(facts_of(inform, FactKind::ipv4, kHost).size() == 1);
  auto& discover = t.v4(dhcp(1, kHost, cat({opt(53, "\x01"), Frame{255}}), {10, 0, 0, 4}));
  CHECK(facts_of(discover, FactKind::ipv4, kHost).empty());
  auto& query =
      t.v4(dhcp(1, kHost, cat({opt(53, "\x0a"), opt(12, "x"), Frame{255}}), {10, 0, 0, 4}));
  CHECK(query.fact_count == 0);
}

TEST_CASE("dhcpv4: option 81 client FQDN in wire and ASCII form") {
  Fixture t;
  SUBCASE("E bit: canonical wire format") {
    Frame fqdn;
    put(fqdn, {0x05, 0, 0, 3});
    put(fqdn, "pc1");
    put(fqdn, {4});
    put(fqdn, "corp");
    put(fqdn, {0});
    Frame o = {81, static_cast<std::uint8_t>(fqdn.size())};
    put(o, fqdn);
    auto& out = t.v4(dhcp(1, kHost, cat({opt(53, "\x03"), o, Frame{255}})));
    CHECK(name_of(out, kHost, NameSource::dhcp_fqdn) == "pc1.corp");
  }
  SUBCASE("ASCII") {
    auto& out = t.v4(dhcp(
        1, kHost,
        cat({opt(53, "\x03"), opt(81, std::string_view("\x01\0\0pc1.corp.", 12)), Frame{255}})));
    CHECK(name_of(out, kHost, NameSource::dhcp_fqdn) == "pc1.corp");
  }
}

TEST_CASE("dhcpv4: option overload puts options in file and sname") {
  Fixture t;
  const Frame file = cat({opt(12, "in-file"), Frame{255}});
  const Frame sname = cat({opt(60, "in-sname"), Frame{255}});
  auto& out = t.v4(dhcp(1, kHost, cat({opt(53, "\x03"), opt(52, "\x03"), Frame{255}}), {0, 0, 0, 0},
                        {0, 0, 0, 0}, {0, 0, 0, 0}, true, sname, file));
  CHECK(name_of(out, kHost, NameSource::dhcp) == "in-file");
  REQUIRE(facts_of(out, FactKind::dhcp_vendor_class, kHost).size() == 1);
  CHECK(text_of(facts_of(out, FactKind::dhcp_vendor_class, kHost)[0]) == "in-sname");
}

TEST_CASE("dhcpv4: pad, zero-length options, no end option, lying lengths") {
  Fixture t;
  SUBCASE("pads and a zero-length host name, no end option") {
    auto& out =
        t.v4(dhcp(1, kHost, cat({Frame{0, 0, 0}, opt(53, "\x01"), opt(12, ""), opt(60, "v")})));
    CHECK(name_of(out, kHost, NameSource::dhcp) == "<none>");
    CHECK(facts_of(out, FactKind::dhcp_vendor_class, kHost).size() == 1);
    CHECK(t.malformed(Decoder::dhcp) == 0);
  }
  SUBCASE("an option longer than the packet keeps earlier options and counts") {
    Frame o = cat({opt(53, "\x01"), opt(12, "ok")});
    put(o, {60, 200, 'x'});
    auto& out = t.v4(dhcp(1, kHost, o));
    CHECK(name_of(out, kHost, NameSource::dhcp) == "ok");
    CHECK(facts_of(out, FactKind::dhcp_vendor_class, kHost).empty());
    CHECK(t.malformed(Decoder::dhcp) == 1);
  }
  SUBCASE("a trailing NUL in the host name is dropped") {
    auto& out = t.v4(dhcp(1, kHost, cat({opt(12, std::string_view("nul\0", 4)), Frame{255}})));
    CHECK(name_of(out, kHost, NameSource::dhcp) == "nul");
  }
  SUBCASE("short BOOTP header") {
    t.v4(Frame(100, 1));
    CHECK(t.malformed(Decoder::dhcp) == 1);
  }
  SUBCASE("non-Ethernet chaddr names nobody") {
    Frame m = dhcp(1, kHost, cat({opt(12, "x"), Frame{255}}));
    m[1] = 6;  // IEEE 802 token ring
    CHECK(t.v4(m).fact_count == 0);
  }
}

// DHCPv6 --------------------------------------------------------------------------------------

Frame v6opt(unsigned code, const Frame& value) {
  Frame f;
  put16(f, code);
  put16(f, static_cast<unsigned>(value.size()));
  put(f, value);
  return f;
}

Frame duid_llt(const MacAddress& mac) {
  Frame d = {0, 1, 0, 1, 0x25, 0xe5, 0x14, 0x8e};
  put(d, mac);
  return d;
}

TEST_CASE("dhcpv6: client FQDN, DUID and vendor class from a direct Solicit") {
  Fixture t;
  Frame fqdn = {0x01, 6};
  put(fqdn, "laptop");
  put(fqdn, {0});
  Frame vendor = {0, 0, 0x01, 0x37, 0, 8};
  put(vendor, "MSFT 5.0");
  Frame msg = {1, 0xaa, 0xbb, 0xcc};
  put(msg, v6opt(1, duid_llt(kOther)));
  put(msg, v6opt(39, fqdn));
  put(msg, v6opt(16, vendor));
  auto& out = t.v6(msg);
  // Direct: the frame source is the client (the DUID-LLT may name another interface).
  CHECK(name_of(out, kHost, NameSource::dhcpv6_fqdn) == "laptop");
  CHECK(facts_of(out, FactKind::dhcpv6_duid, kHost).size() == 1);
  REQUIRE(facts_of(out, FactKind::dhcpv6_vendor_class, kHost).size() == 1);
  CHECK(text_of(facts_of(out, FactKind::dhcpv6_vendor_class, kHost)[0]) == "MSFT 5.0");
}

TEST_CASE("dhcpv6: relay-forward is unwrapped and keyed by the DUID-LL MAC") {
  Fixture t;
  t.ctx.eth_src = kRelay;
  Frame inner = {3, 0, 0, 1};
  Frame duid_ll = {0, 3, 0, 1};
  put(duid_ll, kHost);
  put(inner, v6opt(1, duid_ll));
  put(inner, v6opt(39, Frame{0, 2, 'p', 'i', 0}));
  Frame relay = {12, 0};
  relay.resize(34, 0);
  put(relay, v6opt(9, inner));
  auto& out = t.v6(relay);
  CHECK(name_of(out, kHost, NameSource::dhcpv6_fqdn) == "pi");
  CHECK(name_of(out, kRelay, NameSource::dhcpv6_fqdn) == "<none>");
}

TEST_CASE("dhcpv6: Reply binds IA_NA addresses to the destination") {
  Fixture t;
  Frame iaaddr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  put32(iaaddr, 3600);
  put32(iaaddr, 7200);
  Frame ia(12, 0);
  put(ia, v6opt(5, iaaddr));
  Frame msg = {7, 0, 0, 1};
  put(msg, v6opt(3, ia));
  auto& out = t.v6(msg);
  const auto ips = facts_of(out, FactKind::ipv6, kOther);
  REQUIRE(ips.size() == 1);
  CHECK(ips[0].proven);
  CHECK(ips[0].addr[15] == 0x42);
}

TEST_CASE("dhcpv6: nested relays are bounded and bad lengths counted") {
  Fixture t;
  Frame msg = {1, 0, 0, 1};
  for (int depth = 0; depth < 12; ++depth) {
    Frame relay = {12, 0};
    relay.resize(34, 0);
    put(relay, v6opt(9, msg));
    msg = relay;
  }
  t.v6(msg);
  CHECK(t.malformed(Decoder::dhcpv6) == 1);
  Frame bad = {1, 0, 0, 1, 0, 39, 0x10, 0};
  t.v6(bad);
  CHECK(t.malformed(Decoder::dhcpv6) == 2);
}

}  // namespace
}  // namespace edgeid::capture
