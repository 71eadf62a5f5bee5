#include "tls_stream.h"

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <doctest/doctest.h>

#include "cloud/error.h"
#include "fakes/fake_http_server.h"
#include "fakes/test_pki.h"

namespace edgeid::cloud {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = TlsStream<beast::tcp_stream>;

static_assert(beast::is_sync_read_stream<Stream>::value);
static_assert(beast::is_sync_write_stream<Stream>::value);
static_assert(beast::is_async_read_stream<Stream>::value);
static_assert(beast::is_async_write_stream<Stream>::value);

struct Setup {
  fakes::TestCa ca;
  fakes::Credential cred = ca.issue();
  std::shared_ptr<const TlsContext> tls;
  asio::io_context io;
  Setup() {
    std::error_code ec;
    tls = TlsContext::create({.ca_pem = ca.cert_pem()}, ec);
    REQUIRE_FALSE(ec);
  }
  asio::ip::tcp::endpoint endpoint(std::uint16_t port) {
    return {asio::ip::make_address("127.0.0.1"), port};
  }
};

}  // namespace

TEST_CASE("tls stream: synchronous handshake, HTTP exchange, close_notify as EOF") {
  Setup s;
  fakes::FakeHttpServer server({.cert_pem = s.cred.cert_pem,
                                .key_pem = s.cred.key_pem,
                                .handler = [](const fakes::FakeRequest&) {
                                  fakes::FakeResponse r;
                                  r.body = "sync";
                                  r.close = true;  // then close_notify
                                  return r;
                                }});
  Stream stream(s.tls, "localhost", s.io);
  stream.next_layer().connect(s.endpoint(server.port()));
  stream.handshake();

  http::request<http::string_body> req{http::verb::get, "/sync", 11};
  req.set(http::field::host, "localhost");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "sync");

  // The server closes with close_notify: a clean end of stream, and it stays EOF.
  char byte = 0;
  boost::system::error_code ec;
  CHECK(stream.read_some(asio::buffer(&byte, 1), ec) == 0);
  CHECK(ec == asio::error::eof);
  CHECK(stream.read_some(asio::buffer(&byte, 1), ec) == 0);
  CHECK(ec == asio::error::eof);
}

TEST_CASE("tls stream: a bare FIN is truncation, not EOF") {
  Setup s;
  fakes::FakeHttpServer server({.cert_pem = s.cred.cert_pem,
                                .key_pem = s.cred.key_pem,
                                .handler = [](const fakes::FakeRequest&) {
                                  fakes::FakeResponse r;
                                  r.body = "0123456789";
                                  r.fault = fakes::ResponseFault::close_mid_body;
                                  return r;
                                }});
  Stream stream(s.tls, "localhost", s.io);
  stream.next_layer().connect(s.endpoint(server.port()));
  stream.handshake();
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  asio::write(stream, asio::buffer(request));
  std::string received;
  boost::system::error_code ec;
  char buf[256];
  while (!ec) received.append(buf, stream.read_some(asio::buffer(buf), ec));
  CHECK(received.find("01234") != std::string::npos);
  CHECK(std::error_code(ec) == errc::stream_truncated);
}

TEST_CASE("tls stream: async reads of already-decrypted data never complete inline") {
  Setup s;
  fakes::FakeHttpServer server({.cert_pem = s.cred.cert_pem, .key_pem = s.cred.key_pem});
  Stream stream(s.tls, "localhost", s.io);
  stream.next_layer().connect(s.endpoint(server.port()));

  bool handshaken = false;
  stream.async_handshake([&](boost::system::error_code ec) {
    REQUIRE_FALSE(ec);
    handshaken = true;
  });
  s.io.run();
  REQUIRE(handshaken);

  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  asio::write(stream, asio::buffer(request));
  // The first 1-byte read pulls a whole record; the rest is then served from mbedTLS's buffer
  // without any I/O, which is exactly when async_compose would complete inline.
  std::string received;
  char byte = 0;
  for (int i = 0; i < 20; ++i) {
    bool inside_initiation = true;
    bool called = false;
    stream.async_read_some(asio::buffer(&byte, 1),
                           [&](boost::system::error_code ec, std::size_t n) {
                             CHECK_FALSE(inside_initiation);
                             REQUIRE_FALSE(ec);
                             received.append(&byte, n);
                             called = true;
                           });
    inside_initiation = false;
    s.io.restart();
    s.io.run();
    REQUIRE(called);
  }
  CHECK(received.rfind("HTTP/1.1 200 OK", 0) == 0);

  bool shut = false;
  stream.async_shutdown([&](boost::system::error_code ec) {
    CHECK_FALSE(ec);
    shut = true;
  });
  s.io.restart();
  s.io.run();
  CHECK(shut);
}

TEST_CASE("tls stream: handshake against a wrong name fails with the verify flags") {
  Setup s;
  fakes::FakeHttpServer server({.cert_pem = s.cred.cert_pem, .key_pem = s.cred.key_pem});
  Stream stream(s.tls, "not-localhost.example", s.io);
  stream.next_layer().connect(s.endpoint(server.port()));
  boost::system::error_code ec;
  stream.handshake(ec);
  const std::error_code std_ec(ec);
  CHECK(is_verify_failure(std_ec));
  CHECK(std_ec.message().find("CN") != std::string::npos);
}

}  // namespace edgeid::cloud
