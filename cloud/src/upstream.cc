#include "cloud/upstream.h"

#include <algorithm>
#include <array>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

#include "cloud/graph_error.h"
#include "encoding.h"
#include "platform/time.h"

namespace edgeid::cloud {

namespace json = boost::json;

namespace {

std::string short_text(std::string_view body) {
  std::string out(body.substr(0, std::min<std::size_t>(body.size(), 200)));
  for (auto& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

// Minimal percent-encoding for a query-string value.
std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class CollectorSink final : public UpstreamSink {
 public:
  explicit CollectorSink(CollectorOptions o) : o_(std::move(o)) {}
  std::string_view name() const noexcept override { return "collector"; }

  std::vector<HttpRequest> requests(std::span<const UpstreamItem> items,
                                    std::vector<std::uint64_t>& skipped) const override {
    skipped.clear();
    HttpRequest r;
    r.method = "POST";
    r.url = o_.url;
    std::size_t size = 0;
    for (const auto& i : items) size += i.json.size() + 64 + o_.sensor_id.size();
    r.body.reserve(size);
    json::string sensor(o_.sensor_id);
    const std::string sensor_json = json::serialize(sensor);
    for (const auto& i : items) {
      // The stored JSON is framed as is: it was produced by the agent and is an object.
      r.body += i.kind == UpstreamKind::event ? "{\"kind\":\"event\",\"sensor_id\":"
                                              : "{\"kind\":\"device\",\"sensor_id\":";
      r.body += sensor_json;
      r.body += ",\"seq\":";
      r.body += std::to_string(i.seq);
      r.body += i.kind == UpstreamKind::event ? ",\"event\":" : ",\"record\":";
      r.body += i.json;
      r.body += "}\n";
    }
    r.headers.push_back({"Content-Type", "application/x-ndjson"});
    if (!items.empty()) {
      r.headers.push_back({"Idempotency-Key", o_.sensor_id + ":" +
                                                  std::to_string(items.front().seq) + "-" +
                                                  std::to_string(items.back().seq)});
    }
    if (!o_.token.empty()) r.headers.push_back({"Authorization", "Bearer " + o_.token.reveal()});
    return {std::move(r)};
  }

 private:
  CollectorOptions o_;
};

// ---- ClickHouse rows ----

std::int64_t unix_time(const json::value* v) {
  if (v == nullptr || !v->is_string()) return 0;
  const auto& s = v->get_string();
  const auto t = platform::Timestamp::parse_rfc3339(std::string_view(s.data(), s.size()));
  return t ? t->unix_seconds() : 0;
}

const json::value* member(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

void copy_string(json::object& row, const json::object& from, std::string_view key,
                 std::string_view as = {}) {
  const auto* v = member(from, key);
  row[as.empty() ? key : as] = (v != nullptr && v->is_string()) ? v->get_string() : "";
}

void copy_array(json::object& row, const json::object& from, std::string_view key) {
  const auto* v = member(from, key);
  row[key] = (v != nullptr && v->is_array()) ? v->get_array() : json::array();
}

std::uint64_t number(const json::object& from, std::string_view key) {
  const auto* v = member(from, key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return static_cast<std::uint64_t>(std::max<std::int64_t>(v->get_int64(), 0));
  return 0;
}

constexpr std::array kIdentityFields = {
    "intune_id", "entra_device_id", "entra_object_id", "device_name",         "os",
    "os_group",  "os_version",      "enrollment_type", "user_principal_name", "email",
    "model",     "manufacturer",    "serial_number",   "compliance_state",    "management_agent",
    "ownership", "trust_type",      "wifi_mac",        "ethernet_mac"};

json::object record_row(const json::object& rec, std::uint64_t seq, std::string_view sensor_id,
                        const json::storage_ptr& sp) {
  json::object row(64, sp);
  row["sensor_id"] = sensor_id;
  row["seq"] = seq;
  row["version"] = number(rec, "version");
  const bool removed = member(rec, "removed") != nullptr && member(rec, "removed")->is_bool() &&
                       member(rec, "removed")->get_bool();
  row["deleted"] = removed ? 1 : 0;
  const auto* state = member(rec, "state");
  const bool identity_only =
      (state != nullptr && state->is_string() && state->get_string() == "identity_only") ||
      (removed && member(rec, "mac") == nullptr);
  const json::object empty;
  const auto* identity_value = member(rec, "identity");
  const json::object& identity = identity_value != nullptr && identity_value->is_object()
                                     ? identity_value->get_object()
                                     : empty;
  // The row key: a MAC seen on the wire, or (identity_only) the Intune id with an empty MAC.
  if (identity_only) {
    row["mac"] = "";
    const auto* id = member(rec, "intune_id");
    if (id == nullptr) id = member(identity, "intune_id");
    row["identity_key"] = (id != nullptr && id->is_string()) ? id->get_string() : "";
  } else {
    copy_string(row, rec, "mac");
    row["identity_key"] = "";
  }
  copy_string(row, rec, "state");
  if (removed) row["state"] = "removed";
  const auto* randomized = member(rec, "randomized");
  row["randomized"] = randomized != nullptr && randomized->is_bool() && randomized->get_bool();
  copy_string(row, rec, "vendor");
  copy_array(row, rec, "vlans");
  copy_array(row, rec, "ipv4");
  copy_array(row, rec, "ipv6");
  copy_string(row, rec, "hostname");
  copy_string(row, rec, "hostname_source");
  const auto* dhcp_value = member(rec, "dhcp");
  const json::object& dhcp =
      dhcp_value != nullptr && dhcp_value->is_object() ? dhcp_value->get_object() : empty;
  copy_string(row, dhcp, "vendor_class", "dhcp_vendor_class");
  copy_string(row, dhcp, "param_list", "dhcp_param_list");
  copy_string(row, dhcp, "client_id", "dhcp_client_id");
  row["first_seen"] = unix_time(member(rec, "first_seen"));
  row["last_seen"] = unix_time(member(rec, "last_seen"));
  row["packets"] = number(rec, "packets");
  row["bytes"] = number(rec, "bytes");
  copy_array(row, rec, "sources");
  for (const char* f : kIdentityFields) copy_string(row, identity, f);
  row["last_sync"] = unix_time(member(identity, "last_sync"));
  const auto* match_value = member(rec, "match");
  const json::object& match =
      match_value != nullptr && match_value->is_object() ? match_value->get_object() : empty;
  copy_string(row, match, "by", "match_by");
  const auto* confidence = member(match, "confidence");
  row["match_confidence"] =
      confidence != nullptr && confidence->is_number() ? confidence->to_number<double>() : 0.0;
  copy_array(row, match, "conflicts");
  if (removed) copy_string(row, rec, "reason", "removed_reason");
  return row;
}

json::object event_row(const json::object& ev, std::uint64_t seq, std::string_view sensor_id,
                       const json::storage_ptr& sp) {
  json::object row(24, sp);
  row["sensor_id"] = sensor_id;
  row["seq"] = seq;
  row["time"] = unix_time(member(ev, "time"));
  for (const char* f :
       {"type", "mac", "state", "vendor", "hostname", "ipv4", "intune_id", "device_name",
        "user_principal_name", "compliance_state", "match_by", "previous_intune_id"}) {
    copy_string(row, ev, f);
  }
  const auto* randomized = member(ev, "randomized");
  row["randomized"] = randomized != nullptr && randomized->is_bool() && randomized->get_bool();
  row["record_version"] = number(ev, "record_version");
  return row;
}

// Appends @p item as one JSONEachRow line to @p out; false when its JSON is not an object.
// A batch converts thousands of items: the parsed record and the row live in a stack buffer
// (monotonic resource), so converting an item costs no heap allocation in the common case.
bool append_row(std::string& out, const UpstreamItem& item, std::string_view sensor_id) {
  alignas(std::max_align_t) unsigned char buffer[16 * 1024];
  json::monotonic_resource mr(buffer, sizeof buffer);
  const json::storage_ptr sp(&mr);
  json::error_code ec;
  const json::value v = json::parse(item.json, ec, sp);
  if (ec || !v.is_object()) return false;
  const auto row = item.kind == UpstreamKind::event
                       ? event_row(v.get_object(), item.seq, sensor_id, sp)
                       : record_row(v.get_object(), item.seq, sensor_id, sp);
  json::serializer sr;
  sr.reset(&row);
  char chunk[4096];
  while (!sr.done()) out.append(sr.read(chunk, sizeof chunk));
  out += '\n';
  return true;
}

class ClickHouseSink final : public UpstreamSink {
 public:
  explicit ClickHouseSink(ClickHouseOptions o) : o_(std::move(o)) {}
  std::string_view name() const noexcept override { return "clickhouse"; }

  std::vector<HttpRequest> requests(std::span<const UpstreamItem> items,
                                    std::vector<std::uint64_t>& skipped) const override {
    skipped.clear();
    std::string records;
    std::string events;
    for (const auto& i : items) {
      auto& body = i.kind == UpstreamKind::event ? events : records;
      if (!append_row(body, i, o_.sensor_id)) skipped.push_back(i.seq);
    }
    std::vector<HttpRequest> out;
    if (!records.empty()) out.push_back(insert(o_.table, std::move(records)));
    if (!events.empty()) out.push_back(insert(o_.events_table, std::move(events)));
    return out;
  }

 private:
  HttpRequest insert(const std::string& table, std::string body) const {
    HttpRequest r;
    r.method = "POST";
    r.url = o_.url;
    // Unknown fields are skipped so that a newer agent can feed an older table.
    r.url.target = "/?query=" +
                   url_encode("INSERT INTO " + o_.database + "." + table + " FORMAT JSONEachRow") +
                   "&input_format_skip_unknown_fields=1";
    r.headers.push_back({"Content-Type", "application/x-ndjson"});
    r.headers.push_back(
        {"Authorization", detail::basic_credentials(o_.user, o_.password.reveal())});
    r.body = std::move(body);
    return r;
  }

  ClickHouseOptions o_;
};

}  // namespace

DeliveryResult classify(std::error_code ec, const HttpResponse& response, double now_unix_seconds) {
  DeliveryResult r;
  if (ec) {
    r.what = Delivery::retry;
    r.detail = ec.message();
    return r;
  }
  const unsigned s = response.status;
  r.detail = std::to_string(s) + " " + response.reason;
  if (!response.body.empty()) r.detail += ": " + short_text(response.body);
  if (s >= 200 && s < 300) {
    r.what = Delivery::delivered;
    return r;
  }
  if (auto value = response.header("Retry-After")) {
    r.retry_after = parse_retry_after(*value, now_unix_seconds);
  }
  // Not the batch's fault: credentials, a wrong URL, a proxy, a timeout, throttling.
  if (s == 401 || s == 403 || s == 404 || s == 407 || s == 408 || s == 429 || s >= 500 || s < 200 ||
      (s >= 300 && s < 400)) {
    r.what = Delivery::retry;
    return r;
  }
  r.what = Delivery::refused;
  return r;
}

std::unique_ptr<UpstreamSink> make_collector_sink(CollectorOptions options) {
  return std::make_unique<CollectorSink>(std::move(options));
}

std::unique_ptr<UpstreamSink> make_clickhouse_sink(ClickHouseOptions options) {
  return std::make_unique<ClickHouseSink>(std::move(options));
}

std::optional<std::string> clickhouse_row(const UpstreamItem& item, std::string_view sensor_id) {
  std::string out;
  if (!append_row(out, item, sensor_id)) return std::nullopt;
  out.pop_back();  // the newline
  return out;
}

std::string clickhouse_ddl(const ClickHouseOptions& o) {
  const std::string db = o.database;
  std::string out = "CREATE DATABASE IF NOT EXISTS " + db + ";\n";
  out += "CREATE TABLE IF NOT EXISTS " + db + "." + o.table +
         " (\n"
         "  sensor_id String, mac String, identity_key String,\n"
         "  seq UInt64, version UInt64, deleted UInt8, removed_reason String, state String,\n"
         "  randomized UInt8, vendor String, vlans Array(UInt16),\n"
         "  ipv4 Array(String), ipv6 Array(String), hostname String, hostname_source String,\n"
         "  dhcp_vendor_class String, dhcp_param_list String, dhcp_client_id String,\n"
         "  first_seen DateTime('UTC'), last_seen DateTime('UTC'), packets UInt64, bytes UInt64,\n"
         "  sources Array(String),\n"
         "  intune_id String, entra_device_id String, entra_object_id String, device_name String,\n"
         "  os String, os_group String, os_version String, enrollment_type String,\n"
         "  user_principal_name String, email String, model String, manufacturer String,\n"
         "  serial_number String, compliance_state String, management_agent String,\n"
         "  ownership String, trust_type String, last_sync DateTime('UTC'),\n"
         "  wifi_mac String, ethernet_mac String,\n"
         "  match_by String, match_confidence Float32, conflicts Array(String)\n"
         ") ENGINE = ReplacingMergeTree(seq)\n"
         "ORDER BY (sensor_id, mac, identity_key);\n";
  out += "CREATE TABLE IF NOT EXISTS " + db + "." + o.events_table +
         " (\n"
         "  sensor_id String, seq UInt64, time DateTime('UTC'), type String, mac String,\n"
         "  randomized UInt8, state String, vendor String, hostname String, ipv4 String,\n"
         "  intune_id String, device_name String, user_principal_name String,\n"
         "  compliance_state String, match_by String, previous_intune_id String,\n"
         "  record_version UInt64\n"
         ") ENGINE = ReplacingMergeTree(seq)\n"
         "PARTITION BY toYYYYMM(time)\n"
         "ORDER BY (sensor_id, seq);\n";
  return out;
}

}  // namespace edgeid::cloud
