#pragma once
// Test harness: an io_context, the real HttpClient/TlsContext against the FakeGraph, a manual
// clock and a scheduler that records every wait, advances the clock by it and runs at once.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "cloud/graph_client.h"
#include "cloud/oauth.h"
#include "fakes/fake_graph.h"
#include "platform/log.h"
#include "platform/time.h"

namespace edgeid::test {

class RecordingScheduler final : public cloud::Scheduler {
 public:
  RecordingScheduler(boost::asio::io_context& io, platform::ManualClock& clock)
      : inner_(io, 0.0), clock_(clock) {}
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    waits.push_back(delay);
    clock_.advance(delay);
    inner_.after(std::chrono::milliseconds(0), std::move(fn));
  }
  std::vector<std::chrono::milliseconds> waits;

 private:
  cloud::AsioScheduler inner_;
  platform::ManualClock& clock_;
};

struct GraphHarness {
  explicit GraphHarness(fakes::FakeGraph& fake, cloud::GraphOptions options = {},
                        bool use_certificate = false,
                        cloud::AssertionAlgorithm alg = cloud::AssertionAlgorithm::ps256_x5t_s256)
      : log(sink, "cloud", platform::LogLevel::debug) {
    std::error_code ec;
    cloud::TlsOptions tls_options;
    tls_options.ca_pem = fake.ca_pem();
    tls = cloud::TlsContext::create(tls_options, ec);
    http = std::make_unique<cloud::HttpClient>(io, tls, cloud::HttpClientOptions{});
    cloud::OAuthOptions oauth;
    oauth.authority_url = fake.url();
    oauth.graph_url = fake.url();
    oauth.tenant = fake.tenant;
    oauth.client_id = fake.client_id;
    if (use_certificate) {
      auto cred = fakes::make_rsa_credential();
      fake.certificate_pem = cred.cert_pem;
      oauth.certificate =
          cloud::ClientCertificate{cred.cert_pem, platform::Secret(cred.key_pem), alg};
    } else {
      oauth.client_secret = platform::Secret(fake.client_secret);
    }
    tokens =
        std::make_unique<cloud::TokenProvider>(*http, clock, log.child("oauth"), std::move(oauth));
    options.graph_url = fake.url();
    options.retry.jitter = 0;
    options.jitter_seed = 42;
    scheduler = std::make_unique<RecordingScheduler>(io, clock);
    graph = std::make_unique<cloud::GraphClient>(*http, *tokens, *scheduler, clock, state,
                                                 log.child("graph"), options);
  }
  ~GraphHarness() {
    // Teardown must not throw: a handler still queued (or closing the client) may throw, and
    // an exception escaping here would terminate the test binary, possibly during unwinding
    // from a failed REQUIRE. The test's own checks have run by now, so it is ignored.
    try {
      graph.reset();
      http->close();
      io.run();
    } catch (...) {
    }
  }

  template <class Start>
  cloud::SyncOutcome run(Start start) {
    std::optional<cloud::SyncOutcome> out;
    start([&](cloud::SyncOutcome o) { out = std::move(o); });
    io.restart();
    while (!out && io.run_one() > 0) {
    }
    REQUIRE(out);
    return std::move(*out);
  }
  cloud::SyncOutcome sync_all() {
    return run([&](auto d) { graph->async_sync_all(d); });
  }
  cloud::SyncOutcome sync_intune() {
    return run([&](auto d) { graph->async_sync_intune(d); });
  }
  cloud::SyncOutcome sync_entra() {
    return run([&](auto d) { graph->async_sync_entra(d); });
  }

  boost::asio::io_context io;
  platform::ManualClock clock{platform::SystemClock().now()};  // the fake checks JWT times
  platform::MemorySink sink;
  platform::Logger log;
  std::shared_ptr<const cloud::TlsContext> tls;
  std::unique_ptr<cloud::HttpClient> http;
  std::unique_ptr<cloud::TokenProvider> tokens;
  std::unique_ptr<RecordingScheduler> scheduler;
  cloud::MemorySyncStateStore state;
  std::unique_ptr<cloud::GraphClient> graph;
};

}  // namespace edgeid::test
