#pragma once
// A ControlServer on a real UNIX socket in a temp dir, its io_context run by a background thread,
// answering from a FakeControlContext.

#include <future>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <doctest/doctest.h>

#include "control_client.h"
#include "control_server.h"
#include "fake_control_context.h"
#include "platform/log.h"
#include "platform/temp_dir.h"  // tests/platform/temp_dir.h

namespace edgeid::test {

class ControlFixture {
 public:
  explicit ControlFixture(agent::ControlServerOptions options = {}) : path(dir.file("ctl.sock")) {
    options.socket_path = path;
    server.emplace(io, context, options,
                   platform::Logger(log, "control", platform::LogLevel::debug));
    const std::error_code ec = server->start();
    REQUIRE_MESSAGE(!ec, ec.message());
    thread = std::thread([this] { io.run(); });
  }
  // NOLINTNEXTLINE(bugprone-exception-escape): a failing teardown should terminate the test run
  ~ControlFixture() {
    boost::asio::post(io, [this] { server->stop(); });
    thread.join();  // returns only when stop() left no work behind
    server.reset();
  }
  ControlFixture(const ControlFixture&) = delete;
  ControlFixture& operator=(const ControlFixture&) = delete;

  agent::ControlClientOptions client() const {
    agent::ControlClientOptions o;
    o.socket_path = path;
    o.timeout = std::chrono::seconds(10);
    return o;
  }

  agent::ControlReply request(std::string_view command, const boost::json::object& args = {}) {
    agent::ControlReply reply;
    const std::error_code ec = agent::control_request(client(), command, args, reply);
    REQUIRE_MESSAGE(!ec, ec.message());
    return reply;
  }

  std::string exchange(std::string_view line) {
    std::string response;
    const std::error_code ec = agent::control_exchange(client(), line, response);
    REQUIRE_MESSAGE(!ec, ec.message());
    return response;
  }

  /// connection_count(), read on the io thread.
  std::size_t connections() {
    std::promise<std::size_t> count;
    boost::asio::post(io, [&] { count.set_value(server->connection_count()); });
    return count.get_future().get();
  }

  TempDir dir;
  std::string path;
  FakeControlContext context;
  platform::MemorySink log;
  boost::asio::io_context io;
  std::optional<agent::ControlServer> server;
  std::thread thread;
};

}  // namespace edgeid::test
