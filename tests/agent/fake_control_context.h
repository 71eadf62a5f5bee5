#pragma once
// A ControlContext with canned answers and call counters, for the control server and CLI tests.
// Called on the io_context thread; the counters are atomic so the test thread may read them.

#include <atomic>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "control_context.h"

namespace edgeid::test {

class FakeControlContext : public agent::ControlContext {
 public:
  boost::json::object status() override {
    ++status_calls;
    return {{"version", "0.1.0"},
            {"uptime_s", 42},
            {"devices", {{"managed", 1}, {"unmanaged", 1}}},
            {"interfaces", boost::json::array{{{"name", "eth1"}, {"packets", 100}, {"drops", 0}}}}};
  }

  boost::json::object devices(const agent::DeviceQuery& query) override {
    last_state = query.state.value_or("");
    last_vlan = query.vlan ? *query.vlan : -1;
    last_seen_since = query.seen_since.value_or(-1);
    last_noncompliant = query.noncompliant;
    last_randomized = query.randomized;
    last_offset = static_cast<long>(query.offset);
    last_limit = static_cast<long>(query.limit);
    boost::json::array all{managed_record(), unmanaged_record()};
    boost::json::array page;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& state = all[i].as_object().at("state").as_string();
      if (query.state && state != *query.state) continue;
      if (i >= query.offset && page.size() < query.limit) page.push_back(all[i]);
    }
    return {{"devices", page}, {"total", 2}, {"offset", query.offset}};
  }

  std::optional<boost::json::object> device(const std::string& key) override {
    if (key == "boom") throw std::runtime_error("lookup exploded");
    if (key == "3c:22:fb:00:00:01" || key == "host-00001") return managed_record();
    return std::nullopt;
  }

  std::error_code sync_now(std::string& detail) override {
    if (fail_actions) {
      detail = "a sync is already running";
      return std::make_error_code(std::errc::operation_in_progress);
    }
    ++syncs;
    detail = "identity sync started";
    return {};
  }

  std::error_code flush_now(std::string& detail) override {
    ++flushes;
    detail = "flushed 3 changes";
    return {};
  }

  std::error_code upstream_retry(std::string& detail) override {
    ++upstream_retries;
    detail = "requeued 2 dead letters; sending now";
    return {};
  }

  std::string metrics() override {
    return "# TYPE edgeid_packets_total counter\nedgeid_packets_total 100\n";
  }

  boost::json::object config_redacted() override {
    return {{"sensor_id", "fw1"}, {"identity", {{"graph", {{"client_secret_file", "***"}}}}}};
  }

  static boost::json::object managed_record() {
    return {{"mac", "3c:22:fb:00:00:01"},
            {"vlans", {101, 102}},
            {"ipv4", {"10.0.0.2"}},
            {"hostname", "host-00001"},
            {"last_seen", "2026-11-23T19:05:00Z"},
            {"identity",
             {{"user_principal_name", "alice@example.com"}, {"compliance_state", "compliant"}}},
            {"state", "managed"}};
  }
  static boost::json::object unmanaged_record() {
    return {{"mac", "02:00:00:00:00:02"},
            {"randomized", true},
            {"hostname", "printer\x1b[31m"},  // terminal escape from the wire: must be defused
            {"state", "unmanaged"}};
  }

  std::atomic<int> status_calls{0};
  std::atomic<int> syncs{0};
  std::atomic<int> flushes{0};
  std::atomic<int> upstream_retries{0};
  std::atomic<bool> fail_actions{false};
  // The last devices() query (written on the io thread; read after the reply arrived).
  std::string last_state;
  long last_vlan = 0;
  std::int64_t last_seen_since = 0;
  bool last_noncompliant = false;
  bool last_randomized = false;
  long last_offset = 0;
  long last_limit = 0;
};

}  // namespace edgeid::test
