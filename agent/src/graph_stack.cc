#include "graph_stack.h"

#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "cloud/url.h"

namespace edgeid::agent {

namespace {

std::shared_ptr<const cloud::TlsContext> make_tls(const GraphConfig& g) {
  cloud::TlsOptions options;
  if (!g.ca_file.empty()) options.ca_file = g.ca_file;
  std::error_code ec;
  auto tls = cloud::TlsContext::create(options, ec);
  if (!tls) throw ConfigError("identity.graph.ca_file: " + ec.message());
  return tls;
}

cloud::HttpClientOptions http_options(const GraphConfig& g) {
  cloud::HttpClientOptions options;
  if (!g.proxy.empty()) {
    const auto url = cloud::Url::parse(g.proxy);
    if (!url) throw ConfigError("identity.graph.proxy: expected a URL such as http://proxy:3128");
    cloud::ProxyOptions proxy;
    proxy.url = *url;
    options.proxy = std::move(proxy);
  }
  return options;
}

// Credentials are read here, at start-up or reload, and live in memory only.
cloud::OAuthOptions oauth_options(const GraphConfig& g) {
  cloud::OAuthOptions o;
  o.authority_url = g.authority_url;
  o.graph_url = g.graph_url;
  o.tenant = g.tenant_id;
  o.client_id = g.client_id;
  std::string detail;
  if (!g.client_secret_file.empty()) {
    if (cloud::read_secret_file(g.client_secret_file, o.client_secret, detail)) {
      throw ConfigError("identity.graph.client_secret_file: " + detail);
    }
    return o;
  }
  cloud::ClientCertificate cert;
  std::ifstream in(g.certificate_file);
  if (!in) throw ConfigError("identity.graph.certificate_file: cannot read " + g.certificate_file);
  std::ostringstream pem;
  pem << in.rdbuf();
  cert.certificate_pem = pem.str();
  if (cloud::read_secret_file(g.certificate_key_file, cert.key_pem, detail)) {
    throw ConfigError("identity.graph.certificate_key_file: " + detail);
  }
  o.certificate = std::move(cert);
  return o;
}

cloud::GraphOptions graph_options(const GraphConfig& g) {
  cloud::GraphOptions o;
  o.graph_url = g.graph_url;
  return o;
}

}  // namespace

GraphStack::GraphStack(boost::asio::io_context& io, const GraphConfig& config,
                       const platform::Clock& clock, cloud::SyncStateStore& state,
                       const platform::Logger& log)
    : tls_(make_tls(config)),
      http_(io, tls_, http_options(config)),
      tokens_(http_, clock, log.child("oauth"), oauth_options(config)),
      scheduler_(io),
      graph_(http_, tokens_, scheduler_, clock, state, log.child("graph"), graph_options(config)) {}

void GraphStack::close() {
  http_.close();
}

cloud::SyncOutcome sync_once(const GraphConfig& config, const platform::Logger& log,
                             std::vector<cloud::Identity>& identities) {
  boost::asio::io_context io;
  platform::SystemClock clock;
  cloud::MemorySyncStateStore state;
  std::optional<cloud::SyncOutcome> outcome;
  {
    GraphStack stack(io, config, clock, state, log);
    stack.graph().async_sync_all([&](cloud::SyncOutcome o) { outcome = std::move(o); });
    while (!outcome && io.run_one() > 0) {
    }
    if (outcome && !outcome->ec) identities = stack.graph().identities();
    stack.close();
    io.run();
  }
  if (!outcome) {
    cloud::SyncOutcome failed;
    failed.ec = std::make_error_code(std::errc::operation_canceled);
    failed.detail = "identity sync did not finish";
    return failed;
  }
  return std::move(*outcome);
}

}  // namespace edgeid::agent
