#pragma once
// The Graph side of the agent built from the configuration: TLS context, HTTP client, token
// provider, scheduler and Graph client, wired once, in the order their lifetimes need. Used by
// the daemon, `run --once` and `identities --config`.
//
// Errors: the constructor throws ConfigError (secret or certificate files, CA file, proxy URL).
// Lifetime: io, clock, state and the logger's sink must outlive the stack; call close() (or let
// the HttpClient's destructor do it) before the io_context stops running, so pending requests
// complete. Thread safety: the io_context's thread only.

#include <memory>
#include <optional>

#include "agent/config.h"
#include "cloud/graph_client.h"
#include "cloud/http_client.h"
#include "cloud/oauth.h"
#include "cloud/tls_context.h"
#include "platform/log.h"
#include "platform/time.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace edgeid::agent {

class GraphStack {
 public:
  GraphStack(boost::asio::io_context& io, const GraphConfig& config, const platform::Clock& clock,
             cloud::SyncStateStore& state, const platform::Logger& log);
  ~GraphStack() = default;
  GraphStack(const GraphStack&) = delete;
  GraphStack& operator=(const GraphStack&) = delete;

  cloud::GraphClient& graph() noexcept { return graph_; }
  /// Closes the idle connections; in-flight requests complete with an error.
  void close();

 private:
  std::shared_ptr<const cloud::TlsContext> tls_;
  cloud::HttpClient http_;
  cloud::TokenProvider tokens_;
  cloud::AsioScheduler scheduler_;
  cloud::GraphClient graph_;
};

/// One complete Intune + Entra sync on a private io_context (for the one-shot commands).
/// Throws ConfigError for configuration problems; a failed sync returns the outcome with ec set.
cloud::SyncOutcome sync_once(const GraphConfig& config, const platform::Logger& log,
                             std::vector<cloud::Identity>& identities);

}  // namespace edgeid::agent
