#pragma once
// What the control commands may ask of the running agent. The daemon implements it; the
// control server and its tests depend only on this interface (tests use a fake).
//
// Threading: every call happens on the agent's io_context thread, never concurrently.
// Answers are Boost.JSON values in the shape of DESIGN.md §6/§10 (record objects for devices).

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include <boost/json/value.hpp>

namespace edgeid::agent {

/// Filters and paging of `devices` (all optional; absent = no filter).
struct DeviceQuery {
  std::optional<std::string> state;  ///< managed | unmanaged | identity_only
  std::optional<std::uint16_t> vlan;
  std::optional<std::int64_t> seen_since;  ///< unix seconds
  bool noncompliant = false;
  bool randomized = false;
  std::size_t offset = 0;
  std::size_t limit = 1000;
};

class ControlContext {
 public:
  virtual ~ControlContext() = default;
  /// `status`: version, uptime, per-interface packets and kernel drops, device counts by state,
  /// last/next sync with result, enrichment progress, outbox depth and oldest age, store size.
  virtual boost::json::object status() = 0;
  /// `devices`: {"devices": [record...], "total": N, "offset": O}.
  virtual boost::json::object devices(const DeviceQuery& query) = 0;
  /// `device`: look up by MAC, IP, host name, UPN or serial; nullopt when nothing matches.
  virtual std::optional<boost::json::object> device(const std::string& key) = 0;
  /// `sync`: start an identity sync now; returns what was started (or why not).
  virtual std::error_code sync_now(std::string& detail) = 0;
  /// `flush`: write pending changes to the store now.
  virtual std::error_code flush_now(std::string& detail) = 0;
  /// `upstream-retry`: move the dead letters back to the outbox and send now.
  virtual std::error_code upstream_retry(std::string& detail) = 0;
  /// `metrics`: Prometheus text exposition format (version 0.0.4).
  virtual std::string metrics() = 0;
  /// `config-get`: the running configuration with secrets redacted.
  virtual boost::json::object config_redacted() = 0;
};

}  // namespace edgeid::agent
