#include "store/store.h"

#include <cctype>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <lmdb.h>

#include "store/error.h"
#include "store_test_util.h"

using namespace edgeid::store;
using edgeid::platform::Guid;
using edgeid::platform::MacAddress;
using edgeid::platform::Timestamp;
using edgeid::store::test::make_device;
using edgeid::store::test::make_identity;
using edgeid::store::test::ScratchDir;

namespace {

StoreOptions options_for(const std::filesystem::path& dir) {
  StoreOptions o;
  o.environment.directory = dir;
  o.environment.initial_map_size = std::size_t{1} << 20;
  o.environment.max_map_size = std::size_t{256} << 20;
  return o;
}

OutboxItem item(std::string entity, std::uint8_t priority = 0, std::string payload = "p") {
  OutboxItem o;
  o.entity = std::move(entity);
  o.priority = priority;
  o.payload = std::move(payload);
  o.created = Timestamp::from_unix_seconds(1795201200);
  return o;
}

// Resident kiB of this process's mappings of @p file (/proc/self/smaps); -1 when the mapping
// is not listed there.
long resident_kib(const std::filesystem::path& file) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  long total = -1;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && line.find(' ') != std::string::npos) {
      inside =
          line.size() >= file.string().size() &&
          line.compare(line.size() - file.string().size(), std::string::npos, file.string()) == 0;
      if (inside && total < 0) total = 0;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      total += std::stol(line.substr(4));
    }
  }
  return total;
}

}  // namespace

TEST_CASE("released map pages leave the process's resident size and read back unchanged") {
  ScratchDir dir;
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  Batch b;
  for (int n = 0; n < 5000; ++n) b.devices.push_back(make_device(n));
  REQUIRE_FALSE(store.apply(b));
  const auto read_all = [&] {
    std::size_t same = 0;
    REQUIRE_FALSE(store.for_each_device([&](const DeviceRecord& rec) {
      same += rec == make_device(rec.mac.to_u64() - make_device(0).mac.to_u64()) ? 1 : 0;
      return true;
    }));
    return same;
  };
  REQUIRE(read_all() == 5000);  // every page of the devices table touched through the map
  const auto file = std::filesystem::canonical(dir.path() / "data.mdb");
  const long before = resident_kib(file);
  REQUIRE_FALSE(store.release_mapped_pages());
  const long after = resident_kib(file);
  if (before <= 0) {
    // qemu-user lists its guest's mappings without their resident sizes.
    MESSAGE("the map's resident size is not reported here; only the read-back is checked");
  } else {
    CHECK(before >= 500);  // ~1 MiB of records
    CHECK(after < before / 10);
  }
  CHECK(read_all() == 5000);
  CHECK(resident_kib(file) >= (before <= 0 ? 0 : before / 2));  // mapped again by the reads
}

TEST_CASE("a batch of devices, identities, outbox items and meta commits and reads back") {
  ScratchDir dir;
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  Batch b;
  for (int n = 0; n < 100; ++n) b.devices.push_back(make_device(n));
  b.identities.push_back(make_identity(1));
  b.outbox = {item("a"), item("b")};
  b.meta = {{"sensor_id", "branch-7-fw1"}};
  b.cache = {{"ethmac:x", "84:ad:8d:00:00:01"}};
  BatchResult r;
  REQUIRE_FALSE(store.apply(b, &r));
  CHECK(r.first_seq == 1);
  CHECK(r.last_seq == 2);

  std::error_code ec;
  auto d = store.device(make_device(42).mac, ec);
  REQUIRE(d);
  CHECK(*d == make_device(42));
  CHECK_FALSE(store.device(MacAddress::from_u64(1), ec).has_value());
  CHECK_FALSE(ec);
  auto i = store.identity(make_identity(1).intune_id, ec);
  REQUIRE(i);
  CHECK(*i == make_identity(1));
  CHECK(store.identities_for_mac(make_identity(1).wifi_mac, ec) ==
        std::vector<Guid>{make_identity(1).intune_id});
  CHECK(*store.meta("sensor_id", ec) == "branch-7-fw1");
  CHECK(*store.cache("ethmac:x", ec) == "84:ad:8d:00:00:01");

  std::vector<MacAddress> order;
  REQUIRE_FALSE(store.for_each_device([&](const DeviceRecord& rec) {
    order.push_back(rec.mac);
    return true;
  }));
  CHECK(order.size() == 100);
  CHECK(std::is_sorted(order.begin(), order.end()));

  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.devices == 100);
  CHECK(st.identities == 1);
  CHECK(st.outbox_items == 2);
  CHECK(st.schema_version == kSchemaVersion);
  REQUIRE(st.outbox_oldest);
}

TEST_CASE("identity updates move the MAC index; removals clear it") {
  ScratchDir dir;
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  auto id = make_identity(3);
  REQUIRE_FALSE(store.apply(Batch{.identities = {id}}));
  const auto old_mac = id.wifi_mac;
  id.wifi_mac = MacAddress::from_u64(0x0200000000aaULL);
  id.ethernet_mac = MacAddress::from_u64(0x0200000000bbULL);
  REQUIRE_FALSE(store.apply(Batch{.identities = {id}}));
  std::error_code ec;
  CHECK(store.identities_for_mac(old_mac, ec).empty());
  CHECK(store.identities_for_mac(id.wifi_mac, ec).size() == 1);
  CHECK(store.identities_for_mac(id.ethernet_mac, ec).size() == 1);
  REQUIRE_FALSE(store.apply(Batch{.removed_identities = {id.intune_id}}));
  CHECK_FALSE(store.identity(id.intune_id, ec).has_value());
  CHECK(store.identities_for_mac(id.ethernet_mac, ec).empty());
}

TEST_CASE("outbox: ordered peek, acknowledge, and sequence numbers that never repeat") {
  ScratchDir dir;
  {
    Store store;
    REQUIRE_FALSE(store.open(options_for(dir.path())));
    REQUIRE_FALSE(store.apply(Batch{.outbox = {item("a"), item("b"), item("c")}}));
    std::vector<OutboxItem> items;
    REQUIRE_FALSE(store.outbox_peek(2, items));
    REQUIRE(items.size() == 2);
    CHECK(items[0].seq == 1);
    CHECK(items[0].entity == "a");
    CHECK(items[1].seq == 2);
    const std::uint64_t acked[] = {1, 2, 3};
    REQUIRE_FALSE(store.outbox_ack(acked));
    REQUIRE_FALSE(store.outbox_peek(10, items));
    CHECK(items.empty());
  }
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  BatchResult r;
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("d")}}, &r));
  CHECK(r.first_seq == 4);  // after a restart with an empty outbox
}

TEST_CASE("outbox bound: superseded versions go first, then the oldest, never priority 1") {
  ScratchDir dir;
  auto o = options_for(dir.path());
  o.outbox_max_items = 10;
  Store store;
  REQUIRE_FALSE(store.open(o));
  Batch b;
  for (int n = 0; n < 4; ++n) b.outbox.push_back(item("important-" + std::to_string(n), 1));
  for (int n = 0; n < 6; ++n) b.outbox.push_back(item("dev-" + std::to_string(n % 3)));
  REQUIRE_FALSE(store.apply(b));  // exactly at the bound
  BatchResult r;
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("dev-9")}}, &r));
  // 11 > 10: shed down to 9. The superseded dev-0, dev-1 (first copies) go first.
  CHECK(r.shed == 2);
  std::vector<OutboxItem> items;
  REQUIRE_FALSE(store.outbox_peek(100, items));
  CHECK(items.size() == 9);
  std::size_t important = 0;
  for (const auto& it : items) important += it.priority == 1 ? 1 : 0;
  CHECK(important == 4);
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.outbox_shed_superseded == 2);
  CHECK(st.outbox_shed_oldest == 0);

  // Only priority-1 items: the bound is exceeded, nothing is dropped, and it is counted.
  Batch flood;
  for (int n = 0; n < 12; ++n) flood.outbox.push_back(item("idchange-" + std::to_string(n), 1));
  REQUIRE_FALSE(store.apply(flood, &r));
  REQUIRE_FALSE(store.outbox_peek(100, items));
  std::size_t kept_important = 0;
  for (const auto& it : items) kept_important += it.priority == 1 ? 1 : 0;
  CHECK(kept_important == 16);
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.outbox_shed_superseded == 3);  // the older dev-2 copy
  CHECK(st.outbox_shed_oldest == 4);      // then every other priority-0 item
  CHECK(items.size() == 16);
  CHECK(st.outbox_over_bound == 12);
}

TEST_CASE("the map grows on MAP_FULL, and a hard limit is a clean error that loses nothing") {
  ScratchDir dir;
  auto o = options_for(dir.path());
  o.environment.initial_map_size = std::size_t{64} * 1024;
  o.environment.max_map_size = 4 << 20;
  {
    Store store;
    REQUIRE_FALSE(store.open(o));
    Batch b;
    for (int n = 0; n < 2000; ++n) b.devices.push_back(make_device(n));
    BatchResult r;
    REQUIRE_FALSE(store.apply(b, &r));
    CHECK(r.map_growths > 0);

    Batch huge;
    for (int n = 0; n < 40000; ++n) huge.devices.push_back(make_device(100000 + n));
    huge.outbox.push_back(item("huge"));
    const auto ec = store.apply(huge, &r);
    CHECK(ec == errc::map_full);
    CHECK(ec.message().find("maximum") != std::string::npos);
    StoreStats st;
    REQUIRE_FALSE(store.stats(st));
    CHECK(st.devices == 2000);  // nothing of the failed batch is visible
    CHECK(st.outbox_items == 0);
    // Normal operation goes on.
    REQUIRE_FALSE(store.apply(Batch{.devices = {make_device(99999)}}));
  }
  // With more room (a new configuration), the big batch goes in.
  o.environment.max_map_size = 64 << 20;
  Store store;
  REQUIRE_FALSE(store.open(o));
  Batch huge;
  for (int n = 0; n < 40000; ++n) huge.devices.push_back(make_device(100000 + n));
  REQUIRE_FALSE(store.apply(huge));
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.devices == 42001);
}

TEST_CASE("corrupt values are reported and skipped; the rest stays readable") {
  ScratchDir dir;
  {
    Store store;
    REQUIRE_FALSE(store.open(options_for(dir.path())));
    Batch b;
    for (int n = 0; n < 10; ++n) b.devices.push_back(make_device(n));
    REQUIRE_FALSE(store.apply(b));
  }
  {
    // Flip bytes of two stored values behind the store's back.
    Environment env;
    EnvironmentOptions eo;
    eo.directory = dir.path();
    REQUIRE_FALSE(env.open(eo));
    unsigned dbi = 0;
    REQUIRE_FALSE(env.open_database("devices", 0, dbi));
    WriteTxn txn;
    REQUIRE_FALSE(txn.begin(env));
    for (int n : {3, 7}) {
      const auto mac = make_device(n).mac;
      std::error_code ec;
      auto v = txn.get(dbi, mac.bytes(), ec);
      REQUIRE(v);
      std::vector<std::uint8_t> bad(v->begin(), v->end());
      bad[0] = 0xee;  // unknown format version
      if (n == 7) bad.resize(bad.size() / 2);
      REQUIRE_FALSE(txn.put(dbi, mac.bytes(), bad));
    }
    REQUIRE_FALSE(txn.commit());
  }
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  std::size_t good = 0;
  std::vector<std::string> corrupt;
  REQUIRE_FALSE(store.for_each_device(
      [&](const DeviceRecord&) {
        ++good;
        return true;
      },
      [&](Bytes key, std::error_code ec) {
        CHECK(ec == errc::corrupt_value);
        corrupt.push_back(MacAddress::from_wire(key)->to_string());
      }));
  CHECK(good == 8);
  CHECK(corrupt ==
        std::vector<std::string>{make_device(3).mac.to_string(), make_device(7).mac.to_string()});
  std::error_code ec;
  CHECK_FALSE(store.device(make_device(3).mac, ec).has_value());
  CHECK(ec == errc::corrupt_value);
  CHECK(store.device(make_device(4).mac, ec).has_value());
}

TEST_CASE("schema: a newer database is refused, an older one goes through the migration hook") {
  ScratchDir dir;
  {
    Store store;
    REQUIRE_FALSE(store.open(options_for(dir.path())));
    std::array<std::uint8_t, 8> v{0, 0, 0, 0, 0, 0, 0, 0};
    v[7] = static_cast<std::uint8_t>(kSchemaVersion + 1);
    REQUIRE_FALSE(
        store.apply(Batch{.meta = {{"schema_version", std::string(v.begin(), v.end())}}}));
  }
  {
    Store store;
    CHECK(store.open(options_for(dir.path())) == errc::schema_too_new);
    CHECK_FALSE(store.is_open());
  }
  {
    Environment env;
    EnvironmentOptions eo;
    eo.directory = dir.path();
    REQUIRE_FALSE(env.open(eo));
    unsigned dbi = 0;
    REQUIRE_FALSE(env.open_database("meta", 0, dbi));
    WriteTxn txn;
    REQUIRE_FALSE(txn.begin(env));
    const std::uint8_t zero[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE_FALSE(txn.put(dbi, as_bytes("schema_version"), zero));
    REQUIRE_FALSE(txn.commit());
  }
  auto o = options_for(dir.path());
  std::uint32_t migrated_from = 99;
  o.migrate = [&](std::uint32_t from, WriteTxn&) {
    migrated_from = from;
    return std::error_code();
  };
  Store store;
  REQUIRE_FALSE(store.open(o));
  CHECK(migrated_from == 0);
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.schema_version == kSchemaVersion);
}

TEST_CASE("retention removes devices not seen since the cutoff") {
  ScratchDir dir;
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  Batch b;
  for (int n = 0; n < 10; ++n) {
    auto d = make_device(n);
    d.first_seen = Timestamp::from_unix_seconds(1000);
    d.last_seen = Timestamp::from_unix_seconds(n < 4 ? 2000 : 9000);
    b.devices.push_back(d);
  }
  REQUIRE_FALSE(store.apply(b));
  std::size_t removed = 0;
  REQUIRE_FALSE(store.remove_devices_not_seen_since(Timestamp::from_unix_seconds(5000), removed));
  CHECK(removed == 4);
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.devices == 6);
}

TEST_CASE("one writer per data directory; compaction refuses while it runs and shrinks after") {
  ScratchDir dir;
  {
    Store store;
    REQUIRE_FALSE(store.open(options_for(dir.path())));
    Store second;
    CHECK(second.open(options_for(dir.path())) == errc::environment_in_use);
    CHECK(Store::compact(dir.path()) == errc::environment_in_use);
    Batch b;
    for (int n = 0; n < 5000; ++n) b.devices.push_back(make_device(n));
    REQUIRE_FALSE(store.apply(b));
    std::size_t removed = 0;
    REQUIRE_FALSE(
        store.remove_devices_not_seen_since(Timestamp::from_unix_seconds(2000000000), removed));
    REQUIRE_FALSE(store.apply(Batch{.devices = {make_device(1)}}));
  }
  const auto before = std::filesystem::file_size(dir.path() / "data.mdb");
  REQUIRE_FALSE(Store::compact(dir.path()));
  const auto after = std::filesystem::file_size(dir.path() / "data.mdb");
  CHECK(after < before);
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  std::error_code ec;
  CHECK(store.device(make_device(1).mac, ec) == make_device(1));
}

TEST_CASE("a read-only open sees committed data and refuses writes") {
  ScratchDir dir;
  Store writer;
  REQUIRE_FALSE(writer.open(options_for(dir.path())));
  REQUIRE_FALSE(writer.apply(Batch{.devices = {make_device(1)}}));
  auto o = options_for(dir.path());
  o.environment.read_only = true;
  Store reader;  // alongside the running writer, like `edgeid inventory`
  REQUIRE_FALSE(reader.open(o));
  std::error_code ec;
  CHECK(reader.device(make_device(1).mac, ec).has_value());
  CHECK(reader.apply(Batch{.devices = {make_device(2)}}) ==
        std::make_error_code(std::errc::read_only_file_system));
  REQUIRE_FALSE(writer.apply(Batch{.devices = {make_device(3)}}));
  CHECK(reader.device(make_device(3).mac, ec).has_value());  // a fresh snapshot per read
}

TEST_CASE("dead letters: parked items leave the outbox, survive a restart and requeue first") {
  ScratchDir dir;
  {
    Store store;
    REQUIRE_FALSE(store.open(options_for(dir.path())));
    REQUIRE_FALSE(store.apply(Batch{.outbox = {item("a"), item("b"), item("c"), item("d")}}));
    const std::uint64_t refused[] = {2, 3, 99};  // 99 does not exist: ignored
    REQUIRE_FALSE(store.outbox_park(refused, "400 Bad Request: field x"));
    std::vector<OutboxItem> items;
    REQUIRE_FALSE(store.outbox_peek(10, items));
    REQUIRE(items.size() == 2);
    CHECK(items[0].seq == 1);
    CHECK(items[1].seq == 4);
    const std::uint64_t acked[] = {1, 4};
    REQUIRE_FALSE(store.outbox_ack(acked));
  }
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.outbox_items == 0);
  CHECK(st.deadletter_items == 2);
  CHECK(st.deadletter_parked == 2);
  CHECK(st.deadletter_reason == "400 Bad Request: field x");
  std::vector<OutboxItem> dead;
  REQUIRE_FALSE(store.deadletter_peek(10, dead));
  REQUIRE(dead.size() == 2);
  CHECK(dead[0].entity == "b");
  CHECK(dead[1].seq == 3);

  // A newer item arrives; requeued dead letters keep their seq and so go out first.
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("e")}}));
  std::size_t moved = 0;
  REQUIRE_FALSE(store.deadletter_requeue(moved));
  CHECK(moved == 2);
  std::vector<OutboxItem> items;
  REQUIRE_FALSE(store.outbox_peek(10, items));
  REQUIRE(items.size() == 3);
  CHECK(items[0].seq == 2);
  CHECK(items[0].entity == "b");
  CHECK(items[1].seq == 3);
  CHECK(items[2].entity == "e");
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.deadletter_items == 0);
}

TEST_CASE("dead letters: the table is bounded, the oldest dropped and counted") {
  ScratchDir dir;
  auto o = options_for(dir.path());
  o.outbox_max_items = 3;
  Store store;
  REQUIRE_FALSE(store.open(o));
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("a", 1), item("b", 1), item("c", 1)}}));
  const std::uint64_t first[] = {1, 2, 3};
  REQUIRE_FALSE(store.outbox_park(first, "400"));
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("d", 1), item("e", 1)}}));
  const std::uint64_t second[] = {4, 5};
  REQUIRE_FALSE(store.outbox_park(second, "422"));
  StoreStats st;
  REQUIRE_FALSE(store.stats(st));
  CHECK(st.deadletter_items == 3);
  CHECK(st.deadletter_dropped == 2);
  CHECK(st.deadletter_parked == 5);
  std::vector<OutboxItem> dead;
  REQUIRE_FALSE(store.deadletter_peek(10, dead));
  REQUIRE(dead.size() == 3);
  CHECK(dead[0].entity == "c");
}

TEST_CASE("outbox: a new store starts at first_seq; an existing one carries on whatever it says") {
  ScratchDir dir;
  auto o = options_for(dir.path());
  o.first_seq = 1'700'000'000'000'000;
  {
    Store store;
    REQUIRE_FALSE(store.open(o));
    BatchResult r;
    REQUIRE_FALSE(store.apply(Batch{.outbox = {item("a"), item("b")}}, &r));
    CHECK(r.first_seq == 1'700'000'000'000'000);
    CHECK(r.last_seq == 1'700'000'000'000'001);
    const std::uint64_t all[] = {r.first_seq, r.last_seq};
    REQUIRE_FALSE(store.outbox_park(all, "400"));  // only dead letters left
  }
  o.first_seq = 5;  // e.g. a clock set back: the store's own numbers win
  Store store;
  REQUIRE_FALSE(store.open(o));
  BatchResult r;
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("c")}}, &r));
  CHECK(r.first_seq == 1'700'000'000'000'002);
}

TEST_CASE("outbox: peek after a seq starts behind it, in order") {
  ScratchDir dir;
  Store store;
  REQUIRE_FALSE(store.open(options_for(dir.path())));
  REQUIRE_FALSE(store.apply(Batch{.outbox = {item("a"), item("b"), item("c"), item("d")}}));
  std::vector<OutboxItem> items;
  REQUIRE_FALSE(store.outbox_peek(2, items, {}, 1));
  REQUIRE(items.size() == 2);
  CHECK(items[0].seq == 2);
  CHECK(items[1].seq == 3);
  const std::uint64_t gone[] = {3};
  REQUIRE_FALSE(store.outbox_ack(gone));
  REQUIRE_FALSE(store.outbox_peek(10, items, {}, 2));  // 3 is gone: 4 follows 2
  REQUIRE(items.size() == 1);
  CHECK(items[0].seq == 4);
  REQUIRE_FALSE(store.outbox_peek(10, items, {}, 4));
  CHECK(items.empty());
}
