// GraphClient against the fake Graph + token service over loopback TLS: paging, delta,
// enrichment, join, and each scripted fault.

#include <set>

#include <doctest/doctest.h>

#include "cloud/graph_error.h"
#include "graph_harness.h"

using namespace edgeid;
using namespace edgeid::cloud;
using edgeid::fakes::FakeGraph;
using edgeid::fakes::Fault;
using edgeid::platform::Guid;
using std::chrono::milliseconds;

TEST_CASE("full sync: paged Intune, $batch Ethernet MACs, Entra delta, join; cache on resync") {
  FakeGraph fake;
  fake.intune_page_size = 1000;
  fake.entra_page_size = 400;
  fake.generate(2500, 1500);
  test::GraphHarness h(fake);
  auto out = h.sync_all();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(out.report.intune_devices == 2500);
  CHECK(out.report.intune_pages == 3);
  CHECK(out.report.expected_count == 2500u);
  CHECK_FALSE(out.report.intune_incomplete);
  CHECK(out.report.ethernet_lookups == 2500);
  CHECK(out.report.ethernet_found == 2500);
  CHECK(fake.batch_requests() == 125);  // 20 per $batch
  CHECK(out.report.entra_devices == 1500);
  CHECK(out.report.entra_full_round);
  CHECK(fake.token_requests() == 1);
  auto ids = h.graph->identities();
  REQUIRE(ids.size() == 2500);  // every Entra device joins an Intune one
  const Identity& first = ids[0];
  CHECK(first.intune_id == Guid::from_string(FakeGraph::intune_id(0)));
  CHECK(first.entra_object_id == Guid::from_string(FakeGraph::entra_id(0)));
  CHECK(first.text(IdentityText::trust_type) == "AzureAd");
  CHECK(first.ethernet_mac == platform::MacAddress::from_u64(0x0a1b2c000000));
  CHECK(first.wifi_mac == platform::MacAddress::from_u64(0x3c22fb000000));
  CHECK(h.state.entra_delta_link().find("$deltatoken=") != std::string::npos);

  // Second run: MACs come from the cache (lastSyncDateTime unchanged), Entra from the deltaLink.
  fake.update_entra(FakeGraph::entra_id(5),
                    "{\"id\":\"" + FakeGraph::entra_id(5) + "\",\"displayName\":\"RENAMED\"}");
  fake.remove_entra(FakeGraph::entra_id(6));
  auto again = h.sync_all();
  REQUIRE_MESSAGE(!again.ec, again.detail);
  CHECK(again.report.ethernet_lookups == 0);
  CHECK(again.report.ethernet_cached == 2500);
  CHECK_FALSE(again.report.entra_full_round);
  CHECK(again.report.entra_changes == 1);
  CHECK(again.report.entra_removed == 1);
  CHECK(again.report.entra_devices == 1499);
  auto entra = h.graph->entra_devices();
  bool renamed = false;
  for (const auto& e : entra) {
    CHECK(e.entra_object_id != Guid::from_string(FakeGraph::entra_id(6)));
    if (e.entra_object_id == Guid::from_string(FakeGraph::entra_id(5))) {
      renamed = e.text(IdentityText::device_name) == "RENAMED" &&
                e.text(IdentityText::trust_type) == "AzureAd";  // overlay keeps the rest
    }
  }
  CHECK(renamed);
}

TEST_CASE("429 with fractional Retry-After is honoured; 503 falls back to backoff") {
  FakeGraph fake;
  fake.generate(10, 0);
  fake.add_fault({Fault::throttle_429, "/v1.0/deviceManagement", 2, "0.25"});
  fake.add_fault({Fault::unavailable_503, "/v1.0/deviceManagement", 1});
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(out.report.retries == 3);
  CHECK(h.scheduler->waits ==
        std::vector<milliseconds>{milliseconds(250), milliseconds(250), milliseconds(4000)});
  CHECK(out.report.intune_devices == 10);
}

TEST_CASE("Retry-After is capped and the retry budget ends in an error") {
  FakeGraph fake;
  fake.generate(1, 0);
  fake.add_fault({Fault::throttle_429, "/v1.0/", 100, "100000"});
  GraphOptions o;
  o.retry.max_attempts = 3;
  o.retry.max_retry_after = milliseconds(5000);
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::retries_exhausted);
  CHECK(out.detail.find("TooManyRequests") != std::string::npos);
  CHECK(h.scheduler->waits == std::vector<milliseconds>{milliseconds(5000), milliseconds(5000)});
}

TEST_CASE("a truncated body and an invalid JSON page are retried") {
  FakeGraph fake;
  fake.generate(30, 0);
  fake.intune_page_size = 10;
  fake.add_fault({Fault::truncated_body, "/v1.0/deviceManagement", 1});
  fake.add_fault({Fault::invalid_json, "/v1.0/deviceManagement", 1});
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(out.report.intune_devices == 30);
  CHECK(out.report.retries == 2);
}

TEST_CASE("persistent invalid JSON is an error") {
  FakeGraph fake;
  fake.generate(3, 0);
  fake.add_fault({Fault::invalid_json, "/v1.0/deviceManagement", 100});
  GraphOptions o;
  o.retry.max_attempts = 2;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::invalid_json);
  CHECK(h.graph->intune_devices().empty());
}

TEST_CASE("a page without nextLink before the end: reported against @odata.count") {
  FakeGraph fake;
  fake.generate(25, 0);
  fake.intune_page_size = 10;
  fake.add_fault({Fault::drop_next_link, "/v1.0/deviceManagement", 1});
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE(!out.ec);
  CHECK(out.report.intune_devices == 10);
  CHECK(out.report.expected_count == 25u);
  CHECK(out.report.intune_incomplete);
  CHECK(h.sink.joined().find("graph.intune_incomplete") != std::string::npos);
}

TEST_CASE("ids repeated across pages are dropped and listed") {
  FakeGraph fake;
  fake.generate(25, 0);
  fake.intune_page_size = 10;
  fake.add_fault({Fault::duplicate_ids, "/v1.0/deviceManagement", 2});
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE(!out.ec);
  CHECK(out.report.duplicates == 2);
  CHECK(out.report.duplicate_ids.size() == 2);
  CHECK(out.report.intune_devices == 25);
  std::set<Guid> unique;
  for (const auto& d : h.graph->intune_devices()) unique.insert(d.intune_id);
  CHECK(unique.size() == 25);
}

TEST_CASE("401 on an expired token: one refresh and retry; secrets never logged") {
  FakeGraph fake;
  fake.generate(5, 5);
  test::GraphHarness h(fake);
  auto out = h.sync_all();
  REQUIRE(!out.ec);
  fake.add_fault({Fault::unauthorized_401, "/v1.0/deviceManagement", 1});
  out = h.sync_all();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(fake.token_requests() == 2);
  const std::string log = h.sink.joined();
  CHECK(log.find("graph.token_refresh_after_401") != std::string::npos);
  CHECK(log.find(fake.client_secret) == std::string::npos);
  for (const auto& t : fake.issued_tokens()) CHECK(log.find(t) == std::string::npos);
  CHECK(out.detail.find(fake.client_secret) == std::string::npos);
}

TEST_CASE("401 again after the refresh: unauthorized, with Graph's error code in the detail") {
  FakeGraph fake;
  fake.generate(2, 0);
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  // The first request and its retry with a fresh token are both refused.
  fake.add_fault({Fault::unauthorized_401, "/v1.0/deviceManagement", 2});
  const auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::unauthorized);
  CHECK(fake.token_requests() == 2);
  // The detail is built from the response before the response is handed on.
  CHECK_MESSAGE(out.detail.find("InvalidAuthenticationToken") != std::string::npos, out.detail);
  CHECK(out.detail.find("HTTP 401") != std::string::npos);
}

TEST_CASE("token refresh before expires_in runs out") {
  FakeGraph fake;
  fake.generate(2, 0);
  fake.token_lifetime_s = 3600;
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  REQUIRE(!h.sync_intune().ec);
  h.clock.advance(std::chrono::minutes(50));  // within the 5-minute margin? no: 10 min left
  REQUIRE(!h.sync_intune().ec);
  CHECK(fake.token_requests() == 1);
  h.clock.advance(std::chrono::minutes(6));  // 4 minutes left < 5-minute margin
  REQUIRE(!h.sync_intune().ec);
  CHECK(fake.token_requests() == 2);
}

TEST_CASE("wrong client secret: AADSTS code surfaced, secret not shown") {
  FakeGraph fake;
  fake.generate(1, 0);
  const std::string real = fake.client_secret;
  test::GraphHarness h(fake);  // configured with `real`
  fake.client_secret = "the-server-expects-another";
  auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::token_error);
  CHECK(out.detail.find("AADSTS7000215") != std::string::npos);
  CHECK(out.detail.find(real) == std::string::npos);
  CHECK(h.sink.joined().find(real) == std::string::npos);
  CHECK(fake.token_requests() == 1);  // a refusal is not retried
  CHECK(h.scheduler->waits.empty());
}

TEST_CASE("a token endpoint that fails with 503 or throttles is retried with the Graph request") {
  FakeGraph fake;
  fake.generate(3, 0);
  const std::string token_path = "/" + fake.tenant + "/oauth2";
  fake.add_fault({Fault::unavailable_503, token_path, 2});
  fake.add_fault({Fault::throttle_429, token_path, 1, "0.5"});
  GraphOptions o;
  o.enrich_ethernet = false;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(out.report.intune_devices == 3);
  CHECK(fake.token_requests() == 4);
  // The fake throttles first: its Retry-After, then backoff after each 503 (attempts 2 and 3).
  CHECK(h.scheduler->waits ==
        std::vector<milliseconds>{milliseconds(500), milliseconds(2000), milliseconds(4000)});
  CHECK(h.sink.joined().find(fake.client_secret) == std::string::npos);
}

TEST_CASE("a token endpoint that stays down ends in retries_exhausted, saying why") {
  FakeGraph fake;
  fake.generate(1, 0);
  fake.add_fault({Fault::unavailable_503, "/" + fake.tenant + "/oauth2", 100});
  GraphOptions o;
  o.retry.max_attempts = 3;
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::retries_exhausted);
  CHECK(out.detail.find("token endpoint HTTP 503") != std::string::npos);
  CHECK(fake.token_requests() == 3);
  CHECK(fake.graph_requests() == 0);
  CHECK(h.sink.joined().find(fake.client_secret) == std::string::npos);
}

TEST_CASE("delta 410 Gone and syncStateNotFound restart a full round") {
  for (Fault f : {Fault::delta_gone_410, Fault::sync_state_not_found}) {
    FakeGraph fake;
    fake.generate(0, 30);
    fake.entra_page_size = 7;
    test::GraphHarness h(fake);
    REQUIRE(!h.sync_entra().ec);
    fake.add_fault({f, "/v1.0/devices/delta", 1});
    fake.remove_entra(FakeGraph::entra_id(0));
    auto out = h.sync_entra();
    REQUIRE_MESSAGE(!out.ec, out.detail);
    CHECK(out.report.entra_resynced);
    CHECK(out.report.entra_full_round);
    CHECK(out.report.entra_devices == 29);
  }
}

TEST_CASE("a nextLink to another host is refused; the token goes nowhere else") {
  FakeGraph fake;
  fake.generate(25, 0);
  fake.intune_page_size = 10;
  fake.add_fault({Fault::foreign_next_link, "/v1.0/deviceManagement", 1});
  test::GraphHarness h(fake);
  auto out = h.sync_intune();
  CHECK(out.ec == graph_errc::foreign_link);
  CHECK(out.detail.find("graph.evil.example") != std::string::npos);
  CHECK(fake.graph_requests() == 1);
  CHECK(h.graph->intune_devices().empty());
}

TEST_CASE("429 inside a $batch honours the item's Retry-After") {
  FakeGraph fake;
  fake.generate(3, 0);
  fake.add_fault({Fault::batch_item_429, "/v1.0/$batch", 1, "1.5"});
  test::GraphHarness h(fake);
  auto out = h.sync_intune();
  REQUIRE_MESSAGE(!out.ec, out.detail);
  CHECK(h.scheduler->waits == std::vector<milliseconds>{milliseconds(1500)});
  CHECK(out.report.ethernet_found == 3);
  CHECK(fake.batch_requests() == 2);
  CHECK(out.report.ethernet_lookups == 4);
}

TEST_CASE("request budget: token bucket waits on the injected clock") {
  FakeGraph fake;
  fake.generate(60, 0);
  fake.intune_page_size = 10;
  GraphOptions o;
  o.enrich_ethernet = false;
  o.budget_requests = 4;
  o.budget_window = milliseconds(2000);  // 2 requests per second
  test::GraphHarness h(fake, o);
  auto out = h.sync_intune();
  REQUIRE(!out.ec);
  CHECK(out.report.intune_pages == 6);
  // 4 requests from the full bucket, then one token every 500 ms for the other 2.
  CHECK(h.scheduler->waits == std::vector<milliseconds>{milliseconds(500), milliseconds(500)});
}

TEST_CASE("certificate credentials: RS256 and PS256 assertions accepted by the token service") {
  for (auto alg : {AssertionAlgorithm::rs256_x5t, AssertionAlgorithm::ps256_x5t_s256}) {
    FakeGraph fake;
    fake.generate(2, 0);
    test::GraphHarness h(fake, {}, true, alg);
    auto out = h.sync_intune();
    REQUIRE_MESSAGE(!out.ec, out.detail);
    CHECK(out.report.intune_devices == 2);
  }
}
