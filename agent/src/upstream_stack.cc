#include "upstream_stack.h"

#include "cloud/oauth.h"

namespace edgeid::agent {

namespace {

cloud::Url parse_url(const UpstreamConfig& c) {
  auto url = cloud::Url::parse(c.url);
  if (!url) throw ConfigError("upstream.url: expected an absolute http(s) URL");
  return *url;
}

platform::Secret read_secret(const std::string& path, const char* key) {
  platform::Secret out;
  if (path.empty()) return out;
  std::string detail;
  if (cloud::read_secret_file(path, out, detail)) {
    throw ConfigError(std::string("upstream.") + key + ": " + detail);
  }
  return out;
}

}  // namespace

cloud::CollectorOptions collector_options(const UpstreamConfig& c, const std::string& sensor_id) {
  cloud::CollectorOptions o;
  o.url = parse_url(c);
  o.sensor_id = sensor_id;
  o.token = read_secret(c.token_file, "token_file");
  return o;
}

cloud::ClickHouseOptions clickhouse_options(const UpstreamConfig& c, const std::string& sensor_id) {
  cloud::ClickHouseOptions o;
  o.url = parse_url(c);
  o.sensor_id = sensor_id;
  o.database = c.database;
  o.table = c.table;
  o.events_table = c.events_table;
  o.user = c.user;
  o.password = read_secret(c.password_file, "password_file");
  return o;
}

UpstreamStack::UpstreamStack(boost::asio::io_context& io, const UpstreamConfig& c,
                             const std::string& sensor_id, store::Store& store,
                             const platform::Clock& clock, const platform::Logger& log) {
  std::unique_ptr<cloud::UpstreamSink> sink;
  if (c.sink == "collector") {
    sink = cloud::make_collector_sink(collector_options(c, sensor_id));
  } else if (c.sink == "clickhouse") {
    sink = cloud::make_clickhouse_sink(clickhouse_options(c, sensor_id));
  } else {
    throw ConfigError("upstream.sink: expected collector or clickhouse");
  }
  if (parse_url(c).is_https() || !c.certificate_file.empty()) {
    cloud::TlsOptions t;
    if (!c.ca_file.empty()) t.ca_file = c.ca_file;
    t.client_certificate_file = c.certificate_file;
    t.client_key_file = c.certificate_key_file;
    std::error_code ec;
    tls_ = cloud::TlsContext::create(t, ec);
    if (!tls_) throw ConfigError("upstream: TLS set-up: " + ec.message());
  }
  cloud::HttpClientOptions ho;
  const auto timeout = std::chrono::seconds(c.timeout_s);
  ho.timeouts.write = timeout;
  ho.timeouts.read = timeout;
  ho.timeouts.connect = std::min<std::chrono::milliseconds>(ho.timeouts.connect, timeout);
  ho.timeouts.handshake = std::min<std::chrono::milliseconds>(ho.timeouts.handshake, timeout);
  ho.limits.body_bytes = 1 << 20;  // answers are short; a huge one is not a collector's
  http_ = std::make_unique<cloud::HttpClient>(io, tls_, std::move(ho));
  UploaderOptions uo;
  uo.max_records = static_cast<std::size_t>(c.max_batch_records);
  uo.max_bytes = static_cast<std::size_t>(c.max_batch_bytes);
  uo.backoff_max = std::chrono::seconds(c.backoff_max_s);
  uploader_ =
      std::make_unique<Uploader>(io, store, *http_, std::move(sink), std::move(uo), clock, log);
}

void UpstreamStack::close() {
  if (uploader_) uploader_->stop();
  if (http_) http_->close();
}

}  // namespace edgeid::agent
