#include "capture/decode.h"

#include <memory>

#include <doctest/doctest.h>

#include "capture/frame_builder.h"

namespace edgeid::capture {
namespace {

using namespace test;

struct Fixture {
  std::unique_ptr<FrameFacts> out = std::make_unique<FrameFacts>();
  DecodeCounters counters;
  Frame last;  // facts are views into the decoded bytes: keep them alive
  FrameFacts& run(const Frame& f, LinkType link = LinkType::ethernet) {
    last = f;
    return decode(last, *out, counters, link);
  }
};

Frame arp(int op, const MacAddress& sha, std::initializer_list<int> spa, const MacAddress& tha,
          std::initializer_list<int> tpa) {
  Frame f;
  put(f, {0, 1, 8, 0, 6, 4, 0, op});
  put(f, sha);
  put(f, spa);
  put(f, tha);
  put(f, tpa);
  return f;
}

Frame with(Frame a, const Frame& b) {
  put(a, b);
  return a;
}

TEST_CASE("ethernet: source, destination and an IPv4 source address") {
  Fixture t;
  const Frame f = with(ethernet(kOther, kHost, 0x0800),
                       ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1000, 2000, Frame(4, 0)));
  auto& out = t.run(f);
  CHECK(out.has_src);
  CHECK(out.src == kHost);
  CHECK(out.dst == kOther);
  CHECK(out.vlans.depth == 0);
  const auto ips = facts_of(out, FactKind::ipv4, kHost);
  REQUIRE(ips.size() == 1);
  CHECK(ips[0].addr[0] == 10);
  CHECK(ips[0].addr[3] == 2);
  CHECK_FALSE(ips[0].proven);
  CHECK(ips[0].source == Source::ipv4);
  CHECK(t.counters.malformed_total() == 0);
}

TEST_CASE("vlan: 802.1Q, QinQ with each TPID, triple tags and a priority tag") {
  Fixture t;
  const Frame payload = ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {});
  SUBCASE("single tag") {
    auto& out = t.run(with(ethernet(kOther, kHost, 0x0800, {{0x8100, 0x2065}}), payload));
    REQUIRE(out.vlans.depth == 1);
    CHECK(out.vlans.ids[0] == 0x065);  // PCP bits are not the id
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  }
  SUBCASE("802.1ad S-tag then C-tag, outermost first") {
    auto& out =
        t.run(with(ethernet(kOther, kHost, 0x0800, {{0x88a8, 200}, {0x8100, 2001}}), payload));
    REQUIRE(out.vlans.depth == 2);
    CHECK(out.vlans.ids[0] == 200);
    CHECK(out.vlans.ids[1] == 2001);
  }
  SUBCASE("legacy 0x9100 and triple tag") {
    auto& out = t.run(
        with(ethernet(kOther, kHost, 0x0800, {{0x9100, 30}, {0x8100, 20}, {0x8100, 10}}), payload));
    REQUIRE(out.vlans.depth == 3);
    CHECK(out.vlans.ids[0] == 30);
    CHECK(out.vlans.ids[2] == 10);
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  }
  SUBCASE("priority tag is VLAN 0") {
    auto& out = t.run(with(ethernet(kOther, kHost, 0x0800, {{0x8100, 0xa000}}), payload));
    REQUIRE(out.vlans.depth == 1);
    CHECK(out.vlans.ids[0] == 0);
  }
  SUBCASE("too many tags is malformed, not a loop") {
    Frame f = ethernet(kOther, kHost, 0x8100, {});
    for (int i = 0; i < 20; ++i) put(f, {0, 1, 0x81, 0});
    t.run(f);
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::vlan)] == 1);
  }
  SUBCASE("VlanStack key round trip") {
    VlanStack v;
    v.depth = 3;
    v.ids = {4095, 0, 17, 0};
    CHECK(VlanStack::from_key(v.key()) == v);
  }
}

TEST_CASE("truncation: every prefix of a tagged DHCP frame decodes without fault or overread") {
  Frame options;
  put(options, {53, 1, 3, 12, 4});
  put(options, "host");
  put(options, {255});
  const Frame f =
      with(ethernet(kBroadcast, kHost, 0x0800, {{0x88a8, 5}, {0x8100, 6}}),
           ipv4_udp({0, 0, 0, 0}, {255, 255, 255, 255}, 68, 67, dhcp(1, kHost, options)));
  for (std::size_t n = 0; n <= f.size(); ++n) {
    Fixture t;
    // A heap copy of exactly n bytes, so that ASan sees any read past the captured part.
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[n == 0 ? 1 : n]);
    std::copy(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n), copy.get());
    decode_frame(LinkType::ethernet, std::span<const std::uint8_t>(copy.get(), n),
                 static_cast<std::uint32_t>(f.size()), *t.out, t.counters);
    CAPTURE(n);
    CHECK(t.counters.malformed_total() == 0);  // the capture cut it: truncated, never malformed
    if (n < f.size()) {
      CHECK(t.counters.truncated <= 1);
    } else {
      CHECK(t.counters.truncated == 0);
      CHECK(facts_of(*t.out, FactKind::host_name, kHost).size() == 1);
    }
  }
}

TEST_CASE("ipv4: lengths that lie are malformed") {
  Fixture t;
  Frame ip = ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {});
  SUBCASE("total length beyond the frame") {
    ip[2] = 0x05;
    t.run(with(ethernet(kOther, kHost, 0x0800), ip));
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::ipv4)] == 1);
  }
  SUBCASE("header length below 20") {
    ip[0] = 0x44;
    t.run(with(ethernet(kOther, kHost, 0x0800), ip));
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::ipv4)] == 1);
  }
  SUBCASE("0.0.0.0 and multicast sources bind nothing") {
    auto& out = t.run(
        with(ethernet(kOther, kHost, 0x0800), ipv4_udp({0, 0, 0, 0}, {10, 0, 0, 1}, 1, 2, {})));
    CHECK(facts_of(out, FactKind::ipv4, kHost).empty());
  }
}

TEST_CASE("arp: sender binding, probes, mismatched source, RARP reply") {
  Fixture t;
  SUBCASE("request binds the sender pair, proven") {
    auto& out = t.run(with(ethernet(kBroadcast, kHost, 0x0806),
                           arp(1, kHost, {10, 0, 0, 2}, MacAddress(), {10, 0, 0, 1})));
    const auto ips = facts_of(out, FactKind::ipv4, kHost);
    REQUIRE(ips.size() == 1);
    CHECK(ips[0].proven);
    CHECK(ips[0].source == Source::arp);
  }
  SUBCASE("gratuitous ARP (sender == target) binds the address") {
    auto& out = t.run(with(ethernet(kBroadcast, kHost, 0x0806),
                           arp(1, kHost, {10, 0, 0, 2}, MacAddress(), {10, 0, 0, 2})));
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  }
  SUBCASE("probe from 0.0.0.0 binds nothing") {
    auto& out = t.run(with(ethernet(kBroadcast, kHost, 0x0806),
                           arp(1, kHost, {0, 0, 0, 0}, MacAddress(), {10, 0, 0, 9})));
    CHECK(out.fact_count == 0);
  }
  SUBCASE("Ethernet source differs from the ARP sender: the sender gets the address") {
    auto& out = t.run(with(ethernet(kBroadcast, kRelay, 0x0806),
                           arp(2, kHost, {10, 0, 0, 2}, kOther, {10, 0, 0, 3})));
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
    CHECK(facts_of(out, FactKind::ipv4, kRelay).empty());
  }
  SUBCASE("RARP reply binds the target") {
    auto& out = t.run(with(ethernet(kOther, kRelay, 0x8035),
                           arp(4, kRelay, {10, 0, 0, 1}, kHost, {10, 0, 0, 7})));
    const auto ips = facts_of(out, FactKind::ipv4, kHost);
    REQUIRE(ips.size() == 1);
    CHECK(ips[0].addr[3] == 7);
  }
  SUBCASE("a multicast sender is never a device") {
    auto& out = t.run(with(ethernet(kBroadcast, kHost, 0x0806),
                           arp(1, kBroadcast, {10, 0, 0, 2}, MacAddress(), {10, 0, 0, 1})));
    CHECK(out.fact_count == 0);
  }
  SUBCASE("bad address lengths are malformed") {
    Frame a = arp(1, kHost, {10, 0, 0, 2}, MacAddress(), {10, 0, 0, 1});
    a[4] = 8;
    t.run(with(ethernet(kBroadcast, kHost, 0x0806), a));
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::arp)] == 1);
  }
}

TEST_CASE("linux cooked captures SLL and SLL2") {
  const Frame payload = arp(2, kHost, {10, 0, 0, 2}, kOther, {10, 0, 0, 1});
  SUBCASE("SLL v1") {
    Fixture t;
    Frame f;
    put(f, {0, 4, 0, 1, 0, 6});  // pkttype outgoing, ARPHRD_ETHER, halen 6
    put(f, kHost);
    put(f, {0, 0, 0x08, 0x06});
    put(f, payload);
    auto& out = t.run(f, LinkType::linux_sll);
    CHECK(out.has_src);
    CHECK_FALSE(out.has_dst);
    CHECK(out.src == kHost);
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  }
  SUBCASE("SLL v2") {
    Fixture t;
    Frame f;
    put(f, {0x08, 0x06, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6});
    put(f, kHost);
    put(f, {0, 0});
    put(f, payload);
    auto& out = t.run(f, LinkType::linux_sll2);
    CHECK(out.src == kHost);
    CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  }
  SUBCASE("a non-Ethernet hardware address has no device") {
    Fixture t;
    Frame f;
    put(f, {0, 0, 0x03, 0x04, 0, 0});  // ARPHRD_LOOPBACK
    f.resize(14, 0);
    put(f, {0x08, 0x00});
    put(f, ipv4_udp({127, 0, 0, 1}, {127, 0, 0, 1}, 1, 2, {}));
    auto& out = t.run(f, LinkType::linux_sll);
    CHECK_FALSE(out.has_src);
    CHECK(out.fact_count == 0);
    CHECK(t.counters.ignored == 1);
  }
  SUBCASE("short header") {
    Fixture t;
    t.run(Frame(10, 0), LinkType::linux_sll);
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::link)] == 1);
  }
}

Frame icmpv6(std::uint8_t type, std::uint8_t flags, const Frame& target, const Frame& options) {
  Frame f;
  put(f, {type, 0, 0, 0, flags, 0, 0, 0});
  if (type == 135 || type == 136) put(f, target);
  if (type == 134) put(f, {0, 0, 0, 0, 0, 0, 0, 0});  // reachable + retrans timers
  put(f, options);
  return f;
}

TEST_CASE("ndp: source/target link-layer options, DAD, router advertisement") {
  Fixture t;
  Frame slla;
  put(slla, {1, 1});
  put(slla, kHost);
  Frame tlla;
  put(tlla, {2, 1});
  put(tlla, kHost);
  const Frame global = ip6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5});
  SUBCASE("NS with SLLA binds the source to the SLLA MAC") {
    auto& out = t.run(with(ethernet(kOther, kRelay, 0x86dd),
                           ipv6(kLinkLocal, kAllNodes, 58, icmpv6(135, 0, global, slla))));
    const auto ips = facts_of(out, FactKind::ipv6, kHost);
    REQUIRE(ips.size() == 1);
    CHECK(ips[0].proven);
    CHECK(ips[0].source == Source::ndp);
  }
  SUBCASE("DAD NS from :: binds nothing") {
    auto& out = t.run(with(ethernet(kOther, kHost, 0x86dd),
                           ipv6(kUnspecified, kAllNodes, 58, icmpv6(135, 0, global, {}))));
    CHECK(out.fact_count == 0);
  }
  SUBCASE("NA binds the target to the TLLA MAC, R flag marks a router") {
    auto& out = t.run(with(ethernet(kOther, kHost, 0x86dd),
                           ipv6(kLinkLocal, kAllNodes, 58, icmpv6(136, 0xa0, global, tlla))));
    const auto ips = facts_of(out, FactKind::ipv6, kHost);
    CHECK(ips.size() == 3);  // IPv6 source, NDP source, NA target
    CHECK(facts_of(out, FactKind::router, kHost).size() == 1);
  }
  SUBCASE("RA marks the sender a router") {
    auto& out = t.run(with(ethernet(kOther, kHost, 0x86dd),
                           ipv6(kLinkLocal, kAllNodes, 58, icmpv6(134, 0, {}, slla))));
    CHECK(facts_of(out, FactKind::router, kHost).size() == 1);
  }
  SUBCASE("a zero-length option is malformed and ends the walk") {
    Frame bad;
    put(bad, {1, 0, 0, 0, 0, 0, 0, 0});
    t.run(with(ethernet(kOther, kHost, 0x86dd),
               ipv6(kLinkLocal, kAllNodes, 58, icmpv6(135, 0, global, bad))));
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::ndp)] == 1);
  }
  SUBCASE("IPv6 payload length that lies") {
    Frame ip = ipv6(kLinkLocal, kAllNodes, 58, icmpv6(133, 0, {}, {}));
    ip[5] = 200;
    t.run(with(ethernet(kOther, kHost, 0x86dd), ip));
    CHECK(t.counters.malformed[static_cast<std::size_t>(Decoder::ipv6)] == 1);
  }
}

TEST_CASE("group and zero source MACs are ignored as devices") {
  Fixture t;
  t.run(
      with(ethernet(kOther, kBroadcast, 0x0800), ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {})));
  CHECK(t.out->fact_count == 0);
  t.run(with(ethernet(kOther, MacAddress(), 0x0800),
             ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {})));
  CHECK(t.out->fact_count == 0);
  CHECK(t.counters.ignored == 2);
}

TEST_CASE("unsupported link type is counted") {
  Fixture t;
  decode_frame(static_cast<LinkType>(101), Frame(40, 0), 40, *t.out, t.counters);
  CHECK(t.counters.unsupported_link == 1);
}

}  // namespace
}  // namespace edgeid::capture
