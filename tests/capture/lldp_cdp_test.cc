#include <memory>

#include <doctest/doctest.h>

#include "capture/decode.h"
#include "capture/frame_builder.h"

namespace edgeid::capture {
namespace {

using namespace test;

Frame tlv(unsigned type, const Frame& value) {
  Frame f;
  put16(f, (type << 9) | static_cast<unsigned>(value.size()));
  put(f, value);
  return f;
}
Frame text(std::string_view s) {
  return Frame(s.begin(), s.end());
}

struct Fixture {
  std::unique_ptr<FrameFacts> out = std::make_unique<FrameFacts>();
  DecodeCounters counters;
  Frame last;  // facts are views into the decoded bytes: keep them alive
  FrameFacts& run(const Frame& f) {
    last = f;
    return decode(last, *out, counters);
  }
  std::uint64_t malformed(Decoder d) const {
    return counters.malformed[static_cast<std::size_t>(d)];
  }
};

TEST_CASE("lldp: the usual TLVs of a switch") {
  Fixture t;
  Frame f = ethernet(MacAddress::from_u64(0x0180c200000e), kHost, 0x88cc);
  Frame chassis = {4};
  put(chassis, kHost);
  put(f, tlv(1, chassis));
  Frame port = {5};
  put(port, "1/1");
  put(f, tlv(2, port));
  put(f, tlv(3, Frame{0, 120}));
  put(f, tlv(4, text("uplink")));
  put(f, tlv(5, text("sw1.example")));
  put(f, tlv(6, text("Switch OS 1.0")));
  put(f, tlv(7, Frame{0, 0x14, 0, 0x04}));
  put(f, tlv(8, Frame{5, 1, 10, 0, 0, 1, 2, 0, 0, 0, 1, 0}));
  put(f, tlv(0, {}));
  auto& out = t.run(f);
  const auto c = facts_of(out, FactKind::lldp_chassis_id, kHost);
  REQUIRE(c.size() == 1);
  CHECK(c[0].number == 4);
  CHECK(c[0].text.size() == 6);
  REQUIRE(facts_of(out, FactKind::lldp_system_name, kHost).size() == 1);
  CHECK(text_of(facts_of(out, FactKind::lldp_system_name, kHost)[0]) == "sw1.example");
  REQUIRE(facts_of(out, FactKind::lldp_capabilities, kHost).size() == 1);
  CHECK(facts_of(out, FactKind::lldp_capabilities, kHost)[0].number == 0x00140004);
  const auto m = facts_of(out, FactKind::lldp_mgmt_addr, kHost);
  REQUIRE(m.size() == 1);
  CHECK(m[0].number == 1);
  CHECK(m[0].text.size() == 4);
  CHECK(facts_of(out, FactKind::host_name, kHost).size() == 1);
  CHECK(t.malformed(Decoder::lldp) == 0);
}

TEST_CASE("lldp: hostile TLVs end the walk") {
  Fixture t;
  SUBCASE("a length past the frame") {
    Frame f = ethernet(kBroadcast, kHost, 0x88cc);
    put(f, tlv(5, text("ok")));
    put16(f, (6U << 9) | 500);
    put(f, text("short"));
    auto& out = t.run(f);
    CHECK(facts_of(out, FactKind::lldp_system_name, kHost).size() == 1);
    CHECK(t.malformed(Decoder::lldp) == 1);
  }
  SUBCASE("endless zero-length unknown TLVs just run out (no loop)") {
    Frame f = ethernet(kBroadcast, kHost, 0x88cc);
    for (int i = 0; i < 700; ++i) put16(f, 127U << 9);
    t.run(f);
    CHECK(t.malformed(Decoder::lldp) == 0);
  }
  SUBCASE("management address length inconsistent") {
    Frame f = ethernet(kBroadcast, kHost, 0x88cc);
    put(f, tlv(8, Frame{40, 1, 10, 0}));
    t.run(f);
    CHECK(t.malformed(Decoder::lldp) == 1);
  }
}

Frame cdp_tlv(unsigned type, const Frame& value) {
  Frame f;
  put16(f, type);
  put16(f, static_cast<unsigned>(value.size() + 4));
  put(f, value);
  return f;
}

Frame cdp_frame(const Frame& tlvs) {
  Frame llc = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, 2, 180, 0, 0};
  put(llc, tlvs);
  Frame f;
  put(f, MacAddress::from_u64(0x01000ccccccc));
  put(f, kHost);
  put16(f, static_cast<unsigned>(llc.size()));
  put(f, llc);
  return f;
}

TEST_CASE("cdp: 802.3 + SNAP frame with device id, addresses, native VLAN") {
  Fixture t;
  Frame tlvs;
  put(tlvs, cdp_tlv(1, text("R1")));
  Frame addrs = {0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 192, 168, 10, 1};
  put(tlvs, cdp_tlv(2, addrs));
  put(tlvs, cdp_tlv(3, text("Ethernet0")));
  put(tlvs, cdp_tlv(4, Frame{0, 0, 0, 0x29}));
  put(tlvs, cdp_tlv(6, text("cisco 1601")));
  put(tlvs, cdp_tlv(0x0a, Frame{0, 1}));
  auto& out = t.run(cdp_frame(tlvs));
  REQUIRE(facts_of(out, FactKind::cdp_device_id, kHost).size() == 1);
  CHECK(text_of(facts_of(out, FactKind::cdp_device_id, kHost)[0]) == "R1");
  const auto a = facts_of(out, FactKind::cdp_address, kHost);
  REQUIRE(a.size() == 1);
  CHECK(a[0].addr[0] == 192);
  CHECK(a[0].addr[3] == 1);
  REQUIRE(facts_of(out, FactKind::cdp_native_vlan, kHost).size() == 1);
  CHECK(facts_of(out, FactKind::cdp_native_vlan, kHost)[0].number == 1);
  CHECK(facts_of(out, FactKind::cdp_capabilities, kHost)[0].number == 0x29);
  CHECK(t.malformed(Decoder::cdp) == 0);
}

TEST_CASE("cdp: a TLV length below its header is malformed, not a loop") {
  Fixture t;
  Frame tlvs;
  put(tlvs, cdp_tlv(1, text("R1")));
  put(tlvs, Frame{0, 3, 0, 0});
  auto& out = t.run(cdp_frame(tlvs));
  CHECK(facts_of(out, FactKind::cdp_device_id, kHost).size() == 1);
  CHECK(t.malformed(Decoder::cdp) == 1);
}

TEST_CASE("cdp: address count that lies") {
  Fixture t;
  Frame tlvs;
  put(tlvs, cdp_tlv(2, Frame{0xff, 0xff, 0xff, 0xff, 1, 1, 0xcc, 0, 4, 10}));
  t.run(cdp_frame(tlvs));
  CHECK(t.malformed(Decoder::cdp) == 1);
}

}  // namespace
}  // namespace edgeid::capture
