// agent::merge: every correlation rule of DESIGN.md §3, versions and the outbox.
#include "agent/merge.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "agent/record_json.h"

namespace {

using edgeid::agent::MatchBy;
using edgeid::agent::merge;
using edgeid::agent::MergeInput;
using edgeid::agent::MergeOptions;
using edgeid::agent::MergeResult;
using edgeid::agent::MergeState;
using edgeid::agent::RecordState;
using edgeid::capture::NameSource;
using edgeid::platform::Guid;
using edgeid::platform::MacAddress;
using edgeid::platform::Timestamp;
using edgeid::store::DeviceRecord;
using edgeid::store::IdentityRecord;

MacAddress mac(const char* text) {
  return MacAddress::from_string(text);
}
Guid guid(int n) {
  Guid::Bytes b{};
  b[15] = static_cast<std::uint8_t>(n);
  b[0] = 0x10;
  return Guid(b);
}

DeviceRecord device(const char* m, std::string hostname = "",
                    NameSource source = NameSource::dhcp) {
  DeviceRecord d;
  d.mac = mac(m);
  d.first_seen = Timestamp::from_unix_seconds(1000);
  d.last_seen = Timestamp::from_unix_seconds(2000);
  d.packets = 10;
  if (!hostname.empty()) {
    d.hostname = std::move(hostname);
    d.hostname_source = static_cast<std::uint8_t>(static_cast<unsigned>(source) + 1);
  }
  return d;
}

IdentityRecord identity(int id, std::string name, const char* wifi = nullptr,
                        const char* ethernet = nullptr, std::int64_t last_sync = 5000) {
  IdentityRecord r;
  r.intune_id = guid(id);
  r.device_name = std::move(name);
  r.os = "Windows";
  r.compliance_state = "compliant";
  if (wifi != nullptr) r.wifi_mac = mac(wifi);
  if (ethernet != nullptr) r.ethernet_mac = mac(ethernet);
  r.last_sync = Timestamp::from_unix_seconds(last_sync);
  return r;
}

IdentityRecord entra_only(int object_id, std::string name) {
  IdentityRecord r;
  r.intune_id = guid(object_id);
  r.entra_object_id = guid(object_id);
  r.device_name = std::move(name);
  r.os = "Linux";
  return r;
}

// The records a sequence of rounds wrote, standing in for the store that MergeOptions::identity
// and MergeOptions::device read full records from.
struct Written {
  std::map<Guid, IdentityRecord> records;
  std::map<MacAddress, DeviceRecord> devices;
  void take(const edgeid::store::Batch& batch) {
    for (const auto& id : batch.identities) records[id.intune_id] = id;
    for (const auto& key : batch.removed_identities) records.erase(key);
    for (const auto& d : batch.devices) devices[d.mac] = d;
  }
  std::function<std::optional<IdentityRecord>(const Guid&)> lookup() {
    return [this](const Guid& key) -> std::optional<IdentityRecord> {
      const auto it = records.find(key);
      if (it == records.end()) return std::nullopt;
      return it->second;
    };
  }
  std::function<std::optional<DeviceRecord>(const MacAddress&)> device_lookup() {
    return [this](const MacAddress& mac) -> std::optional<DeviceRecord> {
      const auto it = devices.find(mac);
      if (it == devices.end()) return std::nullopt;
      return it->second;
    };
  }
};

// A round, with its events taken out of the outbox (most cases look at records only).
struct Round : MergeResult {
  std::vector<edgeid::store::OutboxItem> events;
};

// A round; with @p written, full records are read back from it and the round's batch goes to it.
Round run(const MergeState& state, std::vector<DeviceRecord> devices,
          std::optional<std::vector<IdentityRecord>> ids, Written* written = nullptr) {
  MergeInput in;
  in.observed = std::move(devices);
  in.identities = std::move(ids);
  auto options = MergeOptions{"s1", Timestamp::from_unix_seconds(9000)};
  if (written != nullptr) {
    options.identity = written->lookup();
    options.device = written->device_lookup();
  }
  Round r{merge(state, std::move(in), options), {}};
  if (written != nullptr) written->take(r.batch);
  auto& outbox = r.batch.outbox;
  for (auto it = outbox.begin(); it != outbox.end();) {
    if (it->kind == edgeid::agent::kOutboxEvent) {
      r.events.push_back(std::move(*it));
      it = outbox.erase(it);
    } else {
      ++it;
    }
  }
  return r;
}

// "type@mac" of each event, in order.
std::vector<std::string> event_list(const Round& r) {
  std::vector<std::string> out;
  for (const auto& e : r.events) {
    const auto type_at = e.payload.find("\"type\":\"") + 8;
    const auto mac_at = e.payload.find("\"mac\":\"") + 7;
    out.push_back(e.payload.substr(type_at, e.payload.find('"', type_at) - type_at) + "@" +
                  e.payload.substr(mac_at, 17));
  }
  return out;
}

edgeid::agent::DeviceSummary at(const MergeResult& r, const char* m) {
  return r.next.devices.at(mac(m));
}

}  // namespace

TEST_CASE("merge: a device summary keeps the merge fields and a digest of the observed ones") {
  using edgeid::agent::DeviceSummary;
  using edgeid::agent::observed_digest;
  DeviceRecord full = device("3c:22:fb:00:00:07", "LAPTOP-7.corp.example");
  full.randomized = true;
  full.router = true;
  full.vendor = "Apple, Inc.";
  full.vlans = {1, 20, 4094};
  full.ipv4 = {{10, 0, 0, 5}, {192, 168, 1, 200}};
  full.ipv6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}};
  full.dhcp_vendor_class = "MSFT 5.0";
  full.dhcp_param_list = std::string("\x01\x03\x06\x0f", 4);
  full.dhcp_client_id = std::string("\x01\x00\xff", 3);
  full.first_seen = Timestamp::from_unix_seconds(1'700'000'000);
  full.last_seen = Timestamp::from_unix_seconds(1'700'000'500);
  full.packets = (std::uint64_t{1} << 40) + 3;
  full.bytes = ~std::uint64_t{0};
  full.sources = 0x1ff;
  full.state = static_cast<std::uint8_t>(RecordState::managed);
  full.intune_id = guid(3);
  full.entra_device_id = guid(4);
  full.match_by = static_cast<std::uint8_t>(MatchBy::hostname);
  full.match_confidence_permille = 600;
  full.conflicts = {guid(5), guid(6)};
  full.version = 42;

  const DeviceSummary summary(full);
  CHECK(summary.first_seen == full.first_seen);
  CHECK(summary.last_seen == full.last_seen);
  CHECK(summary.randomized);
  CHECK(summary.digest == observed_digest(full));
  CHECK(summary.name_hash == edgeid::agent::host_name_hash("laptop-7"));
  CHECK(summary.state == full.state);
  CHECK(summary.intune_id == full.intune_id);
  CHECK(summary.conflicts == full.conflicts);
  CHECK(summary.version == 42);
  // Names from mDNS or NBNS are not rule-2 names.
  CHECK(DeviceSummary(device("3c:22:fb:00:00:08", "laptop-8", NameSource::mdns)).name_hash == 0);

  // The merge fields and the version are not part of the observed digest; each observed field is.
  auto merged_only = full;
  merged_only.state = 0;
  merged_only.conflicts.clear();
  merged_only.version = 1;
  CHECK(observed_digest(merged_only) == summary.digest);
  std::vector<DeviceRecord> variants(17, full);
  variants[0].mac = mac("3c:22:fb:00:00:09");
  variants[1].randomized = false;
  variants[2].router = false;
  variants[3].vendor += "x";
  variants[4].vlans.pop_back();
  variants[5].ipv4[1][3] = 201;
  variants[6].ipv6.clear();
  variants[7].hostname = "LAPTOP-8";
  variants[8].hostname_source = 1 + static_cast<std::uint8_t>(NameSource::mdns);
  variants[9].dhcp_vendor_class += "x";
  variants[10].dhcp_param_list += "x";
  variants[11].dhcp_client_id += "x";
  variants[12].first_seen = Timestamp::from_unix_seconds(1'699'999'999);
  variants[13].last_seen = Timestamp::from_unix_seconds(1'700'000'501);
  variants[14].packets += 1;
  variants[15].bytes -= 1;
  variants[16].sources = 1;
  for (const auto& v : variants) CHECK(observed_digest(v) != summary.digest);

  // A new observation replaces the observed part only.
  DeviceSummary moved = summary;
  DeviceRecord later = variants[13];
  later.state = 0;  // merge fields of the argument are ignored
  moved.set_observed(later);
  CHECK(moved.last_seen == later.last_seen);
  CHECK(moved.digest == observed_digest(later));
  CHECK(moved.state == full.state);
  CHECK(moved.conflicts == full.conflicts);
  CHECK_FALSE(moved == summary);

  // What a round writes when the stored record cannot be read back.
  const auto partial = summary.partial_record(full.mac);
  CHECK(partial.mac == full.mac);
  CHECK(partial.last_seen == full.last_seen);
  CHECK(partial.intune_id == full.intune_id);
  CHECK(partial.conflicts == full.conflicts);
  CHECK(partial.version == 42);
  CHECK(partial.ipv4.empty());
  DeviceRecord other = device("3c:22:fb:00:00:07");
  summary.copy_merge_fields(other);
  CHECK(other.match_by == full.match_by);
  CHECK(other.match_confidence_permille == 600);
  CHECK(other.version == 42);
  CHECK(other.ipv4.empty());
}

TEST_CASE("merge: complete_observed fills only the groups an observation does not carry") {
  using edgeid::agent::complete_observed;
  namespace cap = edgeid::capture;
  DeviceRecord known = device("3c:22:fb:00:00:01", "laptop-1");
  known.vlans = {20};
  known.ipv4 = {{10, 0, 0, 5}};
  known.ipv6 = {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  known.dhcp_vendor_class = "MSFT 5.0";
  known.dhcp_param_list = "\x01\x03";
  known.dhcp_client_id = std::string("\x01") + "abc";

  DeviceRecord activity = device("3c:22:fb:00:00:01");  // counters only, newer
  activity.packets = 99;
  complete_observed(activity, cap::change_activity, known);
  CHECK(activity.packets == 99);
  CHECK(activity.vlans == known.vlans);
  CHECK(activity.ipv4 == known.ipv4);
  CHECK(activity.ipv6 == known.ipv6);
  CHECK(activity.hostname == "laptop-1");
  CHECK(activity.hostname_source == known.hostname_source);
  CHECK(activity.dhcp_vendor_class == "MSFT 5.0");
  CHECK(activity.dhcp_param_list == known.dhcp_param_list);
  CHECK(activity.dhcp_client_id == known.dhcp_client_id);

  DeviceRecord moved = device("3c:22:fb:00:00:01", "laptop-1b");  // a new address and name
  moved.ipv4 = {{10, 0, 0, 6}};
  complete_observed(moved, cap::change_activity | cap::change_ipv4 | cap::change_names, known);
  CHECK(moved.ipv4 == std::vector<std::array<std::uint8_t, 4>>{{10, 0, 0, 6}});
  CHECK(moved.hostname == "laptop-1b");
  CHECK(moved.vlans == known.vlans);  // not carried: kept
  CHECK(moved.dhcp_vendor_class == "MSFT 5.0");

  DeviceRecord fresh = device("3c:22:fb:00:00:01");  // created anew: nothing is taken over
  complete_observed(fresh, cap::change_created | cap::change_activity, known);
  CHECK(fresh.ipv4.empty());
  CHECK(fresh.hostname.empty());
  CHECK(fresh.vlans.empty());
}

TEST_CASE("merge: an exact Wi-Fi MAC matches with confidence 1.0") {
  const auto r =
      run({}, {device("00:11:22:33:44:55")}, std::vector{identity(1, "PC1", "00:11:22:33:44:55")});
  const auto& d = at(r, "00:11:22:33:44:55");
  CHECK(d.state == static_cast<std::uint8_t>(RecordState::managed));
  CHECK(d.match_by == static_cast<std::uint8_t>(MatchBy::wifi_mac));
  CHECK(d.match_confidence_permille == 1000);
  CHECK(d.intune_id == guid(1));
  CHECK(r.managed == 1);
  CHECK(r.identity_only == 0);
}

TEST_CASE("merge: an exact Ethernet MAC matches with confidence 1.0") {
  const auto r = run({}, {device("00:11:22:33:44:66")},
                     std::vector{identity(1, "PC1", "00:11:22:33:44:55", "00:11:22:33:44:66")});
  const auto& d = at(r, "00:11:22:33:44:66");
  CHECK(d.match_by == static_cast<std::uint8_t>(MatchBy::ethernet_mac));
  CHECK(d.match_confidence_permille == 1000);
  CHECK(d.intune_id == guid(1));
}

TEST_CASE("merge: a DHCP host name unique on both sides matches a randomized MAC (0.6)") {
  // FQDN first label, case-insensitive, against the Intune device name.
  const auto r =
      run({},
          {device("de:d9:20:f8:c3:56", "umars-macbook-air.corp.example", NameSource::dhcp_fqdn),
           device("00:00:00:00:00:01", "other")},
          std::vector{identity(1, "Umars-MacBook-Air", "f0:18:98:f8:c3:56")});
  const auto& d = at(r, "de:d9:20:f8:c3:56");
  CHECK(d.state == static_cast<std::uint8_t>(RecordState::managed));
  CHECK(d.match_by == static_cast<std::uint8_t>(MatchBy::hostname));
  CHECK(d.match_confidence_permille == 600);
  CHECK(d.intune_id == guid(1));
  CHECK(at(r, "00:00:00:00:00:01").state == static_cast<std::uint8_t>(RecordState::unmanaged));
}

TEST_CASE("merge: a host name that is not unique on either side does not match") {
  SUBCASE("two identities with the name") {
    const auto r = run({}, {device("02:00:00:00:00:01", "LAPTOP-1")},
                       std::vector{identity(1, "LAPTOP-1"), identity(2, "laptop-1")});
    CHECK(at(r, "02:00:00:00:00:01").state == static_cast<std::uint8_t>(RecordState::unmanaged));
    CHECK(r.identity_only == 2);
  }
  SUBCASE("two devices with the name") {
    const auto r = run({},
                       {device("02:00:00:00:00:01", "LAPTOP-1"),
                        device("02:00:00:00:00:02", "LAPTOP-1", NameSource::dhcpv6_fqdn)},
                       std::vector{identity(1, "LAPTOP-1")});
    CHECK(r.managed == 0);
    CHECK(r.identity_only == 1);
  }
  SUBCASE("names announced by mDNS or NBNS are not evidence") {
    const auto r = run({}, {device("02:00:00:00:00:01", "LAPTOP-1", NameSource::mdns)},
                       std::vector{identity(1, "LAPTOP-1")});
    CHECK(r.managed == 0);
  }
}

TEST_CASE("merge: random fleets correlate exactly as the rules say (reference model)") {
  // Names drawn from a small pool, in any case and with or without a domain, so that many are
  // shared; MACs drawn so that some identities share one. The reference below is the rule text
  // of DESIGN.md §3, written the slow and obvious way.
  std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed](std::size_t n) {
    seed ^= seed << 13U;
    seed ^= seed >> 7U;
    seed ^= seed << 17U;
    return static_cast<std::size_t>(seed % n);  // size_t is 32-bit on armhf
  };
  const std::vector<std::string> pool = {"pc-1",  "PC-2",    "laptop-7", "Kiosk",
                                         "srv01", "printer", "tab-9",    "x"};
  auto name = [&]() {
    std::string n = pool[next(pool.size())];
    if (next(2) == 0) std::transform(n.begin(), n.end(), n.begin(), ::toupper);
    if (next(3) == 0) n += ".corp.example";
    return n;
  };
  auto lower_key = [](std::string n) {
    n = n.substr(0, n.find('.'));
    std::transform(n.begin(), n.end(), n.begin(), ::tolower);
    return n;
  };
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<DeviceRecord> devices;
    std::vector<IdentityRecord> ids;
    char m[32];
    for (int i = 0; i < 30; ++i) {
      std::snprintf(m, sizeof m, "02:00:00:00:00:%02x", i);
      const auto src = next(3) == 0 ? NameSource::mdns : NameSource::dhcp;
      devices.push_back(device(m, next(4) == 0 ? "" : name(), src));
    }
    for (int i = 1; i <= 12; ++i) {
      std::snprintf(m, sizeof m, "02:00:00:00:00:%02x", static_cast<int>(next(40)));
      ids.push_back(identity(i, next(5) == 0 ? "" : name(), next(2) == 0 ? m : nullptr, nullptr,
                             static_cast<std::int64_t>(1000 + next(3))));
    }
    const auto r = run({}, devices, ids);
    for (const auto& d : devices) {
      CAPTURE(trial);
      CAPTURE(d.mac.to_string());
      const auto& got = r.next.devices.at(d.mac);
      std::vector<const IdentityRecord*> by_mac;
      for (const auto& id : ids) {
        if (id.wifi_mac == d.mac) by_mac.push_back(&id);
      }
      if (!by_mac.empty()) {
        std::sort(by_mac.begin(), by_mac.end(), [](const auto* a, const auto* b) {
          return a->last_sync != b->last_sync ? a->last_sync > b->last_sync
                                              : a->intune_id < b->intune_id;
        });
        CHECK(got.match_by == static_cast<std::uint8_t>(MatchBy::wifi_mac));
        CHECK(got.intune_id == by_mac.front()->intune_id);
        CHECK(got.conflicts.size() == by_mac.size() - 1);
        continue;
      }
      const bool dhcp = !d.hostname.empty() &&
                        d.hostname_source == static_cast<std::uint8_t>(NameSource::dhcp) + 1;
      const IdentityRecord* named = nullptr;
      std::size_t identities_named = 0;
      std::size_t devices_named = 0;
      if (dhcp) {
        for (const auto& id : ids) {
          if (!id.device_name.empty() && lower_key(id.device_name) == lower_key(d.hostname)) {
            named = &id;
            ++identities_named;
          }
        }
        for (const auto& o : devices) {
          if (!o.hostname.empty() && o.hostname_source == d.hostname_source &&
              lower_key(o.hostname) == lower_key(d.hostname)) {
            ++devices_named;
          }
        }
      }
      if (identities_named == 1 && devices_named == 1) {
        CHECK(got.match_by == static_cast<std::uint8_t>(MatchBy::hostname));
        CHECK(got.intune_id == named->intune_id);
      } else {
        CHECK(got.state == static_cast<std::uint8_t>(RecordState::unmanaged));
      }
    }
  }
}

TEST_CASE("merge: an exact MAC wins over a host name") {
  const auto r = run({}, {device("00:11:22:33:44:55", "PC2")},
                     std::vector{identity(1, "PC1", "00:11:22:33:44:55"), identity(2, "PC2")});
  CHECK(at(r, "00:11:22:33:44:55").intune_id == guid(1));
  CHECK(r.identity_only == 1);  // PC2
}

TEST_CASE("merge: several Intune records for one MAC: the latest sync wins, the rest conflict") {
  const auto r = run({}, {device("00:11:22:33:44:55")},
                     std::vector{identity(1, "PC", "00:11:22:33:44:55", nullptr, 100),
                                 identity(2, "PC", "00:11:22:33:44:55", nullptr, 300),
                                 identity(3, "PC", nullptr, "00:11:22:33:44:55", 200)});
  const auto& d = at(r, "00:11:22:33:44:55");
  CHECK(d.intune_id == guid(2));
  CHECK(d.match_by == static_cast<std::uint8_t>(MatchBy::wifi_mac));
  CHECK(d.conflicts == std::vector<Guid>{guid(3), guid(1)});  // most recent first
  CHECK(r.identity_only == 0);  // the conflicting records are listed, not identity_only
  const auto json = r.batch.outbox.at(0).payload;
  CHECK(json.find("\"conflicts\":[\"" + guid(3).to_string() + "\",\"" + guid(1).to_string() +
                  "\"]") != std::string::npos);
}

TEST_CASE("merge: identities never seen are identity_only, keyed by their Intune id") {
  const auto r = run({}, {device("00:11:22:33:44:55")},
                     std::vector{identity(1, "HOME", "a4:b1:c1:00:00:07"), identity(2, "NOMAC")});
  CHECK(r.identity_only == 2);
  CHECK(r.unmanaged == 1);
  CHECK(r.next.identity_only.at(guid(1)).active);
  CHECK(r.next.identity_only.at(guid(1)).version == 1);
  REQUIRE(r.batch.outbox.size() == 3);
  const auto& item = r.batch.outbox[1];
  CHECK(item.kind == edgeid::agent::kOutboxIdentityOnly);
  CHECK(item.priority == 1);
  CHECK(item.payload.starts_with("{\"mac\":\"a4:b1:c1:00:00:07\",\"identity\":{\"intune_id\":\"" +
                                 guid(1).to_string() + "\""));
  CHECK(item.payload.find("\"state\":\"identity_only\"") != std::string::npos);
  CHECK(r.batch.outbox[2].payload.starts_with("{\"identity\":"));  // no MAC: no mac field
}

TEST_CASE("merge: an Entra-only identity matches by display name but is never identity_only") {
  const auto r = run({}, {device("e4:5f:01:4f:0e:2d", "ubuntu-f9b0")},
                     std::vector{entra_only(7, "ubuntu-f9b0"), entra_only(8, "elsewhere")});
  const auto& d = at(r, "e4:5f:01:4f:0e:2d");
  CHECK(d.match_by == static_cast<std::uint8_t>(MatchBy::hostname));
  CHECK(d.intune_id == guid(7));
  CHECK(r.identity_only == 0);
  const auto& json = r.batch.outbox.at(0).payload;
  CHECK(json.find("\"intune_id\"") == std::string::npos);
  CHECK(json.find("\"entra_object_id\":\"" + guid(7).to_string() + "\"") != std::string::npos);
}

TEST_CASE("merge: unmatched MACs are unmanaged, with no match object") {
  const auto r = run({}, {device("00:11:22:33:44:55", "printer")}, std::vector<IdentityRecord>{});
  const auto& d = at(r, "00:11:22:33:44:55");
  CHECK(d.state == static_cast<std::uint8_t>(RecordState::unmanaged));
  CHECK(d.intune_id.is_nil());
  const auto& json = r.batch.outbox.at(0).payload;
  CHECK(json.find("\"match\"") == std::string::npos);
  CHECK(json.find("\"state\":\"unmanaged\",\"sensor_id\":\"s1\",\"version\":1}") !=
        std::string::npos);
  CHECK(r.batch.outbox.at(0).priority == 0);
}

TEST_CASE("merge: os_group table") {
  using edgeid::agent::os_group;
  CHECK(os_group("Windows") == "Windows");
  CHECK(os_group("windows 11") == "Windows");
  CHECK(os_group("macOS") == "macOS");
  CHECK(os_group("MacMDM") == "macOS");
  CHECK(os_group("Mac OS X") == "macOS");
  CHECK(os_group("iOS") == "iOS");
  CHECK(os_group("iPadOS") == "iPadOS");
  CHECK(os_group("Android") == "Android");
  CHECK(os_group("AndroidForWork") == "Android");
  CHECK(os_group("Linux") == "Linux");
  CHECK(os_group("Ubuntu") == "Linux");
  CHECK(os_group("ChromeOS") == "ChromeOS");
  CHECK(os_group("Chrome OS") == "ChromeOS");
  CHECK(os_group("Windows Holographic") == "Windows");
  CHECK(os_group("tvOS") == "other");
  CHECK(os_group("") == "other");
}

TEST_CASE("merge: versions bump only when content changes, and only changes enter the outbox") {
  const std::vector<IdentityRecord> ids{identity(1, "PC1", "00:11:22:33:44:55")};
  Written written;
  const auto first =
      run({}, {device("00:11:22:33:44:55"), device("00:11:22:33:44:66")}, ids, &written);
  CHECK(first.changed_records == 2);
  CHECK(first.batch.outbox.size() == 2);
  CHECK(first.batch.identities.size() == 1);
  CHECK(at(first, "00:11:22:33:44:55").version == 1);
  CHECK(first.batch.outbox[0].priority == 1);  // a new managed record
  CHECK(first.batch.outbox[1].priority == 0);  // a new unmanaged one

  // The same input again: nothing changed, nothing to write or send.
  const auto same =
      run(first.next, {device("00:11:22:33:44:55"), device("00:11:22:33:44:66")}, ids, &written);
  CHECK(same.changed_records == 0);
  CHECK(same.batch.empty());
  CHECK(at(same, "00:11:22:33:44:55").version == 1);

  // More packets on one device: an observation change, priority 0.
  auto busier = device("00:11:22:33:44:66");
  busier.packets = 11;
  const auto third = run(same.next, {busier}, std::nullopt, &written);
  CHECK(third.changed_records == 1);
  REQUIRE(third.batch.outbox.size() == 1);
  CHECK(third.batch.outbox[0].priority == 0);
  CHECK(third.batch.outbox[0].entity_version == 2);
  CHECK(at(third, "00:11:22:33:44:66").version == 2);
  CHECK(at(third, "00:11:22:33:44:55").version == 1);
  CHECK(at(third, "00:11:22:33:44:55") == at(same, "00:11:22:33:44:55"));  // not observed: kept

  // A compliance change of the identity: the device record changes, priority 1.
  auto ids2 = ids;
  ids2[0].compliance_state = "noncompliant";
  const auto fourth = run(third.next, {}, ids2, &written);
  CHECK(fourth.changed_records == 1);
  REQUIRE(fourth.batch.outbox.size() == 1);
  CHECK(fourth.batch.outbox[0].priority == 1);
  CHECK(fourth.batch.outbox[0].payload.find("\"compliance_state\":\"noncompliant\"") !=
        std::string::npos);
  CHECK(at(fourth, "00:11:22:33:44:55").version == 2);
  CHECK(fourth.batch.identities.size() == 1);
  // Not observed this round: its observed part is the stored one.
  REQUIRE(fourth.batch.devices.size() == 1);
  CHECK(fourth.batch.devices[0].packets == 10);
  CHECK(fourth.batch.devices[0].first_seen == Timestamp::from_unix_seconds(1000));
  CHECK(fourth.batch.devices[0].version == 2);
  CHECK(fourth.device_misses == 0);
}

TEST_CASE("merge: first_seen keeps the earliest sighting across rounds") {
  const auto first = run({}, {device("00:11:22:33:44:55")}, std::nullopt);
  auto later = device("00:11:22:33:44:55");
  later.first_seen = Timestamp::from_unix_seconds(1500);
  const auto second = run(first.next, {later}, std::nullopt);
  CHECK(at(second, "00:11:22:33:44:55").first_seen == Timestamp::from_unix_seconds(1000));
  CHECK(second.changed_records == 0);
}

TEST_CASE("merge: a device removed from Entra loses its match") {
  const auto first = run({}, {device("e4:5f:01:4f:0e:2d", "ubuntu-f9b0")},
                         std::vector{entra_only(7, "ubuntu-f9b0")});
  CHECK(first.managed == 1);
  const auto second = run(first.next, {}, std::vector<IdentityRecord>{});
  const auto& d = at(second, "e4:5f:01:4f:0e:2d");
  CHECK(d.state == static_cast<std::uint8_t>(RecordState::unmanaged));
  CHECK(d.intune_id.is_nil());
  CHECK(d.version == 2);
  CHECK(second.batch.removed_identities == std::vector<Guid>{guid(7)});
  REQUIRE(second.batch.outbox.size() == 1);
  CHECK(second.batch.outbox[0].priority == 1);
}

TEST_CASE("merge: an identity_only record goes away when the device shows up, or is deleted") {
  const std::vector<IdentityRecord> ids{identity(1, "HOME", "a4:b1:c1:00:00:07"),
                                        identity(2, "GONE")};
  const auto first = run({}, {}, ids);
  CHECK(first.identity_only == 2);
  const auto second = run(first.next, {device("a4:b1:c1:00:00:07")}, std::vector{ids[0]});
  CHECK(second.identity_only == 0);
  CHECK(second.managed == 1);
  CHECK_FALSE(second.next.identity_only.at(guid(1)).active);
  CHECK(second.next.identity_only.at(guid(1)).version == 2);
  CHECK_FALSE(second.next.identity_only.at(guid(2)).active);
  std::size_t removed = 0;
  for (const auto& item : second.batch.outbox) {
    if (item.kind != edgeid::agent::kOutboxIdentityOnly) continue;
    CHECK(item.payload.find("\"removed\":true") != std::string::npos);
    ++removed;
  }
  CHECK(removed == 2);
  // Nothing changes any more.
  const auto third = run(second.next, {}, std::vector{ids[0]});
  CHECK(third.batch.outbox.empty());
}

TEST_CASE("merge: the identity_only cache codec round-trips and rejects junk") {
  using edgeid::agent::decode_identity_only;
  using edgeid::agent::encode_identity_only;
  const MergeState::IdentityOnly v{42, true};
  CHECK(decode_identity_only(encode_identity_only(v)) == v);
  CHECK_FALSE(decode_identity_only("x 1"));
  CHECK_FALSE(decode_identity_only("1 2"));
  CHECK_FALSE(decode_identity_only("12"));
}

TEST_CASE("merge: merge_into changes the state in place exactly as merge() computes it") {
  const std::vector<IdentityRecord> ids{identity(1, "PC1", "00:11:22:33:44:55"),
                                        identity(2, "laptop-2"), identity(3, "idle")};
  MergeState in_place;
  MergeState copied;
  const auto opts = MergeOptions{"s1", Timestamp::from_unix_seconds(9000)};
  std::vector<std::pair<std::vector<DeviceRecord>, std::optional<std::vector<IdentityRecord>>>>
      rounds{{{device("00:11:22:33:44:55"), device("02:00:00:00:00:01", "LAPTOP-2")}, ids},
             {{device("00:11:22:33:44:66")}, std::nullopt},
             {{device("02:00:00:00:00:02", "laptop-2")}, std::nullopt},  // name no longer unique
             {{}, std::vector<IdentityRecord>{ids[0]}}};
  for (auto& [devices, identities] : rounds) {
    MergeInput a{devices, identities};
    MergeInput b{devices, identities};
    const auto expected = merge(copied, std::move(a), opts);
    const auto got = merge_into(in_place, std::move(b), opts);
    copied = expected.next;
    CHECK(got.next.devices.empty());
    CHECK(in_place.devices == copied.devices);
    CHECK(in_place.identities == copied.identities);
    CHECK(in_place.identity_only == copied.identity_only);
    CHECK(got.changed_records == expected.changed_records);
    REQUIRE(got.batch.outbox.size() == expected.batch.outbox.size());
    for (std::size_t i = 0; i < got.batch.outbox.size(); ++i) {
      CHECK(got.batch.outbox[i].payload == expected.batch.outbox[i].payload);
    }
  }
  // The third round broke the host-name match of the first laptop: it is unmanaged now.
  CHECK(in_place.devices.at(mac("02:00:00:00:00:01")).state ==
        static_cast<std::uint8_t>(RecordState::unmanaged));
}

TEST_CASE("merge: events for new, unmanaged, noncompliant, randomized and re-identified devices") {
  auto laptop = identity(1, "LAPTOP-1", "00:11:22:33:44:55");
  auto phone = identity(2, "phone-7");
  phone.compliance_state = "noncompliant";
  auto random = device("5a:00:00:00:00:01", "phone-7");
  random.randomized = true;
  const auto first = run({}, {device("00:11:22:33:44:55"), device("00:11:22:33:44:66"), random},
                         std::vector{laptop, phone});
  CHECK(event_list(first) == std::vector<std::string>{
                                 "device.new@00:11:22:33:44:55",
                                 "device.new@00:11:22:33:44:66",
                                 "device.unmanaged_seen@00:11:22:33:44:66",
                                 "device.new@5a:00:00:00:00:01",
                                 "device.noncompliant_seen@5a:00:00:00:00:01",
                                 "device.randomized_matched@5a:00:00:00:00:01",
                             });
  const auto& nc = first.events.at(4);
  CHECK(nc.priority == 1);
  CHECK(nc.payload.find("\"intune_id\":\"" + guid(2).to_string() + "\"") != std::string::npos);
  CHECK(nc.payload.find("\"match_by\":\"hostname\"") != std::string::npos);
  CHECK(nc.payload.find("\"sensor_id\":\"s1\"") != std::string::npos);
  CHECK(nc.payload.find("\"time\":\"1970-01-01T02:30:00Z\"") != std::string::npos);
  CHECK(first.events.at(0).priority == 0);
  CHECK(first.events.at(0).entity != first.events.at(1).entity);  // never superseded

  // A sync that changes only lastSync: no event (still noncompliant, same identity).
  phone.last_sync = Timestamp::from_unix_seconds(6000);
  const auto second = run(first.next, {}, std::vector{laptop, phone});
  CHECK(second.events.empty());

  // The laptop turns noncompliant; the phone's identity is deleted from the tenant.
  laptop.compliance_state = "noncompliant";
  const auto third = run(second.next, {}, std::vector{laptop});
  CHECK(event_list(third) == std::vector<std::string>{
                                 "device.noncompliant_seen@00:11:22:33:44:55",
                                 "device.identity_changed@5a:00:00:00:00:01",
                                 "device.unmanaged_seen@5a:00:00:00:00:01",
                             });
  CHECK(third.events.at(1).payload.find("\"previous_intune_id\":\"" + guid(2).to_string()) !=
        std::string::npos);
  CHECK(third.events.at(1).priority == 1);

  // Quiet again: more packets change the record, not its identity: no event.
  auto busier = device("00:11:22:33:44:55");
  busier.packets = 99;
  const auto fourth = run(third.next, {busier}, std::nullopt);
  CHECK(fourth.batch.outbox.size() == 1);
  CHECK(fourth.events.empty());
}

TEST_CASE("merge: a spilled round is the unspilled round cut into bounded, self-contained parts") {
  // 300 devices (every third matched by Wi-Fi MAC, some noncompliant) and 400 identities, 100 of
  // them identity_only; then a second round that changes some and removes identities.
  std::vector<DeviceRecord> devices;
  std::vector<IdentityRecord> ids;
  char text[18];
  for (int i = 0; i < 300; ++i) {
    std::snprintf(text, sizeof text, "00:11:22:00:%02x:%02x", i >> 8, i & 0xff);
    devices.push_back(device(text));
    if (i % 3 == 0) {
      ids.push_back(identity(i, "pc-" + std::to_string(i), text));
      if (i % 9 == 0) ids.back().compliance_state = "noncompliant";
    }
  }
  for (int i = 300; i < 400; ++i) ids.push_back(identity(i, "idle-" + std::to_string(i)));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Guid::Bytes b{};
    b[0] = 0x20;
    b[14] = static_cast<std::uint8_t>(i >> 8);
    b[15] = static_cast<std::uint8_t>(i);
    ids[i].intune_id = Guid(b);
  }
  std::vector<DeviceRecord> changed(devices.begin(), devices.begin() + 120);
  for (auto& d : changed) d.packets += 5;
  std::vector<IdentityRecord> fewer(ids.begin() + 50, ids.end());

  for (const std::size_t limit : {1U, 7U, 64U}) {
    CAPTURE(limit);
    MergeState plain;
    MergeState spilled;
    // Each side's written identities, as a store would hold them for the full records.
    Written plain_store;
    Written spilled_store;
    auto opts = MergeOptions{"s1", Timestamp::from_unix_seconds(9000)};
    opts.identity = plain_store.lookup();
    opts.device = plain_store.device_lookup();
    for (auto& [observed, identities] :
         std::vector<std::pair<std::vector<DeviceRecord>, std::vector<IdentityRecord>>>{
             {devices, ids}, {changed, fewer}}) {
      const auto expected = merge_into(plain, MergeInput{observed, identities}, opts);
      plain_store.take(expected.batch);
      std::vector<edgeid::store::Batch> parts;
      auto with_spill = opts;
      with_spill.spill_items = limit;
      with_spill.identity = spilled_store.lookup();
      with_spill.device = spilled_store.device_lookup();
      with_spill.spill = [&](edgeid::store::Batch&& b) {
        spilled_store.take(b);
        parts.push_back(std::move(b));
      };
      auto got = merge_into(spilled, MergeInput{observed, identities}, with_spill);
      spilled_store.take(got.batch);
      CHECK(expected.identity_misses == 0);
      CHECK(got.identity_misses == 0);
      CHECK(expected.device_misses == 0);
      CHECK(got.device_misses == 0);
      CHECK(got.changed_records == expected.changed_records);
      CHECK(spilled.devices == plain.devices);
      CHECK(spilled.identities == plain.identities);
      CHECK(spilled.identity_only == plain.identity_only);
      REQUIRE(parts.size() > 1);
      parts.push_back(std::move(got.batch));
      edgeid::store::Batch joined;
      for (auto& p : parts) {
        const auto items =
            p.devices.size() + p.identities.size() + p.removed_identities.size() + p.outbox.size();
        // A part closes at the first record boundary at or after the limit: a device record
        // brings at most its own item and three events.
        CHECK(items < limit + 5);
        // Every device record travels with its own outbox item.
        for (const auto& d : p.devices) {
          const auto entity = edgeid::agent::mac_entity(d.mac);
          CHECK(std::any_of(p.outbox.begin(), p.outbox.end(), [&](const auto& o) {
            return o.entity == entity && o.entity_version == d.version;
          }));
        }
        joined.devices.insert(joined.devices.end(), p.devices.begin(), p.devices.end());
        joined.identities.insert(joined.identities.end(), p.identities.begin(), p.identities.end());
        joined.removed_identities.insert(joined.removed_identities.end(),
                                         p.removed_identities.begin(), p.removed_identities.end());
        joined.outbox.insert(joined.outbox.end(), p.outbox.begin(), p.outbox.end());
        joined.cache.insert(joined.cache.end(), p.cache.begin(), p.cache.end());
      }
      CHECK(joined.devices == expected.batch.devices);
      CHECK(joined.identities == expected.batch.identities);
      CHECK(joined.removed_identities == expected.batch.removed_identities);
      CHECK(joined.cache == expected.batch.cache);
      REQUIRE(joined.outbox.size() == expected.batch.outbox.size());
      for (std::size_t i = 0; i < joined.outbox.size(); ++i) {
        CHECK(joined.outbox[i].entity == expected.batch.outbox[i].entity);
        CHECK(joined.outbox[i].payload == expected.batch.outbox[i].payload);
      }
    }
  }
}

TEST_CASE("merge: an identity summary keeps the correlation facts and a digest of every field") {
  using edgeid::agent::identity_digest;
  using edgeid::agent::IdentitySummary;
  auto r = identity(7, "LAPTOP-7", "00:11:22:33:44:55", "00:11:22:33:44:56", 1795000000);
  r.entra_device_id = guid(8);
  r.entra_object_id = guid(9);
  r.compliance_state = "NonCompliant";
  const IdentitySummary summary(r);
  CHECK(summary.intune_id == r.intune_id);
  CHECK(summary.entra_device_id == r.entra_device_id);
  CHECK(summary.entra_object_id == r.entra_object_id);
  CHECK(summary.wifi_mac == r.wifi_mac);
  CHECK(summary.ethernet_mac == r.ethernet_mac);
  CHECK(summary.last_sync == r.last_sync);
  CHECK(summary.noncompliant);
  CHECK_FALSE(summary.entra_only());
  CHECK(summary.name_hash == edgeid::agent::host_name_hash("laptop-7.corp.example"));
  CHECK(summary.name_hash != edgeid::agent::host_name_hash("LAPTOP-8"));
  CHECK(summary.digest == identity_digest(r));
  CHECK(IdentitySummary(IdentityRecord{}).name_hash == 0);
  CHECK(IdentitySummary(entra_only(3, "srv")).entra_only());

  // What a round writes when the full record cannot be read back.
  const auto partial = summary.partial_record();
  CHECK(partial.intune_id == r.intune_id);
  CHECK(partial.entra_object_id == r.entra_object_id);
  CHECK(partial.wifi_mac == r.wifi_mac);
  CHECK(partial.last_sync == r.last_sync);
  CHECK(partial.compliance_state == "noncompliant");
  CHECK(partial.device_name.empty());

  // Any one field changed changes the digest (and so the summary).
  std::vector<IdentityRecord> variants;
  for (auto text : {&IdentityRecord::device_name, &IdentityRecord::os, &IdentityRecord::os_version,
                    &IdentityRecord::enrollment_type, &IdentityRecord::user_principal_name,
                    &IdentityRecord::email, &IdentityRecord::model, &IdentityRecord::manufacturer,
                    &IdentityRecord::serial_number, &IdentityRecord::compliance_state,
                    &IdentityRecord::management_agent, &IdentityRecord::ownership,
                    &IdentityRecord::trust_type}) {
    auto v = r;
    v.*text += "x";
    variants.push_back(v);
  }
  for (auto id : {&IdentityRecord::intune_id, &IdentityRecord::entra_device_id,
                  &IdentityRecord::entra_object_id}) {
    auto v = r;
    v.*id = guid(99);
    variants.push_back(v);
  }
  auto v = r;
  v.last_sync = Timestamp::from_unix_seconds(1795000001);
  variants.push_back(v);
  v = r;
  v.wifi_mac = mac("00:11:22:33:44:57");
  variants.push_back(v);
  v = r;
  v.ethernet_mac = MacAddress();
  variants.push_back(v);
  // The same characters across a field boundary.
  v = r;
  v.os = "ab";
  v.os_version = "c";
  auto w = r;
  w.os = "a";
  w.os_version = "bc";
  CHECK(identity_digest(v) != identity_digest(w));
  for (const auto& changed : variants) {
    CHECK(identity_digest(changed) != summary.digest);
    CHECK_FALSE(IdentitySummary(changed) == summary);
  }
  CHECK(IdentitySummary(r) == summary);
}

TEST_CASE("merge: a record written for an identity of an earlier round carries its full record") {
  // Round 1 learns the identity (identity_only); round 2 sees its MAC without the identities
  // being sent again: the payload's identity comes from MergeOptions::identity.
  auto id = identity(7, "LAPTOP-7", "00:11:22:33:44:55");
  id.user_principal_name = "ana@contoso.example";
  Written written;
  auto opts = MergeOptions{"s1", Timestamp::from_unix_seconds(9000)};
  opts.identity = written.lookup();
  MergeState state;
  const auto first = merge_into(state, MergeInput{{}, std::vector<IdentityRecord>{id}}, opts);
  CHECK(first.identity_misses == 0);
  REQUIRE(first.batch.outbox.size() == 1);
  CHECK(first.batch.outbox[0].payload.find("\"user_principal_name\":\"ana@contoso.example\"") !=
        std::string::npos);
  written.take(first.batch);

  MergeState without = state;
  const auto second =
      merge_into(state, MergeInput{{device("00:11:22:33:44:55")}, std::nullopt}, opts);
  CHECK(second.identity_misses == 0);
  REQUIRE(second.batch.devices.size() == 1);
  const auto& payload = second.batch.outbox.at(0).payload;
  CHECK(payload.find("\"device_name\":\"LAPTOP-7\"") != std::string::npos);
  CHECK(payload.find("\"user_principal_name\":\"ana@contoso.example\"") != std::string::npos);

  // Nowhere to read it from: written with the keys it has, and counted.
  opts.identity = nullptr;
  const auto blind =
      merge_into(without, MergeInput{{device("00:11:22:33:44:55")}, std::nullopt}, opts);
  CHECK(blind.identity_misses >= 1);
  CHECK(blind.batch.devices == second.batch.devices);
  const auto& partial = blind.batch.outbox.at(0).payload;
  CHECK(partial.find(id.intune_id.to_string()) != std::string::npos);
  CHECK(partial.find("LAPTOP-7") == std::string::npos);
}
