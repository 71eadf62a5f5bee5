#include "capture/device_table.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "capture/frame_builder.h"
#include "capture/oui_table.h"

// Counts heap allocations of this test binary, to prove the known-fact path allocates nothing.
// Every replaceable form is defined here (not only the plain one) so that no allocation made by
// a sanitizer's operator is released by ours.
namespace {
std::atomic<std::size_t> g_allocations{0};
void* counted_alloc(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_or_throw(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t n) {
  return counted_or_throw(n);
}
void* operator new[](std::size_t n) {
  return counted_or_throw(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
// GCC cannot see that these operators new are the malloc() behind the free() below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace edgeid::capture {
namespace {

using namespace test;
using platform::Timestamp;

Frame with(Frame a, const Frame& b) {
  put(a, b);
  return a;
}

struct Fixture {
  std::unique_ptr<FrameFacts> facts = std::make_unique<FrameFacts>();
  DecodeCounters counters;
  DeviceTable table;
  std::int64_t seconds = 1'700'000'000;
  explicit Fixture(TableOptions o = {}) : table(o) {}
  void feed(const Frame& f, std::int64_t advance = 1) {
    seconds += advance;
    decode(f, *facts, counters);
    table.apply(*facts, Timestamp::from_unix_seconds(seconds));
  }
  void ip_from(const MacAddress& mac, int a, int b, int c, int d) {
    feed(
        with(ethernet(kOther, mac, 0x0800), ipv4_udp({a, b, c, d}, {10, 0, 0, 1}, 1000, 2000, {})));
  }
  void arp_from(const MacAddress& mac, int a, int b, int c, int d) {
    Frame p = {0, 1, 8, 0, 6, 4, 0, 2};
    put(p, mac);
    put(p, {a, b, c, d});
    put(p, kOther);
    put(p, {10, 0, 0, 1});
    feed(with(ethernet(kOther, mac, 0x0806), p));
  }
};

Frame dhcp_request(const MacAddress& chaddr, std::string_view host) {
  Frame o = {53, 1, 3, 12, static_cast<std::uint8_t>(host.size())};
  put(o, host);
  o.push_back(255);
  return with(ethernet(kBroadcast, chaddr, 0x0800),
              ipv4_udp({0, 0, 0, 0}, {255, 255, 255, 255}, 68, 67, dhcp(1, chaddr, o)));
}

TEST_CASE("device table: packets, bytes, first/last seen, sources") {
  Fixture t;
  t.ip_from(kHost, 10, 0, 0, 2);
  t.arp_from(kHost, 10, 0, 0, 2);
  const auto d = t.table.find(kHost);
  REQUIRE(d);
  CHECK(d->packets == 2);
  CHECK(d->bytes > 0);
  CHECK(d->first_seen == Timestamp::from_unix_seconds(1'700'000'001));
  CHECK(d->last_seen == Timestamp::from_unix_seconds(1'700'000'002));
  CHECK(d->ipv4.size() == 1);
  CHECK(d->sources ==
        (static_cast<SourceMask>(Source::ipv4) | static_cast<SourceMask>(Source::arp)));
  CHECK_FALSE(t.table.find(kOther));  // only a destination
}

TEST_CASE("device table: a router is detected and keeps only proven addresses") {
  TableOptions o;
  o.router_threshold = 4;
  Fixture t(o);
  t.arp_from(kRelay, 192, 168, 1, 1);  // its own address, proven by ARP
  t.ip_from(kRelay, 192, 168, 1, 1);
  t.ip_from(kHost, 192, 168, 1, 20);
  for (int i = 0; i < 4; ++i) t.ip_from(kRelay, 8, 8, 8, i);
  CHECK_FALSE(t.table.find(kRelay)->router);
  CHECK(t.table.find(kRelay)->ipv4.size() == 5);
  t.ip_from(kRelay, 8, 8, 8, 99);  // the fifth routed source crosses the threshold
  auto r = t.table.find(kRelay);
  CHECK(r->router);
  REQUIRE(r->ipv4.size() == 1);
  CHECK(r->ipv4[0] == std::array<std::uint8_t, 4>{192, 168, 1, 1});
  for (int i = 0; i < 50; ++i) t.ip_from(kRelay, 1, 1, 1, i);
  CHECK(t.table.find(kRelay)->ipv4.size() == 1);
  CHECK(t.table.counters().routers_detected == 1);
  CHECK_FALSE(t.table.find(kHost)->router);
}

TEST_CASE("device table: a repeated address proven later survives router detection") {
  // The first sighting is seen-only; the ARP reply that proves it repeats the same address (the
  // slot's cached entry), and the proof must still count when the router drops seen-only ones.
  TableOptions o;
  o.router_threshold = 4;
  Fixture t(o);
  t.ip_from(kRelay, 192, 168, 1, 1);
  t.arp_from(kRelay, 192, 168, 1, 1);
  t.ip_from(kRelay, 192, 168, 1, 1);
  for (int i = 0; i < 4; ++i) t.ip_from(kRelay, 8, 8, 8, i);
  const auto r = t.table.find(kRelay);
  CHECK(r->router);
  REQUIRE(r->ipv4.size() == 1);
  CHECK(r->ipv4[0] == std::array<std::uint8_t, 4>{192, 168, 1, 1});
}

TEST_CASE("device table: repeated addresses keep their last-seen time for replacement") {
  TableOptions o;
  o.max_ipv4 = 2;
  o.router_threshold = 100;
  Fixture t(o);
  t.arp_from(kHost, 10, 0, 0, 1);
  t.seconds += 100;
  t.arp_from(kHost, 10, 0, 0, 2);
  t.seconds -= 200;                // a frame from an earlier file: .1 keeps its later time
  t.arp_from(kHost, 10, 0, 0, 1);  // and becomes the address the device repeats
  t.seconds += 500;
  t.arp_from(kHost, 10, 0, 0, 1);  // the newest sighting of all, by a repeat
  t.arp_from(kHost, 10, 0, 0, 3);  // so .2 is the least recently seen
  const auto d = t.table.find(kHost);
  REQUIRE(d->ipv4.size() == 2);
  CHECK(d->ipv4[0][3] == 1);
  CHECK(d->ipv4[1][3] == 3);
  CHECK(t.table.counters().addresses_replaced == 1);
}

TEST_CASE("device table: routed sources outside the window do not add up; link-local never") {
  TableOptions o;
  o.router_threshold = 3;
  o.router_window = std::chrono::seconds(10);
  Fixture t(o);
  for (int i = 0; i < 8; ++i) {
    t.seconds += 20;  // one new address every 20 s: never 4 within 10 s
    t.ip_from(kHost, 10, 0, 0, i);
  }
  for (int i = 0; i < 8; ++i) t.ip_from(kHost, 169, 254, 0, i);
  CHECK_FALSE(t.table.find(kHost)->router);
  CHECK(t.table.find(kHost)->ipv4.size() == 16);
}

TEST_CASE("device table: address sets are bounded, least recently seen replaced") {
  TableOptions o;
  o.max_ipv4 = 2;
  o.router_threshold = 100;
  Fixture t(o);
  t.arp_from(kHost, 10, 0, 0, 1);
  t.arp_from(kHost, 10, 0, 0, 2);
  t.arp_from(kHost, 10, 0, 0, 1);  // refresh .1
  t.arp_from(kHost, 10, 0, 0, 3);  // replaces .2
  const auto d = t.table.find(kHost);
  REQUIRE(d->ipv4.size() == 2);
  CHECK(d->ipv4[0][3] == 1);
  CHECK(d->ipv4[1][3] == 3);
  CHECK(t.table.counters().addresses_replaced == 1);
}

TEST_CASE("device table: host name precedence") {
  Fixture t;
  // An LLDP system name first, then DHCP: DHCP wins; a later LLDP frame does not take over.
  Frame lldp = ethernet(MacAddress::from_u64(0x0180c200000e), kHost, 0x88cc);
  put(lldp, {0x0a, 3, 's', 'w', '1', 0, 0});
  t.feed(lldp);
  CHECK(t.table.find(kHost)->hostname == "sw1");
  CHECK(t.table.find(kHost)->hostname_source == NameSource::lldp);
  t.feed(dhcp_request(kHost, "laptop"));
  t.feed(lldp);
  const auto d = t.table.find(kHost);
  CHECK(d->hostname == "laptop");
  CHECK(d->hostname_source == NameSource::dhcp);
  CHECK(d->names[static_cast<std::size_t>(NameSource::lldp)] == "sw1");
}

TEST_CASE("device table: VLAN stacks, and many VLANs mark multi_vlan") {
  TableOptions o;
  o.max_vlans = 3;
  Fixture t(o);
  const Frame ip = ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {});
  t.feed(with(ethernet(kOther, kHost, 0x0800, {{0x8100, 10}}), ip));
  t.feed(with(ethernet(kOther, kHost, 0x0800, {{0x88a8, 200}, {0x8100, 10}}), ip));
  t.feed(with(ethernet(kOther, kHost, 0x0800), ip));
  auto d = t.table.find(kHost);
  REQUIRE(d->vlans.size() == 2);
  CHECK_FALSE(d->multi_vlan);
  for (std::uint16_t v = 20; v < 30; ++v) {
    t.feed(with(ethernet(kOther, kHost, 0x0800, {{0x8100, v}}), ip));
  }
  d = t.table.find(kHost);
  CHECK(d->multi_vlan);
  CHECK(d->vlans.size() == 3);
}

TEST_CASE("device table: max_devices evicts the least recently seen") {
  TableOptions o;
  o.max_devices = 3;
  Fixture t(o);
  for (std::uint64_t i = 1; i <= 3; ++i) {
    t.ip_from(MacAddress::from_u64(0x020000000000 + i), 10, 0, 0, 1);
  }
  t.ip_from(MacAddress::from_u64(0x020000000001), 10, 0, 0, 1);  // 1 is fresh again
  t.ip_from(MacAddress::from_u64(0x020000000004), 10, 0, 0, 1);  // evicts 2
  CHECK(t.table.size() == 3);
  CHECK(t.table.counters().evicted == 1);
  CHECK(t.table.find(MacAddress::from_u64(0x020000000001)));
  CHECK_FALSE(t.table.find(MacAddress::from_u64(0x020000000002)));
  CHECK(t.table.find(MacAddress::from_u64(0x020000000003)));
  CHECK(t.table.find(MacAddress::from_u64(0x020000000004)));
}

TEST_CASE("device table: churn through a small cap keeps the index consistent") {
  TableOptions o;
  o.max_devices = 64;
  Fixture t(o);
  for (std::uint64_t i = 0; i < 5000; ++i) {
    t.ip_from(MacAddress::from_u64(0x020000000000 + (i * 7919) % 1000), 10, 0, 0, 1);
  }
  CHECK(t.table.size() == 64);
  std::size_t found = 0;
  for (std::uint64_t m = 0; m < 1000; ++m) {
    if (t.table.find(MacAddress::from_u64(0x020000000000 + m))) ++found;
  }
  CHECK(found == 64);
  CHECK(t.table.snapshot().size() == 64);
}

TEST_CASE("device table: parts of sorted_handles rendered on two threads give for_each_sorted") {
  Fixture t;
  for (std::uint64_t i = 0; i < 300; ++i) {
    const auto mac = MacAddress::from_u64(0x3c22fb000000 + (i * 7919) % 1000);
    t.ip_from(mac, 10, 1, static_cast<int>(i / 200), static_cast<int>(i % 200));
  }
  std::vector<std::string> want;
  t.table.for_each_sorted([&](const DeviceRecord& d) {
    want.push_back(d.mac.to_string() + std::to_string(d.ipv4.size()));
  });
  const auto handles = t.table.sorted_handles();
  REQUIRE(handles.size() == want.size());
  const std::span<const std::uint32_t> all(handles);
  const std::size_t half = all.size() / 2;
  std::vector<std::string> first;
  std::vector<std::string> second;
  std::thread other([&] {
    t.table.for_each_of(all.subspan(half), [&](const DeviceRecord& d) {
      second.push_back(d.mac.to_string() + std::to_string(d.ipv4.size()));
    });
  });
  t.table.for_each_of(all.first(half), [&](const DeviceRecord& d) {
    first.push_back(d.mac.to_string() + std::to_string(d.ipv4.size()));
  });
  other.join();
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == want);
  CHECK(want.size() == 300);
}

TEST_CASE("device table: for_each_sorted visits what snapshot returns, in MAC order") {
  Fixture t;
  for (std::uint64_t i : {5, 3, 9, 1}) {
    t.ip_from(MacAddress::from_u64(0x020000000000 + i), 10, 0, 0, static_cast<int>(i));
  }
  t.feed(dhcp_request(MacAddress::from_u64(0x020000000003), "three"));
  const auto all = t.table.snapshot();
  std::size_t n = 0;
  t.table.for_each_sorted([&](const DeviceRecord& d) {
    REQUIRE(n < all.size());
    CHECK(d.mac == all[n].mac);
    CHECK(d.ipv4 == all[n].ipv4);
    CHECK(d.hostname == all[n].hostname);  // the reused record is refilled, not accumulated
    CHECK(d.packets == all[n].packets);
    ++n;
  });
  CHECK(n == 4);
  CHECK(all.size() == 4);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].mac < all[i].mac);
  CHECK(all[1].hostname == "three");
  CHECK(all[2].hostname.empty());
}

TEST_CASE("device table: eviction under a cap follows the last touch after the list is built") {
  TableOptions o;
  o.max_devices = 4;
  Fixture t(o);
  const auto mac = [](std::uint64_t i) { return MacAddress::from_u64(0x020000000000 + i); };
  for (std::uint64_t i = 1; i <= 4; ++i) t.ip_from(mac(i), 10, 0, 0, 1);
  t.ip_from(mac(2), 10, 0, 0, 1);
  t.ip_from(mac(1), 10, 0, 0, 1);
  t.ip_from(mac(5), 10, 0, 0, 1);  // builds the order: 3 is the least recently seen
  CHECK_FALSE(t.table.find(mac(3)));
  t.ip_from(mac(4), 10, 0, 0, 1);
  t.ip_from(mac(6), 10, 0, 0, 1);  // then 2
  CHECK_FALSE(t.table.find(mac(2)));
  t.ip_from(mac(7), 10, 0, 0, 1);  // then 1
  CHECK_FALSE(t.table.find(mac(1)));
  for (std::uint64_t i : {4, 5, 6, 7}) CHECK(t.table.find(mac(i)));
  CHECK(t.table.counters().evicted == 3);
}

TEST_CASE("device table: drain_changes reports only what changed") {
  Fixture t;
  std::vector<Observation> changes;
  t.ip_from(kHost, 10, 0, 0, 2);
  t.table.drain_changes(changes);
  REQUIRE(changes.size() == 1);
  CHECK((changes[0].changes & change_created) != 0);
  CHECK(changes[0].record.ipv4.size() == 1);
  changes.clear();
  t.table.drain_changes(changes);
  CHECK(changes.empty());
  t.ip_from(kHost, 10, 0, 0, 2);  // same fact again: activity only
  t.table.drain_changes(changes);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].changes == change_activity);
  CHECK(changes[0].record.packets == 2);
  CHECK(changes[0].record.ipv4.empty());  // not a changed group
  changes.clear();
  t.feed(dhcp_request(kHost, "pc"));
  t.table.drain_changes(changes);
  REQUIRE(changes.size() == 1);
  CHECK((changes[0].changes & change_names) != 0);
  CHECK(changes[0].record.hostname == "pc");
}

TEST_CASE("device table: absorb folds later drains without losing the groups they lack") {
  TableOptions o;
  o.max_devices = 1;
  Fixture t(o);
  std::vector<Observation> drained;
  t.ip_from(kHost, 10, 0, 0, 2);
  t.feed(dhcp_request(kHost, "pc"));
  t.table.drain_changes(drained);
  REQUIRE(drained.size() == 1);
  Observation kept;
  absorb(kept, std::move(drained[0]));
  drained.clear();

  t.ip_from(kHost, 10, 0, 0, 2);  // activity only: the drain has no addresses, no names
  t.table.drain_changes(drained);
  REQUIRE(drained.size() == 1);
  REQUIRE(drained[0].changes == change_activity);
  absorb(kept, std::move(drained[0]));
  drained.clear();
  CHECK(kept.record.mac == kHost);
  CHECK((kept.changes & change_created) != 0);
  CHECK((kept.changes & change_activity) != 0);
  CHECK(kept.record.ipv4.size() == 1);
  CHECK(kept.record.hostname == "pc");
  CHECK(kept.record.packets == 3);  // counters are the latest

  t.ip_from(kOther, 10, 0, 0, 3);  // the cap of 1 evicts kHost: the eviction carries only the MAC
  t.table.drain_changes(drained);
  bool evicted = false;
  for (auto& d : drained) {
    if (d.record.mac != kHost) continue;
    CHECK(d.changes == change_evicted);
    absorb(kept, std::move(d));
    evicted = true;
  }
  REQUIRE(evicted);
  drained.clear();
  CHECK((kept.changes & change_evicted) != 0);
  CHECK(kept.record.ipv4.size() == 1);
  CHECK(kept.record.hostname == "pc");

  t.arp_from(kHost, 10, 0, 0, 9);  // seen again: created anew, its record replaces everything
  t.table.drain_changes(drained);
  for (auto& d : drained) {
    if (d.record.mac == kHost) absorb(kept, std::move(d));
  }
  CHECK(kept.record.hostname.empty());
  REQUIRE(kept.record.ipv4.size() == 1);
  CHECK(kept.record.ipv4[0] == std::array<std::uint8_t, 4>{10, 0, 0, 9});
  CHECK(kept.record.packets == 1);
}

TEST_CASE("device table: evictions are reported by drain_changes") {
  TableOptions o;
  o.max_devices = 1;
  Fixture t(o);
  std::vector<Observation> changes;
  t.ip_from(kHost, 10, 0, 0, 2);
  t.ip_from(kOther, 10, 0, 0, 3);
  t.table.drain_changes(changes);
  bool evicted = false;
  for (const auto& c : changes) {
    evicted = evicted || (c.record.mac == kHost && c.changes == change_evicted);
  }
  CHECK(evicted);
}

TEST_CASE("device table: a relayed DHCP client is a device without frames of its own") {
  Fixture t;
  Frame o = {53, 1, 3, 12, 2, 'p', 'i', 255};
  t.feed(with(ethernet(kOther, kRelay, 0x0800),
              ipv4_udp({10, 1, 0, 1}, {10, 0, 0, 1}, 67, 67,
                       dhcp(1, kHost, o, {0, 0, 0, 0}, {0, 0, 0, 0}, {10, 1, 0, 1}))));
  const auto d = t.table.find(kHost);
  REQUIRE(d);
  CHECK(d->packets == 0);
  CHECK(d->hostname == "pi");
  CHECK(t.table.find(kRelay)->hostname.empty());
}

TEST_CASE("device table: known facts on the per-packet path allocate nothing") {
  Fixture t;
  const Frame ip = with(ethernet(kOther, kHost, 0x0800, {{0x8100, 5}}),
                        ipv4_udp({10, 0, 0, 2}, {10, 0, 0, 1}, 1, 2, {}));
  const Frame req = dhcp_request(kHost, "laptop");
  t.feed(ip);
  t.feed(req);
  const std::size_t before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    t.feed(ip);
    t.feed(req);
  }
  CHECK(g_allocations.load() == before);
  CHECK(t.table.find(kHost)->packets == 202);
}

TEST_CASE("randomized: locally administered and not a registered MA-L") {
  OuiTable oui;
  DeviceTable table({}, &oui);
  CHECK(oui.is_randomized(MacAddress::from_u64(0xc62c03606a64)));
  CHECK_FALSE(oui.is_randomized(MacAddress::from_u64(0x3c22fb000001)));  // universal
}

}  // namespace
}  // namespace edgeid::capture
