// The store adapter of cloud's sync state: reads see pending writes at once, nothing reaches the
// store until the caller commits take_pending()'s entries, and a reopened store gives them back.
#include "sync_state.h"

#include <doctest/doctest.h>

#include "agent/inventory.h"
#include "platform/temp_dir.h"

namespace {

using edgeid::agent::StoreSyncState;
using edgeid::platform::Guid;
using edgeid::platform::MacAddress;
using edgeid::platform::Timestamp;

Guid guid(std::uint8_t n) {
  Guid::Bytes b{};
  b[0] = 0x42;
  b[15] = n;
  return Guid(b);
}

}  // namespace

TEST_CASE("sync state: pending writes are visible, durable only once committed, and reload") {
  edgeid::test::TempDir dir;
  edgeid::platform::MemorySink sink;
  edgeid::platform::Logger log(sink, "test");
  const StoreSyncState::MacCacheEntry entry{Timestamp::from_unix_seconds(1'700'000'000),
                                            MacAddress::from_string("00:11:22:33:44:55")};
  const StoreSyncState::MacCacheEntry none{Timestamp::from_unix_seconds(1'700'000'100),
                                           std::nullopt};
  {
    edgeid::store::Store store;
    REQUIRE_FALSE(store.open(edgeid::agent::store_options(dir.path(), false)));
    StoreSyncState state(store, log);
    CHECK(state.entra_delta_link().empty());
    CHECK_FALSE(state.last_full_sync("intune"));
    CHECK_FALSE(state.ethernet_mac(guid(1)));

    state.set_entra_delta_link("https://graph.example/v1.0/devices/delta?$deltatoken=abc");
    state.set_last_full_sync("intune", Timestamp::from_unix_seconds(1'700'000'500));
    state.put_ethernet_mac(guid(1), entry);
    state.put_ethernet_mac(guid(2), none);
    CHECK(state.pending() == 4);
    CHECK(state.entra_delta_link() == "https://graph.example/v1.0/devices/delta?$deltatoken=abc");
    CHECK(state.ethernet_mac(guid(1))->ethernet == entry.ethernet);

    // Not in the store yet: a second adapter over the same store sees nothing.
    StoreSyncState other(store, log);
    CHECK(other.entra_delta_link().empty());

    edgeid::store::Batch batch;
    state.take_pending(batch);
    CHECK(state.pending() == 0);
    CHECK(batch.meta.size() == 2);
    CHECK(batch.cache.size() == 2);
    REQUIRE_FALSE(store.apply(batch));
    CHECK(other.entra_delta_link() == "https://graph.example/v1.0/devices/delta?$deltatoken=abc");
  }
  edgeid::store::Store store;
  REQUIRE_FALSE(store.open(edgeid::agent::store_options(dir.path(), false)));
  StoreSyncState state(store, log);
  CHECK(state.entra_delta_link() == "https://graph.example/v1.0/devices/delta?$deltatoken=abc");
  CHECK(state.last_full_sync("intune")->unix_seconds() == 1'700'000'500);
  const auto mac = state.ethernet_mac(guid(1));
  REQUIRE(mac);
  CHECK(mac->last_sync == entry.last_sync);
  CHECK(mac->ethernet == entry.ethernet);
  const auto without = state.ethernet_mac(guid(2));
  REQUIRE(without);
  CHECK_FALSE(without->ethernet);

  // An empty deltaLink deletes the key (a delta token that expired).
  state.set_entra_delta_link("");
  edgeid::store::Batch batch;
  state.take_pending(batch);
  REQUIRE_FALSE(store.apply(batch));
  std::error_code ec;
  CHECK_FALSE(store.meta(edgeid::agent::kMetaEntraDeltaLink, ec));
}

TEST_CASE("sync state: the Ethernet-MAC cache codec round-trips and rejects junk") {
  for (const auto& e :
       {StoreSyncState::MacCacheEntry{},
        StoreSyncState::MacCacheEntry{Timestamp::from_unix_seconds(5),
                                      MacAddress::from_string("02:00:00:00:00:01")}}) {
    const auto back = StoreSyncState::decode(StoreSyncState::encode(e));
    REQUIRE(back);
    CHECK(back->last_sync == e.last_sync);
    CHECK(back->ethernet == e.ethernet);
  }
  for (const char* junk : {"", "-", "12x 00:11:22:33:44:55", "5 not-a-mac", "5  -"}) {
    CHECK_FALSE(StoreSyncState::decode(junk));
  }
}
