#include "cloud/http_client.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <mbedtls/ssl.h>

#include "cloud/error.h"
#include "fakes/fake_http_server.h"
#include "fakes/test_pki.h"

namespace edgeid::cloud {
namespace {

using namespace std::chrono_literals;
using fakes::ConnectionFault;
using fakes::FakeHttpServer;
using fakes::FakeRequest;
using fakes::FakeResponse;
using fakes::ResponseFault;

struct Result {
  std::error_code ec;
  HttpResponse response;
  int calls = 0;
};

// Short per-step timeouts: a test that would hang fails in well under two seconds instead.
HttpClientOptions short_timeouts() {
  HttpClientOptions o;
  o.timeouts = {1500ms, 1500ms, 1500ms, 1500ms, 1500ms};
  return o;
}

class Harness {
 public:
  explicit Harness(HttpClientOptions options = short_timeouts()) {
    std::error_code ec;
    tls_ = TlsContext::create({.ca_file = "", .ca_pem = ca.cert_pem()}, ec);
    REQUIRE_FALSE(ec);
    client_.emplace(io, tls_, std::move(options));
  }

  fakes::FakeServerOptions server_options(const fakes::LeafOptions& leaf = {}) {
    const fakes::Credential cred = ca.issue(leaf);
    fakes::FakeServerOptions o;
    o.cert_pem = cred.cert_pem;
    o.key_pem = cred.key_pem;
    return o;
  }

  Result run(HttpRequest request) {
    Result result;
    client_->async_request(std::move(request), [&](std::error_code ec, HttpResponse response) {
      result.ec = ec;
      result.response = std::move(response);
      ++result.calls;
    });
    io.restart();
    // The safety net only: every path must complete through the client's own timeouts.
    io.run_for(5s);
    REQUIRE(result.calls == 1);
    return result;
  }

  Result get(const std::string& url) { return run(request("GET", url)); }

  static HttpRequest request(std::string method, const std::string& url, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    auto parsed = Url::parse(url);
    REQUIRE(parsed);
    r.url = *parsed;
    r.body = std::move(body);
    return r;
  }

  HttpClient& client() { return *client_; }
  void reset_client() { client_.reset(); }

  fakes::TestCa ca;
  boost::asio::io_context io;

 private:
  std::shared_ptr<const TlsContext> tls_;
  std::optional<HttpClient> client_;
};

FakeResponse body_response(std::string body) {
  FakeResponse r;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("http client: GET over TLS, CA from a file") {
  fakes::TestCa ca;
  const std::string ca_file = fakes::TestCa::write_temp_file(ca.cert_pem(), "ca");
  std::error_code ec;
  auto tls = TlsContext::create({.ca_file = ca_file}, ec);
  REQUIRE_FALSE(ec);
  CHECK(tls->ca_count() == 1);
  const fakes::Credential cred = ca.issue();
  FakeHttpServer server({.cert_pem = cred.cert_pem, .key_pem = cred.key_pem});

  boost::asio::io_context io;
  HttpClient client(io, tls, short_timeouts());
  Result result;
  client.async_request(Harness::request("GET", server.url("/v1.0/devices?$top=2")),
                       [&](std::error_code e, HttpResponse r) {
                         result.ec = e;
                         result.response = std::move(r);
                         ++result.calls;
                       });
  CHECK(result.calls == 0);  // never inline
  io.run_for(5s);
  REQUIRE(result.calls == 1);
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.status == 200);
  CHECK(result.response.body == "hello");
  CHECK(result.response.header("content-length") == "5");
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/v1.0/devices?$top=2");
  CHECK(seen[0].header("Host") == "localhost:" + std::to_string(server.port()));
  CHECK(seen[0].header("User-Agent") == "edgeid");
  std::remove(ca_file.c_str());
}

TEST_CASE("http client: a bad CA file is a create() error") {
  std::error_code ec;
  CHECK(TlsContext::create({.ca_file = "/nonexistent/ca.pem"}, ec) == nullptr);
  CHECK(ec.category() == tls_category());
}

TEST_CASE("http client: POST sends body and headers, returns response headers") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest& r) {
    FakeResponse response;
    response.status = 201;
    response.reason = "Created";
    response.headers = {{"X-Echo-Length", std::to_string(r.body.size())}};
    response.body = "got:" + r.body;
    return response;
  };
  FakeHttpServer server(std::move(options));
  HttpRequest request = Harness::request("POST", server.url("/v1/devices"), R"({"a":1})");
  request.headers = {{"Content-Type", "application/x-ndjson"}, {"Authorization", "Bearer t"}};
  const Result result = h.run(std::move(request));
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.status == 201);
  CHECK(result.response.reason == "Created");
  CHECK(result.response.body == R"(got:{"a":1})");
  CHECK(result.response.header("x-echo-length") == "7");
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].body == R"({"a":1})");
  CHECK(seen[0].header("Content-Type") == "application/x-ndjson");
  CHECK(seen[0].header("Content-Length") == "7");
}

TEST_CASE("http client: megabyte bodies cross many TLS records intact, both ways") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest& r) {
    std::string body(3u << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    FakeResponse response = body_response(std::move(body));
    response.headers = {{"X-Request-Bytes", std::to_string(r.body.size())}};
    return response;
  };
  FakeHttpServer server(std::move(options));
  const Result result =
      h.run(Harness::request("POST", server.url("/bulk"), std::string(2u << 20, 'p')));
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.header("X-Request-Bytes") == std::to_string(2u << 20));
  REQUIRE(result.response.body.size() == 3u << 20);
  bool intact = true;
  for (std::size_t i = 0; i < result.response.body.size() && intact; ++i) {
    intact = result.response.body[i] == static_cast<char>('a' + i % 26);
  }
  CHECK(intact);
}

TEST_CASE("http client: keep-alive reuses one connection per origin") {
  Harness h;
  FakeHttpServer server(h.server_options());
  for (int i = 0; i < 3; ++i) {
    const Result result = h.get(server.url("/page"));
    REQUIRE_FALSE(result.ec);
    CHECK(result.response.body == "hello");
  }
  CHECK(server.connections() == 1);
  CHECK(server.handshakes() == 1);
  CHECK(h.client().idle_connections() == 1);
  for (const FakeRequest& r : server.requests()) CHECK(r.connection == 1);
}

TEST_CASE("http client: Connection: close is honoured, the next request reconnects") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r = body_response("bye");
    r.close = true;
    return r;
  };
  FakeHttpServer server(std::move(options));
  REQUIRE_FALSE(h.get(server.url()).ec);
  CHECK(h.client().idle_connections() == 0);
  REQUIRE_FALSE(h.get(server.url()).ec);
  CHECK(server.connections() == 2);
}

TEST_CASE("http client: a pooled connection the server dropped is retried once, fresh") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r = body_response("once");
    r.drop_after = true;  // keep-alive advertised, connection closed anyway
    return r;
  };
  FakeHttpServer server(std::move(options));
  REQUIRE_FALSE(h.get(server.url()).ec);
  CHECK(h.client().idle_connections() == 1);
  const Result second = h.get(server.url());
  REQUIRE_FALSE(second.ec);
  CHECK(second.response.body == "once");
  CHECK(server.connections() == 2);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("http client: plain HTTP with keep-alive") {
  Harness h;
  FakeHttpServer server({.tls = false});
  REQUIRE_FALSE(h.get(server.url("/ping")).ec);
  const Result result = h.get(server.url("/ping"));
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.body == "hello");
  CHECK(server.connections() == 1);
}

TEST_CASE("http client: https without a TlsContext is refused") {
  boost::asio::io_context io;
  HttpClient client(io, nullptr, short_timeouts());
  std::error_code ec;
  client.async_request(Harness::request("GET", "https://localhost:1/"),
                       [&](std::error_code e, const HttpResponse&) { ec = e; });
  io.run_for(2s);
  CHECK(ec == errc::tls_not_configured);
}

TEST_CASE("http client: header injection is refused before anything is sent") {
  Harness h;
  FakeHttpServer server(h.server_options());
  HttpRequest request = Harness::request("GET", server.url());
  request.headers = {{"X-Evil", "a\r\nHost: other"}};
  CHECK(h.run(std::move(request)).ec == errc::invalid_request);
  CHECK(server.connections() == 0);
}

// ---- certificate verification ----

TEST_CASE("http client: a certificate from an untrusted CA is refused") {
  Harness h;
  fakes::TestCa rogue("rogue CA");
  const fakes::Credential cred = rogue.issue();
  FakeHttpServer server({.cert_pem = cred.cert_pem, .key_pem = cred.key_pem});
  const Result result = h.get(server.url());
  REQUIRE(is_verify_failure(result.ec));
  CHECK(result.ec.message().find("verification failed") != std::string::npos);
  CHECK(result.ec.message().find("not correctly signed") != std::string::npos);
  CHECK(server.requests().empty());
}

TEST_CASE("http client: a certificate for another host name is refused") {
  Harness h;
  FakeHttpServer server(h.server_options({.dns_names = {"graph.example.com"}}));
  const Result result = h.get(server.url());
  REQUIRE(is_verify_failure(result.ec));
  CHECK(result.ec.message().find("CN") != std::string::npos);
  CHECK(server.requests().empty());
}

TEST_CASE("http client: the name checked is the URL's: an IP URL does not match DNS:localhost") {
  Harness h;
  FakeHttpServer server(h.server_options());
  const Result result = h.get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  CHECK(is_verify_failure(result.ec));
}

TEST_CASE("http client: connect_to overrides the address, the name is still verified") {
  HttpClientOptions options = short_timeouts();
  Harness probe;  // for the CA only
  FakeHttpServer server(probe.server_options({.dns_names = {"graph.microsoft.com"}}));
  options.connect_to["graph.microsoft.com:" + std::to_string(server.port())] = "127.0.0.1";
  // A new harness whose CA signed the server's certificate: reuse probe's CA via its client.
  std::error_code ec;
  auto tls = TlsContext::create({.ca_pem = probe.ca.cert_pem()}, ec);
  REQUIRE_FALSE(ec);
  HttpClient client(probe.io, tls, std::move(options));
  Result result;
  client.async_request(
      Harness::request("GET", "https://graph.microsoft.com:" + std::to_string(server.port()) + "/"),
      [&](std::error_code e, HttpResponse r) {
        result.ec = e;
        result.response = std::move(r);
      });
  probe.io.run_for(5s);
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.body == "hello");
}

TEST_CASE("http client: an expired certificate is refused") {
  Harness h;
  FakeHttpServer server(
      h.server_options({.not_before = "20200101000000", .not_after = "20210101000000"}));
  const Result result = h.get(server.url());
  REQUIRE(is_verify_failure(result.ec));
  CHECK(result.ec.message().find("expired") != std::string::npos);
}

TEST_CASE("http client: a server limited to TLS 1.1 is refused") {
  Harness h;
  auto options = h.server_options();
  options.max_tls_minor = 2;
  FakeHttpServer server(std::move(options));
  const Result result = h.get(server.url());
  CHECK(result.ec == make_tls_error(MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION));
  CHECK(server.handshakes() == 0);
  CHECK(server.requests().empty());
}

// ---- end of stream, limits ----

TEST_CASE("http client: FIN without close_notify mid-body is a truncation error") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r = body_response(std::string(1000, 'x'));
    r.fault = ResponseFault::close_mid_body;
    return r;
  };
  FakeHttpServer server(std::move(options));
  CHECK(h.get(server.url()).ec == errc::stream_truncated);
}

TEST_CASE("http client: close_notify mid-body is an incomplete response, not truncation") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r = body_response(std::string(1000, 'x'));
    r.fault = ResponseFault::close_notify_mid_body;
    return r;
  };
  FakeHttpServer server(std::move(options));
  CHECK(h.get(server.url()).ec == errc::connection_closed);
}

TEST_CASE("http client: a close-delimited body is accepted only after close_notify") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest& r) {
    FakeResponse response = body_response("until the end");
    response.until_close = true;
    if (r.target == "/cut") response.fault = ResponseFault::close_mid_body;
    return response;
  };
  FakeHttpServer server(std::move(options));
  const Result good = h.get(server.url("/clean"));
  REQUIRE_FALSE(good.ec);
  CHECK(good.response.body == "until the end");
  CHECK(h.get(server.url("/cut")).ec == errc::stream_truncated);
}

TEST_CASE("http client: a body over the limit is an error") {
  HttpClientOptions options = short_timeouts();
  options.limits.body_bytes = 1024;
  Harness h(std::move(options));
  auto server_options = h.server_options();
  server_options.handler = [](const FakeRequest&) { return body_response(std::string(4096, 'b')); };
  FakeHttpServer server(std::move(server_options));
  CHECK(h.get(server.url()).ec == errc::body_too_large);
  CHECK(h.client().idle_connections() == 0);
}

TEST_CASE("http client: a header over the limit is an error") {
  HttpClientOptions options = short_timeouts();
  options.limits.header_bytes = 8192;
  Harness h(std::move(options));
  auto server_options = h.server_options();
  server_options.handler = [](const FakeRequest&) {
    FakeResponse r;
    r.headers = {{"X-Big", std::string(20000, 'h')}};
    return r;
  };
  FakeHttpServer server(std::move(server_options));
  CHECK(h.get(server.url()).ec == errc::header_too_large);
}

TEST_CASE("http client: a 3xx is returned, not followed") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r;
    r.status = 302;
    r.reason = "Found";
    r.headers = {{"Location", "https://evil.example/steal"}};
    return r;
  };
  FakeHttpServer server(std::move(options));
  const Result result = h.get(server.url("/start"));
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.status == 302);
  CHECK(result.response.header("Location") == "https://evil.example/steal");
  CHECK(server.requests().size() == 1);
}

// ---- timeouts per step ----

namespace {
HttpClientOptions one_short(std::chrono::milliseconds Timeouts::*step) {
  HttpClientOptions o = short_timeouts();
  o.timeouts.*step = 200ms;
  return o;
}
}  // namespace

TEST_CASE("http client: connect timeout (accept queue full)") {
  Harness h(one_short(&Timeouts::connect));
  fakes::FullBacklogListener listener;
  const auto start = std::chrono::steady_clock::now();
  const Result result = h.get("http://127.0.0.1:" + std::to_string(listener.port()) + "/");
  CHECK(result.ec == errc::connect_timeout);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("http client: handshake timeout (server accepts, never answers)") {
  Harness h(one_short(&Timeouts::handshake));
  FakeHttpServer server(h.server_options());
  server.set_connection_fault(ConnectionFault::stall_handshake);
  const auto start = std::chrono::steady_clock::now();
  CHECK(h.get(server.url()).ec == errc::handshake_timeout);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("http client: write timeout (server never reads a large body)") {
  Harness h(one_short(&Timeouts::write));
  FakeHttpServer server(h.server_options());
  server.set_connection_fault(ConnectionFault::stall_after_handshake);
  CHECK(h.run(Harness::request("POST", server.url(), std::string(48u << 20, 'w'))).ec ==
        errc::write_timeout);
}

TEST_CASE("http client: read timeout (no response; response stalls mid-body)") {
  for (ResponseFault fault :
       {ResponseFault::stall_before_response, ResponseFault::stall_mid_body}) {
    CAPTURE(static_cast<int>(fault));
    Harness h(one_short(&Timeouts::read));
    auto options = h.server_options();
    options.handler = [fault](const FakeRequest&) {
      FakeResponse r = body_response(std::string(1000, 's'));
      r.fault = fault;
      return r;
    };
    FakeHttpServer server(std::move(options));
    const auto start = std::chrono::steady_clock::now();
    CHECK(h.get(server.url()).ec == errc::read_timeout);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
  }
}

TEST_CASE("http client: destroying the client cancels a request in flight") {
  Harness h;
  auto options = h.server_options();
  options.handler = [](const FakeRequest&) {
    FakeResponse r;
    r.fault = ResponseFault::stall_before_response;
    return r;
  };
  FakeHttpServer server(std::move(options));
  Result result;
  h.client().async_request(Harness::request("GET", server.url()),
                           [&](std::error_code ec, const HttpResponse&) {
                             result.ec = ec;
                             ++result.calls;
                           });
  // Run until the server has the request, then drop the client.
  while (server.requests().empty()) h.io.run_one_for(100ms);
  h.reset_client();
  h.io.run_for(2s);
  CHECK(result.calls == 1);
  CHECK(result.ec == errc::cancelled);
}

// ---- proxy ----

TEST_CASE("http client: HTTPS through a CONNECT proxy with basic auth") {
  // "user:pa55" in base64.
  fakes::FakeConnectProxy proxy("Basic dXNlcjpwYTU1");
  HttpClientOptions options = short_timeouts();
  options.proxy.emplace();
  options.proxy->url = *Url::parse(proxy.url());
  options.proxy->username = "user";
  options.proxy->password = platform::Secret("pa55");
  Harness h(std::move(options));
  FakeHttpServer server(h.server_options());

  const Result result = h.get(server.url("/via-proxy"));
  REQUIRE_FALSE(result.ec);
  CHECK(result.response.body == "hello");
  const auto connects = proxy.requests();
  REQUIRE(connects.size() == 1);
  CHECK(connects[0].method == "CONNECT");
  CHECK(connects[0].target == "localhost:" + std::to_string(server.port()));
  CHECK(connects[0].header("Proxy-Authorization") == "Basic dXNlcjpwYTU1");
  // Credentials for the proxy never reach the origin; the tunnel is reused.
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK_FALSE(seen[0].header("Proxy-Authorization"));
  REQUIRE_FALSE(h.get(server.url("/again")).ec);
  CHECK(proxy.requests().size() == 1);
  CHECK(server.connections() == 1);
}

TEST_CASE("http client: through the proxy, the origin's name is verified end to end") {
  fakes::FakeConnectProxy proxy;
  HttpClientOptions options = short_timeouts();
  options.proxy.emplace();
  options.proxy->url = *Url::parse(proxy.url());
  Harness h(std::move(options));
  // The proxy is 127.0.0.1, the origin "localhost": a certificate for neither is refused.
  FakeHttpServer server(h.server_options({.dns_names = {"127.0.0.1", "proxy.example"}}));
  const Result result = h.get(server.url());
  CHECK(is_verify_failure(result.ec));
  CHECK(proxy.requests().size() == 1);
}

TEST_CASE("http client: a proxy refusing CONNECT (407) is an error") {
  fakes::FakeConnectProxy proxy("Basic dXNlcjpwYTU1");
  HttpClientOptions options = short_timeouts();
  options.proxy.emplace();
  options.proxy->url = *Url::parse(proxy.url());
  options.proxy->username = "user";
  options.proxy->password = platform::Secret("wrong");
  Harness h(std::move(options));
  FakeHttpServer server(h.server_options());
  CHECK(h.get(server.url()).ec == errc::proxy_connect_failed);
  CHECK(server.connections() == 0);
}

// ---- failure matrix: the server gives up at every step ----

TEST_CASE("http client: failure matrix, the server closes at each step") {
  struct Case {
    std::string name;
    bool tls;
    ConnectionFault connection;
    ResponseFault response;
    std::error_code expected;
  };
  // Over TLS, a FIN once the session is up is truncation; before that, or after close_notify,
  // the connection simply closed early.
  const Case cases[] = {
      {"tls: after accept", true, ConnectionFault::close_after_accept, ResponseFault::none,
       errc::connection_closed},
      {"tls: mid-handshake", true, ConnectionFault::close_mid_handshake, ResponseFault::none,
       errc::connection_closed},
      {"tls: after handshake", true, ConnectionFault::close_after_handshake, ResponseFault::none,
       errc::stream_truncated},
      {"tls: after headers", true, ConnectionFault::none, ResponseFault::close_after_headers,
       errc::stream_truncated},
      {"tls: mid-body", true, ConnectionFault::none, ResponseFault::close_mid_body,
       errc::stream_truncated},
      {"tls: mid-body, close_notify", true, ConnectionFault::none,
       ResponseFault::close_notify_mid_body, errc::connection_closed},
      {"http: after accept", false, ConnectionFault::close_after_accept, ResponseFault::none,
       errc::connection_closed},
      {"http: after headers", false, ConnectionFault::none, ResponseFault::close_after_headers,
       errc::connection_closed},
      {"http: mid-body", false, ConnectionFault::none, ResponseFault::close_mid_body,
       errc::connection_closed},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Harness h;
    auto options = c.tls ? h.server_options() : fakes::FakeServerOptions{.tls = false};
    options.handler = [&c](const FakeRequest&) {
      FakeResponse r = body_response(std::string(2000, 'm'));
      r.fault = c.response;
      return r;
    };
    FakeHttpServer server(std::move(options));
    server.set_connection_fault(c.connection);
    const auto start = std::chrono::steady_clock::now();
    const Result result = h.get(server.url());
    CHECK(result.ec);
    CHECK(result.ec == c.expected);
    CHECK_FALSE(is_timeout(result.ec));  // a close is noticed, not waited out
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(h.client().idle_connections() == 0);
  }
}

}  // namespace edgeid::cloud
