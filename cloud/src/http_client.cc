// The one translation unit of cloud/ that instantiates Beast's HTTP algorithms (compile cost:
// see cloud/CMakeLists.txt). Structure follows Beast's client examples: one Session per request,
// one on_<step> per step, a timeout armed before each step, every failure through fail().

#include "cloud/http_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <map>
#include <unordered_set>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "cloud/error.h"
#include "encoding.h"
#include "tls_stream.h"

namespace edgeid::cloud {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;
using BoostError = boost::system::error_code;

static_assert(beast::is_sync_stream<TlsStream<beast::tcp_stream>>::value);
static_assert(beast::is_async_stream<TlsStream<beast::tcp_stream>>::value);

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return h.value;
    }
  }
  return std::nullopt;
}

namespace {

BoostError boost_error(errc e) {
  return BoostError(std::error_code(e));
}

enum class Step { resolve, connect, handshake, write, read };

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// One TCP connection, plain or TLS. Owned by a Session while in use, by the pool while idle.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // must persist between reads: may hold the next response's bytes

  beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }

  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }
};

std::error_code timeout_for(Step step) {
  switch (step) {
    case Step::resolve: return errc::resolve_timeout;
    case Step::connect: return errc::connect_timeout;
    case Step::handshake: return errc::handshake_timeout;
    case Step::write: return errc::write_timeout;
    case Step::read: return errc::read_timeout;
  }
  return errc::read_timeout;
}

// Beast's and Asio's codes become cloud::errc where a caller has a decision to make; others
// (OS errors, TLS errors) keep their category.
std::error_code to_cloud_error(const BoostError& ec, Step step) {
  if (ec == beast::error::timeout) return timeout_for(step);
  if (ec == http::error::header_limit) return errc::header_too_large;
  if (ec == http::error::body_limit) return errc::body_too_large;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof) {
    return errc::connection_closed;
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return errc::protocol_error;
  }
  return static_cast<std::error_code>(ec);
}

class Session;

}  // namespace

class HttpClient::Impl : public std::enable_shared_from_this<HttpClient::Impl> {
 public:
  Impl(asio::io_context& io, std::shared_ptr<const TlsContext> tls, HttpClientOptions options)
      : io_(io), tls_(std::move(tls)), options_(std::move(options)) {}

  asio::io_context& io() { return io_; }
  const std::shared_ptr<const TlsContext>& tls() const { return tls_; }
  const HttpClientOptions& options() const { return options_; }

  std::unique_ptr<Connection> acquire(const std::string& origin) {
    auto range = idle_.equal_range(origin);
    if (range.first == range.second) return nullptr;
    auto last = std::prev(range.second);  // the most recently used is the least likely stale
    std::unique_ptr<Connection> c = std::move(last->second);
    idle_.erase(last);
    return c;
  }

  void release(const std::string& origin, std::unique_ptr<Connection> c) {
    if (closed_ || idle_.count(origin) >= options_.max_idle_per_origin) return;
    c->tcp().expires_never();
    idle_.emplace(origin, std::move(c));
  }

  void add(Session* s) { active_.insert(s); }
  void remove(Session* s) { active_.erase(s); }
  /// Cancels sessions in flight and drops idle connections; @p final also stops pooling (the
  /// client is being destroyed while sessions may still complete).
  void close(bool final);
  std::size_t idle_count() const { return idle_.size(); }

 private:
  asio::io_context& io_;
  std::shared_ptr<const TlsContext> tls_;
  HttpClientOptions options_;
  std::multimap<std::string, std::unique_ptr<Connection>> idle_;
  std::unordered_set<Session*> active_;
  bool closed_ = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<HttpClient::Impl> client, HttpRequest request, HttpClient::Callback done)
      : client_(std::move(client)),
        request_(std::move(request)),
        done_(std::move(done)),
        resolver_(client_->io()),
        resolve_timer_(client_->io()) {}

  void start() {
    client_->add(this);
    const Url& url = request_.url;
    if (url.scheme != "https" && url.scheme != "http") return fail_later(errc::unsupported_scheme);
    if (url.is_https() && !client_->tls()) return fail_later(errc::tls_not_configured);
    if (!build_request()) return fail_later(errc::invalid_request);
    origin_ = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
    if (auto c = client_->acquire(origin_)) {
      conn_ = std::move(c);
      reused_ = true;
      return send();
    }
    connect_new();
  }

  void cancel() {
    cancelled_ = true;
    resolver_.cancel();
    resolve_timer_.cancel();
    if (conn_) conn_->tcp().close();
  }

 private:
  bool via_proxy() const { return request_.url.is_https() && client_->options().proxy; }

  bool build_request() {
    const Url& url = request_.url;
    if (request_.method.empty() || has_control_chars(request_.method) ||
        has_control_chars(url.target)) {
      return false;
    }
    req_.method_string(request_.method);
    req_.target(url.target);
    req_.version(11);
    for (const HttpHeader& h : request_.headers) {
      if (h.name.empty() || has_control_chars(h.name) || has_control_chars(h.value)) return false;
      req_.insert(h.name, h.value);
    }
    if (req_.find(http::field::host) == req_.end()) req_.set(http::field::host, url.authority());
    if (req_.find(http::field::user_agent) == req_.end()) {
      req_.set(http::field::user_agent, client_->options().user_agent);
    }
    req_.body() = std::move(request_.body);
    if (!req_.body().empty() || request_.method == "POST" || request_.method == "PUT" ||
        request_.method == "PATCH") {
      req_.content_length(req_.body().size());
    }
    return true;
  }

  // ---- resolve ----
  void connect_new() {
    const HttpClientOptions& o = client_->options();
    const Url& url = request_.url;
    const std::string& host = via_proxy() ? o.proxy->url.host : url.host;
    const std::uint16_t port = via_proxy() ? o.proxy->url.port : url.port;
    conn_ = std::make_unique<Connection>();
    conn_->plain = std::make_unique<beast::tcp_stream>(client_->io());

    if (auto it = o.connect_to.find(host + ":" + std::to_string(port)); it != o.connect_to.end()) {
      BoostError ec;
      const auto address = asio::ip::make_address(it->second, ec);
      if (ec) return fail(ec, Step::resolve);
      conn_->plain->expires_after(o.timeouts.connect);
      return conn_->plain->async_connect(
          Tcp::endpoint(address, port),
          [self = shared_from_this()](const BoostError& e) { self->on_connect(e); });
    }
    resolve_timer_.expires_after(o.timeouts.resolve);
    resolve_timer_.async_wait([self = shared_from_this()](const BoostError& e) {
      if (!e) {
        self->resolve_timed_out_ = true;
        self->resolver_.cancel();
      }
    });
    resolver_.async_resolve(host, std::to_string(port),
                            [self = shared_from_this()](
                                const BoostError& e, const Tcp::resolver::results_type& results) {
                              self->on_resolve(e, results);
                            });
  }

  void on_resolve(const BoostError& ec, const Tcp::resolver::results_type& results) {
    resolve_timer_.cancel();
    if (resolve_timed_out_) return fail(beast::error::timeout, Step::resolve);
    if (ec) return fail(ec, Step::resolve);
    conn_->plain->expires_after(client_->options().timeouts.connect);
    conn_->plain->async_connect(
        results, [self = shared_from_this()](const BoostError& e, const Tcp::endpoint&) {
          self->on_connect(e);
        });
  }

  // ---- connect (and proxy CONNECT) ----
  void on_connect(const BoostError& ec) {
    if (ec) return fail(ec, Step::connect);
    // A request may go out as more than one write; with Nagle's algorithm a later write can
    // wait for the peer's delayed ACK (up to 40 ms on Linux). Requests are whole messages, so
    // nothing is gained by coalescing. A failure to set it only costs that latency.
    BoostError nodelay_ec;
    conn_->plain->socket().set_option(Tcp::no_delay(true), nodelay_ec);
    if (via_proxy()) return proxy_connect();
    start_tls();
  }

  void proxy_connect() {
    const ProxyOptions& proxy = *client_->options().proxy;
    const std::string authority = request_.url.host + ":" + std::to_string(request_.url.port);
    proxy_req_.method(http::verb::connect);
    proxy_req_.target(authority);
    proxy_req_.version(11);
    proxy_req_.set(http::field::host, authority);
    if (!proxy.username.empty()) {
      proxy_req_.set(http::field::proxy_authorization,
                     detail::basic_credentials(proxy.username, proxy.password.reveal()));
    }
    conn_->plain->expires_after(client_->options().timeouts.handshake);
    http::async_write(
        *conn_->plain, proxy_req_,
        [self = shared_from_this()](const BoostError& e, std::size_t) { self->on_proxy_write(e); });
  }

  void on_proxy_write(const BoostError& ec) {
    if (ec) return fail(ec, Step::handshake);
    proxy_parser_.emplace();
    proxy_parser_->skip(true);  // a 2xx to CONNECT has no body: the tunnel starts right after
    proxy_parser_->header_limit(static_cast<std::uint32_t>(client_->options().limits.header_bytes));
    http::async_read_header(
        *conn_->plain, conn_->buffer, *proxy_parser_,
        [self = shared_from_this()](const BoostError& e, std::size_t) { self->on_proxy_read(e); });
  }

  void on_proxy_read(const BoostError& ec) {
    if (ec) return fail(ec, Step::handshake);
    const unsigned status = proxy_parser_->get().result_int();
    proxy_parser_.reset();
    if (status / 100 != 2) return fail(boost_error(errc::proxy_connect_failed), Step::handshake);
    // Bytes after the proxy's header would be the origin speaking before our ClientHello.
    if (conn_->buffer.size() != 0) return fail(boost_error(errc::protocol_error), Step::handshake);
    start_tls();
  }

  // ---- TLS handshake ----
  void start_tls() {
    if (!request_.url.is_https()) return send();
    conn_->tls = std::make_unique<TlsStream<beast::tcp_stream>>(client_->tls(), request_.url.host,
                                                                std::move(*conn_->plain));
    conn_->plain.reset();
    conn_->tcp().expires_after(client_->options().timeouts.handshake);
    conn_->tls->async_handshake([self = shared_from_this()](const BoostError& e) {
      if (e) return self->fail(e, Step::handshake);
      self->send();
    });
  }

  // ---- write ----
  void send() {
    conn_->tcp().expires_after(client_->options().timeouts.write);
    conn_->with_stream([&](auto& stream) {
      http::async_write(
          stream, req_,
          [self = shared_from_this()](const BoostError& e, std::size_t) { self->on_write(e); });
    });
  }

  void on_write(const BoostError& ec) {
    if (ec) {
      if (retry_on_fresh_connection(ec)) return;
      return fail(ec, Step::write);
    }
    const Limits& limits = client_->options().limits;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(limits.body_bytes);
    if (request_.method == "HEAD") parser_->skip(true);
    conn_->tcp().expires_after(client_->options().timeouts.read);
    conn_->with_stream([&](auto& stream) {
      http::async_read(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this()](const BoostError& e, std::size_t) { self->on_read(e); });
    });
  }

  // ---- read ----
  void on_read(const BoostError& ec) {
    if (ec) {
      if (!parser_->got_some() && retry_on_fresh_connection(ec)) return;
      return fail(ec, Step::read);
    }
    auto& res = parser_->get();
    HttpResponse response;
    response.status = res.result_int();
    response.reason = std::string(res.reason());
    for (const auto& field : res) {
      response.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    response.body = std::move(res.body());
    if (parser_->keep_alive()) client_->release(origin_, std::move(conn_));
    conn_.reset();
    complete({}, std::move(response));
  }

  // A pooled connection the server has meanwhile closed fails before any response byte: that
  // is not the request's fault, so it gets one fresh connection.
  bool retry_on_fresh_connection(const BoostError& ec) {
    if (!reused_ || retried_ || cancelled_ || ec == beast::error::timeout) return false;
    retried_ = true;
    reused_ = false;
    conn_.reset();
    parser_.reset();
    connect_new();
    return true;
  }

  // ---- completion ----
  void fail(const BoostError& ec, Step step) {
    if (conn_) conn_->tcp().close();
    conn_.reset();
    complete(cancelled_ ? std::error_code(errc::cancelled) : to_cloud_error(ec, step), {});
  }

  void fail_later(std::error_code ec) {
    asio::post(client_->io(), [self = shared_from_this(), ec] { self->complete(ec, {}); });
  }

  void complete(std::error_code ec, HttpResponse response) {
    if (!done_) return;
    client_->remove(this);
    auto done = std::move(done_);
    done_ = nullptr;
    done(ec, std::move(response));
  }

  std::shared_ptr<HttpClient::Impl> client_;
  HttpRequest request_;
  HttpClient::Callback done_;
  Tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  std::string origin_;
  http::request<http::string_body> req_;
  http::request<http::empty_body> proxy_req_;
  std::optional<http::response_parser<http::empty_body>> proxy_parser_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::unique_ptr<Connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  bool resolve_timed_out_ = false;
  bool cancelled_ = false;
};

}  // namespace

void HttpClient::Impl::close(bool final) {
  if (final) closed_ = true;
  idle_.clear();
  // cancel() does not remove from active_ (completions run later), so iterating is safe.
  for (Session* s : active_) s->cancel();
}

HttpClient::HttpClient(asio::io_context& io, std::shared_ptr<const TlsContext> tls,
                       HttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(tls), std::move(options))) {}

// Asio's cancel/close throw only when allocation fails, which is fatal by policy anyway.
// NOLINTNEXTLINE(bugprone-exception-escape)
HttpClient::~HttpClient() {
  impl_->close(true);
}

void HttpClient::async_request(HttpRequest request, Callback done) {
  auto session = std::make_shared<Session>(impl_, std::move(request), std::move(done));
  session->start();
}

void HttpClient::close() {
  impl_->close(false);
}

std::size_t HttpClient::idle_connections() const noexcept {
  return impl_->idle_count();
}

}  // namespace edgeid::cloud
