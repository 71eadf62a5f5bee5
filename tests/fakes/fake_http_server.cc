#include "fakes/fake_http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

namespace edgeid::fakes {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int listen_loopback(int backlog, std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("fake server: socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0) {
    ::close(fd);
    throw std::runtime_error("fake server: bind/listen failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Parses "METHOD target HTTP/1.1\r\nName: value\r\n...\r\n\r\n" (the header block only).
bool parse_head(std::string_view head, FakeRequest& out) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    const auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const std::string_view field = head.substr(pos, end - pos);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.headers.emplace_back(std::string(field.substr(0, colon)), std::string(value));
    pos = end + 2;
  }
  return true;
}

// BIO callbacks on a blocking socket. Not mbedtls_net_send: it uses write(2), and a client that
// has gone away would kill the test process with SIGPIPE.
int bio_send(void* ctx, const unsigned char* data, std::size_t size) {
  const int fd = *static_cast<int*>(ctx);
  for (;;) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno != EINTR) return MBEDTLS_ERR_NET_SEND_FAILED;
  }
}

int bio_recv(void* ctx, unsigned char* data, std::size_t size) {
  const int fd = *static_cast<int*>(ctx);
  for (;;) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n >= 0) return static_cast<int>(n);
    if (errno == ECONNRESET) return MBEDTLS_ERR_NET_CONN_RESET;
    if (errno != EINTR) return MBEDTLS_ERR_NET_RECV_FAILED;
  }
}

}  // namespace

std::optional<std::string> FakeRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Server-side mbedTLS state (test code: the server does not ask for client certificates).

struct FakeHttpServer::Tls {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;

  explicit Tls(const FakeServerOptions& o) {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&conf);
    auto check = [](int ret, const char* what) {
      if (ret != 0) throw std::runtime_error(std::string("fake server TLS: ") + what);
    };
    check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0), "seed");
    check(mbedtls_x509_crt_parse(&cert, reinterpret_cast<const unsigned char*>(o.cert_pem.c_str()),
                                 o.cert_pem.size() + 1),
          "certificate");
    check(mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(o.key_pem.c_str()),
                               o.key_pem.size() + 1, nullptr, 0),
          "key");
    check(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT),
          "config");
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    check(mbedtls_ssl_conf_own_cert(&conf, &cert, &key), "own cert");
    mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, o.max_tls_minor);
    if (o.max_tls_minor < MBEDTLS_SSL_MINOR_VERSION_3) {
      mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_1);
    }
  }
  ~Tls() {
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

FakeHttpServer::FakeHttpServer(FakeServerOptions options) : options_(std::move(options)) {
  if (!options_.handler) {
    options_.handler = [](const FakeRequest&) {
      FakeResponse r;
      r.body = "hello";
      return r;
    };
  }
  if (options_.tls) tls_ = std::make_unique<Tls>(options_);
  listen_fd_ = listen_loopback(16, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() on Linux
  acceptor_.join();
  for (std::thread& t : workers_) t.join();
  ::close(listen_fd_);
}

std::string FakeHttpServer::url(std::string_view path) const {
  return std::string(options_.tls ? "https" : "http") + "://localhost:" + std::to_string(port_) +
         std::string(path);
}

void FakeHttpServer::set_connection_fault(ConnectionFault fault) {
  std::lock_guard lock(mutex_);
  connection_fault_ = fault;
}

void FakeHttpServer::set_handler(std::function<FakeResponse(const FakeRequest&)> handler) {
  std::lock_guard lock(mutex_);
  options_.handler = std::move(handler);
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpServer::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    // As real HTTPS front ends do: without it, Nagle holds the end of each response until the
    // client's delayed ACK (40 ms a page; seconds over a 200-page sync).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    const int index = ++connections_;
    workers_.emplace_back([this, fd, index] { serve(fd, index); });
  }
}

void FakeHttpServer::stall() {
  std::unique_lock lock(mutex_);
  stop_cv_.wait(lock, [this] { return stopping_; });
}

void FakeHttpServer::serve(int fd, int index) {
  ConnectionFault fault = ConnectionFault::none;
  {
    std::lock_guard lock(mutex_);
    fault = connection_fault_;
  }
  mbedtls_ssl_context ssl;
  mbedtls_ssl_init(&ssl);
  int bio_fd = fd;
  bool tls_up = false;

  auto finish = [&](bool close_notify) {
    if (tls_up && close_notify) mbedtls_ssl_close_notify(&ssl);
    mbedtls_ssl_free(&ssl);
    std::lock_guard lock(mutex_);
    // Half-close first: a FIN, not an RST, is what a server that "just closes" sends.
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  };

  switch (fault) {
    case ConnectionFault::close_after_accept: return finish(false);
    case ConnectionFault::stall_handshake: stall(); return finish(false);
    case ConnectionFault::close_mid_handshake: {
      char hello[4096];
      (void)::recv(fd, hello, sizeof hello, 0);
      return finish(false);
    }
    default: break;
  }

  auto read_some = [&](char* buf, std::size_t n) -> long {
    if (!options_.tls) {
      for (;;) {
        const ssize_t r = ::recv(fd, buf, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
      }
    }
    const int r = mbedtls_ssl_read(&ssl, reinterpret_cast<unsigned char*>(buf), n);
    if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
    return r;
  };
  auto write_all = [&](std::string_view data) -> bool {
    if (!options_.tls) return send_all(fd, data);
    while (!data.empty()) {
      const int r =
          mbedtls_ssl_write(&ssl, reinterpret_cast<const unsigned char*>(data.data()), data.size());
      if (r <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(r));
    }
    return true;
  };

  if (options_.tls) {
    if (mbedtls_ssl_setup(&ssl, &tls_->conf) != 0) return finish(false);
    mbedtls_ssl_set_bio(&ssl, &bio_fd, bio_send, bio_recv, nullptr);
    if (mbedtls_ssl_handshake(&ssl) != 0) return finish(false);
    tls_up = true;
    ++handshakes_;
  }
  if (fault == ConnectionFault::close_after_handshake) return finish(false);
  if (fault == ConnectionFault::stall_after_handshake) {
    stall();
    return finish(false);
  }

  std::string pending;
  char buf[16384];
  for (;;) {
    // ---- one request ----
    std::size_t head_end = 0;
    while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
      const long n = read_some(buf, sizeof buf);
      if (n <= 0) return finish(n == 0);
      pending.append(buf, static_cast<std::size_t>(n));
    }
    FakeRequest request;
    request.connection = index;
    if (!parse_head(std::string_view(pending).substr(0, head_end + 2), request)) {
      return finish(true);
    }
    pending.erase(0, head_end + 4);
    const std::size_t length =
        request.header("Content-Length") ? std::stoul(*request.header("Content-Length")) : 0;
    while (pending.size() < length) {
      const long n = read_some(buf, sizeof buf);
      if (n <= 0) return finish(n == 0);
      pending.append(buf, static_cast<std::size_t>(n));
    }
    request.body = pending.substr(0, length);
    pending.erase(0, length);

    std::function<FakeResponse(const FakeRequest&)> handler;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      handler = options_.handler;
    }
    const FakeResponse response = handler(request);

    // ---- its response ----
    if (response.fault == ResponseFault::stall_before_response) {
      stall();
      return finish(false);
    }
    const bool closing = response.close || response.until_close;
    std::string head = "HTTP/1.1 ";
    head.append(std::to_string(response.status)).append(" ").append(response.reason);
    head += "\r\n";
    for (const auto& [name, value] : response.headers) {
      head.append(name).append(": ").append(value).append("\r\n");
    }
    if (!response.until_close) {
      head.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
    }
    if (closing) head += "Connection: close\r\n";
    head += "\r\n";
    const std::string_view half =
        std::string_view(response.body).substr(0, response.body.size() / 2);
    switch (response.fault) {
      case ResponseFault::close_after_headers: write_all(head); return finish(false);
      case ResponseFault::close_mid_body: write_all(head + std::string(half)); return finish(false);
      case ResponseFault::close_notify_mid_body:
        write_all(head + std::string(half));
        return finish(true);
      case ResponseFault::stall_mid_body:
        write_all(head + std::string(half));
        stall();
        return finish(false);
      default: break;
    }
    if (!write_all(head + response.body)) return finish(false);
    if (closing || response.drop_after) return finish(true);
  }
}

// ---------------------------------------------------------------------------------------------

FakeConnectProxy::FakeConnectProxy(std::string required_authorization)
    : required_authorization_(std::move(required_authorization)) {
  listen_fd_ = listen_loopback(16, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeConnectProxy::~FakeConnectProxy() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  for (std::thread& t : workers_) t.join();
  ::close(listen_fd_);
}

std::string FakeConnectProxy::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<FakeRequest> FakeConnectProxy::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeConnectProxy::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeConnectProxy::serve(int fd) {
  int upstream = -1;
  auto finish = [&] {
    std::lock_guard lock(mutex_);
    for (int f : {fd, upstream}) {
      if (f < 0) continue;
      ::close(f);
      open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), f));
    }
  };
  // Byte by byte: nothing after the blank line may be consumed, it belongs to the tunnel.
  std::string head;
  char c = 0;
  while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) return finish();
    head += c;
  }
  FakeRequest request;
  if (!parse_head(head, request)) return finish();
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  if (request.method != "CONNECT") {
    send_all(fd, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    return finish();
  }
  if (!required_authorization_.empty() &&
      request.header("Proxy-Authorization").value_or("") != required_authorization_) {
    send_all(fd,
             "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
             "realm=\"test\"\r\nContent-Length: 0\r\n\r\n");
    return finish();
  }
  const auto colon = request.target.rfind(':');
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (colon == std::string::npos ||
      ::getaddrinfo(request.target.substr(0, colon).c_str(),
                    request.target.substr(colon + 1).c_str(), &hints, &found) != 0) {
    send_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    return finish();
  }
  {
    std::lock_guard lock(mutex_);
    upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    open_fds_.push_back(upstream);
  }
  const bool connected = ::connect(upstream, found->ai_addr, found->ai_addrlen) == 0;
  ::freeaddrinfo(found);
  if (!connected) {
    send_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    return finish();
  }
  if (!send_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n")) return finish();
  // Relay until either side closes.
  char buf[16384];
  pollfd fds[2] = {{fd, POLLIN, 0}, {upstream, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0 || !send_all(fds[1 - i].fd, std::string_view(buf, static_cast<std::size_t>(n)))) {
        done = true;
      }
    }
    if (done) break;
  }
  finish();
}

// ---------------------------------------------------------------------------------------------

FullBacklogListener::FullBacklogListener() {
  listen_fd_ = listen_loopback(0, port_);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  // Backlog 0 still queues one connection; the next SYNs are dropped. Non-blocking fillers so
  // that those left hanging do not block the constructor.
  for (int i = 0; i < 3; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers_.push_back(fd);
  }
}

FullBacklogListener::~FullBacklogListener() {
  for (int fd : fillers_) ::close(fd);
  ::close(listen_fd_);
}

}  // namespace edgeid::fakes
