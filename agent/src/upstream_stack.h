#pragma once
// The upstream side of the agent built from the configuration: TLS context (CA, optional client
// certificate), HTTP client, sink and uploader, wired in the order their lifetimes need. Used by
// the daemon and `run --once`.
//
// Errors: the constructor throws ConfigError (secret files, CA or client certificate, URL).
// Credentials are read here, before privileges are dropped, and live in memory only.
// Lifetime: io, store, clock and the logger's sink outlive the stack; close() before the
// io_context stops. Thread safety: the io_context's thread only.
#include <memory>
#include <string>

#include "agent/config.h"
#include "cloud/http_client.h"
#include "cloud/tls_context.h"
#include "cloud/upstream.h"
#include "uploader.h"

namespace edgeid::agent {

/// The sink options of @p config (reads the token or password file; throws ConfigError).
cloud::CollectorOptions collector_options(const UpstreamConfig& config,
                                          const std::string& sensor_id);
cloud::ClickHouseOptions clickhouse_options(const UpstreamConfig& config,
                                            const std::string& sensor_id);

class UpstreamStack {
 public:
  UpstreamStack(boost::asio::io_context& io, const UpstreamConfig& config,
                const std::string& sensor_id, store::Store& store, const platform::Clock& clock,
                const platform::Logger& log);
  UpstreamStack(const UpstreamStack&) = delete;
  UpstreamStack& operator=(const UpstreamStack&) = delete;

  Uploader& uploader() noexcept { return *uploader_; }
  void close();

 private:
  std::shared_ptr<const cloud::TlsContext> tls_;
  std::unique_ptr<cloud::HttpClient> http_;
  std::unique_ptr<Uploader> uploader_;
};

}  // namespace edgeid::agent
