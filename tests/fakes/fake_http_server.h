#pragma once
/// @file
/// A scripted HTTP/1.1 server on 127.0.0.1 for cloud/ tests, over real TLS (mbedTLS server side,
/// certificate from fakes::TestCa) or plain TCP. Deliberately independent of cloud/'s own TLS
/// and HTTP code (blocking sockets, one thread per connection), so a test never checks the
/// client against itself. It will grow into the fake Graph and token services.
///
/// Faults are scripted per connection (ConnectionFault: what happens before any HTTP) and per
/// response (ResponseFault: how the answer is cut short); counters let tests assert connection
/// reuse.
/// Thread safety: all public members may be called from the test thread while the server
/// threads run. The destructor stops and joins every thread (stalled connections included).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace edgeid::fakes {

struct FakeRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int connection = 0;  ///< 1-based index of the connection it arrived on

  std::optional<std::string> header(std::string_view name) const;  ///< case-insensitive
};

/// What goes wrong on a connection before any HTTP is exchanged.
enum class ConnectionFault {
  none,
  close_after_accept,     ///< accept, then close at once
  close_mid_handshake,    ///< read the ClientHello, then close without answering
  stall_handshake,        ///< accept and never answer
  close_after_handshake,  ///< complete TLS, then close without close_notify
  stall_after_handshake,  ///< complete TLS, then never read (the client's writes back up)
};

/// How one response is cut short.
enum class ResponseFault {
  none,
  stall_before_response,  ///< read the request, never answer
  close_after_headers,    ///< send the header (Content-Length N), then FIN without close_notify
  close_mid_body,         ///< send half the body, then FIN without close_notify
  close_notify_mid_body,  ///< send half the body, then a clean close_notify
  stall_mid_body,         ///< send half the body, then stall
};

struct FakeResponse {
  int status = 200;
  std::string reason = "OK";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  ///< send "Connection: close" and close (with close_notify) afterwards
  /// Omit Content-Length: the body is delimited by the close (close is forced).
  bool until_close = false;
  /// Close (with close_notify) right after this response while advertising keep-alive: the
  /// client finds out only when it reuses the connection.
  bool drop_after = false;
  ResponseFault fault = ResponseFault::none;
};

struct FakeServerOptions {
  bool tls = true;
  std::string cert_pem;  ///< leaf (optionally followed by intermediates)
  std::string key_pem;
  int max_tls_minor = 3;  ///< 3 = TLS 1.2; 2 = at most TLS 1.1 (an outdated server)
  std::function<FakeResponse(const FakeRequest&)> handler;  ///< default: 200 "hello"
};

class FakeHttpServer {
 public:
  explicit FakeHttpServer(FakeServerOptions options);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// "https://localhost:<port><path>" (or http://): tests verify the name "localhost" while the
  /// server listens on 127.0.0.1 only (2.28 cannot match IP SANs).
  std::string url(std::string_view path = "/") const;

  void set_connection_fault(ConnectionFault fault);
  void set_handler(std::function<FakeResponse(const FakeRequest&)> handler);

  int connections() const noexcept { return connections_.load(); }
  int handshakes() const noexcept { return handshakes_.load(); }
  std::vector<FakeRequest> requests() const;

 private:
  struct Tls;
  void accept_loop();
  void serve(int fd, int index);
  void stall();

  FakeServerOptions options_;
  std::unique_ptr<Tls> tls_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  ConnectionFault connection_fault_ = ConnectionFault::none;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<FakeRequest> requests_;
  std::atomic<int> connections_{0};
  std::atomic<int> handshakes_{0};
};

/// A minimal HTTP CONNECT proxy on 127.0.0.1 that tunnels to the requested host:port (resolved
/// to IPv4). Records every CONNECT; answers 407 when credentials are required and wrong.
class FakeConnectProxy {
 public:
  /// @p required_authorization: the exact Proxy-Authorization value to demand ("" = none).
  explicit FakeConnectProxy(std::string required_authorization = "");
  ~FakeConnectProxy();
  FakeConnectProxy(const FakeConnectProxy&) = delete;
  FakeConnectProxy& operator=(const FakeConnectProxy&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;
  std::vector<FakeRequest> requests() const;  ///< method "CONNECT", target "host:port"

 private:
  void accept_loop();
  void serve(int fd);

  std::string required_authorization_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<FakeRequest> requests_;
};

/// A listening socket whose accept queue is full, so a further connect never completes: the
/// loopback way to make a connect time out.
class FullBacklogListener {
 public:
  FullBacklogListener();
  ~FullBacklogListener();
  FullBacklogListener(const FullBacklogListener&) = delete;
  FullBacklogListener& operator=(const FullBacklogListener&) = delete;
  std::uint16_t port() const noexcept { return port_; }

 private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace edgeid::fakes
