// The store adapter: a merge round applied to a real store, loaded back, read as the inventory.
#include "agent/inventory.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "agent/record_json.h"

namespace {

using edgeid::platform::Guid;
using edgeid::platform::MacAddress;
using edgeid::platform::Timestamp;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeid-inv-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("inventory: a round persists, reloads equal, and reads back sorted") {
  using namespace edgeid::agent;
  TempDir dir;
  edgeid::store::DeviceRecord d1;
  d1.mac = MacAddress::from_string("00:11:22:33:44:55");
  d1.first_seen = Timestamp::from_unix_seconds(100);
  d1.last_seen = Timestamp::from_unix_seconds(200);
  d1.hostname = "PC1";
  d1.hostname_source = 1;
  d1.vlans = {20};
  auto d2 = d1;
  d2.mac = MacAddress::from_string("00:00:00:00:00:02");
  d2.hostname.clear();
  d2.hostname_source = 0;
  edgeid::store::IdentityRecord id;
  id.intune_id = Guid::from_string("10000000-0000-0000-0000-000000000001");
  id.device_name = "PC1";
  id.os = "Windows";
  edgeid::store::IdentityRecord away;
  away.intune_id = Guid::from_string("20000000-0000-0000-0000-000000000002");
  away.device_name = "AWAY";
  away.ethernet_mac = MacAddress::from_string("a4:b1:c1:00:00:07");

  MergeInput in;
  in.observed = {d1, d2};
  in.identities = std::vector{id, away};
  const auto r = merge({}, std::move(in), MergeOptions{"s", Timestamp::from_unix_seconds(300)});
  {
    edgeid::store::Store store;
    REQUIRE_FALSE(store.open(store_options(dir.path, false, std::size_t{64} << 20)));
    auto batch = r.batch;
    batch.meta.emplace_back(kMetaSensorId, "s");
    REQUIRE_FALSE(store.apply(batch));
    MergeState loaded;
    std::string detail;
    REQUIRE_FALSE(load_merge_state(store, loaded, detail));
    CHECK(detail.empty());
    CHECK(loaded.devices == r.next.devices);
    CHECK(loaded.identities == r.next.identities);
    CHECK(loaded.identity_only == r.next.identity_only);
    // A round on the reloaded state with the same input changes nothing.
    MergeInput again;
    again.observed = {d1, d2};
    again.identities = std::vector{id, away};
    const auto r2 = merge(loaded, std::move(again), MergeOptions{"s", Timestamp()});
    CHECK(r2.batch.empty());
  }
  edgeid::store::Store reader;
  REQUIRE_FALSE(reader.open(store_options(dir.path, true)));
  std::vector<InventoryRecord> records;
  std::string detail;
  REQUIRE_FALSE(read_inventory(reader, records, detail));
  REQUIRE(records.size() == 3);
  CHECK(records[0].device->mac == d2.mac);  // sorted by MAC
  CHECK(records[0].state == RecordState::unmanaged);
  CHECK(records[1].state == RecordState::managed);
  CHECK(records[1].json.find("\"match\":{\"by\":\"hostname\",\"confidence\":0.6}") !=
        std::string::npos);
  CHECK(records[2].state == RecordState::identity_only);  // after the MACs
  CHECK(records[2].json.starts_with("{\"mac\":\"a4:b1:c1:00:00:07\""));
  CHECK(
      records[2].json.ends_with("\"state\":\"identity_only\",\"sensor_id\":\"s\",\"version\":1}"));
}
