#pragma once
/// @file
/// An asynchronous HTTP/1.1 client for Graph, the token endpoint and the upstream sinks.
///
/// What it does: one request → one response, over HTTPS (cloud TLS stream, TLS 1.2+, verified)
/// or plain HTTP (a local ClickHouse); idle keep-alive connections are reused per origin
/// (scheme, host, port); every step has its own timeout; the response header and body sizes are
/// capped; HTTPS can go through an HTTP proxy with CONNECT, TLS then runs end to end with the
/// origin (its name is the one verified). Redirects are NOT followed: a 3xx is returned as is,
/// because a bearer token must never follow a Location to another origin by accident.
///
/// Why asynchronous: the agent runs one Asio io_context thread for cloud, upstream and timers
/// (DESIGN.md §1); a blocking client would stall the control socket and LMDB flushes for up to
/// a read timeout. The completion-handler API keeps Asio out of this header (only a forward
/// declaration of io_context).
///
/// Retry rule: a request that fails on a *reused* connection before any response byte arrived
/// (the server closed an idle keep-alive connection) is sent once more on a new connection. All
/// other failures go to the caller, whose retry policy knows about idempotency.
///
/// Thread safety: all calls, and all callbacks, happen on the io_context's thread (one thread
/// runs the context). Not copyable.
/// Lifetime: the io_context must outlive the client. Destroying the client (or close()) cancels
/// the requests in flight: each callback still runs exactly once, later, on the io_context, with
/// errc::cancelled; the internals it needs stay alive until then.
/// Errors: std::error_code (see cloud/error.h); an HTTP error status is not an error_code, it is
/// a response.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cloud/tls_context.h"
#include "cloud/url.h"
#include "platform/log.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace edgeid::cloud {

/// One deadline per step of a request; a step that exceeds it fails with the matching errc.
struct Timeouts {
  std::chrono::milliseconds resolve{10'000};    ///< DNS resolution
  std::chrono::milliseconds connect{10'000};    ///< TCP connect (to the origin or the proxy)
  std::chrono::milliseconds handshake{10'000};  ///< proxy CONNECT exchange, and TLS handshake
  std::chrono::milliseconds write{30'000};      ///< sending the whole request
  std::chrono::milliseconds read{60'000};       ///< receiving the whole response
};

/// Memory bounds on a response (Beast parser limits).
struct Limits {
  std::size_t header_bytes = std::size_t{16} * 1024;           ///< status line + all header fields
  std::uint64_t body_bytes = std::uint64_t{16} * 1024 * 1024;  ///< decoded body (after de-chunking)
};

/// An HTTP proxy reached in plain text, used with CONNECT for https origins only (plain-http
/// origins are local, e.g. ClickHouse on loopback, and go direct).
struct ProxyOptions {
  Url url;                    ///< http://proxy:port
  std::string username;       ///< empty: no Proxy-Authorization header
  platform::Secret password;  ///< sent as Basic credentials over the plain-text proxy hop
};

struct HttpClientOptions {
  Timeouts timeouts;
  Limits limits;
  std::optional<ProxyOptions> proxy;
  std::string user_agent = "edgeid";
  /// Idle connections kept per origin; 0 disables reuse.
  std::size_t max_idle_per_origin = 2;
  /// "host:port" → IP address to connect to instead of resolving host (like curl --resolve).
  /// The certificate is still verified against host. Tests and split-horizon set-ups use it.
  std::map<std::string, std::string> connect_to;
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";
  Url url;
  /// Sent as given. Host, User-Agent and Content-Length are added unless present.
  std::vector<HttpHeader> headers;
  std::string body;
};

struct HttpResponse {
  unsigned status = 0;
  std::string reason;
  std::vector<HttpHeader> headers;
  std::string body;

  /// The first header field named @p name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

class HttpClient {
 public:
  using Callback = std::function<void(std::error_code, HttpResponse)>;

  /// @p tls may be null when only http:// URLs are used.
  HttpClient(boost::asio::io_context& io, std::shared_ptr<const TlsContext> tls,
             HttpClientOptions options);
  // NOLINTNEXTLINE(bugprone-exception-escape): see http_client.cc
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Starts @p request; @p done runs exactly once on the io_context thread, never inside this
  /// call. On error the response is empty.
  void async_request(HttpRequest request, Callback done);

  /// Cancels every request in flight (their callbacks get errc::cancelled) and closes idle
  /// connections.
  void close();

  /// Idle keep-alive connections currently pooled (all origins).
  std::size_t idle_connections() const noexcept;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace edgeid::cloud
