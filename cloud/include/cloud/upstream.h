#pragma once
/// @file
/// Upstream sinks: how a batch of outbox items becomes HTTP requests, and how the answer is
/// judged (docs/UPSTREAM.md is the wire contract).
///
/// Two sinks: the collector (one HTTPS POST of NDJSON per batch, bearer token or client
/// certificate, an Idempotency-Key of sensor id and the batch's first and last seq) and
/// ClickHouse (`INSERT … FORMAT JSONEachRow` over HTTP(S) into a ReplacingMergeTree(version)
/// table of records and a table of events). A sink only builds requests and classifies answers;
/// sending, backoff and the outbox are the agent's (the same HttpClient carries both sinks).
///
/// Items arrive as the JSON texts the agent stored (a §10 record, a removal, or an event);
/// the sink never changes what a record says, only how it is framed.
/// Thread safety: a sink is immutable after construction. Errors: requests() never throws
/// except std::bad_alloc; an item whose JSON does not parse is framed as is by the collector
/// and skipped (reported in `skipped`) by ClickHouse, which needs its fields.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cloud/http_client.h"
#include "cloud/url.h"
#include "platform/log.h"

namespace edgeid::cloud {

enum class UpstreamKind : std::uint8_t { record, event };

struct UpstreamItem {
  std::uint64_t seq = 0;
  UpstreamKind kind = UpstreamKind::record;
  std::string_view json;  ///< a record, a removal ({"removed":true,…}) or an event object
};

/// What an answer means for the batch.
enum class Delivery {
  delivered,  ///< 2xx: acknowledge
  retry,      ///< 429, 5xx, 408, transport errors, and 4xx that are not the batch's fault
              ///< (401, 403, 404, 407): back off and send it again
  refused,    ///< any other 4xx (and 413): the batch itself is refused
};

struct DeliveryResult {
  Delivery what = Delivery::retry;
  std::optional<std::chrono::milliseconds> retry_after;  ///< from a Retry-After header
  std::string detail;  ///< "503 Service Unavailable: …" or the transport error (short)
};

/// The default judgement of one answer (or transport error) by HTTP status; Retry-After is
/// read relative to @p now_unix_seconds.
DeliveryResult classify(std::error_code ec, const HttpResponse& response, double now_unix_seconds);

class UpstreamSink {
 public:
  virtual ~UpstreamSink() = default;
  /// "collector" or "clickhouse".
  virtual std::string_view name() const noexcept = 0;
  /// The requests delivering @p items, to be sent in order; the batch is delivered when every
  /// one of them was. @p skipped receives the items that cannot be framed (malformed JSON).
  virtual std::vector<HttpRequest> requests(std::span<const UpstreamItem> items,
                                            std::vector<std::uint64_t>& skipped) const = 0;
  /// The judgement of one answer; sinks refine classify() where the peer's statuses mislead.
  virtual DeliveryResult judge(std::error_code ec, const HttpResponse& response,
                               double now_unix_seconds) const {
    return classify(ec, response, now_unix_seconds);
  }
};

struct CollectorOptions {
  Url url;
  std::string sensor_id;
  platform::Secret token;  ///< empty: no Authorization header (e.g. mutual TLS instead)
};

struct ClickHouseOptions {
  Url url;  ///< scheme, host and port of the HTTP interface; the path is ignored
  std::string sensor_id;
  std::string database = "edgeid";
  std::string table = "devices";
  std::string events_table = "events";
  std::string user = "default";
  platform::Secret password;
};

std::unique_ptr<UpstreamSink> make_collector_sink(CollectorOptions options);
std::unique_ptr<UpstreamSink> make_clickhouse_sink(ClickHouseOptions options);

/// CREATE DATABASE/TABLE statements for ClickHouse (`edgeid upstream clickhouse-ddl`), one per
/// line-separated statement, each ending with ";".
std::string clickhouse_ddl(const ClickHouseOptions& options);

/// One item as the ClickHouse row it becomes (exposed for tests and the schema documentation);
/// nullopt when @p item.json is not a JSON object.
std::optional<std::string> clickhouse_row(const UpstreamItem& item, std::string_view sensor_id);

}  // namespace edgeid::cloud
