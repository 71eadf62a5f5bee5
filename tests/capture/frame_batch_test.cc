#include "capture/frame_batch.h"

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "capture/device_table.h"
#include "capture/frame_builder.h"

namespace edgeid::capture {
namespace {

using namespace test;

Frame option(int code, std::string_view value) {
  Frame f;
  put(f, {code, static_cast<int>(value.size())});
  put(f, value);
  return f;
}

// A DHCPREQUEST from @p mac with host name, vendor class and parameter list: texts that view
// the packet.
Frame dhcp_request(const MacAddress& mac, std::string_view host) {
  Frame options = {53, 1, 3};
  put(options, option(12, host));
  put(options, option(60, "MSFT 5.0"));
  put(options, {55, 4, 1, 3, 6, 15, 255});
  Frame f = ethernet(kBroadcast, mac, 0x0800, {{0x8100, 20}});
  put(f, ipv4_udp({0, 0, 0, 0}, {255, 255, 255, 255}, 68, 67, dhcp(1, mac, options)));
  return f;
}

// An mDNS answer whose second owner name is compressed: its text is rebuilt in the scratch area
// of the FrameFacts, not viewed in the packet.
Frame mdns_answer(const MacAddress& mac) {
  Frame m = {0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0};
  const auto rr = [&m](const Frame& name, unsigned type, const Frame& rdata) {
    put(m, name);
    put16(m, type);
    put16(m, 0x8001);
    put32(m, 120);
    put16(m, static_cast<unsigned>(rdata.size()));
    put(m, rdata);
  };
  Frame name = {11};
  put(name, "kitchen-tv1");
  put(name, Frame{5});
  put(name, "local");
  name.push_back(0);
  rr(name, 1, Frame{10, 0, 0, 7});
  rr(Frame{0xc0, 12}, 28, kLinkLocal);
  Frame f = ethernet(MacAddress::from_u64(0x01005e0000fb), mac, 0x0800);
  put(f, ipv4_udp({10, 0, 0, 7}, {224, 0, 0, 251}, 5353, 5353, m));
  return f;
}

struct Decoded {
  std::vector<Fact> facts;
  std::vector<std::string> texts;
};

Decoded copy_of(const FrameFacts& f) {
  Decoded d;
  for (const auto& fact : f.view()) {
    d.facts.push_back(fact);
    d.texts.push_back(text_of(fact));
  }
  return d;
}

void check_same(const FrameFacts& loaded, const Decoded& want) {
  REQUIRE(loaded.fact_count == want.facts.size());
  for (std::size_t i = 0; i < want.facts.size(); ++i) {
    const Fact& a = loaded.facts[i];
    const Fact& b = want.facts[i];
    CHECK(a.mac == b.mac);
    CHECK(a.kind == b.kind);
    CHECK(a.source == b.source);
    CHECK(a.proven == b.proven);
    CHECK(a.name == b.name);
    CHECK(a.addr == b.addr);
    CHECK(a.number == b.number);
    CHECK(text_of(a) == want.texts[i]);
  }
}

TEST_CASE("frame batch: frames and their texts outlive the packet and the decoder's scratch") {
  DecodeCounters counters;
  auto facts = std::make_unique<FrameFacts>();
  FrameBatch batch;

  Frame first = dhcp_request(kHost, "LAPTOP-7");
  decode(first, *facts, counters);
  const Decoded want_first = copy_of(*facts);
  REQUIRE(facts->has_src);
  REQUIRE(facts->vlans.depth == 1);
  REQUIRE(batch.append(*facts, platform::Timestamp::from_unix_seconds(100)));

  Frame second = mdns_answer(kOther);
  decode(second, *facts, counters);
  const Decoded want_second = copy_of(*facts);
  bool scratch_text = false;
  for (const auto& fact : facts->view()) {
    scratch_text =
        scratch_text || (!fact.text.empty() && fact.text.data() >= facts->scratch.data() &&
                         fact.text.data() < facts->scratch.data() + facts->scratch.size());
  }
  REQUIRE(scratch_text);  // the case this test is about
  REQUIRE(batch.append(*facts, platform::Timestamp::from_unix_seconds(101)));

  // What the batch copied must not depend on the packets nor on the decoder's state any more.
  std::fill(first.begin(), first.end(), std::uint8_t{0xee});
  std::fill(second.begin(), second.end(), std::uint8_t{0xee});
  const Frame third = dhcp_request(kRelay, "OTHER-NAME-XYZ");
  decode(third, *facts, counters);
  facts->scratch.fill(0xee);

  REQUIRE(batch.size() == 2);
  auto loaded = std::make_unique<FrameFacts>();
  CHECK(batch.load(0, *loaded) == platform::Timestamp::from_unix_seconds(100));
  CHECK(loaded->src == kHost);
  CHECK(loaded->has_src);
  CHECK(loaded->has_dst);
  CHECK(loaded->dst == kBroadcast);
  CHECK(loaded->vlans.key() == VlanStack{{20}, 1}.key());
  CHECK(loaded->wire_length == dhcp_request(kHost, "LAPTOP-7").size());
  check_same(*loaded, want_first);
  REQUIRE(batch.source(0) != nullptr);
  CHECK(*batch.source(0) == kHost);

  CHECK(batch.load(1, *loaded) == platform::Timestamp::from_unix_seconds(101));
  CHECK(loaded->src == kOther);
  check_same(*loaded, want_second);
}

TEST_CASE("frame batch: full by frames or by text, a lone oversize frame still fits") {
  DecodeCounters counters;
  auto facts = std::make_unique<FrameFacts>();
  const auto t = platform::Timestamp::from_unix_seconds(1);

  // Facts view the frame they were decoded from: each frame outlives its appends.
  const Frame short_name = dhcp_request(kHost, "A");
  FrameBatch by_frames(2, 4096);
  decode(short_name, *facts, counters);
  CHECK(by_frames.append(*facts, t));
  CHECK(by_frames.append(*facts, t));
  CHECK_FALSE(by_frames.append(*facts, t));
  CHECK(by_frames.size() == 2);
  by_frames.clear();
  CHECK(by_frames.empty());
  CHECK(by_frames.append(*facts, t));

  // "MSFT 5.0" (8) + the host name + 4 parameter codes: 12 bytes of text besides the name.
  const Frame name16 = dhcp_request(kHost, std::string(16, 'h'));
  FrameBatch by_text(100, 32);
  decode(name16, *facts, counters);
  CHECK(by_text.append(*facts, t));  // 28 bytes
  CHECK_FALSE(by_text.append(*facts, t));
  CHECK(by_text.size() == 1);

  const Frame name200 = dhcp_request(kOther, std::string(200, 'n'));
  FrameBatch small(100, 8);
  decode(name200, *facts, counters);
  const Decoded want = copy_of(*facts);
  CHECK(small.append(*facts, t));  // empty: the text area grows for it
  CHECK_FALSE(small.append(*facts, t));
  auto loaded = std::make_unique<FrameFacts>();
  small.load(0, *loaded);
  check_same(*loaded, want);
  small.clear();
  CHECK(small.append(*facts, t));
  small.load(0, *loaded);
  check_same(*loaded, want);
}

TEST_CASE("frame batch: a table fed through batches equals one fed directly") {
  DecodeCounters counters;
  auto facts = std::make_unique<FrameFacts>();
  DeviceTable direct;
  DeviceTable batched;
  FrameBatch batch(3, 64);
  auto loaded = std::make_unique<FrameFacts>();
  const auto drain = [&] {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto when = batch.load(i, *loaded);
      batched.apply(*loaded, when);
    }
    batch.clear();
  };
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto mac = MacAddress::from_u64(0x3c22fb100000 + i % 7);
    const Frame f = i % 3 == 0 ? mdns_answer(mac) : dhcp_request(mac, "host-" + std::to_string(i));
    decode(f, *facts, counters);
    const auto when = platform::Timestamp::from_unix_seconds(static_cast<std::int64_t>(1000 + i));
    direct.apply(*facts, when);
    if (!batch.append(*facts, when)) {
      drain();
      REQUIRE(batch.append(*facts, when));
    }
  }
  drain();
  const auto a = direct.snapshot();
  const auto b = batched.snapshot();
  REQUIRE(a.size() == 7);
  REQUIRE(b.size() == a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].mac == b[i].mac);
    CHECK(a[i].hostname == b[i].hostname);
    CHECK(a[i].names == b[i].names);
    CHECK(a[i].ipv4 == b[i].ipv4);
    CHECK(a[i].ipv6 == b[i].ipv6);
    CHECK(a[i].dhcp_vendor_class == b[i].dhcp_vendor_class);
    CHECK(a[i].dhcp_param_list == b[i].dhcp_param_list);
    CHECK(a[i].packets == b[i].packets);
    CHECK(a[i].bytes == b[i].bytes);
    CHECK(a[i].first_seen == b[i].first_seen);
    CHECK(a[i].last_seen == b[i].last_seen);
  }
}

}  // namespace
}  // namespace edgeid::capture
