// cloud/upstream: how batches are framed for the collector and ClickHouse, and how answers are
// judged.
#include "cloud/upstream.h"

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

namespace {

using namespace edgeid::cloud;
namespace json = boost::json;

const char* kRecord =
    R"({"mac":"3c:22:fb:00:00:01","randomized":false,"vendor":"Apple, Inc.","vlans":[101],)"
    R"("ipv4":["10.0.0.2"],"hostname":"host-1","hostname_source":"dhcp",)"
    R"("dhcp":{"vendor_class":"MSFT 5.0","param_list":"1,3,6"},)"
    R"("first_seen":"2026-11-23T19:00:00Z","last_seen":"2026-11-23T19:05:00Z","packets":12,)"
    R"("bytes":3400,"sources":["arp","dhcp"],"identity":{"intune_id":"aaaa","device_name":"PC1",)"
    R"("compliance_state":"noncompliant","last_sync":"2026-11-20T10:00:00Z"},)"
    R"("match":{"by":"wifi_mac","confidence":1.0,"conflicts":["bbbb"]},"state":"managed",)"
    R"("sensor_id":"fw1","version":17})";

HttpResponse answer(unsigned status, std::string retry_after = "") {
  HttpResponse r;
  r.status = status;
  r.reason = "R";
  if (!retry_after.empty()) r.headers.push_back({"Retry-After", std::move(retry_after)});
  return r;
}

}  // namespace

TEST_CASE("upstream: answers are delivered, retried or refused by status") {
  CHECK(classify({}, answer(200), 0).what == Delivery::delivered);
  CHECK(classify({}, answer(204), 0).what == Delivery::delivered);
  for (unsigned s : {408U, 429U, 500U, 502U, 503U, 504U, 401U, 403U, 404U, 407U, 301U}) {
    CHECK_MESSAGE(classify({}, answer(s), 0).what == Delivery::retry, s);
  }
  for (unsigned s : {400U, 409U, 413U, 415U, 422U}) {
    CHECK_MESSAGE(classify({}, answer(s), 0).what == Delivery::refused, s);
  }
  const auto transport = classify(std::make_error_code(std::errc::connection_reset), {}, 0);
  CHECK(transport.what == Delivery::retry);
  CHECK_FALSE(transport.detail.empty());

  const auto throttled = classify({}, answer(429, "7"), 0);
  REQUIRE(throttled.retry_after);
  CHECK(*throttled.retry_after == std::chrono::seconds(7));
  // An HTTP-date, relative to now.
  const auto dated = classify({}, answer(503, "Sun, 06 Nov 1994 08:49:47 GMT"), 784111777.0);
  REQUIRE(dated.retry_after);
  CHECK(*dated.retry_after == std::chrono::seconds(10));
  CHECK_FALSE(classify({}, answer(503, "soon"), 0).retry_after);

  auto body = answer(400);
  body.body = "Code: 27, Cannot parse input\nat row 1";
  const auto refused = classify({}, body, 0);
  CHECK(refused.detail == "400 R: Code: 27, Cannot parse input at row 1");
}

TEST_CASE("upstream: the collector gets one NDJSON POST with an idempotency key and the token") {
  CollectorOptions o;
  o.url = *Url::parse("https://collector.example/v1/ingest");
  o.sensor_id = "fw\"1";
  o.token = edgeid::platform::Secret("tok-123");
  const auto sink = make_collector_sink(std::move(o));
  CHECK(sink->name() == "collector");
  const std::vector<UpstreamItem> items{
      {41, UpstreamKind::record, kRecord},
      {42, UpstreamKind::event, R"({"type":"device.new","mac":"3c:22:fb:00:00:01"})"}};
  std::vector<std::uint64_t> skipped;
  const auto requests = sink->requests(items, skipped);
  CHECK(skipped.empty());
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.url.host == "collector.example");
  CHECK(r.url.target == "/v1/ingest");
  auto header = [&](std::string_view name) {
    for (const auto& h : r.headers) {
      if (h.name == name) return h.value;
    }
    return std::string();
  };
  CHECK(header("Content-Type") == "application/x-ndjson");
  CHECK(header("Idempotency-Key") == "fw\"1:41-42");
  CHECK(header("Authorization") == "Bearer tok-123");
  // Two lines, each a JSON object that frames the stored JSON unchanged.
  const auto newline = r.body.find('\n');
  REQUIRE(newline != std::string::npos);
  CHECK(r.body.back() == '\n');
  const auto first = json::parse(r.body.substr(0, newline)).as_object();
  CHECK(first.at("kind") == "device");
  CHECK(first.at("sensor_id") == "fw\"1");
  CHECK(first.at("seq") == 41);
  CHECK(first.at("record") == json::parse(kRecord));
  const auto second = json::parse(r.body.substr(newline + 1)).as_object();
  CHECK(second.at("kind") == "event");
  CHECK(second.at("event").at("type") == "device.new");

  CollectorOptions no_token;
  no_token.url = *Url::parse("https://collector.example/");
  const auto mtls = make_collector_sink(std::move(no_token));
  const auto plain = mtls->requests(items, skipped);
  for (const auto& h : plain.at(0).headers) {
    CHECK(h.name != "Authorization");
  }
}

TEST_CASE("upstream: ClickHouse gets flat rows, records and events in their own INSERT") {
  ClickHouseOptions o;
  o.url = *Url::parse("http://127.0.0.1:8123/ignored");
  o.sensor_id = "fw1";
  o.database = "inv";
  o.user = "edgeid";
  o.password = edgeid::platform::Secret("pw");
  const auto sink = make_clickhouse_sink(std::move(o));
  const std::vector<UpstreamItem> items{
      {7, UpstreamKind::record, kRecord},
      {8, UpstreamKind::event, R"({"type":"device.new","time":"2026-11-23T19:00:00Z"})"},
      {9, UpstreamKind::record, "not json"},
      {10, UpstreamKind::record,
       R"({"intune_id":"cccc","removed":true,"reason":"deleted","version":4})"}};
  std::vector<std::uint64_t> skipped;
  const auto requests = sink->requests(items, skipped);
  CHECK(skipped == std::vector<std::uint64_t>{9});
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].url.target ==
        "/?query=INSERT%20INTO%20inv.devices%20FORMAT%20JSONEachRow"
        "&input_format_skip_unknown_fields=1");
  CHECK(requests[1].url.target.find("inv.events") != std::string::npos);
  bool basic = false;
  for (const auto& h : requests[0].headers) {
    basic = basic || (h.name == "Authorization" && h.value == "Basic ZWRnZWlkOnB3");
  }
  CHECK(basic);

  const auto& body = requests[0].body;
  const auto newline = body.find('\n');
  const auto row = json::parse(body.substr(0, newline)).as_object();
  CHECK(row.at("sensor_id") == "fw1");
  CHECK(row.at("seq") == 7);
  CHECK(row.at("version") == 17);
  CHECK(row.at("mac") == "3c:22:fb:00:00:01");
  CHECK(row.at("identity_key") == "");
  CHECK(row.at("deleted") == 0);
  CHECK(row.at("first_seen") == 1795460400);
  CHECK(row.at("vlans") == json::array{101});
  CHECK(row.at("dhcp_vendor_class") == "MSFT 5.0");
  CHECK(row.at("dhcp_client_id") == "");  // absent facts are empty, never null
  CHECK(row.at("compliance_state") == "noncompliant");
  CHECK(row.at("match_by") == "wifi_mac");
  CHECK(row.at("match_confidence").as_double() == doctest::Approx(1.0));
  CHECK(row.at("conflicts") == json::array{"bbbb"});
  // A removed identity_only record: keyed by its Intune id, marked deleted.
  const auto removed = json::parse(body.substr(newline + 1)).as_object();
  CHECK(removed.at("mac") == "");
  CHECK(removed.at("identity_key") == "cccc");
  CHECK(removed.at("deleted") == 1);
  CHECK(removed.at("state") == "removed");
  CHECK(removed.at("removed_reason") == "deleted");
  CHECK(removed.at("version") == 4);

  const auto event = json::parse(requests[1].body).as_object();
  CHECK(event.at("type") == "device.new");
  CHECK(event.at("time") == 1795460400);
  CHECK(event.at("seq") == 8);
}

TEST_CASE("upstream: the ClickHouse DDL names the configured tables and keys") {
  ClickHouseOptions o;
  o.database = "fleet";
  o.table = "dev";
  o.events_table = "ev";
  const auto ddl = clickhouse_ddl(o);
  CHECK(ddl.starts_with("CREATE DATABASE IF NOT EXISTS fleet;\n"));
  CHECK(ddl.find("CREATE TABLE IF NOT EXISTS fleet.dev (") != std::string::npos);
  CHECK(ddl.find("ENGINE = ReplacingMergeTree(seq)\nORDER BY (sensor_id, mac, identity_key);") !=
        std::string::npos);
  CHECK(ddl.find("CREATE TABLE IF NOT EXISTS fleet.ev (") != std::string::npos);
  // Every column a row carries is in the table (rows name no column the DDL lacks).
  const auto row =
      json::parse(*clickhouse_row({1, UpstreamKind::record, kRecord}, "s")).as_object();
  const auto devices_ddl = ddl.substr(0, ddl.find("fleet.ev"));
  for (const auto& column : row) {
    const std::string key(column.key());
    CHECK_MESSAGE(devices_ddl.find(" " + key + " ") != std::string::npos, key);
  }
  const auto ev =
      json::parse(*clickhouse_row({2, UpstreamKind::event, R"({"type":"x"})"}, "s")).as_object();
  const auto events_ddl = ddl.substr(ddl.find("fleet.ev"));
  for (const auto& column : ev) {
    const std::string key(column.key());
    CHECK_MESSAGE(events_ddl.find(" " + key + " ") != std::string::npos, key);
  }
}
